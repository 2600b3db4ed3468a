// A promise settled by work on a namespace thread (ns_thread.h), with no libuv pool hop in
// between: the JS thread queues the work, a namespace thread runs it, and the JS thread is woken
// through one thread-safe function per environment to build the value. For work that must
// change namespace on the way (a whole attach), this is two thread hops where the pool takes four.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>

#include "core/errors.h"

namespace nlnet {

class NsTask {
 public:
  virtual ~NsTask() = default;
  // On a namespace thread, in the process's own namespace.
  virtual void execute() = 0;
  // Back on the JS thread: settle the promise.
  virtual void settle(Napi::Env env, Napi::Promise::Deferred& deferred) = 0;
};

// Runs task (taking it over) and returns the promise its settle() settles.
Napi::Promise start_ns_task(Napi::Env env, std::unique_ptr<NsTask> task);

// Creates the environment's thread-safe function (addon init).
void init_ns_task(Napi::Env env);

}  // namespace nlnet
