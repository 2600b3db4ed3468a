#include "core/handle.h"

#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>

#include "core/codec.h"
#include "core/ns_thread.h"
#include "core/socket.h"

namespace nlnet {
namespace {

// A dump that keeps being interrupted by changes is retried this many times (unless the handle
// says otherwise), then reported with what it read.
constexpr int kDumpRetries = 10;
// Interrupted dumps retried, process-wide: lets tests and operators see churn happen.
std::atomic<uint64_t> g_dump_retries{0};
// Idle sockets kept per handle; concurrent batches beyond this open sockets of their own.
constexpr size_t kIdleSockets = 4;

struct HandleState {
  int nsfd = -1;  // owned (a dup); -1: the process's own namespace
  int protocol = 0;
  int dump_retries = kDumpRetries;
  std::mutex mu;
  std::vector<std::unique_ptr<NlSocket>> idle;
  bool closed = false;

  ~HandleState() {
    if (nsfd >= 0) close(nsfd);
  }

  // Held locked while a socket is opened: close() must not close nsfd under a setns().
  Failure acquire(std::unique_ptr<NlSocket>& out) {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return Failure::sys(EBADF, "netlink");
    if (!idle.empty()) {
      out = std::move(idle.back());
      idle.pop_back();
      return {};
    }
    Failure f;
    int fd = -1;
    if (nsfd < 0) {
      fd = open_netlink_fd(protocol, f);
    } else {
      f = in_netns(nsfd, [&]() -> Failure {
        Failure g;
        fd = open_netlink_fd(protocol, g);
        return g;
      });
    }
    if (fd < 0) return f;
    out = std::make_unique<NlSocket>(fd);
    return {};
  }

  void shut() {
    std::lock_guard<std::mutex> lock(mu);
    closed = true;
    idle.clear();
    if (nsfd >= 0) close(nsfd);
    nsfd = -1;
  }

  void release(std::unique_ptr<NlSocket> s) {
    std::lock_guard<std::mutex> lock(mu);
    if (!closed && idle.size() < kIdleSockets) idle.push_back(std::move(s));
  }
};

struct Op {
  std::vector<uint8_t> msg;
  std::vector<Patch> patches;
  std::string created_name;  // a link this step creates, found by name if the kernel did not echo it
  bool dump = false;
  // The replies go to JS as the bytes the kernel sent, not decoded here: JS decodes a big dump
  // faster than it builds objects from a tape (lib/rtnl/wire/).
  bool raw = false;
};

struct StepResult {
  std::vector<uint8_t> replies;
  int32_t ifindex = 0;  // of the link this step created, when it created one
};

// The ifindex in the first RTM_NEWLINK of a step's replies (what NLM_F_ECHO sent back).
int32_t echoed_ifindex(const std::vector<uint8_t>& replies) {
  MsgReader r(replies.data(), replies.size());
  Msg m;
  while (r.next(m))
    if (m.hdr.nlmsg_type == RTM_NEWLINK && m.payload_len >= sizeof(ifinfomsg)) {
      ifinfomsg ifi;
      std::memcpy(&ifi, m.payload, sizeof ifi);
      return ifi.ifi_index;
    }
  return 0;
}

Failure ifindex_by_name(NlSocket& s, const std::string& name, int32_t& out) {
  MsgWriter w(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, sizeof(ifinfomsg));
  w.put_str(IFLA_IFNAME, name);
  std::vector<uint8_t> replies;
  bool interrupted = false;
  Failure f = s.transact(w.finish(), replies, interrupted);
  if (f.errno_ == ENODEV) f.extack = "Cannot find device \"" + name + "\"";
  if (f) return f;
  out = echoed_ifindex(replies);
  if (out <= 0) {
    f = Failure::sys(ENODEV, "netlink");
    f.extack = "Cannot find device \"" + name + "\"";
  }
  return f;
}

class ExecWorker : public Napi::AsyncWorker {
 public:
  // With an nf_tables envelope (begin and end set), the operations go as one atomic batch.
  ExecWorker(Napi::Env env, std::shared_ptr<HandleState> state, std::vector<Op> ops,
             std::vector<uint8_t> begin = {}, std::vector<uint8_t> end = {})
      : Napi::AsyncWorker(env, "nlnet.exec"), deferred_(Napi::Promise::Deferred::New(env)),
        state_(std::move(state)), ops_(std::move(ops)), begin_(std::move(begin)), end_(std::move(end)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    std::unique_ptr<NlSocket> sock;
    if ((failure_ = state_->acquire(sock))) return;
    if (!begin_.empty()) {
      run_batch(*sock);
    } else {
      std::map<std::string, int32_t> names;
      for (size_t i = 0; i < ops_.size(); i++) {
        failure_ = run_step(*sock, i, names);
        if (failure_) {
          failure_.step = static_cast<int32_t>(i);
          break;
        }
      }
    }
    state_->release(std::move(sock));
    decode_all();
  }

