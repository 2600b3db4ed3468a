// meta: packet metadata to or from a register (`meta l4proto`, `iifname`, `meta mark set`).
// Follows NFTA_META_* and enum nft_meta_keys in <linux/netfilter/nf_tables.h>.
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

namespace {
const EnumName kKeys[] = {
    {NFT_META_LEN, "len"},         {NFT_META_PROTOCOL, "protocol"}, {NFT_META_PRIORITY, "priority"},
    {NFT_META_MARK, "mark"},       {NFT_META_IIF, "iif"},           {NFT_META_OIF, "oif"},
    {NFT_META_IIFNAME, "iifname"}, {NFT_META_OIFNAME, "oifname"},   {NFT_META_IIFTYPE, "iiftype"},
    {NFT_META_OIFTYPE, "oiftype"}, {NFT_META_SKUID, "skuid"},       {NFT_META_SKGID, "skgid"},
    {NFT_META_NFTRACE, "nftrace"}, {NFT_META_RTCLASSID, "rtclassid"}, {NFT_META_SECMARK, "secmark"},
    {NFT_META_NFPROTO, "nfproto"}, {NFT_META_L4PROTO, "l4proto"},   {NFT_META_BRI_IIFNAME, "ibrname"},
    {NFT_META_BRI_OIFNAME, "obrname"}, {NFT_META_PKTTYPE, "pkttype"}, {NFT_META_CPU, "cpu"},
    {NFT_META_IIFGROUP, "iifgroup"}, {NFT_META_OIFGROUP, "oifgroup"}, {NFT_META_CGROUP, "cgroup"},
    {NFT_META_PRANDOM, "random"},  {NFT_META_IIFKIND, "iifkind"},   {NFT_META_OIFKIND, "oifkind"},
};
const EnumTable kKeyTable = enum_table(kKeys);
}  // namespace

const Schema& nft_expr_meta() {
  static const Schema s{"meta",
                        0,
                        {},
                        {
                            {NFTA_META_KEY, "key", FieldKind::ENUMB32, &kKeyTable},  // first, as nft writes it
                            {NFTA_META_DREG, "dreg", FieldKind::BE32},
                            {NFTA_META_SREG, "sreg", FieldKind::BE32},
                        }};
  return s;
}

}  // namespace nlnet
