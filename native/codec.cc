#include "codec.h"

#include <arpa/inet.h>
#include <endian.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nlnet {

const Field* Schema::field_for(uint16_t type) const {
  std::call_once(indexed_, [this] {
    uint16_t max = 0;
    for (const Field& f : attrs) max = std::max(max, f.id);
    index_.assign(static_cast<size_t>(max) + 1, nullptr);
    for (const Field& f : attrs) index_[f.id] = &f;
  });
  return type < index_.size() ? index_[type] : nullptr;
}

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

void ip_to_tape(Tape& t, const uint8_t* data, size_t len) {
  char buf[INET6_ADDRSTRLEN];
  if ((len == 4 && inet_ntop(AF_INET, data, buf, sizeof buf)) || (len == 16 && inet_ntop(AF_INET6, data, buf, sizeof buf)))
    t.str(buf, std::strlen(buf));
  else
    t.bytes(data, len);
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

static void enum_value(DecodeCtx& ctx, const Field& f, uint32_t v) {
  const char* name = f.enums()->lookup(v);
  if (name) ctx.out.static_str(name);
  else ctx.out.num(v);
}

bool decode_field(DecodeCtx& ctx, const Field& f, const Attr& a) {
  Tape& t = ctx.out;
  switch (f.kind) {
    case FieldKind::U8: return a.is(1) && (t.num(a.u8()), true);
    case FieldKind::U16: return a.is(2) && (t.num(a.u16()), true);
    case FieldKind::U32:
    case FieldKind::IFREF: return a.is(4) && (t.num(a.u32()), true);
    case FieldKind::S32: return a.is(4) && (t.num(static_cast<int32_t>(a.u32())), true);
    case FieldKind::U64: {
      if (!a.is(8)) return false;
      uint64_t n = a.u64();
      // Counters can pass 2^53; only those come back as BigInt.
      if (n > (uint64_t{1} << 53)) t.bigint(n);
      else t.num(static_cast<double>(n));
      return true;
    }
    case FieldKind::BE16: return a.is(2) && (t.num(ntohs(a.u16())), true);
    case FieldKind::BE32: return a.is(4) && (t.num(ntohl(a.u32())), true);
    case FieldKind::SBE32: return a.is(4) && (t.num(static_cast<int32_t>(ntohl(a.u32()))), true);
    case FieldKind::BE64: {
      if (!a.is(8)) return false;
      uint64_t n = be64toh(a.u64());
      if (n > (uint64_t{1} << 53)) t.bigint(n);
      else t.num(static_cast<double>(n));
      return true;
    }
    case FieldKind::BOOL8: return a.is(1) && (t.boolean(a.u8() != 0), true);
    case FieldKind::FLAG: t.boolean(true); return true;
    case FieldKind::STR: {
      auto s = a.str();
      t.str(s.data(), s.size());
      return true;
    }
    case FieldKind::BIN: t.bytes(a.data, a.len); return true;
    case FieldKind::MAC: t.str(mac_to_string(a.data, a.len)); return true;
    case FieldKind::IP: ip_to_tape(t, a.data, a.len); return true;
    case FieldKind::ENUM8: return a.is(1) && (enum_value(ctx, f, a.u8()), true);
    case FieldKind::ENUM16: return a.is(2) && (enum_value(ctx, f, a.u16()), true);
    case FieldKind::ENUM32: return a.is(4) && (enum_value(ctx, f, a.u32()), true);
    case FieldKind::ENUMB32: return a.is(4) && (enum_value(ctx, f, ntohl(a.u32())), true);
    case FieldKind::LIST: {
      Tape::Mark m = t.mark();
      t.arr();
      AttrReader r(a.data, a.len);
      Attr e;
      bool ok = true;
      // Every entry is an element whatever its type, as the kernel reads lists: libnftnl numbers
      // the elements it sends 1, 2, 3… instead of writing NFTA_LIST_ELEM each time.
      while (ok && r.next(e)) {
        t.obj();
        ok = decode_attrs(ctx, *f.schema(), e.data, e.len);
        t.end();
      }
      if (!ok || r.malformed()) {
        t.rewind(m);
        return false;
      }
      t.end();
      return true;
    }
    case FieldKind::NEST:
    case FieldKind::NESTF: {
      Tape::Mark m = t.mark();
      t.obj();
      if (!decode_attrs(ctx, *f.schema(), a.data, a.len)) {
        t.rewind(m);
        return false;
      }
      t.end();
      return true;
    }
    case FieldKind::NESTMSG: return decode_body(ctx, *f.schema(), a.data, a.len);
    case FieldKind::CUSTOM: return f.custom()->decode(ctx, a, f);
  }
  return false;
}

bool decode_attrs(DecodeCtx& ctx, const Schema& s, const uint8_t* data, size_t len) {
  Tape& t = ctx.out;
  AttrReader r(data, len);
  Attr a;
  std::vector<Attr> unknown;
  while (r.next(a)) {
    if (const Field* f = s.field_for(a.type)) {
      Tape::Mark m = t.mark();
      t.key(f->key);
      if (decode_field(ctx, *f, a)) continue;
      // A known attribute of the wrong size is kept as unknown bytes rather than misread.
      t.rewind(m);
    }
    if (ctx.keep_unknown) unknown.push_back(a);
  }
  if (r.malformed()) return false;
  if (!unknown.empty()) {
    t.key("unknown");
    t.arr();
    for (const Attr& u : unknown) {
      t.obj();
      t.key("type");
      t.num(u.type);
      t.key("data");
      t.bytes(u.data, u.len);
      t.end();
    }
    t.end();
  }
  return true;
}

static void decode_header_field(DecodeCtx& ctx, const Field& f, const uint8_t* h) {
  auto rd = [&](auto zero) {
    decltype(zero) v;
    std::memcpy(&v, h + f.id, sizeof v);
    return v;
  };
  Tape& t = ctx.out;
  t.key(f.key);
  switch (f.kind) {
    case FieldKind::U8: t.num(rd(uint8_t{})); break;
    case FieldKind::U16: t.num(rd(uint16_t{})); break;
    case FieldKind::U32:
    case FieldKind::IFREF: t.num(rd(uint32_t{})); break;
    case FieldKind::S32: t.num(rd(int32_t{})); break;
    case FieldKind::BE16: t.num(ntohs(rd(uint16_t{}))); break;
    case FieldKind::ENUM8: enum_value(ctx, f, rd(uint8_t{})); break;
    case FieldKind::ENUM16: enum_value(ctx, f, rd(uint16_t{})); break;
    case FieldKind::ENUM32: enum_value(ctx, f, rd(uint32_t{})); break;
    default: t.num(0); break;  // tables use only the kinds above for header fields
  }
}

bool decode_body(DecodeCtx& ctx, const Schema& s, const uint8_t* data, size_t len) {
  if (len < s.header_len) return false;
  Tape& t = ctx.out;
  Tape::Mark m = t.mark();
  t.obj();
  for (const Field& f : s.header) decode_header_field(ctx, f, data);
  if (s.decode_hook) s.decode_hook(ctx, data, s.header_len);
  size_t at = align4(s.header_len);
  if (at > len) at = len;
  if (!decode_attrs(ctx, s, data + at, len - at)) {
    t.rewind(m);
    return false;
  }
  t.end();
  return true;
}

}  // namespace nlnet
