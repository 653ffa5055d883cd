// reconciler hook pre-receive | post-receive. (Being written.)

#include "cli/commands.h"

namespace reconciler {

int RunHookCommand(const HookCommandOptions& options, Io io) {
  io.err << "reconciler hook " << options.which << ": not written yet\n";
  return kExitError;
}

}  // namespace reconciler
