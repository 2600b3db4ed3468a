// nf_tables over NETLINK_NETFILTER: the schemas of each object (one file each) and the table of
// expressions. Follows <linux/netfilter/nf_tables.h> and <linux/netfilter/nfnetlink.h>.
// nf_tables writes its integers big-endian and sets NLA_F_NESTED on every nest.
#pragma once

#include <string_view>

#include "core/codec.h"

namespace nlnet {

const Schema& nft_table_schema();    // table.cc: NFT_MSG_{NEW,GET,DEL}TABLE
const Schema& nft_gen_schema();      // table.cc: NFT_MSG_{NEW,GET}GEN
const Schema& nft_batch_schema();    // table.cc: NFNL_MSG_BATCH_{BEGIN,END}
const Schema& nft_chain_schema();    // chain.cc
const Schema& nft_rule_schema();     // rule.cc
const Schema& nft_set_schema();      // set.cc: sets and maps
const Schema& nft_setelem_schema();  // set.cc: element lists
const Schema& nft_data_schema();     // set.cc: NFTA_DATA_VALUE / NFTA_DATA_VERDICT

// The NFTA_EXPR_DATA schema of an expression ("payload", "cmp"…), or nullptr.
const Schema* nft_expr_schema(std::string_view name);

// One per expression: expr/<name>.cc.
const Schema& nft_expr_payload();
const Schema& nft_expr_meta();
const Schema& nft_expr_cmp();
const Schema& nft_expr_immediate();
const Schema& nft_expr_counter();
const Schema& nft_expr_bitwise();
const Schema& nft_expr_lookup();
const Schema& nft_expr_range();
const Schema& nft_expr_fib();
const Schema& nft_expr_ct();
const Schema& nft_expr_nat();
const Schema& nft_expr_masq();
const Schema& nft_expr_redir();
const Schema& nft_expr_reject();
const Schema& nft_expr_limit();
const Schema& nft_expr_log();
const Schema& nft_expr_notrack();
const Schema& nft_expr_dynset();
const Schema& nft_expr_objref();

extern const EnumTable kNfFamilies;  // NFPROTO_*: inet, ip, ip6, arp, bridge, netdev
extern const EnumTable kVerdicts;    // NF_DROP, NF_ACCEPT, NFT_JUMP…

}  // namespace nlnet
