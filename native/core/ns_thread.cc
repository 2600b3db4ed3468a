#include "core/ns_thread.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

namespace nlnet {
namespace {

// Enough that a long job (an attach waiting on rtnl_lock) does not hold up the socket opens of
// other handles; the kernel serializes most of their work anyway.
constexpr int kThreads = 4;

// The namespace this namespace thread comes back to; -1 on every other thread.
thread_local int t_home = -1;

// Runs job inside nsfd (-1: home) on the calling namespace thread, and comes home. A namespace
// thread is home between jobs and between the steps of one, so -1 needs no setns.
Failure enter_and_run(int nsfd, const std::function<Failure()>& job) {
  if (t_home < 0) return Failure::sys(EBADF, "open", "/proc/thread-self/ns/net");
  if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0) return Failure::sys(errno, "setns");
  Failure f = job();
  // The job may have entered another namespace (unshare); always come home.
  if (setns(t_home, CLONE_NEWNET) < 0) {
    // Staying elsewhere would silently send later jobs to the wrong namespace.
    std::abort();
  }
  return f;
}

class NsThreads {
 public:
  static NsThreads& get() {
    // Never destroyed: the threads run until the process exits.
    static NsThreads* t = new NsThreads();
    return *t;
  }

  void post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  NsThreads() {
    for (int i = 0; i < kThreads; i++) std::thread([this] { loop(); }).detach();
  }

  void loop() {
    t_home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return !queue_.empty(); });
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
};

}  // namespace

Failure in_netns(int nsfd, const std::function<Failure()>& job) {
  if (t_home >= 0) return enter_and_run(nsfd, job);
  std::promise<Failure> result;
  auto future = result.get_future();
  NsThreads::get().post([&] { result.set_value(enter_and_run(nsfd, job)); });
  return future.get();
}

void post_to_ns_thread(std::function<void()> job) {
  NsThreads::get().post([job = std::move(job)] {
    job();
    if (setns(t_home, CLONE_NEWNET) < 0) std::abort();
  });
}

}  // namespace nlnet
