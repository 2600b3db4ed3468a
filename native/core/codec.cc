// The encoding half of the codec engine (codec.h), and the value helpers both halves share.
#include "core/codec.h"

#include <arpa/inet.h>
#include <endian.h>
#include <linux/netfilter/nf_tables.h>

#include <cmath>
#include <cstdio>

namespace nlnet {


const char* EnumTable::lookup(uint32_t v) const {
  for (size_t i = 0; i < count; i++)
    if (items[i].value == v) return items[i].name;
  return nullptr;
}

bool EnumTable::find(std::string_view name, uint32_t& out) const {
  for (size_t i = 0; i < count; i++)
    if (name == items[i].name) {
      out = items[i].value;
      return true;
    }
  return false;
}

void type_error(EncodeCtx& ctx, const char* key, const std::string& what) {
  std::string where = ctx.path.empty() ? key : ctx.path + "." + key;
  throw Napi::TypeError::New(ctx.env, where + ": " + what);
}

uint64_t to_uint(EncodeCtx& ctx, const Napi::Value& v, const char* key, uint64_t max) {
  if (v.IsBigInt()) {
    bool lossless = true;
    uint64_t n = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless || n > max) type_error(ctx, key, "out of range");
    return n;
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  if (!v.IsNumber()) type_error(ctx, key, "expected a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || std::floor(d) != d || d > static_cast<double>(max))
    type_error(ctx, key, "expected an integer from 0 to " + std::to_string(max));
  return static_cast<uint64_t>(d);
}

static int64_t to_int(EncodeCtx& ctx, const Napi::Value& v, const char* key) {
  if (!v.IsNumber()) type_error(ctx, key, "expected a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::floor(d) != d || d < -2147483648.0 || d > 2147483647.0)
    type_error(ctx, key, "expected a 32-bit integer");
  return static_cast<int64_t>(d);
}

std::string to_string(EncodeCtx& ctx, const Napi::Value& v, const char* key) {
  if (!v.IsString()) type_error(ctx, key, "expected a string");
  return v.As<Napi::String>().Utf8Value();
}

std::string mac_to_string(const uint8_t* data, size_t len) {
  std::string s;
  s.reserve(len * 3);
  char b[4];
  for (size_t i = 0; i < len; i++) {
    std::snprintf(b, sizeof b, i ? ":%02x" : "%02x", data[i]);
    s += b;
  }
  return s;
}

static std::vector<uint8_t> mac_from_js(EncodeCtx& ctx, const Napi::Value& v, const char* key) {
  if (v.IsBuffer()) {
    auto b = v.As<Napi::Buffer<uint8_t>>();
    return {b.Data(), b.Data() + b.Length()};
  }
  std::string s = to_string(ctx, v, key);
  std::vector<uint8_t> out;
  size_t i = 0;
  while (i < s.size()) {
    unsigned byte = 0;
    int used = 0;
    if (std::sscanf(s.c_str() + i, "%2x%n", &byte, &used) != 1 || used != 2)
      type_error(ctx, key, "not a hardware address: " + s);
    out.push_back(static_cast<uint8_t>(byte));
    i += 2;
    if (i < s.size()) {
      if (s[i] != ':') type_error(ctx, key, "not a hardware address: " + s);
      i++;
      if (i == s.size()) type_error(ctx, key, "not a hardware address: " + s);
    }
  }
  if (out.empty() || out.size() > 32) type_error(ctx, key, "not a hardware address: " + s);
  return out;
}


std::vector<uint8_t> ip_from_js(EncodeCtx& ctx, const Napi::Value& v, const char* key) {
  std::string s = to_string(ctx, v, key);
  uint8_t b[16];
  if (inet_pton(AF_INET, s.c_str(), b) == 1) return {b, b + 4};
  if (inet_pton(AF_INET6, s.c_str(), b) == 1) return {b, b + 16};
  type_error(ctx, key, "not an IP address: " + s);
}

static uint32_t enum_value(EncodeCtx& ctx, const Field& f, const Napi::Value& v, uint64_t max) {
  if (v.IsString()) {
    uint32_t n = 0;
    std::string s = v.As<Napi::String>().Utf8Value();
    if (!f.enums()->find(s, n)) type_error(ctx, f.key, "unknown value '" + s + "'");
    return n;
  }
  return static_cast<uint32_t>(to_uint(ctx, v, f.key, max));
}

// The ifindex of an interface: a number now, or a patch the executor fills in before sending.
uint32_t encode_ifref(EncodeCtx& ctx, const Napi::Value& v, const char* key, size_t offset) {
  if (v.IsNull()) return 0;  // `master: null` is "nomaster"
  if (v.IsString()) {
    ctx.patches.push_back({offset, -1, v.As<Napi::String>().Utf8Value()});
    return 0;
  }
  if (v.IsObject() && !v.IsBuffer()) {
    Napi::Value ref = v.As<Napi::Object>().Get("ref");
    ctx.patches.push_back({offset, static_cast<int32_t>(to_uint(ctx, ref, key, 0x7fffffff)), {}});
    return 0;
  }
  return static_cast<uint32_t>(to_uint(ctx, v, key, UINT32_MAX));
}

static void encode_header_field(EncodeCtx& ctx, MsgWriter& w, size_t at, const Field& f,
                                const Napi::Value& v) {
  size_t off = at + f.id;
  switch (f.kind) {
    case FieldKind::U8: w.write_at<uint8_t>(off, static_cast<uint8_t>(to_uint(ctx, v, f.key, 0xff))); break;
    case FieldKind::U16: w.write_at<uint16_t>(off, static_cast<uint16_t>(to_uint(ctx, v, f.key, 0xffff))); break;
    case FieldKind::U32: w.write_at<uint32_t>(off, static_cast<uint32_t>(to_uint(ctx, v, f.key, UINT32_MAX))); break;
    case FieldKind::S32: w.write_at<int32_t>(off, static_cast<int32_t>(to_int(ctx, v, f.key))); break;
    case FieldKind::BE16: w.write_at<uint16_t>(off, htons(static_cast<uint16_t>(to_uint(ctx, v, f.key, 0xffff)))); break;
    case FieldKind::ENUM8: w.write_at<uint8_t>(off, static_cast<uint8_t>(enum_value(ctx, f, v, 0xff))); break;
    case FieldKind::ENUM16: w.write_at<uint16_t>(off, static_cast<uint16_t>(enum_value(ctx, f, v, 0xffff))); break;
    case FieldKind::ENUM32: w.write_at<uint32_t>(off, enum_value(ctx, f, v, UINT32_MAX)); break;
    case FieldKind::IFREF: w.write_at<uint32_t>(off, encode_ifref(ctx, v, f.key, off)); break;
    default: type_error(ctx, f.key, "unsupported header field kind");
  }
}

void encode_field(EncodeCtx& ctx, MsgWriter& w, const Field& f, const Napi::Value& v) {
  switch (f.kind) {
    case FieldKind::U8: w.put_u8(f.id, static_cast<uint8_t>(to_uint(ctx, v, f.key, 0xff))); break;
    case FieldKind::U16: w.put_u16(f.id, static_cast<uint16_t>(to_uint(ctx, v, f.key, 0xffff))); break;
    case FieldKind::U32: w.put_u32(f.id, static_cast<uint32_t>(to_uint(ctx, v, f.key, UINT32_MAX))); break;
    case FieldKind::U64: w.put_u64(f.id, to_uint(ctx, v, f.key, UINT64_MAX)); break;
    case FieldKind::S32: {
      int32_t n = static_cast<int32_t>(to_int(ctx, v, f.key));
      w.put(f.id, &n, 4);
      break;
    }
    case FieldKind::BE16: w.put_u16(f.id, htons(static_cast<uint16_t>(to_uint(ctx, v, f.key, 0xffff)))); break;
    case FieldKind::BE32: w.put_u32(f.id, htonl(static_cast<uint32_t>(to_uint(ctx, v, f.key, UINT32_MAX)))); break;
    case FieldKind::BE64: w.put_u64(f.id, htobe64(to_uint(ctx, v, f.key, UINT64_MAX))); break;
    case FieldKind::SBE32: w.put_u32(f.id, htonl(static_cast<uint32_t>(static_cast<int32_t>(to_int(ctx, v, f.key))))); break;
    case FieldKind::BOOL8: w.put_u8(f.id, v.ToBoolean().Value() ? 1 : 0); break;
    case FieldKind::FLAG:
      if (v.ToBoolean().Value()) w.put_flag(f.id);
      break;
    case FieldKind::STR: w.put_str(f.id, to_string(ctx, v, f.key)); break;
    case FieldKind::BIN: {
      if (!v.IsBuffer()) type_error(ctx, f.key, "expected a Buffer");
      auto b = v.As<Napi::Buffer<uint8_t>>();
      w.put(f.id, b.Data(), b.Length());
      break;
    }
    case FieldKind::MAC: {
      auto b = mac_from_js(ctx, v, f.key);
      w.put(f.id, b.data(), b.size());
      break;
    }
    case FieldKind::IP: {
      auto b = ip_from_js(ctx, v, f.key);
      w.put(f.id, b.data(), b.size());
      break;
    }
    case FieldKind::IFREF: {
      size_t at = w.size() + NLA_HDRLEN;
      w.put_u32(f.id, encode_ifref(ctx, v, f.key, at));
      break;
    }
    case FieldKind::NSFD: {
      // The namespace a job creates has no descriptor until the job runs.
      if (v.IsObject() && v.As<Napi::Object>().Get("jobNetns").ToBoolean().Value()) {
        ctx.patches.push_back({w.size() + NLA_HDRLEN, Patch::kJobNetns, {}});
        w.put_u32(f.id, 0);
      } else {
        w.put_u32(f.id, static_cast<uint32_t>(to_uint(ctx, v, f.key, INT32_MAX)));
      }
      break;
    }
    case FieldKind::ENUM8: w.put_u8(f.id, static_cast<uint8_t>(enum_value(ctx, f, v, 0xff))); break;
    case FieldKind::ENUM16: w.put_u16(f.id, static_cast<uint16_t>(enum_value(ctx, f, v, 0xffff))); break;
    case FieldKind::ENUM32: w.put_u32(f.id, enum_value(ctx, f, v, UINT32_MAX)); break;
    case FieldKind::ENUMB32: w.put_u32(f.id, htonl(enum_value(ctx, f, v, UINT32_MAX))); break;
    case FieldKind::LIST: {
      if (!v.IsArray()) type_error(ctx, f.key, "expected an array");
      auto arr = v.As<Napi::Array>();
      std::string saved = ctx.path;
      size_t list = w.nest_start(f.id);
      for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Value item = arr.Get(i);
        ctx.path = (saved.empty() ? std::string(f.key) : saved + "." + f.key) + "[" + std::to_string(i) + "]";
        if (!item.IsObject()) type_error(ctx, f.key, "expected objects");
        size_t elem = w.nest_start(NFTA_LIST_ELEM);
        encode_attrs(ctx, w, *f.schema(), item.As<Napi::Object>());
        w.nest_end(elem);
      }
      w.nest_end(list);
      ctx.path = saved;
      break;
    }
    case FieldKind::NEST:
    case FieldKind::NESTF: {
      if (!v.IsObject()) type_error(ctx, f.key, "expected an object");
      std::string saved = ctx.path;
      ctx.path = saved.empty() ? f.key : saved + "." + f.key;
      size_t nest = w.nest_start(f.id, f.kind == FieldKind::NESTF);
      encode_attrs(ctx, w, *f.schema(), v.As<Napi::Object>());
      w.nest_end(nest);
      ctx.path = saved;
      break;
    }
    case FieldKind::NESTMSG: {
      if (!v.IsObject()) type_error(ctx, f.key, "expected an object");
      std::string saved = ctx.path;
      ctx.path = saved.empty() ? f.key : saved + "." + f.key;
      // Not flagged NLA_F_NESTED: the payload starts with a struct, not with attributes.
      size_t nest = w.size();
      w.put(f.id, nullptr, 0);
      size_t header_at = w.size();
      w.append_raw(nullptr, f.schema()->header_len);
      encode_body(ctx, w, f.schema()->for_encoding(v.As<Napi::Object>()), header_at, v.As<Napi::Object>());
      w.nest_end(nest);
      ctx.path = saved;
      break;
    }
    case FieldKind::CUSTOM: f.custom()->encode(ctx, w, f, v); break;
  }
}

void encode_attrs(EncodeCtx& ctx, MsgWriter& w, const Schema& s, const Napi::Object& o) {
  for (const Field& f : s.attrs) {
    Napi::Value v = o.Get(f.key);
    if (v.IsUndefined()) continue;
    encode_field(ctx, w, f, v);
  }
  Napi::Value unknown = o.Get("unknown");
  if (unknown.IsArray()) {
    auto arr = unknown.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value e = arr.Get(i);
      if (!e.IsObject()) type_error(ctx, "unknown", "expected { type, data } entries");
      auto eo = e.As<Napi::Object>();
      uint16_t type = static_cast<uint16_t>(to_uint(ctx, eo.Get("type"), "unknown.type", 0xffff));
      Napi::Value data = eo.Get("data");
      if (!data.IsBuffer()) type_error(ctx, "unknown.data", "expected a Buffer");
      auto b = data.As<Napi::Buffer<uint8_t>>();
      w.put(type, b.Data(), b.Length());
    }
  }
}

void encode_body(EncodeCtx& ctx, MsgWriter& w, const Schema& s, size_t header_at, const Napi::Object& o) {
  for (const Field& f : s.header) {
    Napi::Value v = o.Get(f.key);
    if (v.IsUndefined()) continue;
    encode_header_field(ctx, w, header_at, f, v);
  }
  if (s.encode_hook) s.encode_hook(ctx, w, header_at, o);
  encode_attrs(ctx, w, s, o);
}

}  // namespace nlnet
