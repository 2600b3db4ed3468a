// The decoding half of the codec engine (codec.h): attributes to a Tape, bounds-checked, no JS
// values touched, so it runs on worker threads.
#include <arpa/inet.h>
#include <endian.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cstring>

#include "core/codec.h"

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

void ip_to_tape(Tape& t, const uint8_t* data, size_t len) {
  char buf[INET6_ADDRSTRLEN];
  if ((len == 4 && inet_ntop(AF_INET, data, buf, sizeof buf)) || (len == 16 && inet_ntop(AF_INET6, data, buf, sizeof buf)))
    t.str(buf, std::strlen(buf));
  else
    t.bytes(data, len);
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
    case FieldKind::NSFD:
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
