#include "netns/netns.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/netlink.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "core/ns_thread.h"
#include "core/socket.h"
#include "core/task.h"

namespace nlnet {
namespace {

constexpr const char* kNetnsRun = "/run/netns";

bool valid_ns_name(const std::string& name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         name.find('/') == std::string::npos;
}

// /run/netns must be a shared mount so that bind mounts made under it show up in other mount
// namespaces (what `ip netns add` does too). Once per process: the mount calls take the kernel's
// namespace lock, a tenth of what creating a namespace costs when done every time.
std::atomic<bool> g_run_dir_ready{false};

Failure prepare_run_dir() {
  if (g_run_dir_ready.load(std::memory_order_acquire)) return {};
  if (mkdir(kNetnsRun, 0755) < 0 && errno != EEXIST) return Failure::sys(errno, "mkdir", kNetnsRun);
  if (mount("", kNetnsRun, "none", MS_SHARED | MS_REC, nullptr) == 0) {
    g_run_dir_ready.store(true, std::memory_order_release);
    return {};
  }
  if (errno != EINVAL) return Failure::sys(errno, "mount", kNetnsRun);
  if (mount(kNetnsRun, kNetnsRun, "none", MS_BIND | MS_REC, nullptr) < 0)
    return Failure::sys(errno, "mount", kNetnsRun);
  if (mount("", kNetnsRun, "none", MS_SHARED | MS_REC, nullptr) < 0)
    return Failure::sys(errno, "mount", kNetnsRun);
  g_run_dir_ready.store(true, std::memory_order_release);
  return {};
}

bool valid_sysctl(const std::string& rel) {
  return rel.rfind("net/", 0) == 0 && rel.find("..") == std::string::npos;
}

Failure sysctl_io(int nsfd, const std::string& rel, std::string* value, const std::string* write_value) {
  if (!valid_sysctl(rel)) return Failure::sys(EINVAL, "open", rel);
  std::string path = "/proc/sys/" + rel;
  // /proc/sys/net shows the namespace of whoever opens it, so open it inside the namespace.
  return in_netns(nsfd, [&]() -> Failure {
    int fd = open(path.c_str(), (write_value ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return Failure::sys(errno, "open", path);
    Failure f;
    if (write_value) {
      if (write(fd, write_value->data(), write_value->size()) < 0) f = Failure::sys(errno, "write", path);
    } else {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) value->append(buf, static_cast<size_t>(n));
      if (n < 0) f = Failure::sys(errno, "read", path);
    }
    close(fd);
    return f;
  });
}

int32_t int_arg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "expected a number argument");
  return info[i].As<Napi::Number>().Int32Value();
}

std::string str_arg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), "expected a string argument");
  return info[i].As<Napi::String>().Utf8Value();
}

// netnsCreate(name, open?): with `open`, resolves to a descriptor of the new namespace, opened in
// the same worker job (one hop where create-then-open takes two).
Napi::Value NetnsCreate(const Napi::CallbackInfo& info) {
  std::string name = str_arg(info, 0);
  bool want_fd = info.Length() > 1 && info[1].ToBoolean().Value();
  auto fd = std::make_shared<int>(-1);
  return Task::start(
      info.Env(),
      [name, want_fd, fd]() -> Failure {
        if (Failure f = create_named(name)) return f;
        return want_fd ? open_ns(std::string(kNetnsRun) + "/" + name, *fd) : Failure{};
      },
      [want_fd, fd](Napi::Env env) -> Napi::Value { return want_fd ? Napi::Number::New(env, *fd) : env.Undefined(); });
}

Napi::Value NetnsDelete(const Napi::CallbackInfo& info) {
  std::string name = str_arg(info, 0);
  return Task::start(info.Env(), [name] { return delete_named(name); }, nullptr);
}

Napi::Value NetnsOpen(const Napi::CallbackInfo& info) {
  std::string path = str_arg(info, 0);
  auto fd = std::make_shared<int>(-1);
  return Task::start(
      info.Env(), [path, fd] { return open_ns(path, *fd); },
      [fd](Napi::Env env) { return Napi::Number::New(env, *fd); });
}

