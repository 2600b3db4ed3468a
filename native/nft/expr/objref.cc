// objref: use a named stateful object (`counter name "c"`, `ct helper set "ftp"`), by name or
// through a map from a register (`counter name ip saddr map @m`). Follows NFTA_OBJREF_*; the type
// is NFT_OBJECT_*.
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

namespace {
const EnumName kTypes[] = {{NFT_OBJECT_COUNTER, "counter"},     {NFT_OBJECT_QUOTA, "quota"},
                           {NFT_OBJECT_CT_HELPER, "ct-helper"}, {NFT_OBJECT_LIMIT, "limit"},
                           {NFT_OBJECT_CONNLIMIT, "connlimit"}, {NFT_OBJECT_TUNNEL, "tunnel"},
                           {NFT_OBJECT_CT_TIMEOUT, "ct-timeout"}, {NFT_OBJECT_SECMARK, "secmark"},
                           {NFT_OBJECT_CT_EXPECT, "ct-expect"}, {NFT_OBJECT_SYNPROXY, "synproxy"}};
const EnumTable kTypeTable = enum_table(kTypes);
}  // namespace

const Schema& nft_expr_objref() {
  static const Schema s{"objref",
                        0,
                        {},
                        {
                            {NFTA_OBJREF_IMM_TYPE, "objType", FieldKind::ENUMB32, &kTypeTable},
                            {NFTA_OBJREF_IMM_NAME, "name", FieldKind::STR},
                            {NFTA_OBJREF_SET_SREG, "sreg", FieldKind::BE32},
                            {NFTA_OBJREF_SET_NAME, "set", FieldKind::STR},
                            {NFTA_OBJREF_SET_ID, "setId", FieldKind::BE32},
                        }};
  return s;
}

}  // namespace nlnet
