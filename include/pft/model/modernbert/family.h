#pragma once
// The ModernBERT family's descriptor (model/family.h): heads sequence classification, token
// classification and masked LM, loaded from Hugging Face folders of model_type "modernbert"
// (model/modernbert/modernbert.h).

#include "pft/model/family.h"

namespace pft::model {

FamilyDescriptor modernbert_family();

}  // namespace pft::model
