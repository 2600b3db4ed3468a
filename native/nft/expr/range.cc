// range: is a register inside [from, to] (`tcp dport 1000-2000`), or outside it with op neq.
// Follows NFTA_RANGE_* and enum nft_range_ops.
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

namespace {
const EnumName kOps[] = {{NFT_RANGE_EQ, "eq"}, {NFT_RANGE_NEQ, "neq"}};
const EnumTable kOpTable = enum_table(kOps);
}  // namespace

const Schema& nft_expr_range() {
  static const Schema s{"range",
                        0,
                        {},
                        {
                            {NFTA_RANGE_SREG, "sreg", FieldKind::BE32},
                            {NFTA_RANGE_OP, "op", FieldKind::ENUMB32, &kOpTable},
                            {NFTA_RANGE_FROM_DATA, "from", FieldKind::NESTF, &nft_data_schema()},
                            {NFTA_RANGE_TO_DATA, "to", FieldKind::NESTF, &nft_data_schema()},
                        }};
  return s;
}

}  // namespace nlnet
