// Routes: RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE, struct rtmsg and RTA_* attributes.
// Follows <linux/rtnetlink.h>. RTA_MULTIPATH is a list of struct rtnexthop, each followed by its
// own attributes, so it has its own codec below.
#include <linux/rtnetlink.h>

#include <cstddef>

#include "rtnl/rtnl.h"

namespace nlnet {

namespace {

const EnumName kTables[] = {{RT_TABLE_UNSPEC, "unspec"}, {RT_TABLE_COMPAT, "compat"},
                            {RT_TABLE_DEFAULT, "default"}, {RT_TABLE_MAIN, "main"},
                            {RT_TABLE_LOCAL, "local"}};
const EnumTable kTableNames = enum_table(kTables);

// As iproute2's rt_protos names them, no more and no fewer, so that names compare with `ip -j`.
const EnumName kProtocols[] = {
    {RTPROT_UNSPEC, "unspec"}, {RTPROT_REDIRECT, "redirect"}, {RTPROT_KERNEL, "kernel"},
    {RTPROT_BOOT, "boot"},     {RTPROT_STATIC, "static"},     {RTPROT_GATED, "gated"},
    {RTPROT_RA, "ra"},         {RTPROT_MRT, "mrt"},           {RTPROT_ZEBRA, "zebra"},
    {RTPROT_BIRD, "bird"},     {RTPROT_DNROUTED, "dnrouted"}, {RTPROT_XORP, "xorp"},
    {RTPROT_NTK, "ntk"},       {RTPROT_DHCP, "dhcp"},         {RTPROT_KEEPALIVED, "keepalived"},
    {RTPROT_BABEL, "babel"},   {RTPROT_OPENR, "openr"},       {RTPROT_BGP, "bgp"},
    {RTPROT_ISIS, "isis"},     {RTPROT_OSPF, "ospf"},         {RTPROT_RIP, "rip"},
    {RTPROT_EIGRP, "eigrp"}};
const EnumTable kProtocolNames = enum_table(kProtocols);

const EnumName kTypes[] = {{RTN_UNSPEC, "unspec"},       {RTN_UNICAST, "unicast"},
                           {RTN_LOCAL, "local"},         {RTN_BROADCAST, "broadcast"},
                           {RTN_ANYCAST, "anycast"},     {RTN_MULTICAST, "multicast"},
                           {RTN_BLACKHOLE, "blackhole"}, {RTN_UNREACHABLE, "unreachable"},
                           {RTN_PROHIBIT, "prohibit"},   {RTN_THROW, "throw"},
                           {RTN_NAT, "nat"}};
const EnumTable kTypeNames = enum_table(kTypes);

const Schema& metrics_schema() {
  static const Schema s{"metrics",
                        0,
                        {},
                        {
                            {RTAX_LOCK, "lock", FieldKind::U32},
                            {RTAX_MTU, "mtu", FieldKind::U32},
                            {RTAX_WINDOW, "window", FieldKind::U32},
                            {RTAX_RTT, "rtt", FieldKind::U32},
                            {RTAX_ADVMSS, "advmss", FieldKind::U32},
                            {RTAX_HOPLIMIT, "hoplimit", FieldKind::U32},
                            {RTAX_INITCWND, "initcwnd", FieldKind::U32},
                            {RTAX_INITRWND, "initrwnd", FieldKind::U32},
                            {RTAX_QUICKACK, "quickack", FieldKind::U32},
                        }};
  return s;
}

// RTA_MULTIPATH: [{ dev, gateway?, weight?, flags? }]. The weight is rtnh_hops + 1, as `ip` shows it.
void multipath_encode(EncodeCtx& ctx, MsgWriter& w, const Field& f, const Napi::Value& v) {
  if (!v.IsArray()) type_error(ctx, f.key, "expected an array of next hops");
  auto arr = v.As<Napi::Array>();
  size_t nest = w.nest_start(f.id, false);
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value hv = arr.Get(i);
    if (!hv.IsObject()) type_error(ctx, f.key, "expected next hop objects");
    Napi::Object h = hv.As<Napi::Object>();
    rtnexthop nh{};
    size_t at = w.append_raw(&nh, sizeof nh);  // filled in below, once its length is known
    if (!h.Get("flags").IsUndefined()) nh.rtnh_flags = static_cast<uint8_t>(to_uint(ctx, h.Get("flags"), "flags", 0xff));
    if (!h.Get("weight").IsUndefined())
      nh.rtnh_hops = static_cast<uint8_t>(to_uint(ctx, h.Get("weight"), "weight", 256) - 1);
    Napi::Value dev = h.Get("dev");
    if (!dev.IsUndefined())
      nh.rtnh_ifindex = static_cast<int>(encode_ifref(ctx, dev, "dev", at + offsetof(rtnexthop, rtnh_ifindex)));
    Napi::Value gw = h.Get("gateway");
    if (!gw.IsUndefined()) {
      auto b = ip_from_js(ctx, gw, "gateway");
      w.put(RTA_GATEWAY, b.data(), b.size());
    }
    nh.rtnh_len = static_cast<unsigned short>(w.size() - at);
    w.write_at(at, &nh, sizeof nh);
  }
  w.nest_end(nest);
}

bool multipath_decode(DecodeCtx& ctx, const Attr& a, const Field&) {
  Tape& t = ctx.out;
  Tape::Mark m = t.mark();
  t.arr();
  size_t off = 0;
  while (off + sizeof(rtnexthop) <= a.len) {
    rtnexthop nh;
    std::memcpy(&nh, a.data + off, sizeof nh);
    if (nh.rtnh_len < sizeof(rtnexthop) || off + nh.rtnh_len > a.len) {
      t.rewind(m);
      return false;
    }
    t.obj();
    t.key("dev");
    t.num(nh.rtnh_ifindex);
    t.key("weight");
    t.num(nh.rtnh_hops + 1);
    t.key("flags");
    t.num(nh.rtnh_flags);
    AttrReader r(a.data + off + sizeof(rtnexthop), nh.rtnh_len - sizeof(rtnexthop));
    Attr x;
    while (r.next(x))
      if (x.type == RTA_GATEWAY) {
        t.key("gateway");
        ip_to_tape(t, x.data, x.len);
      }
    if (r.malformed()) {
      t.rewind(m);
      return false;
    }
    t.end();
    off += RTNH_ALIGN(nh.rtnh_len);
  }
  t.end();
  return true;
}

const CustomCodec kMultipath = {multipath_encode, multipath_decode};

}  // namespace

