// Neighbours and the bridge FDB: RTM_NEWNEIGH / RTM_DELNEIGH / RTM_GETNEIGH, struct ndmsg and
// NDA_* attributes. Follows <linux/neighbour.h>. An FDB entry is a neighbour of family
// AF_BRIDGE whose NDA_LLADDR is the key and NDA_DST (for vxlan) the remote.
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstddef>

#include "rtnl/rtnl.h"

namespace nlnet {

namespace {

const EnumName kStates[] = {{NUD_NONE, "none"},         {NUD_INCOMPLETE, "incomplete"},
                            {NUD_REACHABLE, "reachable"}, {NUD_STALE, "stale"},
                            {NUD_DELAY, "delay"},       {NUD_PROBE, "probe"},
                            {NUD_FAILED, "failed"},     {NUD_NOARP, "noarp"},
                            {NUD_PERMANENT, "permanent"}};
const EnumTable kStateTable = enum_table(kStates);

const std::vector<Field> kHeader = {
    {offsetof(ndmsg, ndm_family), "family", FieldKind::ENUM8, &kAddressFamilies},
    {offsetof(ndmsg, ndm_ifindex), "index", FieldKind::IFREF},
    {offsetof(ndmsg, ndm_state), "state", FieldKind::ENUM16, &kStateTable},
    {offsetof(ndmsg, ndm_flags), "flags", FieldKind::U8},
    {offsetof(ndmsg, ndm_type), "type", FieldKind::U8},
};

// `bridge fdb` writes the MAC first, then dst, vlan, nhid, port, vni, src_vni, via; `ip neigh`
// writes the IP first. Both tables hold the same fields.
const Schema& fdb_order() {
  static const Schema s{
      "fdb",
      sizeof(ndmsg),
      kHeader,
      {
          {NDA_LLADDR, "lladdr", FieldKind::MAC},
          {NDA_DST, "dst", FieldKind::IP},
          {NDA_VLAN, "vlan", FieldKind::U16},
          {NDA_NH_ID, "nhid", FieldKind::U32},
          {NDA_PORT, "port", FieldKind::BE16},
          {NDA_VNI, "vni", FieldKind::U32},
          {NDA_SRC_VNI, "srcVni", FieldKind::U32},
          {NDA_IFINDEX, "via", FieldKind::IFREF},
          {NDA_MASTER, "master", FieldKind::IFREF},
          {NDA_PROTOCOL, "protocol", FieldKind::U8},
          {NDA_FLAGS_EXT, "extFlags", FieldKind::U32},
          {NDA_PROBES, "probes", FieldKind::U32},
          {NDA_LINK_NETNSID, "linkNetnsId", FieldKind::S32},
          {NDA_CACHEINFO, "cacheinfo", FieldKind::BIN},
      },
  };
  return s;
}

const Schema* pick_order(const Napi::Object& body) {
  Napi::Value family = body.Get("family");
  bool bridge = (family.IsString() && family.As<Napi::String>().Utf8Value() == "bridge") ||
                (family.IsNumber() && family.As<Napi::Number>().Uint32Value() == AF_BRIDGE);
  return bridge ? &fdb_order() : nullptr;
}

}  // namespace

const Schema& neigh_schema() {
  static const Schema s{
      "neigh",
      sizeof(ndmsg),
      kHeader,
      {
          {NDA_DST, "dst", FieldKind::IP},
          {NDA_LLADDR, "lladdr", FieldKind::MAC},
          {NDA_VLAN, "vlan", FieldKind::U16},
          {NDA_SRC_VNI, "srcVni", FieldKind::U32},
          {NDA_PORT, "port", FieldKind::BE16},
          {NDA_VNI, "vni", FieldKind::U32},
          {NDA_IFINDEX, "via", FieldKind::IFREF},
          {NDA_MASTER, "master", FieldKind::IFREF},
          {NDA_PROTOCOL, "protocol", FieldKind::U8},
          {NDA_NH_ID, "nhid", FieldKind::U32},
          {NDA_FLAGS_EXT, "extFlags", FieldKind::U32},
          {NDA_PROBES, "probes", FieldKind::U32},
          {NDA_LINK_NETNSID, "linkNetnsId", FieldKind::S32},
          {NDA_CACHEINFO, "cacheinfo", FieldKind::BIN},
      },
      nullptr,
      nullptr,
      pick_order,
  };
  return s;
}

}  // namespace nlnet
