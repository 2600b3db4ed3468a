// reject: drop and answer with an ICMP error or a TCP reset (`reject`, `reject with tcp reset`,
// `reject with icmpx type admin-prohibited`). Follows NFTA_REJECT_* and enum nft_reject_types;
// NFTA_REJECT_ICMP_CODE is a u8 (an ICMP code, or NFT_REJECT_ICMPX_* for icmpx).
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

namespace {
const EnumName kTypes[] = {
    {NFT_REJECT_ICMP_UNREACH, "icmp"}, {NFT_REJECT_TCP_RST, "tcp-reset"}, {NFT_REJECT_ICMPX_UNREACH, "icmpx"}};
const EnumTable kTypeTable = enum_table(kTypes);
}  // namespace

const Schema& nft_expr_reject() {
  static const Schema s{"reject",
                        0,
                        {},
                        {
                            {NFTA_REJECT_TYPE, "rejectType", FieldKind::ENUMB32, &kTypeTable},
                            {NFTA_REJECT_ICMP_CODE, "icmpCode", FieldKind::U8},
                        }};
  return s;
}

}  // namespace nlnet
