// Subscriptions to rtnetlink multicast groups. Reading never blocks: the socket is polled by
// libuv on the JS thread and drained with MSG_DONTWAIT when readable.
#pragma once

#include <napi.h>

namespace nlnet {

void init_events(Napi::Env env, Napi::Object exports);

}  // namespace nlnet
