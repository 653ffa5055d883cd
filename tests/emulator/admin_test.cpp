// The admin API over raw sockets, as curl and scripts reach it: POSTs without a body, with
// or without Content-Length.

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "tests/support/emulator_fixture.h"

namespace reconciler::testing {
namespace {

using nlohmann::json;

// A client connection that speaks raw HTTP/1.1, for requests httplib::Client would not send.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~RawConnection() { close(fd_); }

  // Sends `request` and reads one whole response (headers, then Content-Length bytes). An
  // empty string when none arrives in time; httplib would wait 5 s for a missing body,
  // and the deadline is well under that.
  std::string Exchange(const std::string& request) {
    REQUIRE(send(fd_, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < deadline) {
      const size_t end = got.find("\r\n\r\n");
      if (end != std::string::npos) {
        const size_t at = got.find("Content-Length: ");
        const size_t length = at == std::string::npos ? 0 : std::stoul(got.substr(at + 16));
        if (got.size() >= end + 4 + length) return got;
      }
      pollfd pfd = {fd_, POLLIN, 0};
      if (poll(&pfd, 1, 50) <= 0) continue;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return "";
  }

 private:
  int fd_;
};

std::string RawExchange(int port, const std::string& request) {
  return RawConnection(port).Exchange(request);
}

int Port(EmulatorFixture& emu) { return std::stoi(emu.url().substr(emu.url().rfind(':') + 1)); }

std::string Post(const std::string& target, const std::string& extra_headers = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
}

TEST_CASE("emulator admin: POSTs need no body and no Content-Length") {
  EmulatorFixture emu;
  emu.Call("DescribeRegions");
  REQUIRE(emu.Calls("DescribeRegions")["total"] == 1);
  std::string bare = RawExchange(Port(emu), Post("/_admin/reset", "Connection: close\r\n"));
  CHECK(bare.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(bare.find(R"({"reset":true})") != std::string::npos);
  CHECK(emu.Calls("DescribeRegions")["total"] == 0);

  std::string zero =
      RawExchange(Port(emu), Post("/_admin/reset", "Content-Length: 0\r\nConnection: close\r\n"));
  CHECK(zero.rfind("HTTP/1.1 200", 0) == 0);

  const double before = emu.State()["now"];
  std::string advance =
      RawExchange(Port(emu), Post("/_admin/advance?seconds=60", "Connection: close\r\n"));
  CHECK(advance.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(emu.State()["now"].get<double>() >= before + 60);

  std::string faults = RawExchange(Port(emu), Post("/_admin/faults", "Connection: close\r\n"));
  CHECK(faults.rfind("HTTP/1.1 200", 0) == 0);

  std::string unknown = RawExchange(Port(emu), Post("/_admin/nothing", "Connection: close\r\n"));
  CHECK(unknown.rfind("HTTP/1.1 404", 0) == 0);

  // The API endpoint answers a bodiless POST with an API error, not an HTTP one.
  std::string api = RawExchange(Port(emu), Post("/", "Connection: close\r\n"));
  CHECK(api.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(api.find("AuthFailure.InvalidAuthorization") != std::string::npos);
}

TEST_CASE("emulator admin: a bodiless POST leaves its keep-alive connection usable") {
  EmulatorFixture emu;
  RawConnection conn(Port(emu));
  CHECK(conn.Exchange(Post("/_admin/reset")).rfind("HTTP/1.1 200", 0) == 0);
  std::string calls = conn.Exchange("GET /_admin/calls HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  CHECK(calls.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(conn.Exchange(Post("/_admin/advance?seconds=1")).rfind("HTTP/1.1 200", 0) == 0);
}

}  // namespace
}  // namespace reconciler::testing
