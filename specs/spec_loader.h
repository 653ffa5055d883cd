#pragma once

// Loads a stack: a directory holding reconciler.yaml and any number of *.yaml / *.yml spec
// files (top level only, hidden files skipped), each possibly multi-document. Every problem
// in every file is collected before anything is sent anywhere.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "specs/desired_state.h"
#include "specs/diagnostics.h"
#include "specs/yaml_tree.h"

namespace reconciler::specs {

inline constexpr const char* kProjectFile = "reconciler.yaml";

struct StackFile {
  std::string path;      // as shown in messages: "dir/name", or "name" when dir is "."
  std::string contents;
};

struct StackSource {
  std::string dir;
  std::optional<StackFile> project;
  std::vector<StackFile> files;  // sorted by name
  Diagnostics read_errors;       // unreadable, oversize or missing files
};

// Reads the directory. Reported in `read_errors` and not read: a file over `max_bytes`, files
// beyond `max_total_bytes` in all, and any entry named like a spec file (or the project file)
// that is not a regular file once symlinks are followed (a dangling symlink, a symlink loop,
// a FIFO, a device, a directory), since skipping it would make its resources look deleted.
// More than `max_files` spec files is one error, and no spec file is read.
StackSource ReadStack(const std::string& dir, const ParseLimits& limits = {});

struct LoadedStack {
  DesiredState desired;
  Diagnostics diags;
  std::map<std::string, std::string> sources;  // path -> contents, for rendering diagnostics
  bool ok() const { return !diags.has_errors(); }
  std::string RenderDiagnostics(bool color = false) const { return diags.Render(sources, color); }
};

// What the command line and the environment say about the project's cloud settings,
// applied as the project file is read, before any spec takes its region from it.
struct ProjectOverrides {
  std::string region;          // --region: beats provider.tencentcloud.region
  std::string default_region;  // TENCENTCLOUD_REGION: used when the project sets no region
  std::string profile;         // --profile: beats provider.tencentcloud.profile
  std::string endpoint;        // --endpoint: beats provider.tencentcloud.endpoint
};

// A region that TencentDB for PostgreSQL does not serve is an error naming where it was set.
LoadedStack LoadStack(const StackSource& source, const ParseLimits& limits = {},
                      const ProjectOverrides& overrides = {});
LoadedStack LoadStackDir(const std::string& dir, const ParseLimits& limits = {},
                         const ProjectOverrides& overrides = {});

}  // namespace reconciler::specs
