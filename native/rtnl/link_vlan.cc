// vlan (802.1Q / 802.1ad sub-interfaces): IFLA_VLAN_* inside IFLA_INFO_DATA.
// Follows <linux/if_link.h>. The protocol is an ethertype in network byte order.
#include <linux/if_link.h>

#include "rtnl/rtnl.h"

namespace nlnet {

namespace {

// struct ifla_vlan_flags { flags, mask }: `reorder_hdr on` etc.
void flags_encode(EncodeCtx& ctx, MsgWriter& w, const Field& f, const Napi::Value& v) {
  if (!v.IsObject()) type_error(ctx, f.key, "expected { flags, mask }");
  Napi::Object o = v.As<Napi::Object>();
  ifla_vlan_flags fl;
  fl.flags = static_cast<uint32_t>(to_uint(ctx, o.Get("flags"), "flags", UINT32_MAX));
  fl.mask = static_cast<uint32_t>(to_uint(ctx, o.Get("mask"), "mask", UINT32_MAX));
  w.put(f.id, &fl, sizeof fl);
}

bool flags_decode(DecodeCtx& ctx, const Attr& a, const Field&) {
  if (!a.is(sizeof(ifla_vlan_flags))) return false;
  ifla_vlan_flags fl;
  std::memcpy(&fl, a.data, sizeof fl);
  Tape& t = ctx.out;
  t.obj();
  t.key("flags");
  t.num(fl.flags);
  t.key("mask");
  t.num(fl.mask);
  t.end();
  return true;
}

const CustomCodec kFlags = {flags_encode, flags_decode};

}  // namespace

const Schema& vlan_schema() {
  static const Schema s{"vlan",
                        0,
                        {},
                        {
                            {IFLA_VLAN_PROTOCOL, "protocol", FieldKind::BE16},
                            {IFLA_VLAN_ID, "id", FieldKind::U16},
                            {IFLA_VLAN_FLAGS, "flags", FieldKind::CUSTOM, &kFlags},
                        }};
  return s;
}

}  // namespace nlnet
