#include "core/steps.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>

namespace nlnet {
namespace {

// Interrupted dumps retried, process-wide: lets tests and operators see churn happen.
std::atomic<uint64_t> g_dump_retries{0};

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

// A link's index in the socket's namespace. SIOCGIFINDEX works on any socket, a netlink one
// included (the kernel falls back to its device ioctls), and costs no message: a request naming
// its device by name costs one lookup, not a link message built, sent and read. RTM_GETLINK is
// kept for what the ioctl cannot answer.
Failure ifindex_by_name(NlSocket& s, const std::string& name, int32_t& out) {
  ifreq ifr{};
  if (name.size() < sizeof ifr.ifr_name) {
    std::memcpy(ifr.ifr_name, name.data(), name.size());
    if (ioctl(s.fd(), SIOCGIFINDEX, &ifr) == 0 && ifr.ifr_ifindex > 0) {
      out = ifr.ifr_ifindex;
      return {};
    }
  }
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

// Fills in what the step learns only now: ifindexes of links made by earlier steps or named,
// and the descriptor of the namespace a job made.
Failure patch(NlSocket& sock, Op& op, size_t i, StepsOutcome& out, std::map<std::string, int32_t>& names) {
  for (const Patch& p : op.patches) {
    int32_t value = 0;
    if (p.step == Patch::kJobNetns) {
      if (out.job_netns < 0) return Failure::sys(EINVAL, "batch");
      value = out.job_netns;
    } else if (p.step >= 0) {
      if (static_cast<size_t>(p.step) >= i) return Failure::sys(EINVAL, "batch");
      value = out.results[p.step].ifindex;
      if (value <= 0) return Failure::sys(ENODEV, "batch");
    } else if (auto it = names.find(p.name); it != names.end()) {
      value = it->second;
    } else {
      if (Failure f = ifindex_by_name(sock, p.name, value)) return f;
      names[p.name] = value;
    }
    std::memcpy(op.msg.data() + p.offset, &value, sizeof value);
  }
  return {};
}

Failure run_step(NlSocket& sock, OpList& list, size_t i, int retries, StepsOutcome& out,
                 std::map<std::string, int32_t>& names) {
  Op& op = list.ops[i];
  if (Failure f = patch(sock, op, i, out, names)) return f;
  out.results.emplace_back();
  StepResult& r = out.results.back();
  bool interrupted = false;
  for (int attempt = 0; attempt <= retries; attempt++) {
    r.replies.clear();
    if (Failure f = sock.transact(op.msg, r.replies, interrupted)) return f;
    if (!interrupted) break;
    if (attempt < retries) g_dump_retries++;
  }
  if (interrupted) {
    out.interrupted = true;
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

// All or nothing: on failure nothing was applied, so no step has a result.
void run_transaction(NlSocket& sock, OpList& list, StepsOutcome& out) {
  std::vector<std::vector<uint8_t>> msgs;
  msgs.reserve(list.ops.size() + 2);
  msgs.push_back(std::move(list.begin));
  for (Op& op : list.ops) msgs.push_back(std::move(op.msg));
  msgs.push_back(std::move(list.end));
  std::vector<std::vector<uint8_t>> replies;
  int32_t failed = -1;
  out.failure = sock.transact_batch(msgs, replies, failed);
  if (out.failure) {
    out.failure.step = failed > 0 ? failed - 1 : 0;
    out.atomic_failure = true;
    return;
  }
  for (size_t i = 0; i < list.ops.size(); i++) out.results.push_back({std::move(replies[i + 1]), 0});
}

void tape_replies(Tape& t, int protocol, const std::vector<uint8_t>& bytes) {
  DecodeCtx ctx{t};
  t.arr();
  MsgReader r(bytes.data(), bytes.size());
  Msg m;
  while (r.next(m)) {
    const Schema* s = schema_for(protocol, m.hdr.nlmsg_type);
    // A malformed message writes nothing: skipped rather than half-read.
    if (s) decode_body(ctx, *s, m.payload, m.payload_len);
  }
  t.end();
}

void tape_step(Tape& t, int protocol, const StepsOutcome& o, const OpList& list, size_t i) {
  if (!list.ops[i].raw) return tape_replies(t, protocol, o.results[i].replies);
  t.arr();
  t.end();
}

}  // namespace

OpList encode_ops(Napi::Env env, int protocol, const Napi::Value& value, const Napi::Value& options) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, "exec: expected an array of operations");
  auto arr = value.As<Napi::Array>();
  OpList list;
  list.protocol = protocol;
  list.ops.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    if (!item.IsObject()) throw Napi::TypeError::New(env, "exec: each operation must be an object");
    Napi::Object o = item.As<Napi::Object>();
    uint16_t type = static_cast<uint16_t>(o.Get("type").As<Napi::Number>().Uint32Value());
    uint16_t flags = static_cast<uint16_t>(o.Get("flags").As<Napi::Number>().Uint32Value());
    const Schema* s = schema_for(protocol, type);
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
    list.ops.push_back(std::move(op));
  }
  // { batch: true, genid? }: an nf_tables transaction.
  if (!options.IsObject() || !options.As<Napi::Object>().Get("batch").ToBoolean().Value()) return list;
  if (protocol != NETLINK_NETFILTER) throw Napi::TypeError::New(env, "exec: batches are for nf_tables");
  Napi::Object envelope = Napi::Object::New(env);
  envelope.Set("resId", Napi::Number::New(env, NFNL_SUBSYS_NFTABLES));
  Napi::Value genid = options.As<Napi::Object>().Get("genid");
  // The envelope's schema comes through the registry, so that core names no nft/ file.
  const Schema& batch = *schema_for(NETLINK_NETFILTER, NFNL_MSG_BATCH_BEGIN);
  EncodeCtx ctx{env};
  MsgWriter b(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, sizeof(nfgenmsg));
  encode_body(ctx, b, batch, MsgWriter::kHeaderOffset, envelope);
  if (!genid.IsUndefined()) encode_field(ctx, b, batch.attrs[0], genid);
  list.begin = std::move(b.finish());
  MsgWriter e(NFNL_MSG_BATCH_END, NLM_F_REQUEST, sizeof(nfgenmsg));
  encode_body(ctx, e, batch, MsgWriter::kHeaderOffset, envelope);
  list.end = std::move(e.finish());
  return list;
}

void run_ops(NlSocket& sock, OpList& list, int dump_retries, StepsOutcome& out) {
  if (!list.begin.empty()) return run_transaction(sock, list, out);
  std::map<std::string, int32_t> names;
  for (size_t i = 0; i < list.ops.size(); i++) {
    out.failure = run_step(sock, list, i, dump_retries, out, names);
    if (out.failure) {
      out.failure.step = static_cast<int32_t>(i);
      return;
    }
  }
}

size_t steps_done(const StepsOutcome& o) {
  return o.atomic_failure ? 0 : o.failure ? static_cast<size_t>(o.failure.step) : o.results.size();
}

void tape_results(Tape& t, int protocol, const StepsOutcome& o, const OpList& list) {
  size_t done = steps_done(o);
  size_t bytes = 0;
  for (size_t i = 0; i < o.results.size(); i++)
    if (!list.ops[i].raw) bytes += o.results[i].replies.size();
  t.reserve(bytes / 4);  // about one instruction per four bytes of message
  t.arr();
  for (size_t i = 0; i < done; i++) tape_step(t, protocol, o, list, i);
  t.end();
}

void tape_partial(Tape& t, int protocol, const StepsOutcome& o, const OpList& list) {
  if (has_partial(o)) tape_step(t, protocol, o, list, steps_done(o));
}

bool has_partial(const StepsOutcome& o) { return o.interrupted && steps_done(o) < o.results.size(); }

uint64_t dump_retries_total() { return g_dump_retries.load(); }

}  // namespace nlnet
