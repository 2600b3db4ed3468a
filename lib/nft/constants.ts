// nf_tables constants the TypeScript side needs, named as in <linux/netfilter/nf_tables.h>,
// <linux/netfilter/nfnetlink.h> and nft's own data types (src/datatype.h).

export const NETLINK_NETFILTER = 12;
export const NFNL_SUBSYS_NFTABLES = 10;

/** (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_* */
export const msg = (m: number): number => (NFNL_SUBSYS_NFTABLES << 8) | m;
export const NFT_MSG_NEWTABLE = msg(0);
export const NFT_MSG_GETTABLE = msg(1);
export const NFT_MSG_DELTABLE = msg(2);
export const NFT_MSG_NEWCHAIN = msg(3);
export const NFT_MSG_GETCHAIN = msg(4);
export const NFT_MSG_DELCHAIN = msg(5);
export const NFT_MSG_NEWRULE = msg(6);
export const NFT_MSG_GETRULE = msg(7);
export const NFT_MSG_DELRULE = msg(8);
export const NFT_MSG_NEWSET = msg(9);
export const NFT_MSG_GETSET = msg(10);
export const NFT_MSG_DELSET = msg(11);
export const NFT_MSG_NEWSETELEM = msg(12);
export const NFT_MSG_GETSETELEM = msg(13);
export const NFT_MSG_DELSETELEM = msg(14);
export const NFT_MSG_GETGEN = msg(16);

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';
export const FAMILIES: readonly NftFamily[] = ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'];

export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress';
// NF_INET_* (and NF_NETDEV_INGRESS, 0, for netdev)
export const HOOKS: Record<Hook, number> = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4, ingress: 0 };

/** Standard priorities, as `nft` names them (the bridge family has its own, not listed). */
export const PRIORITIES = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 } as const;
export type PriorityName = keyof typeof PRIORITIES;

// NFT_SET_* flags (NFT_SET_EVAL is what nft calls 'dynamic')
export const SET_FLAGS = { anonymous: 0x1, constant: 0x2, interval: 0x4, map: 0x8, timeout: 0x10, dynamic: 0x20, object: 0x40, concat: 0x80 } as const;
export type SetFlag = keyof typeof SET_FLAGS;

// NFT_SET_ELEM_INTERVAL_END
export const SET_ELEM_INTERVAL_END = 0x1;

// NFNL_UDATA rule comment (libnftnl's NFTNL_UDATA_RULE_COMMENT), the TLV `nft` reads back.
export const UDATA_RULE_COMMENT = 0;
