// A promise settled by work on the libuv pool: `work` runs off the JS thread and may block on the
// kernel; `done` runs back on the JS thread and builds the value.
#pragma once

#include <napi.h>

#include <functional>

#include "core/errors.h"

namespace nlnet {

class Task : public Napi::AsyncWorker {
 public:
  using Work = std::function<Failure()>;
  using Done = std::function<Napi::Value(Napi::Env)>;

  static Napi::Promise start(Napi::Env env, Work work, Done done) {
    auto* t = new Task(env, std::move(work), std::move(done));
    Napi::Promise p = t->deferred_.Promise();
    t->Queue();
    return p;
  }

 protected:
  void Execute() override { failure_ = work_(); }
  void OnOK() override {
    Napi::Env env = Env();
    if (failure_) {
      deferred_.Reject(to_js_error(env, failure_).Value());
      return;
    }
    deferred_.Resolve(done_ ? done_(env) : env.Undefined());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Task(Napi::Env env, Work work, Done done)
      : Napi::AsyncWorker(env, "nlnet"), deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)), done_(std::move(done)) {}

  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  Failure failure_;
};

}  // namespace nlnet
