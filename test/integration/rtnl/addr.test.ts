// Addresses in a fresh namespace, checked both ways against `ip -j addr show`: what nlnet adds,
// ip reads the same; what ip adds, nlnet reads the same. Then the kernel's refusals.
import { describe, expect, it } from 'vitest';

import type { Addr } from '../../../lib/rtnl/addr.js';
import { NetlinkError, ValidationError } from '../../../lib/index.js';
import { ipj, ipRun, isRoot, ROOT_SKIP_REASON, type TestNs, useNetns } from '../../helpers/ns.js';

/** One entry of `ip -j addr show`'s addr_info. */
interface IpAddr {
  family: 'inet' | 'inet6';
  local: string;
  address?: string;
  prefixlen: number;
  broadcast?: string;
  scope: string;
  label?: string;
  metric?: number;
  dynamic?: boolean;
  valid_life_time: number;
  preferred_life_time: number;
  [flag: string]: unknown;
}

const FOREVER = 0xffffffff;
// nlnet's flag names in its order; ip prints each as `"name": true`, and `permanent` as the
// absence of `dynamic`.
const FLAGS = ['secondary', 'nodad', 'optimistic', 'dadfailed', 'home', 'deprecated', 'tentative', 'permanent', 'mngtmpaddr', 'noprefixroute', 'autojoin', 'stable-privacy'];

function ipAddrs(ns: string, dev: string, family?: '-4' | '-6'): IpAddr[] {
  const links = ipj<{ addr_info: IpAddr[] }[]>(ns, ...(family ? [family] : []), 'addr', 'show', 'dev', dev);
  // The kernel's own link-local addresses come and go with DAD: leave them out.
  return (links[0]?.addr_info ?? []).filter((a) => !a.local.startsWith('fe80:'));
}

function ifindex(ns: string, dev: string): number {
  return ipj<{ ifindex: number }[]>(ns, 'link', 'show', 'dev', dev)[0]!.ifindex;
}

/** What ip shows, in nlnet's shape; lifetimes left out (they count down between two reads). */
function fromIp(a: IpAddr, dev: number): Omit<Addr, 'validLifetime' | 'preferredLifetime'> {
  const out: Omit<Addr, 'validLifetime' | 'preferredLifetime'> = {
    family: a.family,
    dev,
    address: `${a.local}/${a.prefixlen}`,
    prefixlen: a.prefixlen,
    scope: a.scope as Addr['scope'],
    flags: FLAGS.filter((f) => (f === 'permanent' ? !a.dynamic : a[f] === true)),
  };
  if (a.address !== undefined && a.address !== a.local) out.peer = a.address;
  if (a.broadcast !== undefined) out.broadcast = a.broadcast;
  if (a.label !== undefined) out.label = a.label;
  if (a.metric !== undefined) out.metric = a.metric;
  return out;
}

function withoutLifetimes(list: Addr[]): Omit<Addr, 'validLifetime' | 'preferredLifetime'>[] {
  return list.filter((a) => !a.address.startsWith('fe80:')).map(({ validLifetime: _v, preferredLifetime: _p, ...rest }) => rest);
}

const byAddress = (a: { address: string }, b: { address: string }) => a.address.localeCompare(b.address);

/** nlnet's list and ip's show agree on every address of the device. */
async function expectSameView(t: TestNs, dev: string, family?: 'inet' | 'inet6'): Promise<Addr[]> {
  const ours = await t.nl.addr.list({ dev, ...(family ? { family } : {}) });
  const theirs = ipAddrs(t.name, dev, family === 'inet' ? '-4' : family === 'inet6' ? '-6' : undefined);
  const index = ifindex(t.name, dev);
  expect(withoutLifetimes(ours).sort(byAddress)).toEqual(theirs.map((a) => fromIp(a, index)).sort(byAddress));
  return ours;
}