  // All or nothing: on failure nothing was applied, so no step has a result.
  void run_batch(NlSocket& sock) {
    std::vector<std::vector<uint8_t>> msgs;
    msgs.reserve(ops_.size() + 2);
    msgs.push_back(std::move(begin_));
    for (Op& op : ops_) msgs.push_back(std::move(op.msg));
    msgs.push_back(std::move(end_));
    std::vector<std::vector<uint8_t>> replies;
    int32_t failed = -1;
    failure_ = sock.transact_batch(msgs, replies, failed);
    if (failure_) {
      failure_.step = failed > 0 ? failed - 1 : 0;
      atomic_failure_ = true;
      return;
    }
    for (size_t i = 0; i < ops_.size(); i++) results_.push_back({std::move(replies[i + 1]), 0});
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object out = tape_.to_js(env).As<Napi::Object>();
    attach_raw(env, out);
    if (failure_) {
      Napi::Error e = to_js_error(env, failure_);
      e.Value().Set("tape", out);
      deferred_.Reject(e.Value());
      return;
    }
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Failure run_step(NlSocket& sock, size_t i, std::map<std::string, int32_t>& names) {
    Op& op = ops_[i];
    for (const Patch& p : op.patches) {
      int32_t ifindex = 0;
      if (p.step >= 0) {
        if (static_cast<size_t>(p.step) >= i) return Failure::sys(EINVAL, "batch");
        ifindex = results_[p.step].ifindex;
        if (ifindex <= 0) return Failure::sys(ENODEV, "batch");
      } else if (auto it = names.find(p.name); it != names.end()) {
        ifindex = it->second;
      } else {
        if (Failure f = ifindex_by_name(sock, p.name, ifindex)) return f;
        names[p.name] = ifindex;
      }
      std::memcpy(op.msg.data() + p.offset, &ifindex, sizeof ifindex);
    }
    results_.emplace_back();
    StepResult& r = results_.back();
    bool interrupted = false;
    const int retries = state_->dump_retries;
    for (int attempt = 0; attempt <= retries; attempt++) {
      r.replies.clear();
      if (Failure f = sock.transact(op.msg, r.replies, interrupted)) return f;
      if (!interrupted) break;
      if (attempt < retries) g_dump_retries++;
    }
    if (interrupted) {
      interrupted_ = true;
      Failure f = Failure::sys(EINTR, "netlink");
      f.extack = "dump interrupted by concurrent changes " + std::to_string(retries + 1) + " times";
      return f;
    }
    if (!op.created_name.empty()) {
      r.ifindex = echoed_ifindex(r.replies);
      // Kernels before 6.3 do not echo a new link; ask for it by name instead.
      if (r.ifindex <= 0) {
        if (Failure f = ifindex_by_name(sock, op.created_name, r.ifindex)) return f;
      }
      names.erase(op.created_name);
    }
    return {};
  }

  // { results: [[body…] per finished step], partial?: [body…] }, decoded here on the worker. A raw
  // step has an empty list there; its bytes come as raw[step] (attach_raw).
  void decode_all() {
    done_ = atomic_failure_ ? 0 : failure_ ? static_cast<size_t>(failure_.step) : results_.size();
    partial_ = interrupted_ && done_ < results_.size();
    size_t bytes = 0;
    for (size_t i = 0; i < results_.size(); i++)
      if (!ops_[i].raw) bytes += results_[i].replies.size();
    tape_.reserve(bytes / 4);  // about one instruction per four bytes of message
    tape_.obj();
    tape_.key("results");
    tape_.arr();
    for (size_t i = 0; i < done_; i++) decode_step(i);
    tape_.end();
    if (partial_) {
      tape_.key("partial");
      decode_step(done_);
    }
    tape_.end();
  }

  void decode_step(size_t i) {
    if (!ops_[i].raw) return decode_replies(results_[i].replies);
    tape_.arr();
    tape_.end();
  }

  // raw: [Buffer, …] on the tape object, indexed like the steps (the partial step's at its index),
  // when a step asked for its bytes. The Buffer takes over the replies' memory: no copy.
  void attach_raw(Napi::Env env, Napi::Object out) {
    Napi::Array raw;
    for (size_t i = 0; i < done_ + (partial_ ? 1 : 0); i++) {
      if (!ops_[i].raw) continue;
      if (raw.IsEmpty()) raw = Napi::Array::New(env);
      auto* bytes = new std::vector<uint8_t>(std::move(results_[i].replies));
      // The socket reserves what the last such dump took; a table that shrank leaves room unused.
      if (bytes->capacity() > 2 * bytes->size()) bytes->shrink_to_fit();
      if (bytes->empty()) {
        delete bytes;
        raw.Set(i, Napi::Buffer<uint8_t>::New(env, 0));
        continue;
      }
      raw.Set(i, Napi::Buffer<uint8_t>::NewOrCopy(env, bytes->data(), bytes->size(),
                                                  [](Napi::Env, uint8_t*, std::vector<uint8_t>* b) { delete b; }, bytes));
    }
    if (!raw.IsEmpty()) out.Set("raw", raw);
  }

  void decode_replies(const std::vector<uint8_t>& bytes) {
    DecodeCtx ctx{tape_};
    tape_.arr();
    MsgReader r(bytes.data(), bytes.size());
    Msg m;
    while (r.next(m)) {
      const Schema* s = schema_for(state_->protocol, m.hdr.nlmsg_type);
      // A malformed message writes nothing: skipped rather than half-read.
      if (s) decode_body(ctx, *s, m.payload, m.payload_len);
    }
    tape_.end();
  }

  Napi::Promise::Deferred deferred_;
  std::shared_ptr<HandleState> state_;
  std::vector<Op> ops_;
  std::vector<StepResult> results_;
  std::vector<uint8_t> begin_, end_;
  Failure failure_;
  bool interrupted_ = false;
  bool atomic_failure_ = false;
  size_t done_ = 0;       // steps whose results JS gets
  bool partial_ = false;  // and the interrupted dump after them
  Tape tape_;
};

class Handle : public Napi::ObjectWrap<Handle> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Handle",
                       {InstanceMethod<&Handle::Exec>("exec"), InstanceMethod<&Handle::Close>("close")});
  }

