// Network namespaces without fork. Dedicated threads enter a namespace, do a job (open a socket,
// open a /proc/sys file, create a namespace, a whole attach) and come back to where they started.
// The JS thread and the libuv pool never change namespace, so nothing else in the process is
// ever surprised by it. In core because the handle opens its sockets here; what the namespaces
// themselves offer JS (create, delete, open, sysctl, jobs) is netns/.
#pragma once

#include <functional>

#include "core/errors.h"

namespace nlnet {

// Runs job on a namespace thread inside nsfd (-1: the process's own namespace) and waits. From
// a namespace thread itself (a job's step), runs it right there.
Failure in_netns(int nsfd, const std::function<Failure()>& job);

// Queues job on a namespace thread, in the process's own namespace, and returns at once. The job
// may enter other namespaces; the thread comes home after it.
void post_to_ns_thread(std::function<void()> job);

}  // namespace nlnet
