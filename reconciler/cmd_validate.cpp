#include <unistd.h>

#include <cstdlib>
#include <ostream>

#include "reconciler/commands.h"
#include "specs/spec_loader.h"

namespace reconciler {

bool UseColor(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  return isatty(fd) && !(no_color && *no_color);
}

int RunValidateCommand(const ValidateCommandOptions& options, Io io) {
  specs::LoadedStack stack = specs::LoadStackDir(options.stack);
  io.err << stack.RenderDiagnostics(UseColor(STDERR_FILENO));
  if (!stack.ok()) {
    size_t n = stack.diags.error_count();
    io.err << n << (n == 1 ? " error" : " errors") << "; nothing was sent\n";
    return kExitInvalidInput;
  }
  io.out << "stack " << stack.desired.project.stack << ": " << stack.desired.resources.size()
         << (stack.desired.resources.size() == 1 ? " resource" : " resources") << ", valid\n";
  return kExitOk;
}

}  // namespace reconciler
