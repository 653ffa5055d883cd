// reconciler run, pause and resume. (Being written.)

#include "cli/commands.h"

namespace reconciler {

int RunRunCommand(const RunCommandOptions&, Io io) {
  io.err << "reconciler run: not written yet\n";
  return kExitError;
}

int RunPauseCommand(const PauseCommandOptions&, Io io) {
  io.err << "reconciler pause: not written yet\n";
  return kExitError;
}

}  // namespace reconciler
