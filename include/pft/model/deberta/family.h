#pragma once
// The DeBERTa-v2/v3 family's descriptor (model/family.h): heads sequence classification, token
// classification and masked LM, loaded from Hugging Face folders of model_type "deberta-v2"
// (model/deberta/deberta.h).

#include "pft/model/family.h"

namespace pft::model {

FamilyDescriptor deberta_v2_family();

}  // namespace pft::model
