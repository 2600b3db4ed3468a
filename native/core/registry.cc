// Which schema reads and writes each message type, per netlink protocol.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft/nft.h"
#include "rtnl/rtnl.h"

namespace nlnet {

namespace {

// nf_tables message types are (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_*.
const Schema* nft_schema_for(uint16_t type) {
  if (type == NFNL_MSG_BATCH_BEGIN || type == NFNL_MSG_BATCH_END) return &nft_batch_schema();
  if ((type >> 8) != NFNL_SUBSYS_NFTABLES) return nullptr;
  switch (type & 0xff) {
    case NFT_MSG_NEWTABLE: case NFT_MSG_GETTABLE: case NFT_MSG_DELTABLE: return &nft_table_schema();
    case NFT_MSG_NEWCHAIN: case NFT_MSG_GETCHAIN: case NFT_MSG_DELCHAIN: return &nft_chain_schema();
    case NFT_MSG_NEWRULE: case NFT_MSG_GETRULE: case NFT_MSG_DELRULE: return &nft_rule_schema();
    case NFT_MSG_NEWSET: case NFT_MSG_GETSET: case NFT_MSG_DELSET: return &nft_set_schema();
    case NFT_MSG_NEWSETELEM: case NFT_MSG_GETSETELEM: case NFT_MSG_DELSETELEM: return &nft_setelem_schema();
    case NFT_MSG_NEWGEN: case NFT_MSG_GETGEN: return &nft_gen_schema();
    default: return nullptr;
  }
}

}  // namespace

const Schema* schema_for(int protocol, uint16_t type) {
  if (protocol == NETLINK_NETFILTER) return nft_schema_for(type);
  if (protocol != NETLINK_ROUTE) return nullptr;
  switch (type) {
    case RTM_NEWLINK: case RTM_DELLINK: case RTM_GETLINK: case RTM_SETLINK: return &link_schema();
    case RTM_NEWADDR: case RTM_DELADDR: case RTM_GETADDR: return &addr_schema();
    case RTM_NEWROUTE: case RTM_DELROUTE: case RTM_GETROUTE: return &route_schema();
    case RTM_NEWNEIGH: case RTM_DELNEIGH: case RTM_GETNEIGH: return &neigh_schema();
    default: return nullptr;
  }
}

}  // namespace nlnet
