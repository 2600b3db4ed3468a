// A job: several parts done in one native call on a namespace thread, with no JS between them,
// stopping at the first failure and saying which part (and step) it was. It is how a whole attach
// costs the kernel's time: `ip netns add`, files, an rtnetlink batch on a handle's socket, one in
// the new namespace, an nf_tables transaction. The parts are messages and files; what they mean
// (a sandbox, a published port) is the caller's, and so is undoing the parts that finished.
//
//   new Job([part…]); job.run(count?, more?) → Promise<tape { results: [[[body…] per step] per part] }>
//   runs the next `count` parts (all that are left by default; fault-injection tests run them
//   one at a time, with JS between), a non-ops part's results []; job.append([part…]) adds parts
//   between runs (an attach starts its namespace while the store decides the rest); a run with
//   `more` keeps the job's namespace open for them
//   part: { netns: NAME }                       ip netns add NAME; later parts may carry its
//                                               descriptor ({ jobNetns: true } as netnsFd)
//         { file: PATH, data: STRING }          written whole, its directory made (0755)
//         { handle: Handle, ops, options? }     ops on the handle's socket (handle.h's exec)
//         { protocol: N, ops, options? }        ops on a socket opened in the job's namespace
//   failure: the error has `part`, `step` (in an ops part) and the tape of the parts before it
//   in this run, then of the failed part's finished steps. A job that failed runs no more.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/handle.h"
#include "core/ns_task.h"
#include "core/ns_thread.h"
#include "core/steps.h"
#include "core/tape.h"
#include "netns/netns.h"

