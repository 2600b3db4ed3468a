// RTM_{NEW,DEL,GET,SET}LINK as native.decode(NETLINK_ROUTE, …) reads them: ifinfomsg, IFLA_*,
// IFLA_LINKINFO with every kind's IFLA_INFO_DATA (native/rtnl/link_<kind>.cc) and the bridge
// port's IFLA_INFO_SLAVE_DATA and IFLA_PROTINFO (native/rtnl/bridge_port.cc).
#include <linux/netlink.h>

#include "rtnl/rtnl.h"
#include "decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlnet::fuzz::decode_datagram(NETLINK_ROUTE, {&nlnet::link_schema()}, data, size);
  return 0;
}
