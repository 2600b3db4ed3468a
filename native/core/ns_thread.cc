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

class NsThread {
 public:
  static NsThread& get() {
    // Never destroyed: the thread runs until the process exits.
    static NsThread* t = new NsThread();
    return *t;
  }

  Failure run(int nsfd, const std::function<Failure()>& job) {
    std::promise<Failure> result;
    auto future = result.get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back([&] { result.set_value(enter_and_run(nsfd, job)); });
    }
    cv_.notify_one();
    return future.get();
  }

 private:
  NsThread() { std::thread([this] { loop(); }).detach(); }

  void loop() {
    home_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
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

  Failure enter_and_run(int nsfd, const std::function<Failure()>& job) {
    if (home_ < 0) return Failure::sys(EBADF, "open", "/proc/thread-self/ns/net");
    if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0) return Failure::sys(errno, "setns");
    Failure f = job();
    // The job may have entered another namespace (unshare); always come home.
    if (setns(home_, CLONE_NEWNET) < 0) {
      // Staying elsewhere would silently send later jobs to the wrong namespace.
      std::abort();
    }
    return f;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  int home_ = -1;
};

}  // namespace

Failure in_netns(int nsfd, const std::function<Failure()>& job) { return NsThread::get().run(nsfd, job); }

}  // namespace nlnet
