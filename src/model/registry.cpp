#include "pft/model/registry.h"

#include "pft/model/bert/family.h"
#include "pft/model/deberta/family.h"
#include "pft/model/distilbert/family.h"
#include "pft/model/electra/family.h"
#include "pft/model/modernbert/family.h"
#include "pft/model/roberta/family.h"
#include "pft/model/t5/family.h"

namespace pft::model {

void register_families(FamilyRegistry& registry) {
  registry.add(bert_family());
  registry.add(t5_family());
  registry.add(mt5_family());
  registry.add(umt5_family());
  registry.add(roberta_family());
  registry.add(xlm_roberta_family());
  registry.add(electra_family());
  registry.add(distilbert_family());
  registry.add(modernbert_family());
  registry.add(deberta_v2_family());
}

FamilyRegistry builtin_families() {
  FamilyRegistry registry;
  register_families(registry);
  return registry;
}

}  // namespace pft::model
