#pragma once
// Examples from a data file in any format pft reads for record-shaped tasks: JSON Lines, CSV
// (RFC 4180, header row), TSV (header row, tab-separated, no quoting: GLUE's layout), Parquet and
// Arrow (a `datasets` save_to_disk folder; pft/data/columnar.h). Every format yields the same
// records, one JSON object each, so tasks never branch on the format.

#include <cstddef>
#include <string>
#include <vector>

#include "pft/data/jsonl.h"

namespace pft::data {

/// "jsonl", "csv", "tsv", "parquet" or "arrow": `format` itself, or for "auto" the file's
/// extension (.csv, .tsv, .parquet/.pq, .arrow/.feather; a folder is a save_to_disk folder,
/// "arrow"; anything else is JSON Lines).
std::string record_format(const std::string& path, const std::string& format);

/// Every record of `path` (the first `limit`; 0: all) in `format` (jsonl, csv, tsv, parquet,
/// arrow or auto).
/// CSV and TSV records hold each column of the header as a string field; `line` is the line a
/// record starts on. Errors name path:line (and the column for CSV quoting) and what was
/// expected: an empty file or header, a duplicate or empty column name, a row with another
/// number of fields than the header, an unterminated quote, invalid UTF-8.
std::vector<JsonlRecord> read_records(const std::string& path, const std::string& format,
                                      std::size_t limit = 0);

/// A CSV (`separator` ',', RFC 4180 quoting) or TSV (`separator` '\t', no quoting) file.
std::vector<JsonlRecord> read_delimited(const std::string& path, char separator,
                                        std::size_t limit = 0);

/// The label in field `field` of `record`, as a label name. A string is the name itself. An
/// integer is an index into `labels` (what a `datasets` ClassLabel column exports), and so is
/// a string of digits (CSV and TSV hold only strings); an integer or digit string that is
/// itself one of `labels` (labels collected from the data, or numeric task.labels) is that
/// name, so JSON Lines and CSV/TSV copies of one file agree. With `labels` empty, an integer is
/// returned as its digits. Anything else, or an index out of range, is a pft::Error (Input)
/// naming path:line and the field.
std::string label_value(const JsonlRecord& record, const std::string& field,
                        const std::vector<std::string>& labels, const std::string& path);

}  // namespace pft::data
