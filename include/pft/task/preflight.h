#pragma once
// The checks of a run that need no model weights, run by `pft train` (and its --dry-run) and
// `pft eval` before anything is loaded or written: the model and tokenizer folders, the data
// files (format, fields, labels), the prompt template against the data's fields, the
// verbalizer against the tokenizer, and the output directory's path.

#include "pft/config/config.h"

namespace pft::task {

/// Runs every check for `purpose` (Train or Eval) and reports all problems found together as
/// one pft::Error (Config; exit 2), one problem a line, each naming the config key and the
/// file (and line) at fault.
void preflight(const config::RunConfig& config, config::Purpose purpose);

}  // namespace pft::task
