// What `nft -f` writes, nlnet lists as nft does: tables, chains with their hooks, priorities and
// policies, rules with their handles and comments. A rule's listed expressions are checked by
// adding them again through nlnet into a copy of its chain: `nft list` must print both chains'
// rules with the same text.
import { describe, expect, it } from 'vitest';

import type { NftFamily } from '../../../lib/index.js';
import { nftApply, nftj, ruleTexts } from '../../helpers/nft.js';
import { isRoot, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

// One ruleset per group of expressions, so that a failure names the group. No anonymous sets
// (`{ 22, 80 }`): such a set belongs to its rule, and a copy of the rule could not use it.
const RULESETS: Record<string, string> = {
  'payload, meta, cmp, immediate and counter': `
table ip common {
  chain sub { ip daddr 10.1.0.1 return; }
  chain input {
    type filter hook input priority filter; policy drop;
    tcp dport 22 counter accept comment "ssh"
    ip saddr 10.0.0.1 ip daddr != 10.0.0.2 accept
    meta l4proto udp udp dport 53 accept
    iifname "lo" accept
    iif "lo" accept
    meta mark 0x00000010 accept
    jump sub
    goto sub
  }
}`,
  'bitwise, range, ct, limit, log and reject': `
table ip filters {
  chain input {
    type filter hook input priority 10; policy accept;
    ct state established,related accept
    ct state invalid drop
    ip saddr 10.0.0.0/8 accept
    tcp dport 1000-2000 accept
    tcp flags & (syn | ack) == syn counter
    icmp type echo-request limit rate 10/second accept
    log prefix "in: " drop
    meta l4proto tcp reject with tcp reset
    reject with icmp type port-unreachable
  }
}`,
  'lookups in named sets, concatenated maps and verdict maps': `
table ip lookups {
  set blocked { type ipv4_addr; elements = { 192.0.2.1 } }
  map v { type ipv4_addr : verdict; elements = { 192.0.2.2 : drop } }
  map ports { type inet_proto . inet_service : ipv4_addr . inet_service; elements = { tcp . 8080 : 10.1.0.2 . 80 } }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ip saddr @blocked drop
    ip saddr vmap @v
    meta l4proto . th dport @ports accept
  }
}`,
  'nat, masquerade and redirect': `
table ip nat {
  map ports { type inet_proto . inet_service : ipv4_addr . inet_service; elements = { tcp . 8080 : 10.1.0.2 . 80 } }
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    dnat ip to meta l4proto . th dport map @ports
    tcp dport 8081 dnat to 10.1.0.2:80
    tcp dport 2222 redirect to :22
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "eth0" masquerade
    ip saddr 10.1.0.0/24 snat to 10.2.0.1
  }
}`,
  'ip6, inet and bridge families, fib': `
table ip6 six {
  chain out {
    type filter hook output priority -5; policy accept;
    ip6 daddr ::1 accept
    meta l4proto ipv6-icmp accept
  }
}
table inet both {
  chain in {
    type filter hook input priority 5; policy accept;
    fib daddr type local accept
    meta nfproto ipv4 tcp dport 80 accept
    ip6 saddr 2001:db8::1 drop
  }
}
table bridge br {
  chain fw {
    type filter hook forward priority -200; policy accept;
    ether type ip accept
    ether saddr 02:42:ac:11:00:02 drop
  }
}`,
};

describe.skipIf(!isRoot)(`nf_tables written by nft -f, listed by nlnet (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(1, 'nfr');

  it.each(Object.keys(RULESETS))('%s', async (group) => {
    const { nl, name } = spaces[0]!;
    nftApply(name, RULESETS[group]!);
    const want = nftj(name);

    const tables = await nl.nft.listTables();
    expect(tables.map(({ family, name: n, handle }) => ({ family, name: n, handle }))).toEqual(want.tables);

    const chains = await nl.nft.listChains();
    expect(chains).toEqual(
      want.chains.map((c) => ({
        family: c.family,
        table: c.table,
        name: c.name,
        handle: c.handle,
        ...(c.hook ? { type: c.type, hook: c.hook, priority: c.prio, policy: c.policy } : {}),
      })),
    );

    const rules = await nl.nft.listRules();
    expect(rules.map(({ family, table, chain, handle, comment }) => ({ family, table, chain, handle, ...(comment ? { comment } : {}) }))).toEqual(
      want.rules.map(({ family, table, chain, handle, comment }) => ({ family, table, chain, handle, ...(comment ? { comment } : {}) })),
    );

    // Each chain's rules, added again into a regular chain of the same table (so that set and
    // chain references still resolve), must print as the originals do.
    for (const c of chains) {
      const copy = `copy_${c.name}`;
      const own = rules.filter((r) => r.family === c.family && r.table === c.table && r.chain === c.name);
      await nl.nft.commit((b) => {
        b.addChain({ family: c.family, table: c.table, name: copy });
        for (const r of own) b.addRule({ family: r.family, table: r.table, chain: copy, exprs: r.exprs, ...(r.comment ? { comment: r.comment } : {}) });
      });
      const family = c.family as NftFamily;
      const original = ruleTexts(name, family, c.table, c.name);
      expect(original).toHaveLength(own.length);
      expect(ruleTexts(name, family, c.table, copy), `${c.family} ${c.table} ${c.name}`).toEqual(original);
    }
  });
});
