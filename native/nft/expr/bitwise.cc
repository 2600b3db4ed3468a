// bitwise: dreg = (sreg & mask) ^ xor, or a shift by `data` bits (prefixes such as
// `ip saddr 172.16.0.0/12`, `ct state established,related`). Follows NFTA_BITWISE_* and
// enum nft_bitwise_ops in <linux/netfilter/nf_tables.h>.
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

namespace {
const EnumName kOps[] = {
    {NFT_BITWISE_BOOL, "bool"}, {NFT_BITWISE_LSHIFT, "lshift"}, {NFT_BITWISE_RSHIFT, "rshift"}};
const EnumTable kOpTable = enum_table(kOps);
}  // namespace

const Schema& nft_expr_bitwise() {
  static const Schema s{"bitwise",
                        0,
                        {},
                        {
                            {NFTA_BITWISE_SREG, "sreg", FieldKind::BE32},
                            {NFTA_BITWISE_DREG, "dreg", FieldKind::BE32},
                            {NFTA_BITWISE_LEN, "len", FieldKind::BE32},
                            {NFTA_BITWISE_MASK, "mask", FieldKind::NESTF, &nft_data_schema()},
                            {NFTA_BITWISE_XOR, "xor", FieldKind::NESTF, &nft_data_schema()},
                            {NFTA_BITWISE_OP, "op", FieldKind::ENUMB32, &kOpTable},
                            {NFTA_BITWISE_DATA, "data", FieldKind::NESTF, &nft_data_schema()},
                        }};
  return s;
}

}  // namespace nlnet
