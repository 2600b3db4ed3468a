// cmp: compare a register with a constant (`== 80`, `!= "eth0"`). Follows NFTA_CMP_*.
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

namespace {
const EnumName kOps[] = {{NFT_CMP_EQ, "eq"}, {NFT_CMP_NEQ, "neq"}, {NFT_CMP_LT, "lt"},
                         {NFT_CMP_LTE, "lte"}, {NFT_CMP_GT, "gt"}, {NFT_CMP_GTE, "gte"}};
const EnumTable kOpTable = enum_table(kOps);
}  // namespace

const Schema& nft_expr_cmp() {
  static const Schema s{"cmp",
                        0,
                        {},
                        {
                            {NFTA_CMP_SREG, "sreg", FieldKind::BE32},
                            {NFTA_CMP_OP, "op", FieldKind::ENUMB32, &kOpTable},
                            {NFTA_CMP_DATA, "data", FieldKind::NESTF, &nft_data_schema()},
                        }};
  return s;
}

}  // namespace nlnet
