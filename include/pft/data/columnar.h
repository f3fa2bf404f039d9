#pragma once
// Columnar data files through Apache Arrow's C++ libraries: Parquet, and the Arrow files of a
// Hugging Face `datasets` folder (`Dataset.save_to_disk`: state.json naming Arrow IPC streams).
// Rows become the same records JSON Lines gives (one JSON object each, `line` the 1-based row),
// so tasks never branch on the format. Column values: strings, integers, floats, booleans and
// nulls as themselves; lists as arrays; structs as objects (a `messages` column of
// {role, content} structs is a list of objects); dictionary-encoded columns by their values;
// dates, times, decimals and other scalar types as their text. An integer column that the
// file's `datasets` features declare a ClassLabel reads as the label names (-1, datasets'
// "no label", as null). Binary columns are an error naming the column.
//
// pft is built with these readers when configure finds Arrow (the pyarrow wheel of the venv);
// a build without it says so when such a file is read.

#include <cstddef>
#include <string>
#include <vector>

#include "pft/data/jsonl.h"

namespace pft::data {

/// Whether this build reads Parquet and Arrow files.
bool columnar_supported();

/// Every row of a Parquet file (the first `limit`; 0: all). Errors (pft::Error, Input) name the
/// file, and the row and column of a bad value.
std::vector<JsonlRecord> read_parquet(const std::string& path, std::size_t limit = 0);

/// Every row of an Arrow IPC file or stream (`.arrow`, `.feather`), or of a `save_to_disk`
/// folder (its data files in state.json's order). A DatasetDict folder (dataset_dict.json) is an
/// error naming its splits.
std::vector<JsonlRecord> read_arrow(const std::string& path, std::size_t limit = 0);

}  // namespace pft::data