namespace nlnet {
namespace {

struct NetnsPart {
  std::string name;
};
struct FilePart {
  std::string path, data;
};
struct OpsPart {
  std::shared_ptr<HandleState> handle;  // null: a socket in the job's namespace
  OpList ops;
  StepsOutcome outcome;
};
using Part = std::variant<NetnsPart, FilePart, OpsPart>;

// mkdir -p of path's directory.
Failure make_parent(const std::string& path) {
  for (size_t at = path.find('/', 1); at != std::string::npos; at = path.find('/', at + 1)) {
    std::string dir = path.substr(0, at);
    if (mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) return Failure::sys(errno, "mkdir", dir);
  }
  return {};
}

Failure write_file(const FilePart& p) {
  int fd = open(p.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  // Directories made only when missing: each mkdir is a path walk, and they mostly exist.
  if (fd < 0 && errno == ENOENT) {
    if (Failure f = make_parent(p.path)) return f;
    fd = open(p.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  if (fd < 0) return Failure::sys(errno, "open", p.path);
  Failure f;
  for (size_t done = 0; done < p.data.size();) {
    ssize_t n = write(fd, p.data.data() + done, p.data.size() - done);
    if (n < 0) {
      f = Failure::sys(errno, "write", p.path);
      break;
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  return f;
}

// What a job holds between its runs: its parts, the namespace it made, the sockets it opened there.
class JobState {
 public:
  explicit JobState(std::vector<Part> parts) : parts_(std::move(parts)) {}
  ~JobState() { finish(); }

  // Runs parts [next, next + count) on the calling namespace thread, writing their results;
  // keeps the namespace and its sockets for parts still to come when `more`.
  void run(size_t count, bool more, Tape& tape) {
    size_t from = next_, to = next_ + std::min(count, parts_.size() - next_);
    for (; next_ < to; next_++) {
      failure_ = run(parts_[next_]);
      if (failure_) break;
    }
    size_t ran = failure_ ? next_ + 1 : next_;
    tape.obj();
    tape.key("results");
    tape.arr();
    for (size_t i = from; i < ran; i++) {
      if (auto* ops = std::get_if<OpsPart>(&parts_[i])) {
        tape_results(tape, ops->ops.protocol, ops->outcome, ops->ops);
      } else {
        tape.arr();
        tape.end();
      }
    }
    tape.end();
    tape.end();
    if (failure_ || (next_ == parts_.size() && !more)) finish();
  }

  // Between runs only: a running job's parts are read by its namespace thread.
  void append(std::vector<Part> more) {
    for (Part& p : more) parts_.push_back(std::move(p));
  }

  bool busy = false;
  const Failure& failure() const { return failure_; }
  size_t failed_part() const { return next_; }
  bool done() const { return failure_ || next_ == parts_.size(); }
  bool failed() const { return static_cast<bool>(failure_); }

 private:
  Failure run(Part& part) {
    if (auto* ns = std::get_if<NetnsPart>(&part)) {
      if (netns_fd_ >= 0) return Failure::sys(EINVAL, "job", "one namespace per job");
      if (Failure f = create_named(ns->name)) return f;
      Failure f = open_ns("/run/netns/" + ns->name, netns_fd_);
      // The part failed: what it made goes (the caller undoes finished parts only).
      if (f) delete_named(ns->name);
      return f;
    }
    if (auto* file = std::get_if<FilePart>(&part)) return write_file(*file);
    auto& ops = std::get<OpsPart>(part);
    ops.outcome.job_netns = netns_fd_;
    if (ops.handle) {
      std::unique_ptr<NlSocket> sock;
      if (Failure f = ops.handle->acquire(sock)) return f;
      run_ops(*sock, ops.ops, ops.handle->dump_retries, ops.outcome);
      ops.handle->release(std::move(sock));
      return ops.outcome.failure;
    }
    NlSocket* sock = nullptr;
    if (Failure f = socket_in_netns(ops.ops.protocol, sock)) return f;
    run_ops(*sock, ops.ops, kDumpRetries, ops.outcome);
    return ops.outcome.failure;
  }

  // One socket per protocol in the job's namespace, opened on first use (setns in and back).
  Failure socket_in_netns(int protocol, NlSocket*& out) {
    if (netns_fd_ < 0) return Failure::sys(EINVAL, "job", "no namespace made before its sockets");
    auto& s = sockets_[protocol];
    if (!s) {
      int fd = -1;
      Failure f = in_netns(netns_fd_, [&]() -> Failure {
        Failure g;
        fd = open_netlink_fd(protocol, g);
        return g;
      });
      if (fd < 0) return f;
      s = std::make_unique<NlSocket>(fd);
    }
    out = s.get();
    return {};
  }

  // The namespace's descriptor and sockets are let go as soon as nothing more will run.
  void finish() {
    sockets_.clear();
    if (netns_fd_ >= 0) close(netns_fd_);
    netns_fd_ = -1;
  }

  static constexpr int kDumpRetries = 10;
  std::vector<Part> parts_;
  size_t next_ = 0;
  std::map<int, std::unique_ptr<NlSocket>> sockets_;
  int netns_fd_ = -1;
  Failure failure_;
};

class JobRun : public NsTask {
 public:
  JobRun(std::shared_ptr<JobState> state, size_t count, bool more) : state_(std::move(state)), count_(count), more_(more) {}

  void execute() override { state_->run(count_, more_, tape_); }

  void settle(Napi::Env env, Napi::Promise::Deferred& deferred) override {
    state_->busy = false;
    Napi::Value out = tape_.to_js(env);
    if (!state_->failure()) return deferred.Resolve(out);
    Napi::Error e = to_js_error(env, state_->failure());
    e.Value().Set("part", Napi::Number::New(env, static_cast<double>(state_->failed_part())));
    e.Value().Set("tape", out);
    deferred.Reject(e.Value());
  }

 private:
  std::shared_ptr<JobState> state_;
  size_t count_;
  bool more_;
  Tape tape_;
};

std::string string_field(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw Napi::TypeError::New(env, std::string("job: ") + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

// A part's operations; a job changes things, so no step takes its replies raw (a dump's bytes).
OpList job_ops(Napi::Env env, int protocol, const Napi::Object& part) {
  OpList list = encode_ops(env, protocol, part.Get("ops"), part.Get("options"));
  for (const Op& op : list.ops)
    if (op.raw) throw Napi::TypeError::New(env, "job: a raw step (its replies as bytes) is for exec");
  return list;
}

std::vector<Part> parts_from_js(Napi::Env env, const Napi::Value& value) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, "job: expected an array of parts");
  auto arr = value.As<Napi::Array>();
  std::vector<Part> parts;
  parts.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    if (!item.IsObject()) throw Napi::TypeError::New(env, "job: each part must be an object");
    Napi::Object o = item.As<Napi::Object>();
    if (o.Has("netns")) {
      parts.emplace_back(NetnsPart{string_field(env, o, "netns")});
    } else if (o.Has("file")) {
      parts.emplace_back(FilePart{string_field(env, o, "file"), string_field(env, o, "data")});
    } else if (o.Has("handle")) {
      auto state = handle_state(o.Get("handle"));
      parts.emplace_back(OpsPart{state, job_ops(env, state->protocol, o), {}});
    } else if (o.Has("protocol")) {
      parts.emplace_back(OpsPart{nullptr, job_ops(env, o.Get("protocol").As<Napi::Number>().Int32Value(), o), {}});
    } else {
      throw Napi::TypeError::New(env, "job: part " + std::to_string(i) + " is none of netns, file, handle, protocol");
    }
  }
  return parts;
}

class Job : public Napi::ObjectWrap<Job> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Job", {InstanceMethod<&Job::Run>("run"), InstanceMethod<&Job::Append>("append")});
  }

  explicit Job(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<Job>(info), state_(std::make_shared<JobState>(parts_from_js(info.Env(), info[0]))) {}

 private:
  Napi::Value Run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (state_->busy) throw Napi::Error::New(env, "job: already running");
    if (state_->done()) throw Napi::Error::New(env, "job: nothing left to run");
    size_t count = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : SIZE_MAX;
    bool more = info[1].ToBoolean().Value();
    state_->busy = true;
    return start_ns_task(env, std::make_unique<JobRun>(state_, count, more));
  }

  Napi::Value Append(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (state_->busy) throw Napi::Error::New(env, "job: cannot add parts while it runs");
    if (state_->failed()) throw Napi::Error::New(env, "job: it failed; nothing more runs");
    state_->append(parts_from_js(env, info[0]));
    return env.Undefined();
  }

  std::shared_ptr<JobState> state_;
};

}  // namespace

void init_job(Napi::Env env, Napi::Object exports) { exports.Set("Job", Job::define(env)); }

}  // namespace nlnet
