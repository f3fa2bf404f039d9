#pragma once
// The DistilBERT family's descriptor (model/family.h): heads sequence classification, token
// classification and masked LM, loaded from Hugging Face folders of model_type "distilbert"
// (model/distilbert/distilbert.h).

#include "pft/model/family.h"

namespace pft::model {

FamilyDescriptor distilbert_family();

}  // namespace pft::model