async function veth(t: TestNs, name = 'v0', peer = 'v1'): Promise<void> {
  await t.nl.link.add({ name, kind: 'veth', up: true, peer: { name: peer } });
  await t.nl.link.set(peer, { up: true });
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe.skipIf(!isRoot)(`addr (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(1, 'nla');

  it('IPv4: what nlnet adds, ip reads the same', async () => {
    const t = spaces[0]!;
    await veth(t);
    await t.nl.addr.add({ dev: 'v0', address: '10.0.0.1/24', broadcast: true, label: 'v0:a' });
    await t.nl.addr.add({ dev: 'v0', address: '10.0.1.1/24', broadcast: '10.0.1.200', metric: 20 });
    await t.nl.addr.add({ dev: 'v0', address: '10.0.2.1/24', scope: 'link', noprefixroute: true });
    await t.nl.addr.add({ dev: 'v0', address: '10.0.3.1/32', scope: 'host' });

    // The kernel keeps primaries ordered by scope, so compare in address order.
    const ip = ipAddrs(t.name, 'v0', '-4').sort((a, b) => a.local.localeCompare(b.local));
    expect(ip).toEqual([
      expect.objectContaining({ local: '10.0.0.1', prefixlen: 24, broadcast: '10.0.0.255', label: 'v0:a', scope: 'global', valid_life_time: FOREVER }),
      expect.objectContaining({ local: '10.0.1.1', prefixlen: 24, broadcast: '10.0.1.200', metric: 20, label: 'v0' }),
      expect.objectContaining({ local: '10.0.2.1', prefixlen: 24, scope: 'link', noprefixroute: true }),
      expect.objectContaining({ local: '10.0.3.1', prefixlen: 32, scope: 'host' }),
    ]);
    // noprefixroute: no route for 10.0.2.0/24; the metric went to 10.0.1.0/24's.
    const routes = ipj<{ dst: string; metric?: number }[]>(t.name, 'route', 'show', 'dev', 'v0');
    expect(routes.map((r) => r.dst)).not.toContain('10.0.2.0/24');
    expect(routes.find((r) => r.dst === '10.0.1.0/24')?.metric).toBe(20);
    await expectSameView(t, 'v0', 'inet');
  });

  it('IPv4: what ip adds, nlnet reads the same', async () => {
    const t = spaces[0]!;
    await veth(t);
    ipRun(t.name, 'addr', 'add', '10.1.0.1/24', 'brd', '+', 'dev', 'v0', 'label', 'v0:x');
    ipRun(t.name, 'addr', 'add', '10.1.0.2/24', 'dev', 'v0'); // a secondary
    ipRun(t.name, 'addr', 'add', '10.1.1.1/24', 'dev', 'v0', 'scope', 'site', 'metric', '5', 'noprefixroute');
    ipRun(t.name, 'addr', 'add', '10.9.0.1', 'peer', '10.9.0.2/32', 'dev', 'v0');
    const ours = await expectSameView(t, 'v0', 'inet');
    expect(ours.find((a) => a.address === '10.1.0.2/24')?.flags).toContain('secondary');
    expect(ours.find((a) => a.address === '10.9.0.1/32')?.peer).toBe('10.9.0.2');
  });

  it('IPv6 with nodad: both ways, and usable at once', async () => {
    const t = spaces[0]!;
    await veth(t);
    await t.nl.addr.add({ dev: 'v0', address: '2001:db8::1/64', nodad: true });
    await t.nl.addr.add({ dev: 'v0', address: '2001:db8:1::1/64', nodad: true, noprefixroute: true, metric: 300 });
    ipRun(t.name, 'addr', 'add', '2001:db8:2::1/64', 'dev', 'v0', 'nodad', 'scope', 'link');
    ipRun(t.name, 'addr', 'add', '2001:db8:9::1/128', 'peer', '2001:db8:9::2/128', 'dev', 'v0', 'nodad');

    expect(ipAddrs(t.name, 'v0', '-6')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ local: '2001:db8::1', prefixlen: 64, nodad: true }),
        expect.objectContaining({ local: '2001:db8:1::1', prefixlen: 64, nodad: true, noprefixroute: true }),
      ]),
    );
    const ours = await expectSameView(t, 'v0', 'inet6');
    expect(ours.find((a) => a.address === '2001:db8::1/64')?.flags).toEqual(['nodad', 'permanent']);
    expect(ours.find((a) => a.address === '2001:db8:9::1/128')?.peer).toBe('2001:db8:9::2');
    // Not tentative (unlike the kernel's own link-local one): usable right away.
    expect(ours.filter((a) => !a.address.startsWith('fe80:')).every((a) => !a.flags.includes('tentative'))).toBe(true);
    expect((await t.nl.route.get('2001:db8::5')).src).toBe('2001:db8::1');
  });

  it('lifetimes: set by nlnet, read by ip, and back', async () => {
    const t = spaces[0]!;
    await veth(t);
    await t.nl.addr.add({ dev: 'v0', address: '10.2.0.1/24', validLifetime: 3000, preferredLifetime: 2000 });
    await t.nl.addr.add({ dev: 'v0', address: '2001:db8::1/64', nodad: true, validLifetime: 600 });
    ipRun(t.name, 'addr', 'add', '10.2.1.1/24', 'dev', 'v0', 'valid_lft', '900', 'preferred_lft', '0');

    // Lifetimes count down: check they are within what was set, not to the second.
    const ip = Object.fromEntries(ipAddrs(t.name, 'v0').map((a) => [a.local, a]));
    expect(ip['10.2.0.1']).toMatchObject({ dynamic: true });
    expect(ip['10.2.0.1']!.valid_life_time).toBeLessThanOrEqual(3000);
    expect(ip['10.2.0.1']!.valid_life_time).toBeGreaterThan(2900);
    expect(ip['10.2.0.1']!.preferred_life_time).toBeLessThanOrEqual(2000);
    expect(ip['2001:db8::1']!.preferred_life_time).toBeLessThanOrEqual(600);
    expect(ip['10.2.1.1']).toMatchObject({ deprecated: true, preferred_life_time: 0 });

    const ours = Object.fromEntries((await expectSameView(t, 'v0')).map((a) => [a.address, a]));
    expect(ours['10.2.0.1/24']!.flags).not.toContain('permanent');
    expect(ours['10.2.0.1/24']!.validLifetime).toBeGreaterThan(2900);
    expect(ours['10.2.1.1/24']).toMatchObject({ preferredLifetime: 0, flags: ['deprecated'] });
    expect(ours['10.2.1.1/24']!.validLifetime).toBeLessThanOrEqual(900);
  });

  it('replace changes an address in place, and adds one that is missing', async () => {
    const t = spaces[0]!;
    await veth(t);
    await t.nl.addr.add({ dev: 'v0', address: '10.3.0.1/24', validLifetime: 300 });
    // The kernel updates the metric and the lifetimes (forever when none is given).
    await t.nl.addr.replace({ dev: 'v0', address: '10.3.0.1/24', metric: 9 });
    await t.nl.addr.replace({ dev: 'v0', address: '10.3.1.1/24' });
    const ip = ipAddrs(t.name, 'v0', '-4');
    expect(ip).toHaveLength(2);
    expect(ip[0]).toMatchObject({ local: '10.3.0.1', metric: 9, valid_life_time: FOREVER });
    expect(ip[1]).toMatchObject({ local: '10.3.1.1' });
    await expectSameView(t, 'v0', 'inet');
  });

  it('del removes what ip or nlnet added', async () => {
    const t = spaces[0]!;
    await veth(t);
    ipRun(t.name, 'addr', 'add', '10.4.0.1/24', 'dev', 'v0');
    ipRun(t.name, 'addr', 'add', '10.9.0.1', 'peer', '10.9.0.2/32', 'dev', 'v0');
    await t.nl.addr.add({ dev: 'v0', address: '2001:db8::4/64', nodad: true });
    await t.nl.addr.del({ dev: 'v0', address: '10.4.0.1/24' });
    await t.nl.addr.del({ dev: 'v0', address: '10.9.0.1', peer: '10.9.0.2' });
    await t.nl.addr.del({ dev: 'v0', address: '2001:db8::4/64' });
    expect(ipAddrs(t.name, 'v0')).toEqual([]);
    expect(await t.nl.addr.list({ dev: 'v0', family: 'inet' })).toEqual([]);
  });

  it('list filters by device and family in the kernel', async () => {
    const t = spaces[0]!;
    await veth(t);
    await veth(t, 'w0', 'w1');
    await t.nl.batch((b) => {
      b.addr.add({ dev: 'v0', address: '10.5.0.1/24' });
      b.addr.add({ dev: 'v0', address: '2001:db8:5::1/64', nodad: true });
      b.addr.add({ dev: 'w0', address: '10.6.0.1/24' });
    });
    const v0 = ifindex(t.name, 'v0');
    const w0 = ifindex(t.name, 'w0');
    const all = await t.nl.addr.list();
    expect(all.map((a) => a.address)).toEqual(expect.arrayContaining(['10.5.0.1/24', '2001:db8:5::1/64', '10.6.0.1/24']));
    expect(new Set((await t.nl.addr.list({ dev: 'w0' })).map((a) => a.dev))).toEqual(new Set([w0]));
    expect((await t.nl.addr.list({ dev: v0, family: 'inet' })).map((a) => a.address)).toEqual(['10.5.0.1/24']);
    const v6 = await t.nl.addr.list({ family: 'inet6' });
    expect(v6.every((a) => a.family === 'inet6')).toBe(true);
    expect(v6.map((a) => a.address)).toContain('2001:db8:5::1/64');
    await expectSameView(t, 'w0');
  });

  describe('failures', () => {
    it('EEXIST on adding an address twice (IPv4 and IPv6)', async () => {
      const t = spaces[0]!;
      await veth(t);
      for (const address of ['10.7.0.1/24', '2001:db8:7::1/64']) {
        await t.nl.addr.add({ dev: 'v0', address, nodad: address.includes(':') });
        const e = await rejection(t.nl.addr.add({ dev: 'v0', address }));
        expect(e).toBeInstanceOf(NetlinkError);
        expect(e).toMatchObject({ code: 'EEXIST', op: 'addr.add', errno: 17 });
      }
    });

    it('EADDRNOTAVAIL on deleting an address that is not there (IPv4 and IPv6)', async () => {
      const t = spaces[0]!;
      await veth(t);
      for (const address of ['10.7.0.9/24', '2001:db8:7::9/64']) {
        const e = await rejection(t.nl.addr.del({ dev: 'v0', address }));
        expect(e).toBeInstanceOf(NetlinkError);
        expect(e).toMatchObject({ code: 'EADDRNOTAVAIL', op: 'addr.del' });
        expect((e as NetlinkError).extack).toMatch(/address not found/i);
      }
    });

    it('ENODEV for a device name or index that does not exist', async () => {
      const t = spaces[0]!;
      const byName = await rejection(t.nl.addr.add({ dev: 'nosuch0', address: '10.7.0.1/24' }));
      expect(byName).toMatchObject({ code: 'ENODEV', op: 'addr.add' });
      expect((byName as NetlinkError).message).toContain('nosuch0');
      const byIndex = await rejection(t.nl.addr.add({ dev: 999, address: '10.7.0.1/24' }));
      expect(byIndex).toBeInstanceOf(NetlinkError);
      expect(byIndex).toMatchObject({ code: 'ENODEV', op: 'addr.add' });
      const list = await rejection(t.nl.addr.list({ dev: 'nosuch0' }));
      expect(list).toMatchObject({ code: 'ENODEV', op: 'addr.list' });
    });

    it('bad input is a ValidationError and changes nothing', async () => {
      const t = spaces[0]!;
      await veth(t);
      const bad: [unknown, string][] = [
        [{ dev: 'v0', address: '10.0.0.300/24' }, 'addr.address'],
        [{ dev: 'v0', address: '2001:db8::1/64', broadcast: true }, 'addr.broadcast'],
        [{ dev: 'v0', address: '10.0.0.1/24', label: 'eth0' }, 'addr.label'],
        [{ dev: 'v0', address: '10.0.0.1/24', validLifetime: 10, preferredLifetime: 20 }, 'addr.preferredLifetime'],
        [{ dev: 'v0', address: '10.0.0.1/24', validLifetime: 0 }, 'addr.validLifetime'],
        [{ dev: 'v0', address: '10.0.0.1/24', nodad: 'yes' }, 'addr.nodad'],
      ];
      for (const [spec, field] of bad) {
        const e = await rejection(t.nl.addr.add(spec as never));
        expect(e).toBeInstanceOf(ValidationError);
        expect((e as ValidationError).field).toBe(field);
      }
      expect(ipAddrs(t.name, 'v0')).toEqual([]);
    });
  });
});
