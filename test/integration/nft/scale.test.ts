// Large transactions: 10,000 rules and 10,000 map elements each in one commit (the batch must
// neither overflow the socket, ENOBUFS, nor any attribute), listed back whole and checked
// against `nft -j` on a sample.
import { describe, expect, it } from 'vitest';

import type { Element, SetSpec } from '../../../lib/index.js';
import { nftj, x } from '../../helpers/nft.js';
import { isRoot, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

const N = 10_000;
/** Every 997th index, and the last: a sample spread over the whole list. */
const SAMPLE = [...Array.from({ length: Math.ceil(N / 997) }, (_, i) => i * 997), N - 1];

interface JMatch { match: { left: { payload: { field: string } }; right: number } }

describe.skipIf(!isRoot)(`nf_tables at scale (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(1, 'nfb');

  it(`adds ${N} rules in one commit and lists them back`, async () => {
    const { nl, name } = spaces[0]!;
    const port = (i: number) => i + 1;
    const results = await nl.nft.commit((b) => {
      b.addTable({ family: 'ip', name: 'big' });
      b.addChain({ family: 'ip', table: 'big', name: 'c', type: 'filter', hook: 'input', priority: 0 });
      for (let i = 0; i < N; i++) b.addRule({ family: 'ip', table: 'big', chain: 'c', exprs: [...x.dport(port(i)), x.accept()] });
    });
    const handles = results.slice(2) as number[];
    expect(new Set(handles).size).toBe(N);

    const listed = await nl.nft.listRules({ family: 'ip', table: 'big', chain: 'c' });
    expect(listed.map((r) => r.handle)).toEqual(handles);

    const theirs = nftj(name).rules;
    expect(theirs).toHaveLength(N);
    for (const i of SAMPLE) {
      const rule = theirs[i]!;
      expect(rule.handle, `rule ${i}`).toBe(handles[i]);
      expect((rule.expr[0] as JMatch).match.right, `rule ${i}`).toBe(port(i));
      expect(listed[i]!.exprs, `rule ${i}`).toMatchObject([...x.dport(port(i)), x.accept()]);
    }
  });

  it(`adds ${N} map elements in one commit, lists them back, and deletes them in one commit`, async () => {
    const { nl, name } = spaces[0]!;
    const map: SetSpec = { family: 'ip', table: 'big', name: 'm', key: 'inet_service', map: ['ipv4_addr', 'inet_service'] };
    const element = (i: number): Element => ({ key: i + 1, value: [`10.${i >> 8}.${i & 0xff}.1`, 80] });
    const elements = Array.from({ length: N }, (_, i) => element(i));
    await nl.nft.commit((b) => {
      b.addTable({ family: 'ip', name: 'big' });
      b.addSet(map);
      b.addElements(map, elements);
    });

    const listed = await nl.nft.listElements(map);
    expect(listed).toHaveLength(N);
    expect([...listed].sort((a, b) => (a.key as number) - (b.key as number))).toEqual(elements);

    const theirs = new Map((nftj(name).sets[0]!.elem as [number, { concat: [string, number] }][]).map(([k, v]) => [k, v.concat]));
    expect(theirs.size).toBe(N);
    for (const i of SAMPLE) expect(theirs.get(i + 1), `element ${i}`).toEqual(element(i).value);

    await nl.nft.commit((b) => b.delElements(map, elements));
    expect(await nl.nft.listElements(map)).toEqual([]);
    expect(nftj(name).sets[0]!.elem ?? []).toEqual([]);
  });
});
