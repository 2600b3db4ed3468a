// counter: packets and bytes that reached it. Follows NFTA_COUNTER_*.
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

const Schema& nft_expr_counter() {
  static const Schema s{"counter",
                        0,
                        {},
                        {
                            {NFTA_COUNTER_BYTES, "bytes", FieldKind::BE64},
                            {NFTA_COUNTER_PACKETS, "packets", FieldKind::BE64},
                        }};
  return s;
}

}  // namespace nlnet
