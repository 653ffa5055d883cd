#include "emulator/socket_abort.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace reconciler::tencentcloud {

namespace {

int PortOf(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  }
  return -1;
}

// Calls `visit(fd)` for each connected socket whose local port is `local_port` and whose
// peer port is `remote_port` (any peer when -1), until it returns false.
template <typename Visit>
void ForEachSocket(int local_port, int remote_port, Visit visit) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return;
  while (dirent* entry = readdir(dir)) {
    int fd = std::atoi(entry->d_name);
    if (entry->d_name[0] == '.' || fd == dirfd(dir)) continue;
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof local, peer_len = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    if (PortOf(local) == local_port && (remote_port < 0 || PortOf(peer) == remote_port)) {
      if (!visit(fd)) break;
    }
  }
  closedir(dir);
}

int FindSocket(int local_port, int remote_port) {
  int found = -1;
  ForEachSocket(local_port, remote_port, [&](int fd) {
    found = fd;
    return false;
  });
  return found;
}

}  // namespace

bool AbortConnection(int local_port, int remote_port, Abort how) {
  int fd = FindSocket(local_port, remote_port);
  if (fd < 0) return false;
  if (how == Abort::kReset) {
    // On Linux, connect() with AF_UNSPEC disconnects a TCP socket, which for an
    // established connection sends RST, without releasing the descriptor httplib owns.
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    connect(fd, &unspec, sizeof unspec);
  } else {
    shutdown(fd, SHUT_RDWR);
  }
  return true;
}

int CloseAcceptedConnections(int local_port) {
  int count = 0;
  ForEachSocket(local_port, -1, [&](int fd) {
    shutdown(fd, SHUT_RDWR);
    ++count;
    return true;
  });
  return count;
}

}  // namespace reconciler::tencentcloud
