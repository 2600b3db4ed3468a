// limit: a token bucket (`limit rate 10/second`, `limit rate over 1 mbytes/second burst 2 mbytes`).
// Follows NFTA_LIMIT_*: rate per unit seconds, burst in packets or bytes, NFT_LIMIT_F_INV for
// `over`.
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

namespace {
const EnumName kTypes[] = {{NFT_LIMIT_PKTS, "pkts"}, {NFT_LIMIT_PKT_BYTES, "bytes"}};
const EnumTable kTypeTable = enum_table(kTypes);
}  // namespace

const Schema& nft_expr_limit() {
  static const Schema s{"limit",
                        0,
                        {},
                        {
                            {NFTA_LIMIT_RATE, "rate", FieldKind::BE64},
                            {NFTA_LIMIT_UNIT, "unit", FieldKind::BE64},
                            {NFTA_LIMIT_BURST, "burst", FieldKind::BE32},
                            {NFTA_LIMIT_TYPE, "limitType", FieldKind::ENUMB32, &kTypeTable},
                            {NFTA_LIMIT_FLAGS, "flags", FieldKind::BE32},
                        }};
  return s;
}

}  // namespace nlnet
