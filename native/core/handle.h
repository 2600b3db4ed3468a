// A handle bound to one network namespace and one netlink protocol. `exec(ops)` is the batch
// executor: one call from JS, one hop to a worker thread, the operations sent in order on one
// socket, stopping at the first failure and saying which step it was.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <vector>

#include "core/errors.h"
#include "core/socket.h"

namespace nlnet {

// A handle's namespace and its idle sockets, shared with the jobs that run on them.
struct HandleState {
  int nsfd = -1;  // owned (a dup); -1: the process's own namespace
  int protocol = 0;
  int dump_retries = 10;
  std::mutex mu;
  std::vector<std::unique_ptr<NlSocket>> idle;
  bool closed = false;

  ~HandleState();
  // A socket of the handle's namespace: an idle one, or a new one opened there.
  Failure acquire(std::unique_ptr<NlSocket>& out);
  void release(std::unique_ptr<NlSocket> s);
  void shut();
};

// The state of a JS Handle object; throws a JS TypeError for anything else.
std::shared_ptr<HandleState> handle_state(const Napi::Value& v);

void init_handle(Napi::Env env, Napi::Object exports);

}  // namespace nlnet
