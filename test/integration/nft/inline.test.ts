// Rules with inline sets and maps (`tcp dport { 22, 80 }`, `ip daddr vmap { … }`, `dnat to tcp
// dport map { … }`): nlnet creates the anonymous sets in the rule's batch, and `nft list ruleset`
// prints the rules exactly as it prints the same rules added by `nft` itself. Listing gives the
// lookups back by the kernel's set names; deleting a rule takes its sets with it.
import { describe, expect, it } from 'vitest';

import { rule, type TerminalRule } from '../../../lib/index.js';
import { nft, nftApply, ruleTexts } from '../../helpers/nft.js';
import { isRoot, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

const TABLES = `
table ip t {
  chain c { type filter hook input priority 0; }
  chain x { }
  chain n { type nat hook prerouting priority -100; }
}
table inet i {
  chain c { type filter hook forward priority 0; }
}`;

// [table, chain, the rule as built, the rule as given to nft]
const RULES: [string, string, TerminalRule, string][] = [
  ['t', 'c', rule().tcp.dport.inSet([22, 80]).accept(), 'tcp dport { 22, 80 } accept'],
  ['t', 'c', rule().ip.saddr.inSet(['10.0.0.1', '10.0.0.2']).accept(), 'ip saddr { 10.0.0.1, 10.0.0.2 } accept'],
  ['t', 'c', rule().ip.daddr.vmap([['10.0.0.1', { code: 'drop' }], ['10.0.0.2', { code: 'accept' }]]), 'ip daddr vmap { 10.0.0.1 : drop, 10.0.0.2 : accept }'],
  ['t', 'n', rule().dnat.toMap('tcp dport', [[80, '172.17.0.2'], [443, '172.17.0.3']]), 'dnat ip to tcp dport map { 80 : 172.17.0.2, 443 : 172.17.0.3 }'],
  ['t', 'n', rule().dnat.toMap('tcp dport', [[8080, ['172.17.0.2', 80]]]), 'dnat ip to tcp dport map { 8080 : 172.17.0.2 . 80 }'],
  ['t', 'c', rule().ip.saddr.inSet(['10.0.0.0/8', '192.168.1.0/24', { from: '1.1.1.1', to: '1.1.1.5' }]).drop(), 'ip saddr { 10.0.0.0/8, 192.168.1.0/24, 1.1.1.1-1.1.1.5 } drop'],
  ['t', 'c', rule().tcp.dport.notInSet([22, { from: 1000, to: 2000 }, { from: 65000, to: 65535 }]).drop(), 'tcp dport != { 22, 1000-2000, 65000-65535 } drop'],
  ['t', 'c', rule().ip.saddr.inSet(['10.0.0.0/24', '10.0.1.0/24']).counter().drop(), 'ip saddr { 10.0.0.0/24, 10.0.1.0/24 } counter drop'],
  ['t', 'c', rule().concat('ip daddr', 'tcp dport').inSet([['10.0.0.0/8', { from: 80, to: 90 }], ['1.2.3.4', 22]]).accept(), 'ip daddr . tcp dport { 10.0.0.0/8 . 80-90, 1.2.3.4 . 22 } accept'],
  ['t', 'c', rule().concat('meta l4proto', 'th dport').vmap([[['tcp', 22], { code: 'accept' }], [['udp', 53], { code: 'jump', chain: 'x' }]]), 'meta l4proto . th dport vmap { tcp . 22 : accept, udp . 53 : jump x }'],
  ['t', 'c', rule().ct.state.inSet(['established', 'related']).accept(), 'ct state { established, related } accept'],
  ['t', 'c', rule().iifname.inSet(['eth0', 'veth*']).accept(), 'iifname { "eth0", "veth*" } accept'],
  ['t', 'c', rule().tcp.dport.vmap([[{ from: 1000, to: 2000 }, { code: 'accept' }], [22, { code: 'drop' }]]), 'tcp dport vmap { 1000-2000 : accept, 22 : drop }'],
  ['t', 'c', rule().ip.saddr.inSet(['10.0.0.1']).ip.daddr.inSet(['10.0.0.2', '10.0.0.3']).tcp.dport.vmap([[80, { code: 'accept' }]]), 'ip saddr { 10.0.0.1 } ip daddr { 10.0.0.2, 10.0.0.3 } tcp dport vmap { 80 : accept }'],
  ['i', 'c', rule('inet').ip6.saddr.inSet(['fd00::/64', '2001:db8::1']).meta.l4proto.inSet(['tcp', 'udp']).accept(), 'ip6 saddr { fd00::/64, 2001:db8::1 } meta l4proto { tcp, udp } accept'],
  ['i', 'c', rule('inet').icmp.type.inSet(['echo-request', 'echo-reply']).accept(), 'icmp type { echo-request, echo-reply } accept'],
];

describe.skipIf(!isRoot)(`nf_tables inline sets and maps (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(2, 'nfa');
  const ours = () => spaces[0]!;
  const theirs = () => spaces[1]!;

  it('adds rules that nft lists exactly as the same rules added by nft', async () => {
    nftApply(ours().name, TABLES);
    nftApply(theirs().name, TABLES);
    for (const [table, chain, r] of RULES) await ours().nl.nft.addRule(r.spec({ table, chain }));
    nftApply(theirs().name, RULES.map(([table, chain, , text]) => `add rule ${table === 't' ? 'ip' : 'inet'} ${table} ${chain} ${text}`).join('\n'));

    expect(nft(ours().name, 'list', 'ruleset')).toBe(nft(theirs().name, 'list', 'ruleset'));
    expect(ruleTexts(ours().name, 'ip', 't', 'c').slice(0, 3)).toEqual([
      'tcp dport { 22, 80 } accept',
      'ip saddr { 10.0.0.1, 10.0.0.2 } accept',
      'ip daddr vmap { 10.0.0.1 : drop, 10.0.0.2 : accept }',
    ]);
  });

  it('adds several rules with inline sets in one batch, and inserts and replaces rules with them', async () => {
    const { nl, name } = ours();
    nftApply(name, TABLES);
    const at = { table: 't', chain: 'c' };
    let steps: number[] = [];
    const results = await nl.nft.commit((b) => {
      steps = [b.addRule(rule().tcp.dport.inSet([22, 80]).accept().spec(at)), b.addRule(rule().udp.dport.inSet([53, 123]).accept().spec(at))];
    });
    // Each rule's step, after its set's: its handle.
    expect(steps).toEqual([2, 5]);
    expect(steps.map((i) => typeof results[i])).toEqual(['number', 'number']);
    const handle = await nl.nft.insertRule(rule().ip.saddr.inSet(['10.0.0.1', '10.0.0.2']).drop().spec(at));
    await nl.nft.replaceRule(rule().ip.saddr.inSet(['10.0.0.3', '10.0.0.4']).drop().spec(at), handle);
    expect(ruleTexts(name, 'ip', 't', 'c')).toEqual(['ip saddr { 10.0.0.3, 10.0.0.4 } drop', 'tcp dport { 22, 80 } accept', 'udp dport { 53, 123 } accept']);
  });

  it('lists the lookup by the set the kernel named, whose elements list; deleting the rule deletes the set', async () => {
    const { nl } = ours();
    nftApply(ours().name, TABLES);
    const handle = await nl.nft.addRule(rule().tcp.dport.inSet([22, 80]).accept().spec({ table: 't', chain: 'c' }));
    const [listed] = await nl.nft.listRules({ family: 'ip', table: 't', chain: 'c' });
    const lookup = listed!.exprs.find((e) => e.type === 'lookup') as { set: string };
    expect(lookup.set).toMatch(/^__set\d+$/);
    const sets = await nl.nft.listSets({ family: 'ip', table: 't' });
    expect(sets).toEqual([expect.objectContaining({ name: lookup.set, key: ['inet_service'], flags: ['anonymous', 'constant'] })]);
    expect(await nl.nft.listElements({ family: 'ip', table: 't', name: lookup.set, key: 'inet_service' })).toEqual([{ key: 22 }, { key: 80 }]);

    await nl.nft.delRule({ family: 'ip', table: 't', chain: 'c', handle });
    expect(await nl.nft.listSets({ family: 'ip', table: 't' })).toEqual([]);
  });
});
