// Runs the user's own command inside a network namespace, as `ip netns exec NAME CMD` does: the
// one place nlnet starts a process (`nlnet exec`/`run`); nlnet itself never forks to do its work.
//
// Everything that allocates happens before fork(): argv, envp and the bind list are built as C
// arrays, the namespace is opened (O_CLOEXEC) and the PATH lookup is done by the caller. Between
// fork() and execve() the child makes only async-signal-safe system calls, because the parent is
// multi-threaded (libuv's pool, the namespace thread) and another thread may have held malloc's
// lock at the moment of the fork. A failing step is written to a CLOEXEC pipe as
// { errno, step, index }: a successful execve closes the pipe with nothing in it.
//
// Waiting runs on the libuv pool (Task): read the pipe, then waitpid(pid). libuv reaps only the
// children it started itself (uv_spawn), so this waitpid never races with it.
#include <fcntl.h>
#include <napi.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/fd_watch.h"
#include "core/task.h"

namespace nlnet {
namespace {

// Which step of the child failed; the parent turns it back into a syscall name and a path.
enum Step : int { kSetns, kUnshare, kSlave, kBind, kSysfs, kChdir, kExec, kOutput };

struct ChildFailure {
  int err;
  int step;
  int index;  // kBind: which bind; otherwise 0
};

struct Bind {
  std::string source;  // /etc/netns/NAME/resolv.conf
  std::string target;  // /etc/resolv.conf
};

struct Plan {
  std::string file;  // absolute or relative path of the program; the caller resolved PATH
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd;       // empty: the caller's
  std::string output;    // empty: stdout and stderr inherited; else the file both append to
  std::string ns_path;   // empty: the caller's namespace
  std::vector<Bind> binds;
  bool private_mounts = false;  // a mount namespace of its own (binds, or a fresh /sys)
  bool sysfs_readonly = false;

  // NULL-terminated arrays pointing into the strings above: built before fork().
  std::vector<char*> c_argv;
  std::vector<char*> c_env;

  void seal() {
    for (auto& a : argv) c_argv.push_back(a.data());
    c_argv.push_back(nullptr);
    for (auto& e : env) c_env.push_back(e.data());
    c_env.push_back(nullptr);
  }
};

[[noreturn]] void report(int fd, int err, Step step, int index = 0) {
  ChildFailure f{err, step, index};
  // Nothing to do if this fails: the parent then sees exit status 127 and no report.
  ssize_t n = write(fd, &f, sizeof f);
  (void)n;
  _exit(127);
}

// The child, from fork() to execve(). Async-signal-safe calls only.
[[noreturn]] void child(const Plan& p, int nsfd, int report_fd) {
  // Dispositions set to "ignore" survive execve (Node ignores SIGPIPE) and so does the signal
  // mask: give the command the defaults a shell would.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Node marks its own stdio close-on-exec; the command inherits it, as uv_spawn's dup2 would give.
  for (int fd = 0; fd <= 2; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) != 0) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  // Opened before the namespaces change: the path means what it means to the caller.
  if (!p.output.empty()) {
    int out = open(p.output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (out < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0) report(report_fd, errno, kOutput);
  }

  if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0) report(report_fd, errno, kSetns);
  if (p.private_mounts) {
    if (unshare(CLONE_NEWNS) < 0) report(report_fd, errno, kUnshare);
    // Our binds and the fresh /sys must not propagate back to the host's mount namespace.
    if (mount("", "/", "none", MS_SLAVE | MS_REC, nullptr) < 0) report(report_fd, errno, kSlave);
    for (size_t i = 0; i < p.binds.size(); i++) {
      if (mount(p.binds[i].source.c_str(), p.binds[i].target.c_str(), "none", MS_BIND, nullptr) < 0)
        report(report_fd, errno, kBind, static_cast<int>(i));
    }
    if (nsfd >= 0) {
      // sysfs shows the network devices of the namespace that mounts it: a fresh mount made
      // here lists the sandbox's links under /sys/class/net. No sysfs before is fine.
      umount2("/sys", MNT_DETACH);
      unsigned long flags = p.sysfs_readonly ? MS_RDONLY : 0;
      if (mount("sysfs", "/sys", "sysfs", flags, nullptr) < 0) report(report_fd, errno, kSysfs);
    }
  }
  if (!p.cwd.empty() && chdir(p.cwd.c_str()) < 0) report(report_fd, errno, kChdir);
  execve(p.file.c_str(), p.c_argv.data(), p.c_env.data());
  report(report_fd, errno, kExec);
}

Failure describe(const Plan& p, const ChildFailure& f) {
  switch (f.step) {
    case kSetns: return Failure::sys(f.err, "setns", p.ns_path);
    case kUnshare: return Failure::sys(f.err, "unshare");
    case kSlave: return Failure::sys(f.err, "mount", "/");
    case kBind: {
      size_t i = static_cast<size_t>(f.index);
      return Failure::sys(f.err, "mount", i < p.binds.size() ? p.binds[i].source + " -> " + p.binds[i].target : "");
    }
    case kSysfs: return Failure::sys(f.err, "mount", "/sys");
    case kChdir: return Failure::sys(f.err, "chdir", p.cwd);
    case kOutput: return Failure::sys(f.err, "open", p.output);
    default: return Failure::sys(f.err, "execve", p.file);
  }
}

// Waits for a started command's end on the JS loop: its pidfd turns readable when it exits, then
// waitid() reaps it and onExit(status, signal) is called. Frees itself after that, or when the
// command never started. Without a pidfd (kernels before 5.3) the start task waits instead.
class ExitWaiter {
 public:
  ExitWaiter(Napi::Env env, Napi::Function on_exit, pid_t pid, int pidfd) : env_(env), on_exit_(Napi::Persistent(on_exit)), pid_(pid), pidfd_(pidfd) {}

