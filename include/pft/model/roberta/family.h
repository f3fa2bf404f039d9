#pragma once
// The RoBERTa and XLM-RoBERTa families' descriptors (model/family.h): heads sequence
// classification, token classification and masked LM (model/roberta/roberta.h), loaded from
// Hugging Face folders of model_type "roberta" and "xlm-roberta".

#include "pft/model/family.h"

namespace pft::model {

FamilyDescriptor roberta_family();
FamilyDescriptor xlm_roberta_family();

}  // namespace pft::model
