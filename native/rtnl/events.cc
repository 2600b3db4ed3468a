#include "rtnl/events.h"

#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <vector>

#include "core/codec.h"
#include "core/fd_watch.h"
#include "core/tape.h"

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
    protocol_ = info[1].As<Napi::Number>().Int32Value();
    callback_ = Napi::Persistent(info[2].As<Napi::Function>());
    buf_.resize(64 * 1024);
    if (watch_.start(env, info[0].As<Napi::Number>().Int32Value(), this, [](void* self) { static_cast<Subscription*>(self)->drain(); }) != 0)
      throw Napi::Error::New(env, "uv_poll_init failed");
    // Keep this object alive while the poll can still call into it.
    self_ = Napi::Persistent(info.This().As<Napi::Object>());
  }

  ~Subscription() override = default;

 private:
  void drain() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Tape tape;
    DecodeCtx ctx{tape};
    tape.arr();
    size_t n = 0;
    bool overflow = false;
    for (;;) {
      ssize_t len = recv(watch_.fd(), buf_.data(), buf_.size(), MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
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
      len = recv(watch_.fd(), buf_.data(), buf_.size(), MSG_DONTWAIT);
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

  Napi::Value Close(const Napi::CallbackInfo& info) {
    watch_.stop();
    self_.Reset();
    callback_.Reset();
    return info.Env().Undefined();
  }

  FdWatch watch_;
  int protocol_ = 0;
  std::vector<uint8_t> buf_;
  Napi::FunctionReference callback_;
  Napi::ObjectReference self_;
};

}  // namespace

void init_events(Napi::Env env, Napi::Object exports) { exports.Set("Subscription", Subscription::define(env)); }

}  // namespace nlnet
