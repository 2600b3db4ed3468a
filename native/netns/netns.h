// Named network namespaces as `ip netns add|del` makes them (unshare and a bind mount under
// /run/netns), opening one by path, /proc/sys/net inside one, and netlink sockets for
// subscriptions opened inside one. Each job runs on the namespace thread (core/ns_thread.h).
#pragma once

#include <napi.h>

namespace nlnet {

void init_netns(Napi::Env env, Napi::Object exports);

}  // namespace nlnet
