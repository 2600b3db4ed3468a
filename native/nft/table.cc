// nf_tables tables (NFTA_TABLE_*), the ruleset generation (NFTA_GEN_*) and the batch envelope
// (NFNL_MSG_BATCH_BEGIN/END with NFNL_BATCH_GENID). Every nf_tables message starts with
// struct nfgenmsg.
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstddef>

#include "nft/nft.h"

namespace nlnet {

namespace {
const EnumName kFamilies[] = {{NFPROTO_UNSPEC, "unspec"}, {NFPROTO_INET, "inet"},   {NFPROTO_IPV4, "ip"},
                              {NFPROTO_ARP, "arp"},       {NFPROTO_NETDEV, "netdev"}, {NFPROTO_BRIDGE, "bridge"},
                              {NFPROTO_IPV6, "ip6"}};

const std::vector<Field> kNfgenmsg = {
    {offsetof(nfgenmsg, nfgen_family), "family", FieldKind::ENUM8, &kNfFamilies},
    {offsetof(nfgenmsg, version), "version", FieldKind::U8},
    {offsetof(nfgenmsg, res_id), "resId", FieldKind::BE16},
};
}  // namespace

const EnumTable kNfFamilies = enum_table(kFamilies);

const Schema& nft_table_schema() {
  static const Schema s{"nft_table",
                        sizeof(nfgenmsg),
                        kNfgenmsg,
                        {
                            {NFTA_TABLE_NAME, "name", FieldKind::STR},
                            {NFTA_TABLE_FLAGS, "flags", FieldKind::BE32},
                            {NFTA_TABLE_USE, "use", FieldKind::BE32},
                            {NFTA_TABLE_HANDLE, "handle", FieldKind::BE64},
                            {NFTA_TABLE_USERDATA, "userdata", FieldKind::BIN},
                            {NFTA_TABLE_OWNER, "owner", FieldKind::BE32},
                        }};
  return s;
}

const Schema& nft_gen_schema() {
  static const Schema s{"nft_gen",
                        sizeof(nfgenmsg),
                        kNfgenmsg,
                        {
                            {NFTA_GEN_ID, "id", FieldKind::BE32},
                            {NFTA_GEN_PROC_PID, "pid", FieldKind::BE32},
                            {NFTA_GEN_PROC_NAME, "procName", FieldKind::STR},
                        }};
  return s;
}

const Schema& nft_batch_schema() {
  static const Schema s{"nft_batch", sizeof(nfgenmsg), kNfgenmsg, {{NFNL_BATCH_GENID, "genid", FieldKind::BE32}}};
  return s;
}

}  // namespace nlnet
