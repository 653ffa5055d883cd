// libFuzzer target for the spec loader (make fuzz). The input is a spec file; when it
// contains a line "%%%", the part before it is the project file instead of a fixed one.
// The loader must never crash, hang or trip a sanitizer, whatever the bytes.

#include <cstddef>
#include <cstdint>
#include <string>

#include "specs/spec_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  reconciler::specs::StackSource source;
  source.dir = ".";
  std::string project = "stack: fuzz\nprovider: {tencentcloud: {region: ap-beijing}}\n";
  size_t split = input.find("\n%%%\n");
  if (split != std::string::npos) {
    project = input.substr(0, split);
    input = input.substr(split + 5);
  }
  source.project = reconciler::specs::StackFile{"reconciler.yaml", project};
  source.files.push_back({"fuzz.yaml", input});
  reconciler::specs::ParseLimits limits;
  limits.max_nodes = 20000;  // keep each run fast; the limit's own path is what matters
  reconciler::specs::LoadedStack stack = reconciler::specs::LoadStack(source, limits);
  std::string rendered = stack.RenderDiagnostics(/*color=*/true);
  return rendered.size() > 0 && stack.ok() ? 0 : 0;
}
