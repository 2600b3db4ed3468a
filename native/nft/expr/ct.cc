// ct: connection tracking state to a register (`ct state established,related`, `ct original
// saddr`), or from one (`ct mark set 0x1`, with sreg). Follows NFTA_CT_* and enum nft_ct_keys;
// NFTA_CT_DIRECTION is a u8 (enum ip_conntrack_dir), present only for the directional keys.
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

namespace {
// Named after the kernel's NFT_CT_*, lowercase with '-' for '_' (nft says l3proto, saddr, daddr,
// label, packets and event for a few of them).
const EnumName kKeys[] = {
    {NFT_CT_STATE, "state"},         {NFT_CT_DIRECTION, "direction"}, {NFT_CT_STATUS, "status"},
    {NFT_CT_MARK, "mark"},           {NFT_CT_SECMARK, "secmark"},     {NFT_CT_EXPIRATION, "expiration"},
    {NFT_CT_HELPER, "helper"},       {NFT_CT_L3PROTOCOL, "l3protocol"}, {NFT_CT_SRC, "src"},
    {NFT_CT_DST, "dst"},             {NFT_CT_PROTOCOL, "protocol"},   {NFT_CT_PROTO_SRC, "proto-src"},
    {NFT_CT_PROTO_DST, "proto-dst"}, {NFT_CT_LABELS, "labels"},       {NFT_CT_PKTS, "pkts"},
    {NFT_CT_BYTES, "bytes"},         {NFT_CT_AVGPKT, "avgpkt"},       {NFT_CT_ZONE, "zone"},
    {NFT_CT_EVENTMASK, "eventmask"}, {NFT_CT_SRC_IP, "src-ip"},       {NFT_CT_DST_IP, "dst-ip"},
    {NFT_CT_SRC_IP6, "src-ip6"},     {NFT_CT_DST_IP6, "dst-ip6"},     {NFT_CT_ID, "id"},
};
const EnumTable kKeyTable = enum_table(kKeys);

const EnumName kDirs[] = {{0, "original"}, {1, "reply"}};  // IP_CT_DIR_*
const EnumTable kDirTable = enum_table(kDirs);
}  // namespace

const Schema& nft_expr_ct() {
  // Rows in the order libnftnl writes them (key first), so that our bytes are nft's.
  static const Schema s{"ct",
                        0,
                        {},
                        {
                            {NFTA_CT_KEY, "key", FieldKind::ENUMB32, &kKeyTable},
                            {NFTA_CT_DREG, "dreg", FieldKind::BE32},
                            {NFTA_CT_DIRECTION, "direction", FieldKind::ENUM8, &kDirTable},
                            {NFTA_CT_SREG, "sreg", FieldKind::BE32},
                        }};
  return s;
}

}  // namespace nlnet
