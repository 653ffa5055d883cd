// The emulator's own wait between the requests of a keep-alive connection (emulator/
// http_server.h): requests on one connection, pipelined ones too, are all answered; the
// connection ends when the client closes it; a stop ends an idle connection at once.

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "tests/support/emulator_fixture.h"

namespace reconciler::testing {
namespace {

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

void SendAll(int fd, const std::string& text) {
  REQUIRE(send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size()));
}

// The number of whole answers (headers and Content-Length body) at the start of `text`.
int WholeAnswers(const std::string& text) {
  int n = 0;
  for (size_t at = 0;;) {
    const size_t blank = text.find("\r\n\r\n", at);
    if (blank == std::string::npos) return n;
    const size_t length = text.find("Content-Length: ", at);
    if (length == std::string::npos || length > blank) return n;
    const size_t end = blank + 4 + std::stoul(text.substr(length + 16));
    if (end > text.size()) return n;
    ++n;
    at = end;
  }
}

// Reads until `answers` whole HTTP answers have arrived, the peer closes, or 5 s pass;
// returns what was read.
std::string ReadAnswers(int fd, int answers) {
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (WholeAnswers(got) < answers && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// Whether the peer has closed `fd` within 5 s.
bool ClosedByPeer(int fd) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    if (recv(fd, buf, sizeof buf, 0) <= 0) return true;
  }
  return false;
}

int PortOf(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

const std::string kGet = "GET /_admin/faults HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

TEST_CASE("emulator http server: one connection serves request after request, pipelined ones too") {
  EmulatorFixture emu;
  const int fd = Connect(PortOf(emu.url()));
  SendAll(fd, kGet);
  CHECK(ReadAnswers(fd, 1).find("HTTP/1.1 200") == 0);
  SendAll(fd, kGet);  // the same connection, after a pause for the answer
  CHECK(ReadAnswers(fd, 1).find("HTTP/1.1 200") == 0);
  SendAll(fd, kGet + kGet + kGet);  // three at once: the later two wait in the read buffer
  const std::string three = ReadAnswers(fd, 3);
  CHECK(three.find("HTTP/1.1 200") == 0);
  CHECK(WholeAnswers(three) == 3);
  SendAll(fd, "GET /_admin/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  CHECK(ReadAnswers(fd, 1).find("HTTP/1.1 200") == 0);
  CHECK(ClosedByPeer(fd));  // the client asked to close
  close(fd);
}

TEST_CASE("emulator http server: stopping ends an idle keep-alive connection at once") {
  auto emu = std::make_unique<EmulatorFixture>();
  const int fd = Connect(PortOf(emu->url()));
  SendAll(fd, kGet);
  REQUIRE(ReadAnswers(fd, 1).find("HTTP/1.1 200") == 0);
  const auto start = std::chrono::steady_clock::now();
  emu.reset();  // Stop() and join, with the connection idle in its keep-alive wait
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  CHECK(ClosedByPeer(fd));
  close(fd);
}

}  // namespace
}  // namespace reconciler::testing
