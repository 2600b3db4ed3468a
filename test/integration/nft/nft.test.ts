// What nlnet writes to nf_tables, read back by `nft` itself: tables and chains in each family,
// rules as `nft list` prints them, rule positions and handles, flushes and deletions, and sets,
// maps and elements typed the way `nft -j` types them.
import { describe, expect, it } from 'vitest';

import { rule, type ChainSpec, type Expr, type NftFamily, type SetSpec, type TerminalRule } from '../../../lib/index.js';
import { nft, nftj, ruleTexts, rulesWithHandles, x } from '../../helpers/nft.js';
import { isRoot, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

describe.skipIf(!isRoot)(`nf_tables written by nlnet, read by nft (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(1, 'nft');
  const ns = () => spaces[0]!;

  it('adds tables in the ip, ip6, inet and bridge families, with the handles nft lists', async () => {
    const { nl, name } = ns();
    const families: NftFamily[] = ['ip', 'ip6', 'inet', 'bridge'];
    for (const family of families) await nl.nft.addTable({ family, name: `t_${family}` });

    const listed = nftj(name).tables.map(({ family, name: n, handle }) => ({ family, name: n, handle }));
    expect(listed.map((t) => [t.family, t.name])).toEqual(families.map((f) => [f, `t_${f}`]));
    const ours = await nl.nft.listTables();
    expect(ours.map(({ family, name: n, handle }) => ({ family, name: n, handle }))).toEqual(listed);
    expect(await nl.nft.listTables({ family: 'ip6' })).toHaveLength(1);
  });

  it('adds base chains with hook, priority and policy, and regular chains, in every family', async () => {
    const { nl, name } = ns();
    const chains: ChainSpec[] = [
      { family: 'ip', table: 't', name: 'in', type: 'filter', hook: 'input', priority: 10, policy: 'drop' },
      { family: 'ip', table: 't', name: 'pre', type: 'nat', hook: 'prerouting', priority: 'dstnat' },
      { family: 'ip', table: 't', name: 'plain' },
      { family: 'ip6', table: 't', name: 'out', type: 'filter', hook: 'output', priority: -5, policy: 'accept' },
      { family: 'inet', table: 't', name: 'post', type: 'nat', hook: 'postrouting', priority: 'srcnat' },
      { family: 'inet', table: 't', name: 'mangle', type: 'route', hook: 'output', priority: 'mangle' },
      { family: 'bridge', table: 't', name: 'fwd', type: 'filter', hook: 'forward', priority: -200, policy: 'accept' },
    ];
    await nl.nft.commit((b) => {
      for (const family of new Set(chains.map((c) => c.family))) b.addTable({ family, name: 't' });
      for (const c of chains) b.addChain(c);
    });

    const byName = new Map(nftj(name).chains.map((c) => [`${c.family}/${c.name}`, c]));
    const prio = { dstnat: -100, srcnat: 100, mangle: -150 } as Record<string, number>;
    for (const c of chains) {
      const got = byName.get(`${c.family}/${c.name}`);
      const priority = typeof c.priority === 'string' ? prio[c.priority] : c.priority;
      if (c.hook) expect(got, c.name).toMatchObject({ table: 't', type: c.type, hook: c.hook, prio: priority, policy: c.policy ?? 'accept' });
      else expect(got, c.name).not.toHaveProperty('hook');
    }
    expect(nft(name, 'list', 'chain', 'ip', 't', 'in')).toContain('type filter hook input priority filter + 10; policy drop;');

    const ours = await nl.nft.listChains();
    expect(ours.map((c) => `${c.family}/${c.name}`).sort()).toEqual([...byName.keys()].sort());
    for (const c of ours) expect(c.handle, c.name).toBe(byName.get(`${c.family}/${c.name}`)!.handle);
    expect(ours.find((c) => c.name === 'in')).toMatchObject({ type: 'filter', hook: 'input', priority: 10, policy: 'drop' });
    expect(await nl.nft.listChains({ family: 'ip', table: 't' })).toHaveLength(3);
  });

  it('writes rules that nft prints as the matching text, comments included', async () => {
    const { nl, name } = ns();
    await nl.nft.commit((b) => {
      b.addTable({ family: 'ip', name: 'f' });
      b.addChain({ family: 'ip', table: 'f', name: 'other' });
      b.addChain({ family: 'ip', table: 'f', name: 'in', type: 'filter', hook: 'input', priority: 0 });
    });
    const rules: [Expr[], string, string?][] = [
      [[...x.dport(80), x.counter(), x.drop()], 'tcp dport 80 counter packets 0 bytes 0 drop comment "no web"', 'no web'],
      [[...x.ipSaddr('10.0.0.1'), x.accept()], 'ip saddr 10.0.0.1 accept'],
      [[...x.ipSaddr('192.0.2.7', 'neq'), x.drop()], 'ip saddr != 192.0.2.7 drop'],
      [[...x.dport(53, 17), x.accept()], 'udp dport 53 accept'],
      [[...x.l4proto(1), x.accept()], 'meta l4proto icmp accept'],
      [[...x.iifname('lo'), x.accept()], 'iifname "lo" accept'],
      [[x.jump('other')], 'jump other'],
      [[x.counter()], 'counter packets 0 bytes 0'],
    ];
    const handles: number[] = [];
    for (const [exprs, , comment] of rules) handles.push(await nl.nft.addRule({ family: 'ip', table: 'f', chain: 'in', exprs, ...(comment ? { comment } : {}) }));

    expect(ruleTexts(name, 'ip', 'f', 'in')).toEqual(rules.map(([, text]) => text));
    const listed = nftj(name).rules;
    expect(listed.map((r) => r.handle)).toEqual(handles);
    expect(listed[0]!.comment).toBe('no web');

    const ours = await nl.nft.listRules({ family: 'ip', table: 'f', chain: 'in' });
    expect(ours.map((r) => r.handle)).toEqual(handles);
    ours.forEach((r, i) => expect(r.exprs, rules[i]![1]).toMatchObject(rules[i]![0]));
    expect(ours[0]!.comment).toBe('no web');
    expect(ours[1]).not.toHaveProperty('comment');
  });

  it('writes the builder’s rules, which nft prints as the rules they mirror', async () => {
    const { nl, name } = ns();
    await nl.nft.commit((b) => {
      b.addTable({ family: 'inet', name: 'b' });
      b.addSet({ family: 'inet', table: 'b', name: 'blocked', key: 'ipv4_addr' });
      b.addSet({ family: 'inet', table: 'b', name: 'v', key: 'ipv4_addr', map: 'verdict' });
      b.addChain({ family: 'inet', table: 'b', name: 'in', type: 'filter', hook: 'input', priority: 'filter' });
      b.addTable({ family: 'ip', name: 'n' });
      b.addChain({ family: 'ip', table: 'n', name: 'pre', type: 'nat', hook: 'prerouting', priority: 'dstnat' });
      b.addChain({ family: 'ip', table: 'n', name: 'post', type: 'nat', hook: 'postrouting', priority: 'srcnat' });
    });
    const filter: [TerminalRule, string][] = [
      [rule('inet').ct.state.in(['established', 'related']).accept(), 'ct state established,related accept'],
      [rule('inet').ip.saddr.eq('10.0.0.0/8').tcp.dport.eq(22).counter().accept(), 'ip saddr 10.0.0.0/8 tcp dport 22 counter packets 0 bytes 0 accept'],
      [rule('inet').tcp.dport.inRange(1000, 2000).drop(), 'tcp dport 1000-2000 drop'],
      [rule('inet').ip6.saddr.eq('2001:db8::/32').drop(), 'ip6 saddr 2001:db8::/32 drop'],
      [rule('inet').icmp.type.eq('echo-request').limit(10, 'second').accept(), 'icmp type echo-request limit rate 10/second accept'],
      [rule('inet').ip.saddr.inSet('blocked').log({ prefix: 'blocked: ' }).drop(), 'ip saddr @blocked log prefix "blocked: " drop'],
      [rule('inet').ip.saddr.vmap('v'), 'ip saddr vmap @v'],
      [rule('inet').fib.daddr.type.eq('local').accept(), 'fib daddr type local accept'],
      [rule('inet').meta.l4proto.eq('tcp').reject({ with: 'tcp reset' }), 'meta l4proto tcp reject with tcp reset'],
    ];
    const pre: [TerminalRule, string][] = [
      [rule('ip').tcp.dport.eq(8080).dnat.to('10.1.0.2', 80), 'tcp dport 8080 dnat to 10.1.0.2:80'],
      [rule('ip').tcp.dport.eq(2222).redirect(22), 'tcp dport 2222 redirect to :22'],
    ];
    const post: [TerminalRule, string][] = [
      [rule('ip').oifname.eq('eth0').masquerade(), 'oifname "eth0" masquerade'],
      [rule('ip').ip.saddr.eq('10.1.0.0/24').snat.to('10.2.0.1'), 'ip saddr 10.1.0.0/24 snat to 10.2.0.1'],
    ];
    await nl.nft.commit((b) => {
      for (const [r] of filter) b.addRule(r.spec({ table: 'b', chain: 'in' }));
      for (const [r] of pre) b.addRule(r.spec({ table: 'n', chain: 'pre' }));
      for (const [r] of post) b.addRule(r.spec({ table: 'n', chain: 'post' }));
    });
    expect(ruleTexts(name, 'inet', 'b', 'in')).toEqual(filter.map(([, text]) => text));
    expect(ruleTexts(name, 'ip', 'n', 'pre')).toEqual(pre.map(([, text]) => text));
    expect(ruleTexts(name, 'ip', 'n', 'post')).toEqual(post.map(([, text]) => text));
  });

  it('places rules: append, append after a handle, insert, insert before a handle, replace and delete by handle', async () => {
    const { nl, name } = ns();
    await nl.nft.commit((b) => {
      b.addTable({ family: 'inet', name: 'p' });
      b.addChain({ family: 'inet', table: 'p', name: 'c' });
    });
    const spec = (port: number) => ({ family: 'inet' as const, table: 'p', chain: 'c', exprs: [...x.dport(port), x.accept()] });
    const texts = (...ports: number[]) => ports.map((p) => `tcp dport ${p} accept`);

    const a = await nl.nft.addRule(spec(1));
    const c = await nl.nft.addRule(spec(3));
    const b = await nl.nft.addRule(spec(2), { after: a });
    const z = await nl.nft.insertRule(spec(0));
    const y = await nl.nft.insertRule(spec(25), { before: c });
    expect(rulesWithHandles(name, 'inet', 'p', 'c')).toEqual(
      texts(0, 1, 2, 25, 3).map((text, i) => ({ text, handle: [z, a, b, y, c][i] })),
    );

    expect(await nl.nft.replaceRule(spec(22), b)).toBe(b);
    expect(rulesWithHandles(name, 'inet', 'p', 'c')).toContainEqual({ text: 'tcp dport 22 accept', handle: b });

    await nl.nft.delRule({ family: 'inet', table: 'p', chain: 'c', handle: y });
    expect(ruleTexts(name, 'inet', 'p', 'c')).toEqual(texts(0, 1, 22, 3));
    expect((await nl.nft.listRules({ family: 'inet', table: 'p' })).map((r) => r.handle)).toEqual([z, a, b, c]);
  });

  it('flushes a chain, flushes a table, deletes a chain, deletes a table', async () => {
    const { nl, name } = ns();
    const set: SetSpec = { family: 'ip', table: 'f', name: 's', key: 'ipv4_addr' };
    await nl.nft.commit((b) => {
      b.addTable({ family: 'ip', name: 'f' });
      b.addTable({ family: 'ip', name: 'keep' });
      b.addSet(set);
      for (const chain of ['a', 'b']) {
        b.addChain({ family: 'ip', table: 'f', name: chain });
        for (const port of [1, 2, 3]) b.addRule({ family: 'ip', table: 'f', chain, exprs: [...x.dport(port), x.drop()] });
      }
    });
    const rulesIn = (chain: string) => nftj(name).rules.filter((r) => r.chain === chain).length;

    await nl.nft.flushChain({ family: 'ip', table: 'f', name: 'a' });
    expect([rulesIn('a'), rulesIn('b')]).toEqual([0, 3]);

    await nl.nft.addRule({ family: 'ip', table: 'f', chain: 'a', exprs: [x.accept()] });
    await nl.nft.flushTable({ family: 'ip', name: 'f' });
    const flushed = nftj(name);
    expect(flushed.rules).toEqual([]);
    expect(flushed.chains.map((c) => c.name)).toEqual(['a', 'b']);
    expect(flushed.sets.map((s) => s.name)).toEqual(['s']);

    await nl.nft.delChain({ family: 'ip', table: 'f', name: 'a' });
    expect(nftj(name).chains.map((c) => c.name)).toEqual(['b']);

    await nl.nft.addRule({ family: 'ip', table: 'f', chain: 'b', exprs: [x.accept()] });
    await nl.nft.delTable({ family: 'ip', name: 'f' });
    expect(nftj(name).tables.map((t) => t.name)).toEqual(['keep']);
    expect(await nl.nft.listRules()).toEqual([]);
  });
});
