// redir: destination NAT to the host itself, on the port range held in registers
// (`redirect to :8080`). Follows NFTA_REDIR_*; flags are NF_NAT_RANGE_*.
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

const Schema& nft_expr_redir() {
  static const Schema s{"redir",
                        0,
                        {},
                        {
                            {NFTA_REDIR_REG_PROTO_MIN, "regProtoMin", FieldKind::BE32},
                            {NFTA_REDIR_REG_PROTO_MAX, "regProtoMax", FieldKind::BE32},
                            {NFTA_REDIR_FLAGS, "flags", FieldKind::BE32},
                        }};
  return s;
}

}  // namespace nlnet
