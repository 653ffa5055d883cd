#pragma once

// The emulator's HTTP server: cpp-httplib's, with its own wait between the requests of a
// keep-alive connection. httplib 0.11 waits for the next request by polling the socket for
// 10 ms and sleeping 1 ms, over and over: about 180 wake-ups a second for each idle
// connection, which is most of the emulator's CPU while a client holds a pool of
// connections open and uses one at a time. Here an idle connection sleeps in poll() until
// its next request arrives, the client closes it, the keep-alive timeout passes, or the
// server stops (checked every kStopCheck).
//
// Include only where httplib.h is wanted (server.cpp).

#include <httplib.h>

namespace reconciler::tencentcloud::emulator {

class HttpServer : public httplib::Server {
 private:
  // Serves the requests of one accepted connection, then closes it.
  bool process_and_close_socket(socket_t sock) override;
  // Waits until `sock` has a request to read (true) or the connection should end (false).
  bool WaitForRequest(socket_t sock) const;
};

}  // namespace reconciler::tencentcloud::emulator
