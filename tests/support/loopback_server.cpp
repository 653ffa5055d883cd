#include "tests/support/loopback_server.h"

#include <chrono>
#include <stdexcept>

#include "emulator/socket_abort.h"

namespace reconciler::testing {

LoopbackServer::LoopbackServer() {
  server_.set_keep_alive_max_count(100000);
  server_.set_keep_alive_timeout(30);
  server_.set_tcp_nodelay(true);  // else Nagle and delayed ACKs cost 40 ms per exchange
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("cannot bind a loopback port");
}

void LoopbackServer::Start() {
  thread_ = std::thread([this] { server_.listen_after_bind(); });
}

void LoopbackServer::Stop() {
  if (!thread_.joinable()) return;
  // stop() only works once the accept loop runs; wait for that, with a deadline.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  server_.stop();
  // httplib looks at its stop flag only between requests, so a client's idle keep-alive
  // connection would hold a worker, and this join, for the whole keep-alive timeout.
  tencentcloud::CloseAcceptedConnections(port_);
  // listen_after_bind() returns after joining its workers, so every handler is done.
  thread_.join();
}

LoopbackServer::~LoopbackServer() { Stop(); }

}  // namespace reconciler::testing
