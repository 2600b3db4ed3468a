// RTM_{NEW,DEL,GET}ROUTE as native.decode(NETLINK_ROUTE, …) reads them: rtmsg, RTA_*, the
// RTA_METRICS nest and RTA_MULTIPATH's struct rtnexthop list, whose lengths native/rtnl/route.cc
// checks itself.
#include <linux/netlink.h>

#include "rtnl/rtnl.h"
#include "decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlnet::fuzz::decode_datagram(NETLINK_ROUTE, {&nlnet::route_schema()}, data, size);
  return 0;
}
