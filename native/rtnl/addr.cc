// Addresses: RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR, struct ifaddrmsg and IFA_* attributes.
// Follows <linux/if_addr.h>. Flags beyond the first eight (noprefixroute, …) only fit IFA_FLAGS.
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <cstddef>

#include "rtnl/rtnl.h"

namespace nlnet {

namespace {

const EnumName kScopes[] = {{RT_SCOPE_UNIVERSE, "global"}, {RT_SCOPE_SITE, "site"},
                            {RT_SCOPE_LINK, "link"},       {RT_SCOPE_HOST, "host"},
                            {RT_SCOPE_NOWHERE, "nowhere"}};

// struct ifa_cacheinfo: lifetimes in seconds (0xffffffff: forever) and timestamps.
void cacheinfo_encode(EncodeCtx& ctx, MsgWriter& w, const Field& f, const Napi::Value& v) {
  if (!v.IsObject()) type_error(ctx, f.key, "expected { preferred, valid }");
  Napi::Object o = v.As<Napi::Object>();
  ifa_cacheinfo ci{};
  ci.ifa_prefered = static_cast<uint32_t>(to_uint(ctx, o.Get("preferred"), "preferred", UINT32_MAX));
  ci.ifa_valid = static_cast<uint32_t>(to_uint(ctx, o.Get("valid"), "valid", UINT32_MAX));
  if (!o.Get("created").IsUndefined()) ci.cstamp = static_cast<uint32_t>(to_uint(ctx, o.Get("created"), "created", UINT32_MAX));
  if (!o.Get("updated").IsUndefined()) ci.tstamp = static_cast<uint32_t>(to_uint(ctx, o.Get("updated"), "updated", UINT32_MAX));
  w.put(f.id, &ci, sizeof ci);
}

bool cacheinfo_decode(DecodeCtx& ctx, const Attr& a, const Field&) {
  if (!a.is(sizeof(ifa_cacheinfo))) return false;
  ifa_cacheinfo ci;
  std::memcpy(&ci, a.data, sizeof ci);
  Tape& t = ctx.out;
  t.obj();
  t.key("preferred");
  t.num(ci.ifa_prefered);
  t.key("valid");
  t.num(ci.ifa_valid);
  t.key("created");
  t.num(ci.cstamp);
  t.key("updated");
  t.num(ci.tstamp);
  t.end();
  return true;
}

const CustomCodec kCacheInfo = {cacheinfo_encode, cacheinfo_decode};

}  // namespace

const EnumTable kScopeTable = enum_table(kScopes);

const Schema& addr_schema() {
  static const Schema s{
      "addr",
      sizeof(ifaddrmsg),
      {
          {offsetof(ifaddrmsg, ifa_family), "family", FieldKind::ENUM8, &kAddressFamilies},
          {offsetof(ifaddrmsg, ifa_prefixlen), "prefixlen", FieldKind::U8},
          {offsetof(ifaddrmsg, ifa_flags), "flags", FieldKind::U8},
          {offsetof(ifaddrmsg, ifa_scope), "scope", FieldKind::ENUM8, &kScopeTable},
          {offsetof(ifaddrmsg, ifa_index), "index", FieldKind::IFREF},
      },
      {
          // Order as `ip addr add ADDR/LEN dev DEV [label L] [metric M] [flags…] [brd +]
          // [valid_lft …]` writes them (iproute2 ipaddress.c): what it parses goes in as it comes,
          // then, after the arguments, IFA_FLAGS, IFA_ADDRESS (a copy of the local address
          // unless `peer` gave one), the computed `brd +` and IFA_CACHEINFO. An explicit
          // `broadcast ADDR` is parsed in place, before IFA_ADDRESS; we always write it after.
          {IFA_LOCAL, "local", FieldKind::IP},
          {IFA_LABEL, "label", FieldKind::STR},
          {IFA_RT_PRIORITY, "metric", FieldKind::U32},
          {IFA_FLAGS, "extFlags", FieldKind::U32},
          {IFA_ADDRESS, "address", FieldKind::IP},
          {IFA_BROADCAST, "broadcast", FieldKind::IP},
          {IFA_CACHEINFO, "cacheinfo", FieldKind::CUSTOM, &kCacheInfo},
          {IFA_ANYCAST, "anycast", FieldKind::IP},
          {IFA_MULTICAST, "multicast", FieldKind::IP},
          {IFA_TARGET_NETNSID, "targetNetnsId", FieldKind::S32},
          {IFA_PROTO, "proto", FieldKind::U8},
      },
  };
  return s;
}

}  // namespace nlnet
