#pragma once

// Network faults for the emulator and test servers. cpp-httplib does not hand its sockets
// to request handlers, so a handler that must break its own connection finds the socket
// by the connection's two ports and acts on it directly. httplib's later write then fails
// and it closes the descriptor as usual.

namespace reconciler::tencentcloud {

enum class Abort {
  kReset,  // send a TCP RST now: the client sees "connection reset"
  kClose,  // send FIN without any response bytes: the client sees an empty reply
};

// Breaks the connection whose local and remote ports are given. Returns false when no such
// socket is open in this process.
bool AbortConnection(int local_port, int remote_port, Abort how);

// Shuts down every connected socket of this process whose local port is `local_port`, i.e.
// every connection a server on that port accepted. Returns how many it shut down.
int CloseAcceptedConnections(int local_port);

}  // namespace reconciler::tencentcloud
