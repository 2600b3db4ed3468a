// masq: source NAT to the address of the outgoing interface (`masquerade`, `masquerade to
// :1024-65535`). Follows NFTA_MASQ_*; flags are NF_NAT_RANGE_* (random, persistent…).
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

const Schema& nft_expr_masq() {
  static const Schema s{"masq",
                        0,
                        {},
                        {
                            {NFTA_MASQ_FLAGS, "flags", FieldKind::BE32},
                            {NFTA_MASQ_REG_PROTO_MIN, "regProtoMin", FieldKind::BE32},
                            {NFTA_MASQ_REG_PROTO_MAX, "regProtoMax", FieldKind::BE32},
                        }};
  return s;
}

}  // namespace nlnet
