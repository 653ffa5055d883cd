// tcloud-emulator --world FILE [--listen 127.0.0.1:PORT] [--data FILE] [--version]
//
// A local Tencent Cloud: serves the postgres and tag APIs on loopback, verifying real
// TC3-HMAC-SHA256 signatures. Prints its URL on one line once it listens.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include "base/version.h"
#include "emulator/server.h"

namespace emu = reconciler::tencentcloud::emulator;

namespace {

int Usage(const std::string& problem) {
  std::cerr << "tcloud-emulator: " << problem << "\n"
            << "usage: tcloud-emulator --world FILE [--listen 127.0.0.1:PORT] [--data FILE]; see --help\n";
  return 3;
}

}  // namespace

int main(int argc, char** argv) {
  std::string world_path, listen = "127.0.0.1:9100", data;
  CLI::App app{"A local Tencent Cloud for tests and demos: serves the postgres and tag APIs, verifying real "
               "TC3-HMAC-SHA256 signatures, and prints its URL on one line once it listens.",
               "tcloud-emulator"};
  app.set_version_flag("--version,-V", std::string("tcloud-emulator ") + reconciler::BuildVersion(),
                       "Print the version and exit");
  app.add_option("--world", world_path, "The account, catalogue and faults (see emulator/worlds/)");
  app.add_option("--listen", listen, "host:port to serve on; port 0 picks a free one (default 127.0.0.1:9100)");
  app.add_option("--data", data, "Persist the account's state here, so it survives a restart");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e, std::cout, std::cerr);
  } catch (const CLI::ParseError& e) {
    app.exit(e, std::cout, std::cerr);
    return 3;
  }
  if (world_path.empty()) return Usage("--world FILE is required (the default world is emulator/worlds/default.yaml)");
  size_t colon = listen.rfind(':');
  char* end = nullptr;
  long port = colon == std::string::npos ? -1 : std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (colon == std::string::npos || *end != '\0' || port < 0 || port > 65535) {
    return Usage("--listen must be host:port, got '" + listen + "'");
  }
  std::string host = listen.substr(0, colon);

  auto world = emu::LoadWorldFile(world_path);
  if (!world.ok()) {
    std::cerr << "tcloud-emulator: " << world.status().message() << "\n";
    return 3;
  }
  emu::ServerOptions options;
  options.data_path = data;
  auto server = emu::EmulatorServer::Create(std::move(world).value(), options);
  if (!server.ok()) {
    std::cerr << "tcloud-emulator: " << server.status().message() << "\n";
    return 3;
  }
  auto bound = (*server)->Bind(host, static_cast<int>(port));
  if (!bound.ok()) {
    std::cerr << "tcloud-emulator: " << bound.status().message() << "\n";
    return 1;
  }

  // Stop cleanly on SIGINT/SIGTERM: a signal thread waits for them, every other thread has
  // them blocked.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  emu::EmulatorServer* srv = server->get();
  std::atomic<bool> serve_returned{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (!serve_returned) srv->Stop();  // Stop() waits for a serve loop that has ended otherwise
  });

  std::printf("http://%s:%d\n", host.c_str(), *bound);
  std::fflush(stdout);
  srv->Serve();
  // The waiter may still be inside Stop(); the server must outlive it. If Serve() returned
  // without a signal, one wakes the waiter; if a signal came already, this one stays blocked.
  serve_returned = true;
  kill(getpid(), SIGTERM);
  waiter.join();
  return 0;
}
