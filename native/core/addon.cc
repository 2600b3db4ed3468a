// The addon's entry: the handle (batch executor), subscriptions, namespaces, and the pure
// codecs exposed as encode/decode so unit tests can check bytes without root.
#include <napi.h>

#include "core/codec.h"
#include "core/handle.h"
#include "core/ns_task.h"
#include "netns/netns.h"
#include "rtnl/events.h"

namespace nlnet {

// Defined in netns/netns_socket.cc, netns/job.cc and netns/spawn.cc.
void init_netns_socket(Napi::Env env, Napi::Object exports);
void init_job(Napi::Env env, Napi::Object exports);
void init_spawn(Napi::Env env, Napi::Object exports);

namespace {

// encode(protocol, type, flags, body) → Buffer, with seq and pid 0. Interface names and batch
// references are left as zero ifindexes, as the executor would find them before patching.
Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int protocol = info[0].As<Napi::Number>().Int32Value();
  uint16_t type = static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value());
  uint16_t flags = static_cast<uint16_t>(info[2].As<Napi::Number>().Uint32Value());
  const Schema* s = schema_for(protocol, type);
  if (!s) throw Napi::TypeError::New(env, "encode: unknown message type " + std::to_string(type));
  if (!info[3].IsObject()) throw Napi::TypeError::New(env, "encode: expected a body object");
  Napi::Object body = info[3].As<Napi::Object>();
  const Schema& schema = s->for_encoding(body);
  EncodeCtx ctx{env};
  MsgWriter w(type, flags, schema.header_len);
  encode_body(ctx, w, schema, MsgWriter::kHeaderOffset, body);
  if (w.overflowed()) throw Napi::RangeError::New(env, "encode: an attribute exceeds 64 KiB");
  auto& bytes = w.finish();
  return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
}

// decode(protocol, buffer) → the tape of [{ type, flags, seq, pid, body }], unknown attributes kept.
Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int protocol = info[0].As<Napi::Number>().Int32Value();
  if (!info[1].IsBuffer()) throw Napi::TypeError::New(env, "decode: expected a Buffer");
  auto buf = info[1].As<Napi::Buffer<uint8_t>>();
  Tape t;
  DecodeCtx ctx{t, true};
  t.arr();
  MsgReader r(buf.Data(), buf.Length());
  Msg m;
  while (r.next(m)) {
    t.obj();
    for (auto [key, v] : {std::pair<const char*, double>{"type", m.hdr.nlmsg_type}, {"flags", m.hdr.nlmsg_flags},
                          {"seq", m.hdr.nlmsg_seq}, {"pid", m.hdr.nlmsg_pid}}) {
      t.key(key);
      t.num(v);
    }
    if (const Schema* s = schema_for(protocol, m.hdr.nlmsg_type)) {
      t.key("body");
      if (!decode_body(ctx, *s, m.payload, m.payload_len)) throw Napi::RangeError::New(env, "decode: malformed message body");
    }
    t.end();
  }
  if (r.malformed()) throw Napi::RangeError::New(env, "decode: malformed netlink message");
  t.end();
  return t.to_js(env);
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("encode", Napi::Function::New(env, Encode));
  exports.Set("decode", Napi::Function::New(env, Decode));
  init_ns_task(env);
  init_handle(env, exports);
  init_events(env, exports);
  init_netns(env, exports);
  init_netns_socket(env, exports);
  init_job(env, exports);
  init_spawn(env, exports);
  return exports;
}

}  // namespace nlnet

// The macro pastes its argument into a name, so it needs a plain identifier.
static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return nlnet::Init(env, exports); }
NODE_API_MODULE(nlnet, InitAddon)
