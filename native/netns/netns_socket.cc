// Opening TCP and UDP sockets inside a namespace for JS. The namespace thread creates and binds
// the socket; a TCP connect then runs on the libuv pool (it may wait for the peer, and the
// namespace thread is shared by every namespace job of the process). The fd goes to JS, which
// hands it to net.Server / net.Socket or to a UdpEndpoint.
#include "netns/netns_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "core/ns_thread.h"
#include "core/task.h"

namespace nlnet {

bool SockAddr::parse(const std::string& ip, uint16_t port, SockAddr& out) {
  out = SockAddr{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

std::string SockAddr::ip() const {
  char text[INET6_ADDRSTRLEN] = {0};
  if (family() == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text, sizeof text);
  else if (family() == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, text, sizeof text);
  return text;
}

uint16_t SockAddr::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

namespace {

enum class Kind { kTcpListen, kTcpConnect, kUdp };

// socket() and, when `local` is given, bind(), run inside the namespace. A v6 socket is v6 only:
// binding "::" must not quietly take the IPv4 wildcard as well.
Failure make_socket(int nsfd, Kind kind, int family, const SockAddr* local, int backlog, int& out) {
  return in_netns(nsfd, [&]() -> Failure {
    int type = (kind == Kind::kUdp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
    int s = socket(family, type, 0);
    if (s < 0) return Failure::sys(errno, "socket");
    int one = 1;
    Failure f;
    if (family == AF_INET6 && setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
      f = Failure::sys(errno, "setsockopt(IPV6_V6ONLY)");
    // A listener that restarts must not wait for TIME_WAIT connections of its predecessor.
    if (!f && kind == Kind::kTcpListen && setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
      f = Failure::sys(errno, "setsockopt(SO_REUSEADDR)");
    if (!f && local && bind(s, local->get(), local->len) < 0) f = Failure::sys(errno, "bind", local->ip());
    if (!f && kind == Kind::kTcpListen && listen(s, backlog) < 0) f = Failure::sys(errno, "listen");
    if (f) {
      close(s);
      return f;
    }
    out = s;
    return {};
  });
}

// Waits up to timeout_ms for a non-blocking connect to finish. Runs on a pool thread.
Failure finish_connect(int s, const SockAddr& peer, int timeout_ms) {
  if (connect(s, peer.get(), peer.len) == 0) return {};
  if (errno != EINPROGRESS) return Failure::sys(errno, "connect", peer.ip());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return Failure::sys(ETIMEDOUT, "connect", peer.ip());
    pollfd p{s, POLLOUT, 0};
    int n = poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Failure::sys(errno, "poll");
    if (n == 0) continue;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return Failure::sys(errno, "getsockopt(SO_ERROR)");
    if (err != 0) return Failure::sys(err, "connect", peer.ip());
    return {};
  }
}

std::string str_arg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), "expected a string argument");
  return info[i].As<Napi::String>().Utf8Value();
}

int32_t int_arg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "expected a number argument");
  return info[i].As<Napi::Number>().Int32Value();
}

SockAddr addr_arg(const Napi::CallbackInfo& info, size_t ip, size_t port) {
  int32_t p = int_arg(info, port);
  SockAddr a;
  if (p < 0 || p > 65535 || !SockAddr::parse(str_arg(info, ip), static_cast<uint16_t>(p), a))
    throw Napi::TypeError::New(info.Env(), "expected an IPv4 or IPv6 address and a port");
  return a;
}

Napi::Value fd_result(Napi::Env env, int fd) { return Napi::Number::New(env, fd); }

// socketListenTcp(nsfd, address, port, backlog) → Promise<fd>: bound and listening.
Napi::Value SocketListenTcp(const Napi::CallbackInfo& info) {
  int nsfd = int_arg(info, 0);
  SockAddr local = addr_arg(info, 1, 2);
  int backlog = int_arg(info, 3);
  auto fd = std::make_shared<int>(-1);
  return Task::start(
      info.Env(), [=] { return make_socket(nsfd, Kind::kTcpListen, local.family(), &local, backlog, *fd); },
      [fd](Napi::Env env) { return fd_result(env, *fd); });
}

// socketConnectTcp(nsfd, localAddress | '', address, port, timeoutMs) → Promise<fd>: connected.
Napi::Value SocketConnectTcp(const Napi::CallbackInfo& info) {
  int nsfd = int_arg(info, 0);
  std::string local_ip = str_arg(info, 1);
  SockAddr peer = addr_arg(info, 2, 3);
  int timeout_ms = int_arg(info, 4);
  SockAddr local;
  bool has_local = !local_ip.empty();
  if (has_local && (!SockAddr::parse(local_ip, 0, local) || local.family() != peer.family()))
    throw Napi::TypeError::New(info.Env(), "expected a local address of the peer's family");
  auto fd = std::make_shared<int>(-1);
  return Task::start(
      info.Env(),
      [=]() -> Failure {
        int s = -1;
        if (Failure f = make_socket(nsfd, Kind::kTcpConnect, peer.family(), has_local ? &local : nullptr, 0, s)) return f;
        if (Failure f = finish_connect(s, peer, timeout_ms)) {
          close(s);
          return f;
        }
        *fd = s;
        return {};
      },
      [fd](Napi::Env env) { return fd_result(env, *fd); });
}

// socketOpenUdp(nsfd, address, port) → Promise<fd>: a bound datagram socket.
Napi::Value SocketOpenUdp(const Napi::CallbackInfo& info) {
  int nsfd = int_arg(info, 0);
  SockAddr local = addr_arg(info, 1, 2);
  auto fd = std::make_shared<int>(-1);
  return Task::start(
      info.Env(), [=] { return make_socket(nsfd, Kind::kUdp, local.family(), &local, 0, *fd); },
      [fd](Napi::Env env) { return fd_result(env, *fd); });
}

}  // namespace

void init_netns_socket(Napi::Env env, Napi::Object exports) {
  exports.Set("socketListenTcp", Napi::Function::New(env, SocketListenTcp));
  exports.Set("socketConnectTcp", Napi::Function::New(env, SocketConnectTcp));
  exports.Set("socketOpenUdp", Napi::Function::New(env, SocketOpenUdp));
  init_udp_endpoint(env, exports);
}

}  // namespace nlnet