Napi::Value SysctlRead(const Napi::CallbackInfo& info) {
  int nsfd = int_arg(info, 0);
  std::string rel = str_arg(info, 1);
  auto value = std::make_shared<std::string>();
  return Task::start(
      info.Env(), [nsfd, rel, value] { return sysctl_io(nsfd, rel, value.get(), nullptr); },
      [value](Napi::Env env) { return Napi::String::New(env, *value); });
}

Napi::Value SysctlWrite(const Napi::CallbackInfo& info) {
  int nsfd = int_arg(info, 0);
  std::string rel = str_arg(info, 1);
  std::string v = str_arg(info, 2);
  return Task::start(info.Env(), [nsfd, rel, v] { return sysctl_io(nsfd, rel, nullptr, &v); }, nullptr);
}

// openNetlink(nsfd, protocol, groups, rcvbuf?): a non-blocking netlink socket in a namespace,
// joined to multicast groups: for subscriptions.
Napi::Value OpenNetlink(const Napi::CallbackInfo& info) {
  int nsfd = int_arg(info, 0);
  int protocol = int_arg(info, 1);
  std::vector<uint32_t> groups;
  if (info[2].IsArray()) {
    auto arr = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) groups.push_back(arr.Get(i).As<Napi::Number>().Uint32Value());
  }
  int rcvbuf = info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : 0;
  auto fd = std::make_shared<int>(-1);
  return Task::start(
      info.Env(),
      [nsfd, protocol, groups, rcvbuf, fd]() -> Failure {
        return in_netns(nsfd, [&]() -> Failure {
          Failure f;
          int s = open_netlink_fd(protocol, f);
          if (s < 0) return f;
          if (rcvbuf > 0 && setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
            setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
          for (uint32_t g : groups)
            if (setsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) < 0) {
              f = Failure::sys(errno, "setsockopt(NETLINK_ADD_MEMBERSHIP)");
              close(s);
              return f;
            }
          fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
          *fd = s;
          return {};
        });
      },
      [fd](Napi::Env env) { return Napi::Number::New(env, *fd); });
}

}  // namespace

Failure create_named(const std::string& name) {
  if (!valid_ns_name(name)) return Failure::sys(EINVAL, "netns", name);
  if (Failure f = prepare_run_dir()) return f;
  std::string path = std::string(kNetnsRun) + "/" + name;
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0 && errno == ENOENT) {
    // /run/netns removed since it was prepared: prepare it again.
    g_run_dir_ready.store(false);
    if (Failure f = prepare_run_dir()) return f;
    fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  }
  if (fd < 0) return Failure::sys(errno, "open", path);
  close(fd);
  Failure f = in_netns(-1, [&]() -> Failure {
    if (unshare(CLONE_NEWNET) < 0) return Failure::sys(errno, "unshare");
    // thread-self, not self: only this thread is in the new namespace.
    if (mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) < 0)
      return Failure::sys(errno, "mount", path);
    return {};
  });
  if (f) unlink(path.c_str());
  return f;
}

Failure delete_named(const std::string& name) {
  if (!valid_ns_name(name)) return Failure::sys(EINVAL, "netns", name);
  std::string path = std::string(kNetnsRun) + "/" + name;
  struct stat st;
  if (stat(path.c_str(), &st) < 0) return Failure::sys(errno, "stat", path);
  if (umount2(path.c_str(), MNT_DETACH) < 0 && errno != EINVAL) return Failure::sys(errno, "umount2", path);
  if (unlink(path.c_str()) < 0) return Failure::sys(errno, "unlink", path);
  return {};
}

Failure open_ns(const std::string& path, int& out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Failure::sys(errno, "open", path);
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type != CLONE_NEWNET) {
    close(fd);
    return Failure::sys(EINVAL, "ioctl(NS_GET_NSTYPE)", path);
  }
  out = fd;
  return {};
}

void init_netns(Napi::Env env, Napi::Object exports) {
  exports.Set("netnsCreate", Napi::Function::New(env, NetnsCreate));
  exports.Set("netnsDelete", Napi::Function::New(env, NetnsDelete));
  exports.Set("netnsOpen", Napi::Function::New(env, NetnsOpen));
  exports.Set("sysctlRead", Napi::Function::New(env, SysctlRead));
  exports.Set("sysctlWrite", Napi::Function::New(env, SysctlWrite));
  exports.Set("openNetlink", Napi::Function::New(env, OpenNetlink));
}

}  // namespace nlnet
