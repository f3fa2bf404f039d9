#pragma once
// The BERT family's descriptor (model/family.h): heads sequence classification, token
// classification and masked LM, loaded from Hugging Face folders (model/bert/loader.h).

#include "pft/model/bert/config.h"
#include "pft/model/family.h"

namespace pft::model {

FamilyDescriptor bert_family();

/// What PEFT methods need to know of a BERT with `head`, from its config.
ModelInfo bert_model_info(const BertConfig& config, const std::string& path, Head head);

}  // namespace pft::model
