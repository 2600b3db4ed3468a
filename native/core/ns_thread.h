// Network namespaces without fork. One dedicated thread enters a namespace, does a small job
// (opens a socket, opens a /proc/sys file, creates a namespace) and comes back to where it
// started. The JS thread and the libuv pool never change namespace, so nothing else in the
// process is ever surprised by it. In core because the handle opens its sockets here; what the
// namespaces themselves offer JS (create, delete, open, sysctl) is netns/netns.h.
#pragma once

#include <functional>

#include "core/errors.h"

namespace nlnet {

// Runs job on the namespace thread inside nsfd (-1: the process's own namespace) and waits.
// Call from a worker thread only, never from the JS thread.
Failure in_netns(int nsfd, const std::function<Failure()>& job);

}  // namespace nlnet
