// macvlan and macvtap: IFLA_MACVLAN_* inside IFLA_INFO_DATA. Follows <linux/if_link.h>.
#include <linux/if_link.h>

#include "rtnl/rtnl.h"

namespace nlnet {

namespace {
const EnumName kModes[] = {{MACVLAN_MODE_PRIVATE, "private"}, {MACVLAN_MODE_VEPA, "vepa"},
                           {MACVLAN_MODE_BRIDGE, "bridge"},   {MACVLAN_MODE_PASSTHRU, "passthru"},
                           {MACVLAN_MODE_SOURCE, "source"}};
}  // namespace

const EnumTable kMacvlanModes = enum_table(kModes);

const Schema& macvlan_schema() {
  static const Schema s{
      "macvlan",
      0,
      {},
      {
          {IFLA_MACVLAN_MODE, "mode", FieldKind::ENUM32, &kMacvlanModes},
          {IFLA_MACVLAN_FLAGS, "flags", FieldKind::U16},
          {IFLA_MACVLAN_MACADDR_MODE, "macaddrMode", FieldKind::U32},
          {IFLA_MACVLAN_MACADDR, "macaddr", FieldKind::MAC},
          {IFLA_MACVLAN_MACADDR_COUNT, "macaddrCount", FieldKind::U32},
          {IFLA_MACVLAN_BC_QUEUE_LEN, "bcQueueLen", FieldKind::U32},
          {IFLA_MACVLAN_BC_QUEUE_LEN_USED, "bcQueueLenUsed", FieldKind::U32},
      },
  };
  return s;
}

}  // namespace nlnet
