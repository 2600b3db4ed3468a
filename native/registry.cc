// Which schema reads and writes each message type, per netlink protocol.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "families.h"

namespace nlnet {

const Schema* schema_for(int protocol, uint16_t type) {
  if (protocol != NETLINK_ROUTE) return nullptr;
  switch (type) {
    case RTM_NEWLINK: case RTM_DELLINK: case RTM_GETLINK: case RTM_SETLINK: return &link_schema();
    case RTM_NEWADDR: case RTM_DELADDR: case RTM_GETADDR: return &addr_schema();
    case RTM_NEWROUTE: case RTM_DELROUTE: case RTM_GETROUTE: return &route_schema();
    case RTM_NEWNEIGH: case RTM_DELNEIGH: case RTM_GETNEIGH: return &neigh_schema();
    default: return nullptr;
  }
}

}  // namespace nlnet
