#pragma once
// The one list of model families: register_families() adds each family's descriptor
// (model/<family>/family.h). Adding a family is a folder under model/ and a line there.

#include "pft/model/family.h"

namespace pft::model {

/// Adds every family pft knows to `registry`, in documentation order.
void register_families(FamilyRegistry& registry);

/// A registry filled by register_families().
FamilyRegistry builtin_families();

}  // namespace pft::model
