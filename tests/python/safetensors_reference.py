"""Reference files for pft's safetensors reader and writer, made by the Python library.

    safetensors_reference.py write DIR   writes DIR/ref.safetensors (safetensors.torch.save_file)
                                         and DIR/ref.json: every tensor's dtype, shape and raw
                                         bytes (hex), for a bit-exact comparison in C++.
    safetensors_reference.py check DIR   loads DIR/cpp.safetensors (written by pft) with
                                         safetensors.torch.load_file, compares every tensor
                                         bit for bit with the same tensors and the file bytes
                                         with DIR/ref.safetensors; exits 1 on any difference.
"""

import json
import math
import sys

import torch
from safetensors.torch import load_file, save_file

METADATA = {"format": "pt"}


def reference_tensors():
    g = torch.Generator().manual_seed(1234)
    t = {}
    t["f64"] = torch.randn(3, 5, generator=g, dtype=torch.float64)
    f32 = torch.randn(4, 7, generator=g)
    f32[0, 0], f32[0, 1], f32[0, 2], f32[0, 3] = math.nan, math.inf, -math.inf, -0.0
    t["f32"] = f32
    t["f32.scalar"] = torch.tensor(2.5)
    t["f32.empty"] = torch.zeros(0, 3)
    t["f16"] = torch.randn(2, 3, 5, generator=g).half()
    t["bf16"] = torch.randn(9, generator=g).bfloat16()
    t["i64"] = torch.randint(-(2**62), 2**62, (6,), generator=g, dtype=torch.int64)
    t["i32"] = torch.randint(-(2**31), 2**31 - 1, (2, 2), generator=g, dtype=torch.int32)
    t["i16"] = torch.randint(-(2**15), 2**15 - 1, (5,), generator=g, dtype=torch.int16)
    t["i8"] = torch.randint(-128, 127, (7,), generator=g, dtype=torch.int8)
    t["u8"] = torch.randint(0, 255, (3, 3), generator=g, dtype=torch.uint8)
    t["bool"] = torch.randint(0, 2, (11,), generator=g).bool()
    t["c64"] = torch.randn(3, generator=g, dtype=torch.complex64)
    t["u16"] = torch.randint(0, 2**16 - 1, (4,), generator=g, dtype=torch.int32).to(torch.uint16)
    t["u32"] = torch.randint(0, 2**31 - 1, (4,), generator=g, dtype=torch.int64).to(torch.uint32)
    t["u64"] = torch.randint(0, 2**62, (4,), generator=g, dtype=torch.int64).to(torch.uint64)
    t["f8_e4m3"] = torch.randn(5, generator=g).to(torch.float8_e4m3fn)
    t["f8_e5m2"] = torch.randn(5, generator=g).to(torch.float8_e5m2)
    t["f8_e4m3fnuz"] = torch.randn(3, generator=g).to(torch.float8_e4m3fnuz)
    t["f8_e5m2fnuz"] = torch.randn(3, generator=g).to(torch.float8_e5m2fnuz)
    # A name that needs JSON escaping and one outside ASCII.
    t['odd "name"\\tab'] = torch.arange(3, dtype=torch.float32)
    t["naïve.weight"] = torch.ones(2, dtype=torch.float32)
    return t


def raw_bytes(x):
    return x.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def dtype_name(dtype):
    names = {
        torch.float64: "F64", torch.float32: "F32", torch.float16: "F16",
        torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32", torch.int16: "I16",
        torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL", torch.complex64: "C64",
        torch.uint16: "U16", torch.uint32: "U32", torch.uint64: "U64",
        torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2",
        torch.float8_e4m3fnuz: "F8_E4M3FNUZ", torch.float8_e5m2fnuz: "F8_E5M2FNUZ",
    }
    return names[dtype]


def write(out):
    tensors = reference_tensors()
    save_file(tensors, f"{out}/ref.safetensors", metadata=METADATA)
    described = {
        name: {"dtype": dtype_name(x.dtype), "shape": list(x.shape), "hex": raw_bytes(x).hex()}
        for name, x in tensors.items()
    }
    with open(f"{out}/ref.json", "w", encoding="utf-8") as f:
        json.dump({"metadata": METADATA, "tensors": described}, f, ensure_ascii=False)


def check(out):
    expected = reference_tensors()
    got = load_file(f"{out}/cpp.safetensors")
    problems = []
    if sorted(got) != sorted(expected):
        problems.append(f"names differ: {sorted(got)} vs {sorted(expected)}")
    for name, x in expected.items():
        if name not in got:
            continue
        y = got[name]
        if y.dtype != x.dtype or list(y.shape) != list(x.shape) or raw_bytes(y) != raw_bytes(x):
            problems.append(f"tensor {name!r} differs: {y.dtype} {list(y.shape)} vs "
                            f"{x.dtype} {list(x.shape)}")
    with open(f"{out}/cpp.safetensors", "rb") as f:
        mine = f.read()
    with open(f"{out}/ref.safetensors", "rb") as f:
        theirs = f.read()
    if mine != theirs:
        problems.append(f"file bytes differ ({len(mine)} vs {len(theirs)} bytes)")
    print(json.dumps({"tensors": len(got), "bytes": len(mine), "problems": problems}))
    return 1 if problems else 0


if __name__ == "__main__":
    mode, directory = sys.argv[1], sys.argv[2]
    if mode == "write":
        write(directory)
        sys.exit(0)
    if mode == "check":
        sys.exit(check(directory))
    sys.exit(f"unknown mode {mode!r}")
