#pragma once
// The ELECTRA family's descriptor (model/family.h): heads sequence classification, token
// classification (the discriminator's encoder) and masked LM (the generator's head), loaded
// from Hugging Face folders of model_type "electra" (model/electra/electra.h).

#include "pft/model/family.h"

namespace pft::model {

FamilyDescriptor electra_family();

}  // namespace pft::model
