#include "events.h"

#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <vector>

#include "codec.h"
#include "tape.h"

namespace nlnet {
namespace {

// new Subscription(fd, protocol, onMessages(messages, overflowed)). Owns fd from then on.
class Subscription : public Napi::ObjectWrap<Subscription> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Subscription", {InstanceMethod<&Subscription::Close>("close")});
  }

  explicit Subscription(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Subscription>(info) {
    Napi::Env env = info.Env();
    fd_ = info[0].As<Napi::Number>().Int32Value();
    protocol_ = info[1].As<Napi::Number>().Int32Value();
    callback_ = Napi::Persistent(info[2].As<Napi::Function>());
    buf_.resize(64 * 1024);
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    if (uv_poll_init(loop, poll_, fd_) != 0) {
      delete poll_;
      poll_ = nullptr;
      throw Napi::Error::New(env, "uv_poll_init failed");
    }
    poll_->data = this;
    uv_poll_start(poll_, UV_READABLE, on_readable);
    // Keep this object alive while the poll can still call into it.
    self_ = Napi::Persistent(info.This().As<Napi::Object>());
  }

  ~Subscription() override { stop(); }

 private:
  static void on_readable(uv_poll_t* p, int status, int) {
    auto* self = static_cast<Subscription*>(p->data);
    self->drain();
    // An overrun raises a socket error (ENOBUFS), which poll reports as POLLERR; libuv then
    // stops the watcher. drain() has read and cleared the error, so watch again.
    if (status < 0 && self->poll_) uv_poll_start(self->poll_, UV_READABLE, on_readable);
  }

  void drain() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Tape tape;
    DecodeCtx ctx{tape};
    tape.arr();
    size_t n = 0;
    bool overflow = false;
    for (;;) {
      ssize_t len = recv(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
      if (len < 0) {
        if (errno == EINTR) continue;
        // ENOBUFS: the kernel dropped events because we were slow; the reader must resync.
        if (errno == ENOBUFS) {
          overflow = true;
          continue;
        }
        break;
      }
      if (static_cast<size_t>(len) > buf_.size()) buf_.resize(static_cast<size_t>(len));
      len = recv(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT);
      if (len <= 0) break;
      MsgReader r(buf_.data(), static_cast<size_t>(len));
      Msg m;
      while (r.next(m)) {
        const Schema* s = schema_for(protocol_, m.hdr.nlmsg_type);
        if (!s) continue;
        Tape::Mark mark = tape.mark();
        tape.obj();
        tape.key("type");
        tape.num(m.hdr.nlmsg_type);
        tape.key("body");
        if (!decode_body(ctx, *s, m.payload, m.payload_len)) {
          tape.rewind(mark);
          continue;
        }
        tape.end();
        n++;
      }
    }
    tape.end();
    if (n == 0 && !overflow) return;
    callback_.Call({tape.to_js(env), Napi::Boolean::New(env, overflow)});
  }

  void stop() {
    if (poll_) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    stop();
    self_.Reset();
    callback_.Reset();
    return info.Env().Undefined();
  }

  int fd_ = -1;
  int protocol_ = 0;
  uv_poll_t* poll_ = nullptr;
  std::vector<uint8_t> buf_;
  Napi::FunctionReference callback_;
  Napi::ObjectReference self_;
};

}  // namespace

void init_events(Napi::Env env, Napi::Object exports) { exports.Set("Subscription", Subscription::define(env)); }

}  // namespace nlnet
