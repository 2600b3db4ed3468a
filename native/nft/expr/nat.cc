// nat: source or destination NAT to the address (and port) range held in registers
// (`snat ip to 10.0.0.1`, `dnat ip to 172.17.0.2:80`). Follows NFTA_NAT_*; the flags are
// NF_NAT_RANGE_* from <linux/netfilter/nf_nat.h> and stay a number.
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

namespace {
const EnumName kTypes[] = {{NFT_NAT_SNAT, "snat"}, {NFT_NAT_DNAT, "dnat"}};
const EnumTable kTypeTable = enum_table(kTypes);
}  // namespace

const Schema& nft_expr_nat() {
  static const Schema s{"nat",
                        0,
                        {},
                        {
                            {NFTA_NAT_TYPE, "natType", FieldKind::ENUMB32, &kTypeTable},
                            // The family of the addresses: NFPROTO_IPV4 or _IPV6, as a big-endian u32.
                            {NFTA_NAT_FAMILY, "family", FieldKind::ENUMB32, &kNfFamilies},
                            {NFTA_NAT_REG_ADDR_MIN, "regAddrMin", FieldKind::BE32},
                            {NFTA_NAT_REG_ADDR_MAX, "regAddrMax", FieldKind::BE32},
                            {NFTA_NAT_REG_PROTO_MIN, "regProtoMin", FieldKind::BE32},
                            {NFTA_NAT_REG_PROTO_MAX, "regProtoMax", FieldKind::BE32},
                            {NFTA_NAT_FLAGS, "flags", FieldKind::BE32},
                        }};
  return s;
}

}  // namespace nlnet
