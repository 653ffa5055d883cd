#include <exception>
#include <iostream>

#include "cli/cli.h"
#include "cli/fatal.h"

int main(int argc, char** argv) {
  reconciler::InstallTerminateHandler();
  try {
    return reconciler::RunCli(argc, argv, {std::cout, std::cerr, &std::cin});
  } catch (...) {
    std::cout.flush();
    std::cerr << reconciler::FatalMessage(std::current_exception()) << std::endl;
    return reconciler::kExitError;
  }
}
