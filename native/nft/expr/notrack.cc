// notrack: the packet skips connection tracking (`notrack`). It has no attributes; its
// NFTA_EXPR_DATA is an empty nest (nft/rule.cc writes one for every expression).
#include "nft/nft.h"

namespace nlnet {

const Schema& nft_expr_notrack() {
  static const Schema s{"notrack", 0, {}, {}};
  return s;
}

}  // namespace nlnet
