// payload: load bytes of a header into a register (`ip saddr`, `tcp dport`, `th dport`), or
// write them back with checksum fix-up. Follows NFTA_PAYLOAD_* in <linux/netfilter/nf_tables.h>.
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

namespace {
const EnumName kBases[] = {{NFT_PAYLOAD_LL_HEADER, "ll"},
                           {NFT_PAYLOAD_NETWORK_HEADER, "network"},
                           {NFT_PAYLOAD_TRANSPORT_HEADER, "transport"},
                           {NFT_PAYLOAD_INNER_HEADER, "inner"}};
const EnumTable kBaseTable = enum_table(kBases);
}  // namespace

const Schema& nft_expr_payload() {
  static const Schema s{"payload",
                        0,
                        {},
                        {
                            {NFTA_PAYLOAD_DREG, "dreg", FieldKind::BE32},
                            {NFTA_PAYLOAD_BASE, "base", FieldKind::ENUMB32, &kBaseTable},
                            {NFTA_PAYLOAD_OFFSET, "offset", FieldKind::BE32},
                            {NFTA_PAYLOAD_LEN, "len", FieldKind::BE32},
                            {NFTA_PAYLOAD_SREG, "sreg", FieldKind::BE32},
                            {NFTA_PAYLOAD_CSUM_TYPE, "csumType", FieldKind::BE32},
                            {NFTA_PAYLOAD_CSUM_OFFSET, "csumOffset", FieldKind::BE32},
                            {NFTA_PAYLOAD_CSUM_FLAGS, "csumFlags", FieldKind::BE32},
                        }};
  return s;
}

}  // namespace nlnet
