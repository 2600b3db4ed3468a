// Named network namespaces as `ip netns add|del` makes them (unshare and a bind mount under
// /run/netns), opening one by path, /proc/sys/net inside one, and netlink sockets for
// subscriptions opened inside one. Each job runs on the namespace thread (core/ns_thread.h).
#pragma once

#include <napi.h>

#include <string>

#include "core/errors.h"

namespace nlnet {

// `ip netns add NAME`: a new namespace bind-mounted at /run/netns/NAME.
Failure create_named(const std::string& name);
// `ip netns del NAME`.
Failure delete_named(const std::string& name);
// A descriptor of the network namespace at path (checked to be one).
Failure open_ns(const std::string& path, int& out);

void init_netns(Napi::Env env, Napi::Object exports);

}  // namespace nlnet
