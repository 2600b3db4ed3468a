// nf_tables sets and maps (NFTA_SET_*), their elements (NFTA_SET_ELEM_LIST_*, NFTA_SET_ELEM_*),
// and the data values keys and map values are made of (NFTA_DATA_*, NFTA_VERDICT_*).
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft/nft.h"

namespace nlnet {

namespace {
// Verdict codes as the kernel stores them: negative for the nf_tables ones, as a u32.
const EnumName kVerdictNames[] = {{static_cast<uint32_t>(NF_DROP), "drop"},
                                  {static_cast<uint32_t>(NF_ACCEPT), "accept"},
                                  {static_cast<uint32_t>(NFT_CONTINUE), "continue"},
                                  {static_cast<uint32_t>(NFT_BREAK), "break"},
                                  {static_cast<uint32_t>(NFT_JUMP), "jump"},
                                  {static_cast<uint32_t>(NFT_GOTO), "goto"},
                                  {static_cast<uint32_t>(NFT_RETURN), "return"}};

const Schema& verdict_schema() {
  static const Schema s{"nft_verdict",
                        0,
                        {},
                        {
                            {NFTA_VERDICT_CODE, "code", FieldKind::ENUMB32, &kVerdicts},
                            {NFTA_VERDICT_CHAIN, "chain", FieldKind::STR},
                        }};
  return s;
}

const Schema& field_schema() {
  static const Schema s{"nft_set_field", 0, {}, {{NFTA_SET_FIELD_LEN, "len", FieldKind::BE32}}};
  return s;
}

const Schema& desc_schema() {
  static const Schema s{"nft_set_desc",
                        0,
                        {},
                        {
                            {NFTA_SET_DESC_SIZE, "size", FieldKind::BE32},
                            {NFTA_SET_DESC_CONCAT, "concat", FieldKind::LIST, &field_schema()},
                        }};
  return s;
}

const Schema& elem_schema() {
  static const Schema s{"nft_set_elem",
                        0,
                        {},
                        {
                            // flags and times first, as nft writes them
                            {NFTA_SET_ELEM_FLAGS, "flags", FieldKind::BE32},
                            {NFTA_SET_ELEM_TIMEOUT, "timeout", FieldKind::BE64},
                            {NFTA_SET_ELEM_EXPIRATION, "expiration", FieldKind::BE64},
                            {NFTA_SET_ELEM_KEY, "key", FieldKind::NESTF, &nft_data_schema()},
                            {NFTA_SET_ELEM_KEY_END, "keyEnd", FieldKind::NESTF, &nft_data_schema()},
                            {NFTA_SET_ELEM_DATA, "data", FieldKind::NESTF, &nft_data_schema()},
                            {NFTA_SET_ELEM_USERDATA, "userdata", FieldKind::BIN},
                        }};
  return s;
}
}  // namespace

const EnumTable kVerdicts = enum_table(kVerdictNames);

const Schema& nft_data_schema() {
  static const Schema s{"nft_data",
                        0,
                        {},
                        {
                            {NFTA_DATA_VALUE, "value", FieldKind::BIN},
                            {NFTA_DATA_VERDICT, "verdict", FieldKind::NESTF, &verdict_schema()},
                        }};
  return s;
}

const Schema& nft_set_schema() {
  static const Schema s{"nft_set",
                        sizeof(nfgenmsg),
                        nft_table_schema().header,
                        {
                            {NFTA_SET_TABLE, "table", FieldKind::STR},
                            {NFTA_SET_NAME, "name", FieldKind::STR},
                            {NFTA_SET_FLAGS, "flags", FieldKind::BE32},
                            {NFTA_SET_KEY_TYPE, "keyType", FieldKind::BE32},
                            {NFTA_SET_KEY_LEN, "keyLen", FieldKind::BE32},
                            {NFTA_SET_DATA_TYPE, "dataType", FieldKind::BE32},
                            {NFTA_SET_DATA_LEN, "dataLen", FieldKind::BE32},
                            {NFTA_SET_OBJ_TYPE, "objType", FieldKind::BE32},
                            {NFTA_SET_ID, "id", FieldKind::BE32},  // before policy and desc, as nft writes it
                            {NFTA_SET_POLICY, "policy", FieldKind::BE32},
                            {NFTA_SET_DESC, "desc", FieldKind::NESTF, &desc_schema()},
                            {NFTA_SET_TIMEOUT, "timeout", FieldKind::BE64},
                            {NFTA_SET_GC_INTERVAL, "gcInterval", FieldKind::BE32},
                            {NFTA_SET_USERDATA, "userdata", FieldKind::BIN},
                            {NFTA_SET_HANDLE, "handle", FieldKind::BE64},
                        }};
  return s;
}

const Schema& nft_setelem_schema() {
  static const Schema s{"nft_setelem",
                        sizeof(nfgenmsg),
                        nft_table_schema().header,
                        {
                            {NFTA_SET_ELEM_LIST_TABLE, "table", FieldKind::STR},
                            {NFTA_SET_ELEM_LIST_SET, "set", FieldKind::STR},
                            {NFTA_SET_ELEM_LIST_SET_ID, "setId", FieldKind::BE32},  // before the list, as nft writes it
                            {NFTA_SET_ELEM_LIST_ELEMENTS, "elements", FieldKind::LIST, &elem_schema()},
                        }};
  return s;
}

}  // namespace nlnet
