// RTM_{NEW,DEL,GET}ADDR as native.decode(NETLINK_ROUTE, …) reads them: ifaddrmsg, IFA_* and
// struct ifa_cacheinfo (native/rtnl/addr.cc).
#include <linux/netlink.h>

#include "rtnl/rtnl.h"
#include "decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlnet::fuzz::decode_datagram(NETLINK_ROUTE, {&nlnet::addr_schema()}, data, size);
  return 0;
}
