// rtnetlink: the schemas each family file of rtnl/ defines, and the table of link kinds.
#pragma once

#include <string_view>

#include "core/codec.h"

namespace nlnet {

const Schema& link_schema();         // link.cc: RTM_{NEW,DEL,GET}LINK
const Schema& addr_schema();         // addr.cc: RTM_{NEW,DEL,GET}ADDR
const Schema& route_schema();        // route.cc: RTM_{NEW,DEL,GET}ROUTE
const Schema& neigh_schema();        // neigh.cc: RTM_{NEW,DEL,GET}NEIGH, bridge FDB included
const Schema& bridge_port_schema();  // bridge_port.cc: IFLA_BRPORT_* (IFLA_PROTINFO, bridge_slave)

// Link kinds: the IFLA_INFO_DATA of each, one file each.
const Schema& veth_schema();
const Schema& bridge_schema();
const Schema& vxlan_schema();
const Schema& macvlan_schema();
const Schema& ipvlan_schema();
const Schema& vlan_schema();

// The IFLA_INFO_DATA (or, for slave, IFLA_INFO_SLAVE_DATA) schema of a kind, or nullptr.
const Schema* link_kind_schema(std::string_view kind, bool slave);

// Shared enum tables.
extern const EnumTable kAddressFamilies;  // AF_UNSPEC, AF_INET, AF_INET6, AF_BRIDGE
extern const EnumTable kMacvlanModes;     // shared by macvlan and macvtap
extern const EnumTable kScopeTable;       // RT_SCOPE_*: addresses and routes

}  // namespace nlnet
