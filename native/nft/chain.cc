// nf_tables chains: NFTA_CHAIN_* and the base chain's hook (NFTA_HOOK_*). The priority is a
// signed number (dstnat is -100).
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft/nft.h"

namespace nlnet {

namespace {
const Schema& hook_schema() {
  static const Schema s{"nft_hook",
                        0,
                        {},
                        {
                            {NFTA_HOOK_HOOKNUM, "hooknum", FieldKind::BE32},
                            {NFTA_HOOK_PRIORITY, "priority", FieldKind::SBE32},
                            {NFTA_HOOK_DEV, "dev", FieldKind::STR},
                        }};
  return s;
}
}  // namespace

const Schema& nft_chain_schema() {
  static const Schema s{"nft_chain",
                        sizeof(nfgenmsg),
                        nft_table_schema().header,
                        {
                            {NFTA_CHAIN_TABLE, "table", FieldKind::STR},
                            {NFTA_CHAIN_HANDLE, "handle", FieldKind::BE64},
                            {NFTA_CHAIN_NAME, "name", FieldKind::STR},
                            // type, policy, then hook: the order nft writes them.
                            {NFTA_CHAIN_TYPE, "type", FieldKind::STR},
                            {NFTA_CHAIN_POLICY, "policy", FieldKind::ENUMB32, &kVerdicts},
                            {NFTA_CHAIN_HOOK, "hook", FieldKind::NESTF, &hook_schema()},
                            {NFTA_CHAIN_USE, "use", FieldKind::BE32},
                            {NFTA_CHAIN_FLAGS, "flags", FieldKind::BE32},
                            {NFTA_CHAIN_ID, "id", FieldKind::BE32},
                            {NFTA_CHAIN_USERDATA, "userdata", FieldKind::BIN},
                        }};
  return s;
}

}  // namespace nlnet
