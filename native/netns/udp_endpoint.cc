// A datagram socket read on the JS loop: uv_poll says the socket is readable, recvfrom() drains
// it without blocking, and each datagram goes to the JS callback with its sender. Sending is a
// non-blocking sendto(): a full socket buffer is an EAGAIN for the caller to handle, as UDP may
// drop anyway. Node's dgram cannot be used: it cannot adopt a socket made in another namespace.
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "core/errors.h"
#include "core/fd_watch.h"
#include "netns/netns_socket.h"

namespace nlnet {
namespace {

// The largest UDP payload over IPv6 without jumbograms is 65527 bytes; a datagram that still
// does not fit was cut (MSG_TRUNC says so) and is dropped rather than passed on half.
constexpr size_t kMaxDatagram = 64 * 1024;
// Datagrams handled per wakeup. The poll is level-triggered, so the rest are read on the next
// turn of the loop: a flood on one socket does not starve timers and other sockets.
constexpr int kBurst = 256;

// new UdpEndpoint(fd, onMessage(data, address, port)). Owns fd from then on.
class UdpEndpoint : public Napi::ObjectWrap<UdpEndpoint> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "UdpEndpoint",
                       {InstanceMethod<&UdpEndpoint::Send>("send"), InstanceMethod<&UdpEndpoint::Address>("address"),
                        InstanceMethod<&UdpEndpoint::Close>("close"), InstanceMethod<&UdpEndpoint::Ref>("ref"),
                        InstanceMethod<&UdpEndpoint::Unref>("unref")});
  }

  explicit UdpEndpoint(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpEndpoint>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsFunction())
      throw Napi::TypeError::New(env, "UdpEndpoint(fd, onMessage): expected a descriptor and a function");
    int fd = info[0].As<Napi::Number>().Int32Value();
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    async_ = std::make_unique<Napi::AsyncContext>(env, "nlnet.UdpEndpoint");
    buf_.resize(kMaxDatagram);
    if (int err = watch_.start(env, fd, this, [](void* self) { static_cast<UdpEndpoint*>(self)->drain(); }); err != 0)
      throw to_js_error(env, Failure::sys(-err, "uv_poll_init"));
    // Keep this object alive while the poll can still call into it.
    self_ = Napi::Persistent(info.This().As<Napi::Object>());
  }

  ~UdpEndpoint() override = default;

 private:
  void drain() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    // The callback may close this endpoint and drop the last reference to it; hold it until done.
    Napi::Object keep = Value();
    for (int i = 0; i < kBurst && watch_.fd() >= 0; i++) {
      SockAddr from;
      socklen_t from_len = sizeof from.storage;
      ssize_t n = recvfrom(watch_.fd(), buf_.data(), buf_.size(), MSG_DONTWAIT | MSG_TRUNC, from.get(), &from_len);
      if (n < 0) {
        if (errno == EINTR) continue;
        // EAGAIN: drained. Anything else is an error report from the socket queue, not data.
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        continue;
      }
      if (static_cast<size_t>(n) > buf_.size()) continue;
      from.len = from_len;
      Napi::HandleScope inner(env);
      auto data = Napi::Buffer<uint8_t>::Copy(env, buf_.data(), static_cast<size_t>(n));
      try {
        callback_.MakeCallback(keep, {data, Napi::String::New(env, from.ip()), Napi::Number::New(env, from.port())}, *async_);
      } catch (const Napi::Error& e) {
        // A throwing listener is the application's uncaught exception, as with Node's own sockets.
        napi_fatal_exception(env, e.Value());
        return;
      }
    }
  }

  // send(data, address, port) → bytes sent; throws { errno, code, syscall } on failure.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (watch_.fd() < 0) throw to_js_error(env, Failure::sys(EBADF, "sendto"));
    if (!info[0].IsBuffer() || !info[1].IsString() || !info[2].IsNumber())
      throw Napi::TypeError::New(env, "send(data, address, port): expected a Buffer, an address and a port");
    auto data = info[0].As<Napi::Buffer<uint8_t>>();
    int32_t port = info[2].As<Napi::Number>().Int32Value();
    SockAddr to;
    if (port < 1 || port > 65535 || !SockAddr::parse(info[1].As<Napi::String>().Utf8Value(), static_cast<uint16_t>(port), to))
      throw Napi::TypeError::New(env, "send: expected an IPv4 or IPv6 address and a port from 1 to 65535");
    ssize_t n;
    do {
      n = sendto(watch_.fd(), data.Data(), data.Length(), MSG_DONTWAIT | MSG_NOSIGNAL, to.get(), to.len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw to_js_error(env, Failure::sys(errno, "sendto", to.ip()));
    return Napi::Number::New(env, static_cast<double>(n));
  }

  // address() → { address, port } of the bound socket (getsockname).
  Napi::Value Address(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (watch_.fd() < 0) throw to_js_error(env, Failure::sys(EBADF, "getsockname"));
    SockAddr local;
    socklen_t len = sizeof local.storage;
    if (getsockname(watch_.fd(), local.get(), &len) < 0) throw to_js_error(env, Failure::sys(errno, "getsockname"));
    Napi::Object o = Napi::Object::New(env);
    o.Set("address", local.ip());
    o.Set("port", Napi::Number::New(env, local.port()));
    return o;
  }

  Napi::Value Ref(const Napi::CallbackInfo& info) {
    watch_.ref(true);
    return info.Env().Undefined();
  }

  Napi::Value Unref(const Napi::CallbackInfo& info) {
    watch_.ref(false);
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    watch_.stop();
    self_.Reset();
    callback_.Reset();
    return info.Env().Undefined();
  }

  FdWatch watch_;
  std::vector<uint8_t> buf_;
  std::unique_ptr<Napi::AsyncContext> async_;
  Napi::FunctionReference callback_;
  Napi::ObjectReference self_;
};

}  // namespace

void init_udp_endpoint(Napi::Env env, Napi::Object exports) { exports.Set("UdpEndpoint", UdpEndpoint::define(env)); }

}  // namespace nlnet
