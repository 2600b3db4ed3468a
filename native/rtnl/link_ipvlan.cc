// ipvlan and ipvtap: IFLA_IPVLAN_* inside IFLA_INFO_DATA. Follows <linux/if_link.h>.
#include <linux/if_link.h>

#include "rtnl/rtnl.h"

namespace nlnet {

namespace {
const EnumName kModes[] = {{IPVLAN_MODE_L2, "l2"}, {IPVLAN_MODE_L3, "l3"}, {IPVLAN_MODE_L3S, "l3s"}};
const EnumTable kModeTable = enum_table(kModes);
// IPVLAN_F_PRIVATE and IPVLAN_F_VEPA exclude each other; neither means bridge.
const EnumName kFlags[] = {{0, "bridge"}, {IPVLAN_F_PRIVATE, "private"}, {IPVLAN_F_VEPA, "vepa"}};
const EnumTable kFlagTable = enum_table(kFlags);
}  // namespace

const Schema& ipvlan_schema() {
  static const Schema s{"ipvlan",
                        0,
                        {},
                        {
                            {IFLA_IPVLAN_MODE, "mode", FieldKind::ENUM16, &kModeTable},
                            {IFLA_IPVLAN_FLAGS, "flags", FieldKind::ENUM16, &kFlagTable},
                        }};
  return s;
}

}  // namespace nlnet
