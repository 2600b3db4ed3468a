// veth: IFLA_INFO_DATA holds VETH_INFO_PEER, a whole ifinfomsg + IFLA_* message for the peer.
// Follows <linux/veth.h>. The peer may carry IFLA_NET_NS_FD, so it is born in the other
// namespace and never appears in this one.
#include <linux/veth.h>

#include "rtnl/rtnl.h"

namespace nlnet {

const Schema& veth_schema() {
  static const Schema s{"veth", 0, {}, {{VETH_INFO_PEER, "peer", FieldKind::NESTMSG, &link_schema()}}};
  return s;
}

}  // namespace nlnet
