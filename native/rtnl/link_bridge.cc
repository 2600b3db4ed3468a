// bridge: IFLA_BR_* inside IFLA_INFO_DATA. Follows <linux/if_link.h>. Times are in the kernel's
// clock_t units (hundredths of a second), as `ip link add type bridge forward_delay 1500` writes.
#include <linux/if_link.h>

#include "rtnl/rtnl.h"

namespace nlnet {

const Schema& bridge_schema() {
  static const Schema s{
      "bridge",
      0,
      {},
      {
          {IFLA_BR_FORWARD_DELAY, "forwardDelay", FieldKind::U32},
          {IFLA_BR_HELLO_TIME, "helloTime", FieldKind::U32},
          {IFLA_BR_MAX_AGE, "maxAge", FieldKind::U32},
          {IFLA_BR_AGEING_TIME, "ageingTime", FieldKind::U32},
          {IFLA_BR_STP_STATE, "stpState", FieldKind::U32},
          {IFLA_BR_PRIORITY, "priority", FieldKind::U16},
          {IFLA_BR_VLAN_FILTERING, "vlanFiltering", FieldKind::BOOL8},
          {IFLA_BR_VLAN_PROTOCOL, "vlanProtocol", FieldKind::BE16},
          {IFLA_BR_GROUP_FWD_MASK, "groupFwdMask", FieldKind::U16},
          {IFLA_BR_ROOT_ID, "rootId", FieldKind::BIN},
          {IFLA_BR_BRIDGE_ID, "bridgeId", FieldKind::BIN},
          {IFLA_BR_ROOT_PORT, "rootPort", FieldKind::U16},
          {IFLA_BR_ROOT_PATH_COST, "rootPathCost", FieldKind::U32},
          {IFLA_BR_TOPOLOGY_CHANGE, "topologyChange", FieldKind::U8},
          {IFLA_BR_TOPOLOGY_CHANGE_DETECTED, "topologyChangeDetected", FieldKind::U8},
          {IFLA_BR_HELLO_TIMER, "helloTimer", FieldKind::U64},
          {IFLA_BR_TCN_TIMER, "tcnTimer", FieldKind::U64},
          {IFLA_BR_TOPOLOGY_CHANGE_TIMER, "topologyChangeTimer", FieldKind::U64},
          {IFLA_BR_GC_TIMER, "gcTimer", FieldKind::U64},
          {IFLA_BR_GROUP_ADDR, "groupAddress", FieldKind::MAC},
          {IFLA_BR_FDB_FLUSH, "fdbFlush", FieldKind::FLAG},
          {IFLA_BR_MCAST_ROUTER, "mcastRouter", FieldKind::U8},
          {IFLA_BR_MCAST_SNOOPING, "mcastSnooping", FieldKind::BOOL8},
          {IFLA_BR_MCAST_QUERY_USE_IFADDR, "mcastQueryUseIfaddr", FieldKind::BOOL8},
          {IFLA_BR_MCAST_QUERIER, "mcastQuerier", FieldKind::BOOL8},
          {IFLA_BR_MCAST_HASH_ELASTICITY, "mcastHashElasticity", FieldKind::U32},
          {IFLA_BR_MCAST_HASH_MAX, "mcastHashMax", FieldKind::U32},
          {IFLA_BR_MCAST_LAST_MEMBER_CNT, "mcastLastMemberCount", FieldKind::U32},
          {IFLA_BR_MCAST_STARTUP_QUERY_CNT, "mcastStartupQueryCount", FieldKind::U32},
          {IFLA_BR_MCAST_LAST_MEMBER_INTVL, "mcastLastMemberInterval", FieldKind::U64},
          {IFLA_BR_MCAST_MEMBERSHIP_INTVL, "mcastMembershipInterval", FieldKind::U64},
          {IFLA_BR_MCAST_QUERIER_INTVL, "mcastQuerierInterval", FieldKind::U64},
          {IFLA_BR_MCAST_QUERY_INTVL, "mcastQueryInterval", FieldKind::U64},
          {IFLA_BR_MCAST_QUERY_RESPONSE_INTVL, "mcastQueryResponseInterval", FieldKind::U64},
          {IFLA_BR_MCAST_STARTUP_QUERY_INTVL, "mcastStartupQueryInterval", FieldKind::U64},
          {IFLA_BR_NF_CALL_IPTABLES, "nfCallIptables", FieldKind::BOOL8},
          {IFLA_BR_NF_CALL_IP6TABLES, "nfCallIp6tables", FieldKind::BOOL8},
          {IFLA_BR_NF_CALL_ARPTABLES, "nfCallArptables", FieldKind::BOOL8},
          {IFLA_BR_VLAN_DEFAULT_PVID, "vlanDefaultPvid", FieldKind::U16},
          {IFLA_BR_VLAN_STATS_ENABLED, "vlanStatsEnabled", FieldKind::BOOL8},
          {IFLA_BR_MCAST_STATS_ENABLED, "mcastStatsEnabled", FieldKind::BOOL8},
          {IFLA_BR_MCAST_IGMP_VERSION, "mcastIgmpVersion", FieldKind::U8},
          {IFLA_BR_MCAST_MLD_VERSION, "mcastMldVersion", FieldKind::U8},
          {IFLA_BR_VLAN_STATS_PER_PORT, "vlanStatsPerPort", FieldKind::BOOL8},
      },
  };
  return s;
}

}  // namespace nlnet
