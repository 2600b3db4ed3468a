// A descriptor read on the JS loop: uv_poll says it is readable and the owner drains it without
// blocking. Used by event subscriptions (netlink) and UDP endpoints. Owns the descriptor: stop()
// stops the watcher first (libuv must never poll a closed fd), then closes it.
#pragma once

#include <napi.h>
#include <unistd.h>
#include <uv.h>

namespace nlnet {

class FdWatch {
 public:
  using Drain = void (*)(void* owner);

  FdWatch() = default;
  FdWatch(const FdWatch&) = delete;
  FdWatch& operator=(const FdWatch&) = delete;
  ~FdWatch() { stop(); }

  // Takes `fd` and starts watching it; 0, or libuv's (negative) error with the fd closed.
  int start(Napi::Env env, int fd, void* owner, Drain drain) {
    fd_ = fd;
    owner_ = owner;
    drain_ = drain;
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    if (int err = uv_poll_init(loop, poll_, fd_); err != 0) {
      delete poll_;
      poll_ = nullptr;
      stop();
      return err;
    }
    poll_->data = this;
    uv_poll_start(poll_, UV_READABLE, on_readable);
    return 0;
  }

  int fd() const { return fd_; }

  // Whether the watcher keeps the loop (and so the process) alive.
  void ref(bool on) {
    if (poll_ == nullptr) return;
    if (on) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    else uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }

  void stop() {
    if (poll_) {
      // The handle lives until its close callback: on_readable tells by `data` that we stopped.
      poll_->data = nullptr;
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  static void on_readable(uv_poll_t* p, int status, int) {
    auto* self = static_cast<FdWatch*>(p->data);
    if (self == nullptr) return;
    self->drain_(self->owner_);
    // The drain may have stopped the watch and even freed its owner (and so this FdWatch):
    // only the handle, alive until its close callback, is looked at from here on.
    // A socket error (ENOBUFS on an overrun netlink socket, an ICMP error queued on a UDP one)
    // shows as POLLERR, and libuv then stops the watcher. The drain has read and cleared the
    // error, so watch again, unless the drain stopped us.
    if (status < 0 && p->data != nullptr) uv_poll_start(p, UV_READABLE, on_readable);
  }

  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  void* owner_ = nullptr;
  Drain drain_ = nullptr;
};

}  // namespace nlnet
