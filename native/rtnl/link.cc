// Links: RTM_NEWLINK / RTM_DELLINK / RTM_GETLINK, struct ifinfomsg and IFLA_* attributes.
// Follows <linux/if_link.h> and <linux/rtnetlink.h>. The kind-specific part (IFLA_INFO_DATA)
// lives in link_<kind>.cc, found through the table below.
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstddef>

#include "rtnl/rtnl.h"

namespace nlnet {

namespace {

const EnumName kFamilyNames[] = {
    {AF_UNSPEC, "unspec"}, {AF_INET, "inet"}, {AF_INET6, "inet6"}, {AF_BRIDGE, "bridge"}};

// RFC 2863 operational states, as `ip link` prints them.
const EnumName kOperStates[] = {{IF_OPER_UNKNOWN, "unknown"}, {IF_OPER_NOTPRESENT, "notpresent"},
                                {IF_OPER_DOWN, "down"}, {IF_OPER_LOWERLAYERDOWN, "lowerlayerdown"},
                                {IF_OPER_TESTING, "testing"}, {IF_OPER_DORMANT, "dormant"},
                                {IF_OPER_UP, "up"}};
const EnumTable kOperStateTable = enum_table(kOperStates);

struct KindEntry {
  const char* name;
  const Schema& (*data)();
  const Schema& (*slave)();
};

// One row per kind: adding a kind adds a row and a file, never a branch.
const KindEntry kKinds[] = {
    {"veth", veth_schema, nullptr},       {"bridge", bridge_schema, bridge_port_schema},
    {"vxlan", vxlan_schema, nullptr},     {"macvlan", macvlan_schema, nullptr},
    {"macvtap", macvlan_schema, nullptr}, {"ipvlan", ipvlan_schema, nullptr},
    {"ipvtap", ipvlan_schema, nullptr},   {"vlan", vlan_schema, nullptr},
};

// IFLA_LINKINFO: { kind, data, slaveKind, slaveData }. The kind decides how IFLA_INFO_DATA reads,
// so this nest cannot be a plain table.
void linkinfo_encode(EncodeCtx& ctx, MsgWriter& w, const Field& f, const Napi::Value& v) {
  if (!v.IsObject()) type_error(ctx, f.key, "expected an object");
  Napi::Object o = v.As<Napi::Object>();
  size_t nest = w.nest_start(f.id, false);
  auto put_kind = [&](const char* key, uint16_t kind_attr, const char* data_key, uint16_t data_attr, bool slave) {
    Napi::Value kind = o.Get(key);
    if (kind.IsUndefined()) return;
    std::string name = to_string(ctx, kind, key);
    // iproute2 writes the kind without its NUL; the kernel takes both, golden bytes need this.
    w.put(kind_attr, name.data(), name.size());
    Napi::Value data = o.Get(data_key);
    if (data.IsUndefined()) return;
    if (!data.IsObject()) type_error(ctx, data_key, "expected an object");
    const Schema* s = link_kind_schema(name, slave);
    if (!s) type_error(ctx, data_key, "no attributes known for link kind '" + name + "'");
    size_t data_nest = w.nest_start(data_attr, false);
    encode_attrs(ctx, w, *s, data.As<Napi::Object>());
    w.nest_end(data_nest);
  };
  put_kind("kind", IFLA_INFO_KIND, "data", IFLA_INFO_DATA, false);
  put_kind("slaveKind", IFLA_INFO_SLAVE_KIND, "slaveData", IFLA_INFO_SLAVE_DATA, true);
  w.nest_end(nest);
}

bool linkinfo_decode(DecodeCtx& ctx, const Attr& a, const Field&) {
  std::string_view kind, slave_kind;
  Attr data{}, slave_data{};
  bool has_data = false, has_slave_data = false;
  AttrReader r(a.data, a.len);
  Attr x;
  while (r.next(x)) {
    switch (x.type) {
      case IFLA_INFO_KIND: kind = x.str(); break;
      case IFLA_INFO_DATA: data = x; has_data = true; break;
      case IFLA_INFO_SLAVE_KIND: slave_kind = x.str(); break;
      case IFLA_INFO_SLAVE_DATA: slave_data = x; has_slave_data = true; break;
    }
  }
  if (r.malformed()) return false;
  Tape& t = ctx.out;
  auto decode_kind = [&](const char* key, std::string_view name, const char* data_key, const Attr& d,
                         bool has, bool slave) {
    if (name.empty()) return;
    t.key(key);
    t.str(name.data(), name.size());
    const Schema* s = link_kind_schema(name, slave);
    if (!has || !s) return;
    Tape::Mark m = t.mark();
    t.key(data_key);
    t.obj();
    if (decode_attrs(ctx, *s, d.data, d.len)) t.end();
    else t.rewind(m);
  };
  t.obj();
  decode_kind("kind", kind, "data", data, has_data, false);
  decode_kind("slaveKind", slave_kind, "slaveData", slave_data, has_slave_data, true);
  t.end();
  return true;
}

const CustomCodec kLinkInfoCodec = {linkinfo_encode, linkinfo_decode};

// A string without its NUL, as iproute2 writes IFLA_IFALIAS (the kernel stores the bytes it gets
// and dumps them back NUL-terminated; decoding stops at the NUL or the end either way).
void bare_string_encode(EncodeCtx& ctx, MsgWriter& w, const Field& f, const Napi::Value& v) {
  std::string s = to_string(ctx, v, f.key);
  w.put(f.id, s.data(), s.size());
}

bool bare_string_decode(DecodeCtx& ctx, const Attr& a, const Field&) {
  std::string_view s = a.str();
  ctx.out.str(s.data(), s.size());
  return true;
}

const CustomCodec kBareStringCodec = {bare_string_encode, bare_string_decode};

// `up: true|false` sets or clears IFF_UP and marks it in ifi_change, so that no other flag moves.
// A body that spells out `change` itself (a decoded message) keeps its own mask.
void link_encode_hook(EncodeCtx&, MsgWriter& w, size_t at, const Napi::Object& o) {
  Napi::Value up = o.Get("up");
  if (up.IsUndefined()) return;
  ifinfomsg ifi;
  std::memcpy(&ifi, w.bytes().data() + at, sizeof ifi);
  if (up.ToBoolean().Value()) ifi.ifi_flags |= IFF_UP;
  else ifi.ifi_flags &= ~static_cast<unsigned>(IFF_UP);
  if (o.Get("change").IsUndefined()) ifi.ifi_change |= IFF_UP;
  w.write_at(at, &ifi, sizeof ifi);
}

void link_decode_hook(DecodeCtx& ctx, const uint8_t* h, size_t) {
  ifinfomsg ifi;
  std::memcpy(&ifi, h, sizeof ifi);
  ctx.out.key("up");
  ctx.out.boolean((ifi.ifi_flags & IFF_UP) != 0);
}

}  // namespace

const EnumTable kAddressFamilies = enum_table(kFamilyNames);

const Schema* link_kind_schema(std::string_view kind, bool slave) {
  for (const KindEntry& k : kKinds)
    if (kind == k.name) {
      auto fn = slave ? k.slave : k.data;
      return fn ? &fn() : nullptr;
    }
  // The kernel calls a bridge port's slave kind "bridge" too; other masters are unknown here.
  return nullptr;
}

const Schema& link_schema() {
  static const Schema s{
      "link",
      sizeof(ifinfomsg),
      {
          {offsetof(ifinfomsg, ifi_family), "family", FieldKind::ENUM8, &kAddressFamilies},
          {offsetof(ifinfomsg, ifi_type), "hwType", FieldKind::U16},
          {offsetof(ifinfomsg, ifi_index), "index", FieldKind::IFREF},
          {offsetof(ifinfomsg, ifi_flags), "flags", FieldKind::U32},
          {offsetof(ifinfomsg, ifi_change), "change", FieldKind::U32},
      },
      {
          // The order `ip link add|set` writes them in: the options in the order of its usage
          // text (ip writes those as they come on the command line), then IFLA_LINK, IFLA_IFNAME
          // and IFLA_LINKINFO, which ip always adds last. Golden bytes depend on it.
          {IFLA_TXQLEN, "txqlen", FieldKind::U32},
          {IFLA_ADDRESS, "address", FieldKind::MAC},
          {IFLA_BROADCAST, "broadcast", FieldKind::MAC},
          {IFLA_MTU, "mtu", FieldKind::U32},
          {IFLA_NUM_TX_QUEUES, "numTxQueues", FieldKind::U32},
          {IFLA_NUM_RX_QUEUES, "numRxQueues", FieldKind::U32},
          {IFLA_GROUP, "group", FieldKind::U32},
          {IFLA_MASTER, "master", FieldKind::IFREF},
          {IFLA_IFALIAS, "alias", FieldKind::CUSTOM, &kBareStringCodec},
          {IFLA_NET_NS_PID, "netnsPid", FieldKind::U32},
          {IFLA_NET_NS_FD, "netnsFd", FieldKind::NSFD},
          {IFLA_LINK, "link", FieldKind::IFREF},
          {IFLA_IFNAME, "name", FieldKind::STR},
          {IFLA_LINKINFO, "info", FieldKind::CUSTOM, &kLinkInfoCodec},
          {IFLA_PROTINFO, "protinfo", FieldKind::NESTF, &bridge_port_schema()},
          {IFLA_EXT_MASK, "extMask", FieldKind::U32},
          {IFLA_TARGET_NETNSID, "targetNetnsId", FieldKind::S32},
          {IFLA_QDISC, "qdisc", FieldKind::STR},
          {IFLA_OPERSTATE, "operstate", FieldKind::ENUM8, &kOperStateTable},
          {IFLA_LINKMODE, "linkmode", FieldKind::U8},
          {IFLA_PROMISCUITY, "promiscuity", FieldKind::U32},
          {IFLA_CARRIER, "carrier", FieldKind::BOOL8},
          {IFLA_CARRIER_CHANGES, "carrierChanges", FieldKind::U32},
          {IFLA_LINK_NETNSID, "linkNetnsId", FieldKind::S32},
          {IFLA_PROTO_DOWN, "protoDown", FieldKind::BOOL8},
          {IFLA_GSO_MAX_SEGS, "gsoMaxSegs", FieldKind::U32},
          {IFLA_GSO_MAX_SIZE, "gsoMaxSize", FieldKind::U32},
          {IFLA_NEW_NETNSID, "newNetnsId", FieldKind::S32},
          {IFLA_MIN_MTU, "minMtu", FieldKind::U32},
          {IFLA_MAX_MTU, "maxMtu", FieldKind::U32},
          {IFLA_PERM_ADDRESS, "permAddress", FieldKind::MAC},
          {IFLA_PARENT_DEV_NAME, "parentDevName", FieldKind::STR},
          {IFLA_ALLMULTI, "allmulti", FieldKind::U32},
      },
      link_encode_hook,
      link_decode_hook,
  };
  return s;
}

}  // namespace nlnet