  // Set by the start task when it reaped the child itself (no pidfd), with its wait status.
  bool reaped = false;
  int status = 0;

  // On the JS thread, once the command runs.
  void watch(Napi::Env env) {
    if (reaped) return report(status);
    int fd = pidfd_;
    pidfd_ = -1;  // the watch owns it now
    if (watch_.start(env, fd, this, [](void* self) { static_cast<ExitWaiter*>(self)->exited(); }) == 0) return;
    // Cannot poll it (start() closed it): wait on the pool instead, as kernels without pidfds do.
    Napi::Promise done = Task::start(
        env,
        [this]() -> Failure {
          int rc;
          do rc = waitpid(pid_, &status, 0);
          while (rc < 0 && errno == EINTR);
          return {};
        },
        [this](Napi::Env e) {
          report(status);  // frees this
          return e.Undefined();
        });
    (void)done;
  }

  // The command never started (its start failed and the task reaped it).
  void abandon() {
    if (pidfd_ >= 0) close(pidfd_);
    delete this;
  }

 private:
  void exited() {
    siginfo_t si{};
    if (waitid(P_PIDFD, static_cast<id_t>(watch_.fd()), &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0) return;
    watch_.stop();
    report(si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status);
  }

  void report(int st) {
    Napi::Env env = env_;
    Napi::HandleScope scope(env);
    Napi::Value code = WIFEXITED(st) ? Napi::Number::New(env, WEXITSTATUS(st)) : env.Null();
    Napi::Value sig = WIFSIGNALED(st) ? Napi::Number::New(env, WTERMSIG(st)) : env.Null();
    Napi::FunctionReference cb = std::move(on_exit_);
    delete this;
    try {
      cb.MakeCallback(env.Global(), {code, sig});
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  Napi::Env env_;
  Napi::FunctionReference on_exit_;
  pid_t pid_;
  int pidfd_;
  FdWatch watch_;
};

std::vector<std::string> strings(const Napi::Env env, const Napi::Value v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string("spawn: expected an array of strings for ") + what);
  auto arr = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    if (!item.IsString()) throw Napi::TypeError::New(env, std::string("spawn: expected strings in ") + what);
    std::string s = item.As<Napi::String>().Utf8Value();
    if (s.find('\0') != std::string::npos) throw Napi::TypeError::New(env, std::string("spawn: NUL byte in ") + what);
    out.push_back(std::move(s));
  }
  return out;
}

std::string optional_string(const Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return {};
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string("spawn: expected a string for ") + key);
  return v.As<Napi::String>().Utf8Value();
}

// spawn({ file, argv, env, cwd?, output?, nsPath?, binds: [source, target, …] }, onExit(status, signal))
//   → { pid, started: Promise<void> }: `started` settles once the command runs (or rejects with
//   the step that failed); onExit is called once, when a started command ends.
// The lib/spawn.ts façade validates everything and resolves PATH; this only checks types.
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsFunction()) throw Napi::TypeError::New(env, "spawn: expected an options object and an exit callback");
  Napi::Object o = info[0].As<Napi::Object>();
  auto p = std::make_shared<Plan>();
  p->file = optional_string(o, "file");
  p->argv = strings(env, o.Get("argv"), "argv");
  p->env = strings(env, o.Get("env"), "env");
  p->cwd = optional_string(o, "cwd");
  p->output = optional_string(o, "output");
  p->ns_path = optional_string(o, "nsPath");
  std::vector<std::string> flat = strings(env, o.Get("binds"), "binds");
  if (p->file.empty() || p->argv.empty()) throw Napi::TypeError::New(env, "spawn: expected a file and a non-empty argv");
  if (flat.size() % 2 != 0) throw Napi::TypeError::New(env, "spawn: binds come in source, target pairs");
  for (size_t i = 0; i < flat.size(); i += 2) p->binds.push_back({flat[i], flat[i + 1]});
  p->private_mounts = !p->binds.empty() || !p->ns_path.empty();
  struct statvfs sys {};
  // `ip netns exec` keeps /sys read-only when it was; statvfs is not safe after fork.
  p->sysfs_readonly = statvfs("/sys", &sys) == 0 && (sys.f_flag & ST_RDONLY) != 0;
  p->seal();

  int nsfd = -1;
  if (!p->ns_path.empty()) {
    nsfd = open(p->ns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) throw to_js_error(env, Failure::sys(errno, "open", p->ns_path));
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    Failure f = Failure::sys(errno, "pipe2");
    if (nsfd >= 0) close(nsfd);
    throw to_js_error(env, f);
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    child(*p, nsfd, fds[1]);
  }
  int fork_errno = errno;
  if (nsfd >= 0) close(nsfd);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    throw to_js_error(env, Failure::sys(fork_errno, "fork"));
  }

  // The exit is watched on the loop through a pidfd (no thread held for the command's life);
  // opened now, while the child cannot have been reaped by anyone.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  auto* waiter = new ExitWaiter(env, info[1].As<Napi::Function>(), pid, pidfd);
  int read_fd = fds[0];
  Napi::Promise started = Task::start(
      env,
      // Short: the pipe closes at execve, or carries the step that failed.
      [p, pid, read_fd, waiter, pidfd]() -> Failure {
        ChildFailure f{};
        ssize_t n;
        do n = read(read_fd, &f, sizeof f);
        while (n < 0 && errno == EINTR);
        close(read_fd);
        bool failed = n == static_cast<ssize_t>(sizeof f);
        if (!failed && pidfd >= 0) return {};
        // It failed before running the command (and exits at once), or there is no pidfd:
        // reap it here.
        int rc;
        do rc = waitpid(pid, &waiter->status, 0);
        while (rc < 0 && errno == EINTR);
        waiter->reaped = true;
        return failed ? describe(*p, f) : Failure{};
      },
      [waiter](Napi::Env e) {
        waiter->watch(e);
        return e.Undefined();
      });
  // A failed start reports through `started`; the waiter then has nothing to watch.
  started.Get("catch").As<Napi::Function>().Call(started, {Napi::Function::New(env, [waiter](const Napi::CallbackInfo&) { waiter->abandon(); })});
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, pid));
  out.Set("started", started);
  return out;
}

}  // namespace

void init_spawn(Napi::Env env, Napi::Object exports) { exports.Set("spawn", Napi::Function::New(env, Spawn)); }

}  // namespace nlnet
