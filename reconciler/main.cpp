#include <iostream>

#include "reconciler/cli.h"

int main(int argc, char** argv) {
  return reconciler::RunCli(argc, argv, {std::cout, std::cerr, &std::cin});
}
