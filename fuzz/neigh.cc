// RTM_{NEW,DEL,GET}NEIGH as native.decode(NETLINK_ROUTE, …) reads them: ndmsg and NDA_*, for
// neighbours and bridge FDB entries alike (native/rtnl/neigh.cc decodes both with one table).
#include <linux/netlink.h>

#include "rtnl/rtnl.h"
#include "decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlnet::fuzz::decode_datagram(NETLINK_ROUTE, {&nlnet::neigh_schema()}, data, size);
  return 0;
}
