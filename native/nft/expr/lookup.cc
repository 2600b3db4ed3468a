// lookup: is the key in sreg in a set (`ip saddr @allowed`), and for a map, load its value into
// dreg (`ip daddr vmap @v`: dreg 0, the verdict register). Follows NFTA_LOOKUP_*.
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

const Schema& nft_expr_lookup() {
  // Rows in the order libnftnl writes them (registers first), so that our bytes are nft's.
  static const Schema s{"lookup",
                        0,
                        {},
                        {
                            {NFTA_LOOKUP_SREG, "sreg", FieldKind::BE32},
                            {NFTA_LOOKUP_DREG, "dreg", FieldKind::BE32},
                            {NFTA_LOOKUP_SET, "set", FieldKind::STR},
                            {NFTA_LOOKUP_SET_ID, "setId", FieldKind::BE32},
                            {NFTA_LOOKUP_FLAGS, "flags", FieldKind::BE32},  // NFT_LOOKUP_F_INV: `!= @set`
                        }};
  return s;
}

}  // namespace nlnet
