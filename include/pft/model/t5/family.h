#pragma once
// The T5 family's descriptor (model/family.h): T5 v1.0, v1.1 and FLAN-T5 with their
// conditional-generation head (model/t5/t5.h).

#include "pft/model/family.h"
#include "pft/model/t5/t5.h"

namespace pft::model {

FamilyDescriptor t5_family();

/// What PEFT methods need to know of a T5, from its config.
ModelInfo t5_model_info(const T5Config& config, const std::string& path,
                        Head head = Head::Seq2SeqLM);

}  // namespace pft::model
