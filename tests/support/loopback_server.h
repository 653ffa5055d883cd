#pragma once

// A cpp-httplib server on 127.0.0.1 with a kernel-chosen port, serving in a thread.
// Register handlers on server() and then call Start(). The socket listens from
// construction, so clients may connect at once.
//
// Handlers run on the server's own threads, so whatever a handler captures must outlive
// them: declare it before the server, and call Stop() before reading what handlers wrote.
// The destructor stops too.

#include <httplib.h>

#include <string>
#include <thread>

namespace reconciler::testing {

class LoopbackServer {
 public:
  LoopbackServer();
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  httplib::Server& server() { return server_; }
  void Start();
  // Stops accepting, closes every connection the server accepted, and returns once every
  // handler has returned. Does nothing if the server was never started or has stopped.
  void Stop();
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
};

}  // namespace reconciler::testing
