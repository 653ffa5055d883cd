#include "providers/tencentcloud/emulator/socket_abort.h"

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

int FindSocket(int local_port, int remote_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (dirent* entry = readdir(dir)) {
    int fd = std::atoi(entry->d_name);
    if (entry->d_name[0] == '.' || fd == dirfd(dir)) continue;
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof local, peer_len = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    if (PortOf(local) == local_port && PortOf(peer) == remote_port) {
      found = fd;
      break;
    }
  }
  closedir(dir);
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

}  // namespace reconciler::tencentcloud
