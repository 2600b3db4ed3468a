// A handle bound to one network namespace and one netlink protocol. `exec(ops)` is the batch
// executor: one call from JS, one hop to a worker thread, the operations sent in order on one
// socket, stopping at the first failure and saying which step it was.
#pragma once

#include <napi.h>

namespace nlnet {

void init_handle(Napi::Env env, Napi::Object exports);

}  // namespace nlnet
