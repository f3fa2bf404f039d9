"""Writes Parquet files and `datasets` save_to_disk folders the way users get them, for pft's
Parquet/Arrow reader tests.

  write_columnar.py parquet IN.jsonl OUT.parquet
      the JSON Lines rows as a Parquet file written by pandas.
  write_columnar.py dataset IN.jsonl OUT_DIR LABEL_FIELD NAME[,NAME...]
      the rows as a datasets folder (save_to_disk, two shards), LABEL_FIELD cast to a ClassLabel
      with those names (the column then holds integers).
  write_columnar.py fixtures DIR
      typed files and damaged ones (see below) and DIR/expected.json: for each readable file the
      rows as pyarrow / datasets read them, with ClassLabel integers as their names.
"""
import datetime
import json
import os
import shutil
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import datasets


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_dataset(rows, out, label_field, names):
    ds = datasets.Dataset.from_list(rows)
    ds = ds.cast_column(label_field, datasets.ClassLabel(names=names))
    ds.save_to_disk(out, num_shards=2)


def fixtures(out):
    os.makedirs(out, exist_ok=True)
    expected = {}

    # Every column type a text dataset holds, written by pyarrow: strings (plain, large, view,
    # dictionary), integers, floats, booleans, nulls, lists, structs, chat messages, a date.
    messages = [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi, there"}],
        [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}],
        [],
    ]
    table = pa.table({
        "text": pa.array(["a, \"quoted\"\nline", "ünïcødé ✓", None], pa.string()),
        "large": pa.array(["x", "y", "z"], pa.large_string()),
        "view": pa.array(["v1", "", "v3"], pa.string_view()),
        "dict": pa.array(["pos", "neg", "pos"]).dictionary_encode(),
        "i8": pa.array([-1, 0, 127], pa.int8()),
        "u32": pa.array([0, 7, 4000000000], pa.uint32()),
        "i64": pa.array([None, 2**40, -5], pa.int64()),
        "f32": pa.array([0.5, -1.25, None], pa.float32()),
        "f64": pa.array([1.0e-3, 2.5, 3.0], pa.float64()),
        "flag": pa.array([True, False, None]),
        "nothing": pa.nulls(3),
        "words": pa.array([["a", "b"], [], None], pa.list_(pa.string())),
        "tags": pa.array([[1, 2], [3], [4, 5, 6]], pa.large_list(pa.int32())),
        "pair": pa.array([{"a": 1, "b": "x"}, {"a": None, "b": "y"}, None],
                         pa.struct([("a", pa.int64()), ("b", pa.string())])),
        "messages": pa.array(messages, pa.list_(pa.struct([("role", pa.string()),
                                                           ("content", pa.string())]))),
        "day": pa.array([datetime.date(2024, 1, 5), datetime.date(1999, 12, 31), None],
                        pa.date32()),
    })
    pq.write_table(table, f"{out}/typed.parquet", row_group_size=2)  # two row groups
    rows = table.to_pylist()
    for r in rows:
        r["day"] = None if r["day"] is None else r["day"].isoformat()
    expected["typed.parquet"] = rows
    # The same table as an Arrow IPC file (Feather v2) and as an IPC stream.
    import pyarrow.feather as feather
    feather.write_feather(table, f"{out}/typed.feather", compression="uncompressed")
    expected["typed.feather"] = rows
    with pa.OSFile(f"{out}/typed.arrow", "wb") as sink:
        with pa.ipc.new_stream(sink, table.schema) as writer:
            for batch in table.to_batches(max_chunksize=2):
                writer.write_batch(batch)
    expected["typed.arrow"] = rows

    # A datasets folder: ClassLabel integers (-1 is "no label"), a list of ClassLabels, chat
    # messages; three shards. Its Parquet export carries the same features.
    ds = datasets.Dataset.from_dict(
        {
            "sentence": ["good film", "bad film", "unlabelled", "fine"],
            "label": [1, 0, -1, 1],
            "ner_tags": [[0, 1], [1], [], [0]],
            "messages": [[{"role": "user", "content": "hi"}]] * 4,
        },
        features=datasets.Features({
            "sentence": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["negative", "positive"]),
            "ner_tags": datasets.List(datasets.ClassLabel(names=["O", "B-PER"])),
            "messages": datasets.List({"role": datasets.Value("string"),
                                       "content": datasets.Value("string")}),
        }),
    )
    ds.save_to_disk(f"{out}/saved", num_shards=3)
    ds.to_parquet(f"{out}/saved.parquet")
    label = ds.features["label"]
    tag = ds.features["ner_tags"].feature
    rows = []
    for r in ds.to_list():
        r["label"] = None if r["label"] == -1 else label.int2str(r["label"])
        r["ner_tags"] = [tag.int2str(t) for t in r["ner_tags"]]
        rows.append(r)
    expected["saved"] = rows
    expected["saved.parquet"] = rows

    # A DatasetDict folder: one must name a split.
    datasets.DatasetDict({"train": ds, "validation": ds}).save_to_disk(f"{out}/dict")

    # Damaged and unreadable files.
    data = open(f"{out}/typed.parquet", "rb").read()
    open(f"{out}/truncated.parquet", "wb").write(data[: len(data) // 2])
    open(f"{out}/text.parquet", "w").write('{"text": "a JSON line, not Parquet"}\n')
    open(f"{out}/text.arrow", "w").write('{"text": "a JSON line, not Arrow"}\n')
    pq.write_table(pa.table({"text": ["a"], "blob": pa.array([b"\x00\xff"], pa.binary())}),
                   f"{out}/binary.parquet")
    # A ClassLabel value past the names (hand-made metadata, as a broken export would carry).
    meta = {"info": {"features": {"text": {"dtype": "string", "_type": "Value"},
                                  "label": {"names": ["a", "b"], "_type": "ClassLabel"}}}}
    t = pa.table({"text": ["x", "y"], "label": [1, 5]})
    t = t.replace_schema_metadata({"huggingface": json.dumps(meta)})
    pq.write_table(t, f"{out}/classlabel_range.parquet")
    # A string column holding bytes that are not UTF-8 (Arrow does not check on write).
    offsets = pa.array([0, 2, 4], pa.int32()).buffers()[1]
    values = pa.py_buffer(b"ok\xff\xfe")
    bad = pa.Array.from_buffers(pa.string(), 2, [None, offsets, values])
    with pa.OSFile(f"{out}/utf8.arrow", "wb") as sink:
        with pa.ipc.new_stream(sink, pa.schema([("text", pa.string())])) as writer:
            writer.write_batch(pa.record_batch([bad], names=["text"]))
    # A folder that is no save_to_disk folder, and one whose state.json names a missing file.
    os.makedirs(f"{out}/plain", exist_ok=True)
    shutil.copytree(f"{out}/saved", f"{out}/missing")
    state = json.load(open(f"{out}/missing/state.json"))
    state["_data_files"].append({"filename": "data-gone.arrow"})
    json.dump(state, open(f"{out}/missing/state.json", "w"))

    with open(f"{out}/expected.json", "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False)


def main():
    mode = sys.argv[1]
    if mode == "parquet":
        pd.DataFrame(read_jsonl(sys.argv[2])).to_parquet(sys.argv[3])
    elif mode == "dataset":
        write_dataset(read_jsonl(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5].split(","))
    elif mode == "fixtures":
        fixtures(sys.argv[2])
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
