// fib: a route lookup on the packet's addresses (`fib daddr type local`, `fib saddr . iif oif
// exists`). Follows NFTA_FIB_*, enum nft_fib_result and enum nft_fib_flags (NFTA_FIB_F_*, which
// stay a number: saddr 1, daddr 2, mark 4, iif 8, oif 16, present 32).
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

namespace {
const EnumName kResults[] = {
    {NFT_FIB_RESULT_OIF, "oif"}, {NFT_FIB_RESULT_OIFNAME, "oifname"}, {NFT_FIB_RESULT_ADDRTYPE, "addrtype"}};
const EnumTable kResultTable = enum_table(kResults);
}  // namespace

const Schema& nft_expr_fib() {
  // Rows in the order libnftnl writes them (flags first), so that our bytes are nft's.
  static const Schema s{"fib",
                        0,
                        {},
                        {
                            {NFTA_FIB_FLAGS, "flags", FieldKind::BE32},
                            {NFTA_FIB_RESULT, "result", FieldKind::ENUMB32, &kResultTable},
                            {NFTA_FIB_DREG, "dreg", FieldKind::BE32},
                        }};
  return s;
}

}  // namespace nlnet
