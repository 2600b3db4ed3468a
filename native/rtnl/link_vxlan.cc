// vxlan: IFLA_VXLAN_* inside IFLA_INFO_DATA. Follows <linux/if_link.h>. The kernel keeps IPv4
// and IPv6 endpoints in different attributes (GROUP/GROUP6, LOCAL/LOCAL6); the TS layer picks
// one by the address given.
#include <arpa/inet.h>
#include <linux/if_link.h>

#include "rtnl/rtnl.h"

namespace nlnet {

namespace {

// struct ifla_vxlan_port_range: two ports in network byte order.
void port_range_encode(EncodeCtx& ctx, MsgWriter& w, const Field& f, const Napi::Value& v) {
  if (!v.IsObject()) type_error(ctx, f.key, "expected { low, high }");
  Napi::Object o = v.As<Napi::Object>();
  ifla_vxlan_port_range r;
  r.low = htons(static_cast<uint16_t>(to_uint(ctx, o.Get("low"), "low", 0xffff)));
  r.high = htons(static_cast<uint16_t>(to_uint(ctx, o.Get("high"), "high", 0xffff)));
  w.put(f.id, &r, sizeof r);
}

bool port_range_decode(DecodeCtx& ctx, const Attr& a, const Field&) {
  if (!a.is(sizeof(ifla_vxlan_port_range))) return false;
  ifla_vxlan_port_range r;
  std::memcpy(&r, a.data, sizeof r);
  Tape& t = ctx.out;
  t.obj();
  t.key("low");
  t.num(ntohs(r.low));
  t.key("high");
  t.num(ntohs(r.high));
  t.end();
  return true;
}

const CustomCodec kPortRange = {port_range_encode, port_range_decode};

// IFLA_VXLAN_TTL_INHERIT is a flag going in (NLA_FLAG policy) but the kernel dumps it as a u8
// that is present and 0 on every vxlan without `ttl inherit`: reading mere presence as true
// would turn every fixed TTL into "inherit".
void ttl_inherit_encode(EncodeCtx&, MsgWriter& w, const Field& f, const Napi::Value& v) {
  if (v.ToBoolean().Value()) w.put_flag(f.id);
}

bool ttl_inherit_decode(DecodeCtx& ctx, const Attr& a, const Field&) {
  if (a.len > 1) return false;
  ctx.out.boolean(a.len == 0 || a.u8() != 0);
  return true;
}

const CustomCodec kTtlInherit = {ttl_inherit_encode, ttl_inherit_decode};

}  // namespace

const Schema& vxlan_schema() {
  static const Schema s{
      "vxlan",
      0,
      {},
      {
          // Order as `ip link add type vxlan` (iproute2 6.1) writes them: first the options it
          // adds while reading the command line (here in the order of its usage text, which the
          // golden vectors' commands follow), then those it adds after the loop: ID, LOCAL,
          // GROUP (remote or group), LEARNING (always, on create), PORT.
          {IFLA_VXLAN_TTL, "ttl", FieldKind::U8},
          {IFLA_VXLAN_TTL_INHERIT, "ttlInherit", FieldKind::CUSTOM, &kTtlInherit},
          {IFLA_VXLAN_TOS, "tos", FieldKind::U8},
          {IFLA_VXLAN_DF, "df", FieldKind::U8},
          {IFLA_VXLAN_LABEL, "label", FieldKind::BE32},
          {IFLA_VXLAN_LINK, "link", FieldKind::IFREF},
          {IFLA_VXLAN_PORT_RANGE, "portRange", FieldKind::CUSTOM, &kPortRange},
          {IFLA_VXLAN_PROXY, "proxy", FieldKind::BOOL8},
          {IFLA_VXLAN_RSC, "rsc", FieldKind::BOOL8},
          {IFLA_VXLAN_L2MISS, "l2miss", FieldKind::BOOL8},
          {IFLA_VXLAN_L3MISS, "l3miss", FieldKind::BOOL8},
          {IFLA_VXLAN_AGEING, "ageing", FieldKind::U32},
          {IFLA_VXLAN_LIMIT, "limit", FieldKind::U32},
          {IFLA_VXLAN_UDP_CSUM, "udpCsum", FieldKind::BOOL8},
          {IFLA_VXLAN_UDP_ZERO_CSUM6_TX, "udp6ZeroCsumTx", FieldKind::BOOL8},
          {IFLA_VXLAN_UDP_ZERO_CSUM6_RX, "udp6ZeroCsumRx", FieldKind::BOOL8},
          {IFLA_VXLAN_REMCSUM_TX, "remcsumTx", FieldKind::BOOL8},
          {IFLA_VXLAN_REMCSUM_RX, "remcsumRx", FieldKind::BOOL8},
          {IFLA_VXLAN_COLLECT_METADATA, "external", FieldKind::BOOL8},
          {IFLA_VXLAN_GBP, "gbp", FieldKind::FLAG},
          {IFLA_VXLAN_GPE, "gpe", FieldKind::FLAG},
          {IFLA_VXLAN_REMCSUM_NOPARTIAL, "remcsumNoPartial", FieldKind::FLAG},
          {IFLA_VXLAN_VNIFILTER, "vnifilter", FieldKind::BOOL8},
          {IFLA_VXLAN_ID, "id", FieldKind::U32},
          {IFLA_VXLAN_LOCAL, "local", FieldKind::IP},
          {IFLA_VXLAN_LOCAL6, "local6", FieldKind::IP},
          {IFLA_VXLAN_GROUP, "group", FieldKind::IP},
          {IFLA_VXLAN_GROUP6, "group6", FieldKind::IP},
          {IFLA_VXLAN_LEARNING, "learning", FieldKind::BOOL8},
          {IFLA_VXLAN_PORT, "port", FieldKind::BE16},
      },
  };
  return s;
}

}  // namespace nlnet
