// Interval sets and maps: prefixes and ranges that nlnet adds read back in `nft list ruleset`
// exactly as the same elements added by `nft -f` do; nlnet lists the intervals typed, from what
// it added and from what nft added; deleting intervals leaves what nft's deletion leaves.
import { describe, expect, it } from 'vitest';

import type { Element, SetSpec } from '../../../lib/index.js';
import { nft, nftApply } from '../../helpers/nft.js';
import { isRoot, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

const at = { family: 'inet', table: 'iv' } as const;
const specs = {
  nets: { ...at, name: 'nets', key: 'ipv4_addr', flags: ['interval'] },
  nets6: { ...at, name: 'nets6', key: 'ipv6_addr', flags: ['interval'] },
  ports: { ...at, name: 'ports', key: 'inet_service', flags: ['interval'] },
  svc: { ...at, name: 'svc', key: ['ipv4_addr', 'inet_service'], flags: ['interval'] },
  v: { ...at, name: 'v', key: 'ipv4_addr', map: 'verdict', flags: ['interval'] },
  ifs: { ...at, name: 'ifs', key: 'ifname', flags: ['interval'] },
} satisfies Record<string, SetSpec>;

const elements: Record<keyof typeof specs, Element[]> = {
  nets: [{ key: '10.0.0.0/8' }, { key: '192.168.1.1', keyEnd: '192.168.1.9' }, { key: '1.2.3.4' }, { key: '224.0.0.0/3' }],
  nets6: [{ key: 'fd00::/64' }, { key: '2001:db8::1', keyEnd: '2001:db8::9' }],
  ports: [{ key: 22 }, { key: 1000, keyEnd: 2000 }, { key: 65000, keyEnd: 65535 }],
  svc: [{ key: ['10.0.0.0/8', 80] }, { key: ['10.1.2.3', 1000], keyEnd: ['10.1.2.3', 2000] }, { key: ['192.168.0.0', 22], keyEnd: ['192.168.255.255', 23] }],
  v: [{ key: '10.0.0.0/8', value: { code: 'accept' } }, { key: '172.16.0.0', keyEnd: '172.16.0.99', value: { code: 'jump', chain: 'c2' } }],
  ifs: [{ key: 'eth0' }, { key: 'veth*' }],
};

// The same, as `nft -f` takes them.
const SCRIPT = `
table inet iv {
  chain c2 { }
  set nets { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.168.1.1-192.168.1.9, 1.2.3.4, 224.0.0.0/3 } }
  set nets6 { type ipv6_addr; flags interval; elements = { fd00::/64, 2001:db8::1-2001:db8::9 } }
  set ports { type inet_service; flags interval; elements = { 22, 1000-2000, 65000-65535 } }
  set svc { type ipv4_addr . inet_service; flags interval; elements = { 10.0.0.0/8 . 80, 10.1.2.3 . 1000-2000, 192.168.0.0/16 . 22-23 } }
  map v { type ipv4_addr : verdict; flags interval; elements = { 10.0.0.0/8 : accept, 172.16.0.0-172.16.0.99 : jump c2 } }
  set ifs { type ifname; flags interval; elements = { "eth0", "veth*" } }
}`;

const byKey = (a: Element, b: Element) => JSON.stringify(a).localeCompare(JSON.stringify(b));

describe.skipIf(!isRoot)(`nf_tables interval sets (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(2, 'nfi');
  const ours = () => spaces[0]!;
  const theirs = () => spaces[1]!;

  async function addOurs(): Promise<void> {
    await ours().nl.nft.commit((b) => {
      b.addTable({ family: 'inet', name: 'iv' });
      b.addChain({ ...at, name: 'c2' });
      for (const [k, spec] of Object.entries(specs)) {
        b.addSet(spec);
        b.addElements(spec, elements[k as keyof typeof specs]);
      }
    });
  }

  it('adds prefixes and ranges that nft lists as it lists its own', async () => {
    await addOurs();
    nftApply(theirs().name, SCRIPT);
    expect(nft(ours().name, 'list', 'ruleset')).toBe(nft(theirs().name, 'list', 'ruleset'));
    const nets = nft(ours().name, 'list', 'set', 'inet', 'iv', 'nets').replace(/\s+/g, ' ');
    expect(nets).toContain('elements = { 1.2.3.4, 10.0.0.0/8, 192.168.1.1-192.168.1.9, 224.0.0.0/3 }');
  });

  // In the form they were written in: prefixes as prefixes, other ranges as key and keyEnd.
  it('lists the intervals typed, whether nlnet or nft added them', async () => {
    await addOurs();
    nftApply(theirs().name, SCRIPT);
    for (const ns of [ours(), theirs()]) {
      for (const [k, spec] of Object.entries(specs) as [keyof typeof specs, SetSpec][]) {
        const got = await ns.nl.nft.listElements(spec);
        expect(got.sort(byKey), `${ns.name} ${k}`).toEqual([...elements[k]].sort(byKey));
      }
    }
  });

  it('deletes intervals as nft deletes them', async () => {
    await addOurs();
    nftApply(theirs().name, SCRIPT);
    await ours().nl.nft.commit((b) => {
      b.delElements(specs.nets, [{ key: '10.0.0.0/8' }, { key: '224.0.0.0/3' }]);
      b.delElements(specs.ports, [{ key: 65000, keyEnd: 65535 }]);
      b.delElements(specs.svc, [{ key: ['10.0.0.0/8', 80] }]);
      b.delElements(specs.v, [{ key: '172.16.0.0', keyEnd: '172.16.0.99' }]);
    });
    nftApply(
      theirs().name,
      `delete element inet iv nets { 10.0.0.0/8, 224.0.0.0/3 }
       delete element inet iv ports { 65000-65535 }
       delete element inet iv svc { 10.0.0.0/8 . 80 }
       delete element inet iv v { 172.16.0.0-172.16.0.99 }`,
    );
    expect(nft(ours().name, 'list', 'ruleset')).toBe(nft(theirs().name, 'list', 'ruleset'));
    expect(await ours().nl.nft.listElements(specs.nets)).toEqual([{ key: '1.2.3.4' }, { key: '192.168.1.1', keyEnd: '192.168.1.9' }]);
  });

  it('adds to a set that already holds intervals, and the kernel refuses an overlap', async () => {
    await addOurs();
    await ours().nl.nft.addElements(specs.nets, [{ key: '11.0.0.0/8' }, { key: '0.0.0.0/8' }]);
    expect(await ours().nl.nft.listElements(specs.nets)).toEqual(
      [{ key: '0.0.0.0/8' }, { key: '1.2.3.4' }, { key: '10.0.0.0/8' }, { key: '11.0.0.0/8' }, { key: '192.168.1.1', keyEnd: '192.168.1.9' }, { key: '224.0.0.0/3' }],
    );
    await expect(ours().nl.nft.addElements(specs.nets, [{ key: '10.1.0.0/16' }])).rejects.toMatchObject({ name: 'NetlinkError' });
  });
});
