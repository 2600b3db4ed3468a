#include "core/handle.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "core/ns_thread.h"
#include "core/steps.h"
#include "core/tape.h"

namespace nlnet {
namespace {

// Idle sockets kept per handle; concurrent batches beyond this open sockets of their own.
constexpr size_t kIdleSockets = 4;

class ExecWorker : public Napi::AsyncWorker {
 public:
  ExecWorker(Napi::Env env, std::shared_ptr<HandleState> state, OpList ops)
      : Napi::AsyncWorker(env, "nlnet.exec"), deferred_(Napi::Promise::Deferred::New(env)),
        state_(std::move(state)), ops_(std::move(ops)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    std::unique_ptr<NlSocket> sock;
    if ((outcome_.failure = state_->acquire(sock))) return;
    run_ops(*sock, ops_, state_->dump_retries, outcome_);
    state_->release(std::move(sock));
    // { results: [[body…] per finished step], partial?: [body…] }, decoded here on the worker.
    tape_.obj();
    tape_.key("results");
    tape_results(tape_, state_->protocol, outcome_, ops_);
    if (has_partial(outcome_)) {
      tape_.key("partial");
      tape_partial(tape_, state_->protocol, outcome_, ops_);
    }
    tape_.end();
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Value out = tape_.to_js(env);
    if (out.IsObject()) attach_raw(env, out.As<Napi::Object>());
    if (outcome_.failure) {
      Napi::Error e = to_js_error(env, outcome_.failure);
      e.Value().Set("tape", out);
      deferred_.Reject(e.Value());
      return;
    }
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  // raw: [Buffer, …] on the tape's object, indexed like the steps (the partial step's at its
  // index), when a step asked for its bytes. The Buffer takes over the replies' memory: no copy.
  void attach_raw(Napi::Env env, Napi::Object out) {
    Napi::Array raw;
    size_t upto = steps_done(outcome_) + (has_partial(outcome_) ? 1 : 0);
    for (size_t i = 0; i < upto; i++) {
      if (!ops_.ops[i].raw) continue;
      if (raw.IsEmpty()) raw = Napi::Array::New(env);
      auto* bytes = new std::vector<uint8_t>(std::move(outcome_.results[i].replies));
      // The socket reserves what the last such dump took; a table that shrank leaves room unused.
      if (bytes->capacity() > 2 * bytes->size()) bytes->shrink_to_fit();
      if (bytes->empty()) {
        delete bytes;
        raw.Set(i, Napi::Buffer<uint8_t>::New(env, 0));
        continue;
      }
      raw.Set(i, Napi::Buffer<uint8_t>::NewOrCopy(env, bytes->data(), bytes->size(),
                                                  [](Napi::Env, uint8_t*, std::vector<uint8_t>* b) { delete b; }, bytes));
    }
    if (!raw.IsEmpty()) out.Set("raw", raw);
  }

  Napi::Promise::Deferred deferred_;
  std::shared_ptr<HandleState> state_;
  OpList ops_;
  StepsOutcome outcome_;
  Tape tape_;
};

class Handle : public Napi::ObjectWrap<Handle> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Handle",
                       {InstanceMethod<&Handle::Exec>("exec"), InstanceMethod<&Handle::Close>("close")});
  }

  // new Handle(nsfd, protocol, dumpRetries?): nsfd is duplicated, the caller keeps its own.
  explicit Handle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Handle>(info) {
    state_ = std::make_shared<HandleState>();
    int nsfd = info[0].As<Napi::Number>().Int32Value();
    state_->protocol = info[1].As<Napi::Number>().Int32Value();
    if (info[2].IsNumber()) state_->dump_retries = info[2].As<Napi::Number>().Int32Value();
    if (nsfd >= 0) {
      state_->nsfd = fcntl(nsfd, F_DUPFD_CLOEXEC, 0);
      if (state_->nsfd < 0) throw to_js_error(info.Env(), Failure::sys(errno, "dup"));
    }
  }

  std::shared_ptr<HandleState> state_;

 private:
  // exec([{ type, flags, body, dump?, name? }], { batch?, genid? }?) → Promise<tape>
  Napi::Value Exec(const Napi::CallbackInfo& info) {
    auto* worker = new ExecWorker(info.Env(), state_, encode_ops(info.Env(), state_->protocol, info[0], info[1]));
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    state_->shut();
    return info.Env().Undefined();
  }
};

}  // namespace

HandleState::~HandleState() {
  if (nsfd >= 0) close(nsfd);
}

// The lock is not held while a socket is opened in another namespace: that waits for a
// namespace thread, and a job running there may be waiting for this lock (a deadlock once every
// namespace thread is such a job). A duplicate of nsfd is used instead, so that close() cannot
// close the descriptor under the setns().
Failure HandleState::acquire(std::unique_ptr<NlSocket>& out) {
  int ns = -1;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return Failure::sys(EBADF, "netlink");
    if (!idle.empty()) {
      out = std::move(idle.back());
      idle.pop_back();
      return {};
    }
    if (nsfd >= 0 && (ns = fcntl(nsfd, F_DUPFD_CLOEXEC, 0)) < 0) return Failure::sys(errno, "dup");
  }
  Failure f;
  int fd = -1;
  if (ns < 0) {
    fd = open_netlink_fd(protocol, f);
  } else {
    f = in_netns(ns, [&]() -> Failure {
      Failure g;
      fd = open_netlink_fd(protocol, g);
      return g;
    });
    close(ns);
  }
  if (fd < 0) return f;
  out = std::make_unique<NlSocket>(fd);
  return {};
}

void HandleState::release(std::unique_ptr<NlSocket> s) {
  std::lock_guard<std::mutex> lock(mu);
  if (!closed && idle.size() < kIdleSockets) idle.push_back(std::move(s));
}

void HandleState::shut() {
  std::lock_guard<std::mutex> lock(mu);
  closed = true;
  idle.clear();
  if (nsfd >= 0) close(nsfd);
  nsfd = -1;
}

std::shared_ptr<HandleState> handle_state(const Napi::Value& v) {
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), "expected a Handle");
  Handle* h = Napi::ObjectWrap<Handle>::Unwrap(v.As<Napi::Object>());
  if (h == nullptr) throw Napi::TypeError::New(v.Env(), "expected a Handle");
  return h->state_;
}

void init_handle(Napi::Env env, Napi::Object exports) {
  exports.Set("Handle", Handle::define(env));
  exports.Set("counters", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("dumpRetries", Napi::Number::New(info.Env(), static_cast<double>(dump_retries_total())));
    return o;
  }));
}

}  // namespace nlnet
