#include "emulator/http_server.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace reconciler::tencentcloud::emulator {

namespace {

constexpr int kStopCheckMs = 250;

// Waits up to `timeout_ms` for `events` on `sock`; true when they came (or the peer hung up,
// which the next read or write reports).
bool Wait(socket_t sock, short events, int timeout_ms) {
  pollfd p{sock, events, 0};
  int n;
  do {
    n = poll(&p, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

int Millis(time_t sec, time_t usec) { return static_cast<int>(sec * 1000 + usec / 1000); }

void IpAndPort(const sockaddr_storage& addr, socklen_t len, std::string& ip, int& port) {
  char host[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, nullptr, 0, NI_NUMERICHOST) == 0) {
    ip = host;
  }
  if (addr.ss_family == AF_INET) port = ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  if (addr.ss_family == AF_INET6) port = ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
}

// A connected socket as httplib's Stream, as httplib's own SocketStream behaves: reads and
// writes wait for the socket up to their timeouts, and small reads are served from a buffer
// (httplib reads the request line and headers a byte at a time).
class SocketStream final : public httplib::Stream {
 public:
  SocketStream(socket_t sock, int read_timeout_ms, int write_timeout_ms)
      : sock_(sock), read_timeout_ms_(read_timeout_ms), write_timeout_ms_(write_timeout_ms) {}

  bool has_buffered() const { return offset_ < size_; }

  bool is_readable() const override { return Wait(sock_, POLLIN, read_timeout_ms_); }
  bool is_writable() const override { return Wait(sock_, POLLOUT, write_timeout_ms_); }

  ssize_t read(char* ptr, size_t size) override {
    if (has_buffered()) {
      const size_t n = std::min(size, size_ - offset_);
      std::memcpy(ptr, buffer_ + offset_, n);
      offset_ += n;
      return static_cast<ssize_t>(n);
    }
    if (!is_readable()) return -1;
    if (size >= sizeof buffer_) return Recv(ptr, size);
    const ssize_t got = Recv(buffer_, sizeof buffer_);
    if (got <= 0) return got;
    const size_t n = std::min(size, static_cast<size_t>(got));
    std::memcpy(ptr, buffer_, n);
    offset_ = n;
    size_ = static_cast<size_t>(got);
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    do {
      n = send(sock_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) IpAndPort(addr, len, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) IpAndPort(addr, len, ip, port);
  }
  socket_t socket() const override { return sock_; }

 private:
  ssize_t Recv(char* ptr, size_t size) {
    ssize_t n;
    do {
      n = recv(sock_, ptr, size, 0);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  socket_t sock_;
  int read_timeout_ms_, write_timeout_ms_;
  char buffer_[4096];
  size_t offset_ = 0, size_ = 0;
};

}  // namespace

bool HttpServer::WaitForRequest(socket_t sock) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(keep_alive_timeout_sec_);
  while (svr_sock_ != INVALID_SOCKET) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (Wait(sock, POLLIN, static_cast<int>(std::min<int64_t>(left.count(), kStopCheckMs)))) return true;
  }
  return false;
}

bool HttpServer::process_and_close_socket(socket_t sock) {
  SocketStream stream(sock, Millis(read_timeout_sec_, read_timeout_usec_), Millis(write_timeout_sec_, write_timeout_usec_));
  bool ok = false;
  for (size_t left = keep_alive_max_count_; left > 0 && svr_sock_ != INVALID_SOCKET; --left) {
    // A request the client sent before reading the last answer is already buffered.
    if (!stream.has_buffered() && !WaitForRequest(sock)) break;
    bool closed = false;
    ok = process_request(stream, /*close_connection=*/left == 1, closed, nullptr);
    if (!ok || closed) break;
  }
  shutdown(sock, SHUT_RDWR);
  close(sock);
  return ok;
}

}  // namespace reconciler::tencentcloud::emulator
