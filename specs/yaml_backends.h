#pragma once

// Internal to specs/yaml_tree.cpp and its tests: the two YAML parsers behind ParseYaml.
// libyaml is the fast one; yaml-cpp is the reference whose positions and messages users
// see, and the fallback for every file libyaml cannot vouch for.

#include <string>
#include <vector>

#include "specs/yaml_tree.h"

namespace reconciler::specs {

enum class YamlBackend {
  kAuto,     // what ParseYaml does: libyaml, and yaml-cpp again whenever that run reports anything
  kYamlCpp,  // yaml-cpp alone, as before libyaml
  kLibyaml,  // libyaml with its own diagnostics; yaml-cpp only for files libyaml cannot vouch for
};

// Like ParseYaml, through `backend`. `used_libyaml`, when given, tells whether the result
// came from libyaml (false: yaml-cpp parsed the file).
std::vector<Node> ParseYamlWith(YamlBackend backend, const std::string& file, const std::string& text,
                                Diagnostics* diags, const ParseLimits& limits = {},
                                bool* used_libyaml = nullptr);

}  // namespace reconciler::specs
