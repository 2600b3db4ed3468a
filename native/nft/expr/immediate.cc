// immediate: load a constant or a verdict into a register (`accept`, `jump chain`, the address
// `snat to` uses). Follows NFTA_IMMEDIATE_*.
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

const Schema& nft_expr_immediate() {
  static const Schema s{"immediate",
                        0,
                        {},
                        {
                            {NFTA_IMMEDIATE_DREG, "dreg", FieldKind::BE32},
                            {NFTA_IMMEDIATE_DATA, "data", FieldKind::NESTF, &nft_data_schema()},
                        }};
  return s;
}

}  // namespace nlnet