const Schema& route_schema() {
  static const Schema s{
      "route",
      sizeof(rtmsg),
      {
          {offsetof(rtmsg, rtm_family), "family", FieldKind::ENUM8, &kAddressFamilies},
          {offsetof(rtmsg, rtm_dst_len), "dstLen", FieldKind::U8},
          {offsetof(rtmsg, rtm_src_len), "srcLen", FieldKind::U8},
          {offsetof(rtmsg, rtm_tos), "tos", FieldKind::U8},
          {offsetof(rtmsg, rtm_table), "tableId", FieldKind::ENUM8, &kTableNames},
          {offsetof(rtmsg, rtm_protocol), "protocol", FieldKind::ENUM8, &kProtocolNames},
          {offsetof(rtmsg, rtm_scope), "scope", FieldKind::ENUM8, &kScopeTable},
          {offsetof(rtmsg, rtm_type), "type", FieldKind::ENUM8, &kTypeNames},
          {offsetof(rtmsg, rtm_flags), "flags", FieldKind::U32},
      },
      {
          // Order as `ip route add DST via GW dev DEV src SRC table T metric M mtu …` and
          // `ip route get DST from SRC oif DEV mark M` write them (iproute2 iproute.c): what it
          // parses goes in as it comes, then, after the arguments, RTA_OIF, RTA_METRICS and
          // RTA_MULTIPATH.
          {RTA_DST, "dst", FieldKind::IP},
          {RTA_SRC, "src", FieldKind::IP},
          {RTA_GATEWAY, "gateway", FieldKind::IP},
          {RTA_PREFSRC, "prefsrc", FieldKind::IP},
          {RTA_TABLE, "table", FieldKind::U32},
          {RTA_PRIORITY, "priority", FieldKind::U32},
          {RTA_IIF, "iif", FieldKind::IFREF},
          {RTA_OIF, "oif", FieldKind::IFREF},
          {RTA_MARK, "mark", FieldKind::U32},
          {RTA_METRICS, "metrics", FieldKind::NEST, &metrics_schema()},
          {RTA_MULTIPATH, "multipath", FieldKind::CUSTOM, &kMultipath},
          {RTA_PREF, "pref", FieldKind::U8},
          {RTA_EXPIRES, "expires", FieldKind::U32},
          {RTA_NH_ID, "nhid", FieldKind::U32},
          {RTA_FLOW, "flow", FieldKind::U32},
          {RTA_CACHEINFO, "cacheinfo", FieldKind::BIN},
      },
  };
  return s;
}

}  // namespace nlnet
