// Bridge port attributes, IFLA_BRPORT_*: inside IFLA_PROTINFO of an AF_BRIDGE RTM_SETLINK (what
// `bridge link set` sends) and inside IFLA_INFO_SLAVE_DATA (`ip link set type bridge_slave`).
// Follows <linux/if_link.h>. The table is in the order `bridge link set` writes the attributes, so
// that our messages match its bytes; `ip link … type bridge_slave` writes them in argument order.
#include <linux/if_link.h>

#include "rtnl/rtnl.h"

namespace nlnet {

const Schema& bridge_port_schema() {
  static const Schema s{
      "bridge_port",
      0,
      {},
      {
          // What `bridge link set` can send, in the order it writes them.
          {IFLA_BRPORT_GUARD, "guard", FieldKind::BOOL8},
          {IFLA_BRPORT_MODE, "hairpin", FieldKind::BOOL8},
          {IFLA_BRPORT_FAST_LEAVE, "fastLeave", FieldKind::BOOL8},
          {IFLA_BRPORT_PROTECT, "rootBlock", FieldKind::BOOL8},
          {IFLA_BRPORT_UNICAST_FLOOD, "flood", FieldKind::BOOL8},
          {IFLA_BRPORT_MULTICAST_ROUTER, "multicastRouter", FieldKind::U8},
          {IFLA_BRPORT_MCAST_FLOOD, "mcastFlood", FieldKind::BOOL8},
          {IFLA_BRPORT_BCAST_FLOOD, "bcastFlood", FieldKind::BOOL8},
          {IFLA_BRPORT_MCAST_TO_UCAST, "mcastToUnicast", FieldKind::BOOL8},
          {IFLA_BRPORT_LEARNING, "learning", FieldKind::BOOL8},
          {IFLA_BRPORT_LEARNING_SYNC, "learningSync", FieldKind::BOOL8},
          {IFLA_BRPORT_COST, "cost", FieldKind::U32},
          {IFLA_BRPORT_PRIORITY, "priority", FieldKind::U16},
          {IFLA_BRPORT_STATE, "state", FieldKind::U8},
          {IFLA_BRPORT_NEIGH_SUPPRESS, "neighSuppress", FieldKind::BOOL8},
          {IFLA_BRPORT_VLAN_TUNNEL, "vlanTunnel", FieldKind::BOOL8},
          {IFLA_BRPORT_ISOLATED, "isolated", FieldKind::BOOL8},
          {IFLA_BRPORT_LOCKED, "locked", FieldKind::BOOL8},
          {IFLA_BRPORT_BACKUP_PORT, "backupPort", FieldKind::IFREF},
          // Only `ip link set type bridge_slave` sets these, and the kernel reports the rest.
          {IFLA_BRPORT_PROXYARP, "proxyArp", FieldKind::BOOL8},
          {IFLA_BRPORT_PROXYARP_WIFI, "proxyArpWifi", FieldKind::BOOL8},
          {IFLA_BRPORT_GROUP_FWD_MASK, "groupFwdMask", FieldKind::U16},
          {IFLA_BRPORT_FLUSH, "flush", FieldKind::FLAG},
          {IFLA_BRPORT_ROOT_ID, "rootId", FieldKind::BIN},
          {IFLA_BRPORT_BRIDGE_ID, "bridgeId", FieldKind::BIN},
          {IFLA_BRPORT_DESIGNATED_PORT, "designatedPort", FieldKind::U16},
          {IFLA_BRPORT_DESIGNATED_COST, "designatedCost", FieldKind::U16},
          {IFLA_BRPORT_ID, "id", FieldKind::U16},
          {IFLA_BRPORT_NO, "no", FieldKind::U16},
          {IFLA_BRPORT_TOPOLOGY_CHANGE_ACK, "topologyChangeAck", FieldKind::U8},
          {IFLA_BRPORT_CONFIG_PENDING, "configPending", FieldKind::U8},
          {IFLA_BRPORT_MESSAGE_AGE_TIMER, "messageAgeTimer", FieldKind::U64},
          {IFLA_BRPORT_FORWARD_DELAY_TIMER, "forwardDelayTimer", FieldKind::U64},
          {IFLA_BRPORT_HOLD_TIMER, "holdTimer", FieldKind::U64},
      },
  };
  return s;
}

}  // namespace nlnet
