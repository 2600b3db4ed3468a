#include "core/ns_task.h"

#include "core/ns_thread.h"

namespace nlnet {
namespace {

struct Pending {
  std::unique_ptr<NsTask> task;
  Napi::Promise::Deferred deferred;
};

// Per environment: the function that brings finished tasks back, referenced (keeping the loop
// alive) only while tasks are out.
struct TaskQueue {
  Napi::ThreadSafeFunction tsfn;
  size_t out = 0;
};

void finish(Napi::Env env, Napi::Function, Pending* p) {
  std::unique_ptr<Pending> own(p);
  // An environment being torn down calls with no env: nothing to settle.
  if (env == nullptr) return;
  auto* q = env.GetInstanceData<TaskQueue>();
  if (--q->out == 0) q->tsfn.Unref(env);
  own->task->settle(env, own->deferred);
}

}  // namespace

Napi::Promise start_ns_task(Napi::Env env, std::unique_ptr<NsTask> task) {
  auto* q = env.GetInstanceData<TaskQueue>();
  auto* p = new Pending{std::move(task), Napi::Promise::Deferred::New(env)};
  Napi::Promise promise = p->deferred.Promise();
  if (q->out++ == 0) q->tsfn.Ref(env);
  Napi::ThreadSafeFunction tsfn = q->tsfn;
  post_to_ns_thread([p, tsfn]() mutable {
    p->task->execute();
    // Unlimited queue: never blocks, never fails while the environment lives.
    tsfn.NonBlockingCall(p, finish);
  });
  return promise;
}

void init_ns_task(Napi::Env env) {
  auto* q = new TaskQueue();
  q->tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "nlnet.ns", 0, 1);
  q->tsfn.Unref(env);
  env.SetInstanceData<TaskQueue>(q);
}

}  // namespace nlnet
