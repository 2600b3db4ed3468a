// Named sets, concatenated maps and verdict maps with their elements, both ways: what nlnet
// adds, `nft -j` reads with the same types and values; what `nft -f` adds, nlnet lists typed.
import { describe, expect, it } from 'vitest';

import type { Element, NftSet, SetSpec } from '../../../lib/index.js';
import { nftApply, nftj, type JSet } from '../../helpers/nft.js';
import { isRoot, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

const at = { family: 'inet', table: 's' } as const;
const specs = {
  v4: { ...at, name: 'v4', key: 'ipv4_addr', comment: 'hosts' },
  v6: { ...at, name: 'v6', key: 'ipv6_addr' },
  macs: { ...at, name: 'macs', key: 'ether_addr', flags: ['constant'] },
  nets: { ...at, name: 'nets', key: 'ipv4_addr', flags: ['interval'] },
  ports: { ...at, name: 'ports', key: ['inet_proto', 'inet_service'], map: ['ipv4_addr', 'inet_service'] },
  marks: { ...at, name: 'marks', key: 'ifname', map: 'mark' },
  v: { ...at, name: 'v', key: 'ipv4_addr', map: 'verdict' },
  ttl: { ...at, name: 'ttl', key: 'ipv4_addr', flags: ['timeout'], timeout: 60_000, size: 100 },
} satisfies Record<string, SetSpec>;

// The same sets, as `nft -f` writes them.
const SCRIPT = `
table inet s {
  chain c2 { }
  set v4 { type ipv4_addr; comment "hosts"; elements = { 10.0.0.1, 10.0.0.2 } }
  set v6 { type ipv6_addr; elements = { 2001:db8::1, ::1 } }
  set macs { type ether_addr; flags constant; elements = { 02:42:ac:11:00:02 } }
  set nets { type ipv4_addr; flags interval; }
  map ports { type inet_proto . inet_service : ipv4_addr . inet_service; elements = { tcp . 8080 : 10.1.0.2 . 80, udp . 53 : 10.1.0.3 . 5353 } }
  map marks { type ifname : mark; elements = { "eth0" : 0x00000010 } }
  map v { type ipv4_addr : verdict; elements = { 10.0.0.3 : drop, 10.0.0.4 : jump c2 } }
  set ttl { type ipv4_addr; flags timeout; timeout 1m; size 100; elements = { 10.0.0.9 timeout 30s } }
}`;

const elements: Record<keyof typeof specs, Element[]> = {
  v4: [{ key: '10.0.0.1' }, { key: '10.0.0.2' }],
  v6: [{ key: '2001:db8::1' }, { key: '::1' }],
  macs: [{ key: '02:42:ac:11:00:02' }],
  nets: [],
  ports: [{ key: ['tcp', 8080], value: ['10.1.0.2', 80] }, { key: ['udp', 53], value: ['10.1.0.3', 5353] }],
  marks: [{ key: 'eth0', value: 16 }],
  v: [{ key: '10.0.0.3', value: { code: 'drop' } }, { key: '10.0.0.4', value: { code: 'jump', chain: 'c2' } }],
  ttl: [{ key: '10.0.0.9', timeout: 30_000 }],
};

/** How `nft -j` shows each set: its declaration and its elements. */
const asNft: Record<keyof typeof specs, Partial<JSet>> = {
  v4: { type: 'ipv4_addr', comment: 'hosts', elem: ['10.0.0.1', '10.0.0.2'] },
  v6: { type: 'ipv6_addr', elem: ['::1', '2001:db8::1'] },
  macs: { type: 'ether_addr', flags: ['constant'], elem: ['02:42:ac:11:00:02'] },
  nets: { type: 'ipv4_addr', flags: ['interval'] },
  ports: {
    type: ['inet_proto', 'inet_service'],
    map: 'ipv4_addr . inet_service',
    elem: [
      [{ concat: ['tcp', 8080] }, { concat: ['10.1.0.2', 80] }],
      [{ concat: ['udp', 53] }, { concat: ['10.1.0.3', 5353] }],
    ],
  },
  marks: { type: 'ifname', map: 'mark', elem: [['eth0', 16]] },
  v: { type: 'ipv4_addr', map: 'verdict', elem: [['10.0.0.3', { drop: null }], ['10.0.0.4', { jump: { target: 'c2' } }]] },
  ttl: { type: 'ipv4_addr', flags: ['timeout'], timeout: 60, size: 100 },
};

const byKey = (a: Element, b: Element) => JSON.stringify(a.key).localeCompare(JSON.stringify(b.key));
const sortedElem = (s: JSet | undefined) => [...(s?.elem ?? [])].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe.skipIf(!isRoot)(`nf_tables sets and maps (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(1, 'nfs');
  const ns = () => spaces[0]!;

  it('adds sets, concatenated maps and verdict maps with elements that nft -j reads typed', async () => {
    const { nl, name } = ns();
    await nl.nft.commit((b) => {
      b.addTable({ family: 'inet', name: 's' });
      b.addChain({ ...at, name: 'c2' });
      for (const [k, spec] of Object.entries(specs)) {
        b.addSet(spec);
        const els = elements[k as keyof typeof specs];
        if (els.length) b.addElements(spec, els);
      }
    });

    const sets = new Map(nftj(name).sets.map((s) => [s.name, s]));
    // 'marks' has its own test below: its types are not in network byte order.
    for (const [k, want] of Object.entries(asNft).filter(([k]) => k !== 'marks')) {
      const got = sets.get(k);
      const { elem, ...decl } = want;
      expect(got, k).toMatchObject({ ...decl, table: 's', family: 'inet' });
      if (elem) expect(sortedElem(got), k).toEqual(elem);
    }
    // An element's own timeout reads back in seconds beside its time left.
    expect(sets.get('ttl')!.elem).toEqual([{ elem: expect.objectContaining({ val: '10.0.0.9', timeout: 30 }) }]);

    await nl.nft.delElements(specs.ports, [elements.ports[0]!]);
    await nl.nft.delElements(specs.v4, elements.v4);
    const after = new Map(nftj(name).sets.map((s) => [s.name, s]));
    expect(after.get('ports')!.elem).toEqual([asNft.ports.elem![1]]);
    expect(after.get('v4')!.elem ?? []).toEqual([]);
  });

  // nft reads the byte order of a set's keys and values from the set's user data (libnftnl's
  // NFTNL_UDATA_SET_KEYBYTEORDER and _DATABYTEORDER); without it, it takes host-endian marks and
  // interface names for big-endian numbers.
  it('adds mark and interface-name keys and values that nft reads in their own byte order', async () => {
    const { nl, name } = ns();
    const byMark: SetSpec = { ...at, name: 'bymark', key: 'mark' };
    await nl.nft.commit((b) => {
      b.addTable({ family: 'inet', name: 's' });
      b.addSet(specs.marks);
      b.addElements(specs.marks, elements.marks);
      b.addSet(byMark);
      b.addElements(byMark, [{ key: 16 }]);
    });
    const sets = new Map(nftj(name).sets.map((s) => [s.name, s]));
    expect(sets.get('bymark')).toMatchObject({ type: 'mark', elem: [16] });
    expect(sets.get('marks')).toMatchObject(asNft.marks);
  });

  it('lists the sets and elements nft -f wrote, with their types, flags and values', async () => {
    const { nl, name } = ns();
    nftApply(name, SCRIPT);
    const handles = new Map(nftj(name).sets.map((s) => [s.name, s.handle]));

    const listed = new Map((await nl.nft.listSets({ family: 'inet', table: 's' })).map((s) => [s.name, s]));
    expect([...listed.keys()].sort()).toEqual(Object.keys(specs).sort());
    for (const [k, spec] of Object.entries(specs) as [keyof typeof specs, SetSpec][]) {
      const got = listed.get(k)!;
      const want: Partial<NftSet> = { family: 'inet', table: 's', name: k, handle: handles.get(k)!, key: [spec.key].flat() };
      if (spec.map) want.map = spec.map === 'verdict' ? 'verdict' : [spec.map].flat();
      expect(got, k).toMatchObject(want);
      expect(got.flags.filter((f) => f !== 'map').sort(), k).toEqual([...(spec.flags ?? [])].sort());
      if (spec.timeout) expect(got.timeout, k).toBe(spec.timeout);
      if (spec.size) expect(got.size, k).toBe(spec.size);
      expect(got.comment, k).toBe(spec.comment);

      const els = await nl.nft.listElements(spec);
      if (k === 'ttl') {
        expect(els).toEqual([{ key: '10.0.0.9', timeout: 30_000 }]);
        continue;
      }
      expect(els.sort(byKey), k).toEqual(elements[k].sort(byKey));
    }
  });
});
