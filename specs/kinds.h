#pragma once

// The three kinds' spec fields: how each is read from YAML and which rules it must pass.

#include <string>
#include <vector>

#include "specs/desired_state.h"
#include "specs/field_reader.h"

namespace reconciler::specs {

// Every field a spec of `kind` may hold.
const std::vector<std::string>& FieldsOf(Kind kind);

// Reads a spec of `kind` through `r`, checking every rule that needs no other resource.
// `name` is metadata.name, the default instance or group name. References to other
// resources of the stack go to `depends_on`; CheckStack() resolves them.
Spec ReadSpec(Kind kind, FieldReader& r, const std::string& name, const Project& project,
              std::vector<ResourceKey>* depends_on, Diagnostics* diags);

// Checks across resources: duplicate names, references that resolve, no cycles. Orders
// `desired->resources` so every resource comes after the ones it depends on.
void CheckStack(DesiredState* desired, Diagnostics* diags);

}  // namespace reconciler::specs
