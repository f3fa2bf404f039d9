#pragma once
// The T5 family's descriptors (model/family.h): T5 v1.0, v1.1, FLAN-T5, mT5 and UMT5 with their
// conditional-generation head (model/t5/t5.h).

#include "pft/model/family.h"
#include "pft/model/t5/t5.h"

namespace pft::model {

FamilyDescriptor t5_family();
/// mT5: T5 v1.1's architecture under model_type "mt5" (MT5Config's defaults).
FamilyDescriptor mt5_family();
/// UMT5: mT5 with a relative position bias of its own in every block (model_type "umt5").
FamilyDescriptor umt5_family();

/// What PEFT methods need to know of a T5, from its config.
ModelInfo t5_model_info(const T5Config& config, const std::string& path,
                        Head head = Head::Seq2SeqLM);

}  // namespace pft::model
