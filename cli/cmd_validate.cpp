#include <unistd.h>

#include <cstdlib>
#include <ostream>

#include "providers/tencentcloud/credentials.h"
#include "providers/tencentcloud/site.h"
#include "cli/cloud_flags.h"
#include "cli/commands.h"
#include "specs/spec_loader.h"

namespace reconciler {

bool UseColor(const Io& io, int fd) {
  if (io.color != ColorMode::kAuto) return io.color == ColorMode::kAlways;
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  return isatty(fd) && !(no_color && *no_color) && !(term && std::string(term) == "dumb");
}

int RunValidateCommand(const ValidateCommandOptions& options, Io io) {
  specs::LoadedStack stack = specs::LoadStackDir(options.stack, {}, OverridesFrom(options.cloud));
  io.err << stack.RenderDiagnostics(UseColor(io, STDERR_FILENO));
  if (!stack.ok()) {
    size_t n = stack.diags.error_count();
    io.err << n << (n == 1 ? " error" : " errors") << "; nothing was sent\n";
    return kExitInvalidInput;
  }
  // The site the project names must be its endpoint's; plan would refuse it, so validate
  // does too, without a call.
  const specs::Project& project = stack.desired.project;
  if (!project.endpoint.empty()) {
    tencentcloud::Endpoints endpoints;
    endpoints.SetOverride(project.endpoint);
    Status endpoint = endpoints.Check("provider.tencentcloud.endpoint", options.insecure_endpoint
                                                                          ? tencentcloud::InsecureEndpoint::kAllow
                                                                          : tencentcloud::InsecureEndpoint::kRefuse);
    if (!endpoint.ok()) {
      const specs::Location& at = project.endpoint_at.line ? project.endpoint_at : project.at;
      io.err << at.file << ":" << at.line << ":" << at.column << ": error: " << endpoint.message() << "\n1 error\n";
      return kExitInvalidInput;
    }
    Result<tencentcloud::Site> site = tencentcloud::ResolveSite(project.site, endpoints.For("postgres"));
    if (!site.ok()) {
      const specs::Location& at = project.site_at.line ? project.site_at : project.at;
      io.err << at.file << ":" << at.line << ":" << at.column << ": error: provider.tencentcloud: "
             << site.status().message()
             << "\n1 error; nothing was sent\n";
      return kExitInvalidInput;
    }
  }
  io.out << "stack " << stack.desired.project.stack << ": " << stack.desired.resources.size()
         << (stack.desired.resources.size() == 1 ? " resource" : " resources") << ", valid\n";
  return kExitOk;
}

}  // namespace reconciler
