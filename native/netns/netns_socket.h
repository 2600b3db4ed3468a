// TCP and UDP sockets inside a given network namespace. A socket belongs to the namespace it was
// created in for its whole life, whichever thread later reads or writes it, so only socket() and
// bind() need the namespace thread; everything after that happens on ordinary threads.
#pragma once

#include <napi.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace nlnet {

// An IPv4 or IPv6 socket address built from text (JS has validated it; this only re-checks).
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;

  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }

  static bool parse(const std::string& ip, uint16_t port, SockAddr& out);
  std::string ip() const;
  uint16_t port() const;
};

void init_netns_socket(Napi::Env env, Napi::Object exports);

// The UdpEndpoint class (udp_endpoint.cc): reads a datagram socket with uv_poll on the JS loop.
void init_udp_endpoint(Napi::Env env, Napi::Object exports);

}  // namespace nlnet