  // new Handle(nsfd, protocol, dumpRetries?): nsfd is duplicated, the caller keeps its own.
  explicit Handle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Handle>(info) {
    state_ = std::make_shared<HandleState>();
    int nsfd = info[0].As<Napi::Number>().Int32Value();
    state_->protocol = info[1].As<Napi::Number>().Int32Value();
    if (info[2].IsNumber()) state_->dump_retries = info[2].As<Napi::Number>().Int32Value();
    if (nsfd >= 0) {
      state_->nsfd = fcntl_dup(nsfd);
      if (state_->nsfd < 0) throw to_js_error(info.Env(), Failure::sys(errno, "dup"));
    }
  }

 private:
  static int fcntl_dup(int fd);

  // exec([{ type, flags, body, name?, raw? }]) → Promise<tape of { results, partial? }, with raw>
  Napi::Value Exec(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsArray()) throw Napi::TypeError::New(env, "exec: expected an array of operations");
    auto arr = info[0].As<Napi::Array>();
    std::vector<Op> ops;
    ops.reserve(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Object o = arr.Get(i).As<Napi::Object>();
      uint16_t type = static_cast<uint16_t>(o.Get("type").As<Napi::Number>().Uint32Value());
      uint16_t flags = static_cast<uint16_t>(o.Get("flags").As<Napi::Number>().Uint32Value());
      const Schema* s = schema_for(state_->protocol, type);
      if (!s) throw Napi::TypeError::New(env, "exec: unknown message type " + std::to_string(type));
      Napi::Value body = o.Get("body");
      if (!body.IsObject()) throw Napi::TypeError::New(env, "exec: each operation needs a body object");
      const Schema& schema = s->for_encoding(body.As<Napi::Object>());
      EncodeCtx ctx{env};
      MsgWriter w(type, flags, schema.header_len);
      encode_body(ctx, w, schema, MsgWriter::kHeaderOffset, body.As<Napi::Object>());
      if (w.overflowed()) throw Napi::RangeError::New(env, "exec: an attribute of operation " + std::to_string(i) + " exceeds 64 KiB");
      Op op;
      op.msg = std::move(w.finish());
      op.patches = std::move(ctx.patches);
      op.dump = (flags & NLM_F_DUMP) == NLM_F_DUMP;
      op.raw = o.Get("raw").ToBoolean().Value();
      if (o.Get("name").IsString()) op.created_name = o.Get("name").As<Napi::String>().Utf8Value();
      ops.push_back(std::move(op));
    }
    // exec(ops, { batch: true, genid? }): an nf_tables transaction.
    std::vector<uint8_t> begin, end;
    if (info[1].IsObject() && info[1].As<Napi::Object>().Get("batch").ToBoolean().Value()) {
      if (state_->protocol != NETLINK_NETFILTER) throw Napi::TypeError::New(env, "exec: batches are for nf_tables");
      Napi::Object envelope = Napi::Object::New(env);
      envelope.Set("resId", Napi::Number::New(env, NFNL_SUBSYS_NFTABLES));
      Napi::Value genid = info[1].As<Napi::Object>().Get("genid");
      // The envelope's schema comes through the registry, so that core names no nft/ file.
      const Schema& batch = *schema_for(NETLINK_NETFILTER, NFNL_MSG_BATCH_BEGIN);
      EncodeCtx ctx{env};
      MsgWriter b(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, sizeof(nfgenmsg));
      encode_body(ctx, b, batch, MsgWriter::kHeaderOffset, envelope);
      if (!genid.IsUndefined()) encode_field(ctx, b, batch.attrs[0], genid);
      begin = std::move(b.finish());
      MsgWriter e(NFNL_MSG_BATCH_END, NLM_F_REQUEST, sizeof(nfgenmsg));
      encode_body(ctx, e, batch, MsgWriter::kHeaderOffset, envelope);
      end = std::move(e.finish());
    }
    auto* worker = new ExecWorker(env, state_, std::move(ops), std::move(begin), std::move(end));
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    state_->shut();
    return info.Env().Undefined();
  }

  std::shared_ptr<HandleState> state_;
};

int Handle::fcntl_dup(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 0); }

}  // namespace

void init_handle(Napi::Env env, Napi::Object exports) {
  exports.Set("Handle", Handle::define(env));
  exports.Set("counters", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("dumpRetries", Napi::Number::New(info.Env(), static_cast<double>(g_dump_retries.load())));
    return o;
  }));
}

}  // namespace nlnet
