// `ip link` both ways, in fresh namespaces: what nlnet makes, `ip -d -j link show` reads the same;
// what ip makes, nlnet reads the same. Plus moves between namespaces, renames, masters, list
// filters, kernel errors and batches.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { isKind, NetlinkError, netns, NotFoundError, ValidationError, type Link } from '../../../lib/index.js';
import { ipj, ipRun, isRoot, kernelHasKind, ROOT_SKIP_REASON, unique, useNetns, type TestNs } from '../../helpers/ns.js';

/** One link as `ip -d -j link show` prints it (the fields these tests read). */
interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  txqlen: number;
  address: string;
  master?: string;
  ifalias?: string;
  link?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string };
}

const show = (ns: TestNs, dev: string): IpLink => ipj<IpLink[]>(ns.name, '-d', 'link', 'show', 'dev', dev)[0]!;
const names = (ns: TestNs): string[] => ipj<IpLink[]>(ns.name, 'link', 'show').map((l) => l.ifname);
const infoData = (ns: TestNs, dev: string): Record<string, unknown> => show(ns, dev).linkinfo?.info_data ?? {};

/** The rejection of a promise that must fail. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e,
  );
}

async function expectNetlinkError(p: Promise<unknown>, code: string, op: string): Promise<NetlinkError> {
  const e = await failure(p);
  expect(e).toBeInstanceOf(NetlinkError);
  expect(e).toMatchObject({ code, op });
  return e as NetlinkError;
}

/** Processes started by sleepIn, killed after each test. */
const sleepers: ChildProcess[] = [];

/** A process living in a namespace, to name that namespace by pid (killed after each test). */
async function sleepIn(ns: string): Promise<ChildProcess> {
  const p = spawn('ip', ['netns', 'exec', ns, 'sleep', '60'], { stdio: 'ignore' });
  sleepers.push(p);
  await once(p, 'spawn');
  // `ip netns exec` enters the namespace and then execs sleep in the same process.
  for (let i = 0; i < 100 && !inNetns(p.pid!, ns); i++) await new Promise((r) => setTimeout(r, 10));
  return p;
}

function inNetns(pid: number, ns: string): boolean {
  try {
    return statSync(`/proc/${pid}/ns/net`).ino === statSync(`/run/netns/${ns}`).ino;
  } catch {
    return false;
  }
}

/** Whether a bridge can filter by VLAN here (this CI kernel says EOPNOTSUPP, to ip as well). */
function kernelHasVlanFiltering(): boolean {
  const ns = unique('kvf');
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    return spawnSync('ip', ['-n', ns, 'link', 'add', 'probe0', 'type', 'bridge', 'vlan_filtering', '1']).status === 0;
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

const has = isRoot
  ? { ipvlan: kernelHasKind('ipvlan'), vlan: kernelHasKind('vlan'), vlanFiltering: kernelHasVlanFiltering() }
  : { ipvlan: false, vlan: false, vlanFiltering: false };
const LABELS: Record<keyof typeof has, string> = { ipvlan: 'ipvlan', vlan: 'vlan (8021q)', vlanFiltering: 'bridge vlan filtering' };
const MISSING = (what: keyof typeof has): string => `skipped: this kernel has no ${LABELS[what]}, ip fails on it too`;
if (isRoot) for (const what of Object.keys(has) as (keyof typeof has)[]) if (!has[what]) console.warn(MISSING(what));
/** `it`, skipped with the reason in its name where the kernel lacks `what`. */
const itIfHas =
  (what: keyof typeof has) =>
  (name: string, fn: () => Promise<void>): void =>
    it.skipIf(!has[what])(has[what] ? name : `${name} (${MISSING(what)})`, fn);

describe.skipIf(!isRoot)(`link (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(2, 'nlk');
  afterEach(() => {
    for (const p of sleepers.splice(0)) p.kill();
  });
  const here = (): TestNs => spaces[0]!;
  const there = (): TestNs => spaces[1]!;
  /** A veth pair p0/p1 in `here`, to be a parent or a port. */
  const parent = (): Promise<Link> => here().nl.link.add({ name: 'p0', kind: 'veth', peer: { name: 'p1' } });

  it('delGroup: deletes every link of the device group at once, and only those', async () => {
    const nl = here().nl;
    await nl.batch((b) => {
      for (let i = 0; i < 5; i++) b.link.add({ name: `g${i}`, kind: 'veth', peer: { name: `h${i}`, netns: there().name } });
    });
    await nl.link.add({ name: 'keep0', kind: 'veth', peer: { name: 'keep1' } });
    await nl.batch((b) => {
      for (let i = 0; i < 4; i++) b.link.set(`g${i}`, { devgroup: 7001 });
    });
    const inGroup = ipj<{ ifname: string; group: string }[]>(here().name, 'link', 'show').filter((l) => l.group === '7001');
    expect(inGroup.map((l) => l.ifname).sort()).toEqual(['g0', 'g1', 'g2', 'g3']);
    await nl.link.delGroup(7001);
    const left = ipj<{ ifname: string }[]>(here().name, 'link', 'show').map((l) => l.ifname);
    expect(left).toContain('g4');
    expect(left).toContain('keep0');
    expect(left.filter((n) => /^g[0-3]$/.test(n))).toEqual([]);
    // Each veth took its peer in the other namespace with it.
    expect(ipj<{ ifname: string }[]>(there().name, 'link', 'show').map((l) => l.ifname).filter((n) => n.startsWith('h'))).toEqual(['h4']);
    // Group 0 is every link's: refused before the kernel sees it.
    await expect(nl.link.delGroup(0)).rejects.toBeInstanceOf(ValidationError);
  });

  describe('what nlnet makes, ip reads the same', () => {
    it('veth: names, mtu, address, txqlen, up, on both ends', async () => {
      const made = await here().nl.link.add({
        name: 'v0', kind: 'veth', mtu: 1400, address: '02:00:00:00:00:01', txqlen: 500, up: true,
        peer: { name: 'v1', mtu: 1300, address: '02:00:00:00:00:02', txqlen: 600 },
      });
      const v0 = show(here(), 'v0');
      expect(made).toMatchObject({ index: v0.ifindex, name: 'v0', kind: 'veth' });
      expect(v0).toMatchObject({ mtu: 1400, address: '02:00:00:00:00:01', txqlen: 500, link: 'v1', linkinfo: { info_kind: 'veth' } });
      expect(v0.flags).toContain('UP');
      expect(show(here(), 'v1')).toMatchObject({ mtu: 1300, address: '02:00:00:00:00:02', txqlen: 600, link: 'v0' });
      expect(show(here(), 'v1').flags).not.toContain('UP');
    });

    it('bridge: stp, forward delay, hello time, max age, ageing time, priority, snooping', async () => {
      await here().nl.link.add({
        name: 'br0', kind: 'bridge', stp: true, forwardDelay: 1000, helloTime: 300, maxAge: 3000, ageingTime: 20000, priority: 100, mcastSnooping: false,
      });
      expect(infoData(here(), 'br0')).toMatchObject({
        stp_state: 1, forward_delay: 1000, hello_time: 300, max_age: 3000, ageing_time: 20000, priority: 100, mcast_snooping: 0,
      });
    });

    itIfHas('vlanFiltering')('bridge: vlan filtering', async () => {
      await here().nl.link.add({ name: 'br0', kind: 'bridge', vlanFiltering: true, vlanDefaultPvid: 10 });
      expect(infoData(here(), 'br0')).toMatchObject({ vlan_filtering: 1, vlan_default_pvid: 10 });
    });

    it.skipIf(has.vlanFiltering)('bridge: vlan filtering refused by this kernel comes back as its errno (95, EOPNOTSUPP)', async () => {
      const e = await failure(here().nl.link.add({ name: 'br0', kind: 'bridge', vlanFiltering: true }));
      // Node names errno 95 ENOTSUP; on Linux it is the same number as EOPNOTSUPP.
      expect(e).toMatchObject({ name: 'NetlinkError', errno: 95, op: 'link.add' });
      expect(names(here())).not.toContain('br0');
    });

    it('vxlan: id, remote, local, dev, ports, ttl, tos and the flags', async () => {
      await parent();
      await here().nl.link.add({
        name: 'vx0', kind: 'vxlan', vni: 42, remote: '10.0.0.2', local: '10.0.0.1', dev: 'p0', dstport: 4789, srcport: { low: 1000, high: 2000 },
        ttl: 64, tos: 16, learning: false, proxy: true, l2miss: true, l3miss: true, udpCsum: false, ageing: 120, limit: 50,
      });
      expect(infoData(here(), 'vx0')).toMatchObject({
        id: 42, remote: '10.0.0.2', local: '10.0.0.1', link: 'p0', port: 4789, port_range: { low: 1000, high: 2000 }, ttl: 64,
        tos: '0x10', learning: false, proxy: true, l2miss: true, l3miss: true, udp_csum: false, ageing: 120, limit: 50,
      });
    });

    it('vxlan: a multicast group, IPv6 endpoints, ttl inherit, the default port and learning', async () => {
      await parent();
      await here().nl.link.add({ name: 'vx0', kind: 'vxlan', vni: 7, group: '239.1.1.1', dev: 'p0' });
      expect(infoData(here(), 'vx0')).toMatchObject({ id: 7, group: '239.1.1.1', link: 'p0', port: 4789, learning: true });
      await here().nl.link.add({ name: 'vx6', kind: 'vxlan', vni: 8, remote: '2001:db8::2', local: '2001:db8::1', ttl: 'inherit' });
      expect(infoData(here(), 'vx6')).toMatchObject({ id: 8, remote6: '2001:db8::2', local6: '2001:db8::1' });
      // ip's JSON leaves `ttl inherit` out; its text says it.
      expect(execFileSync('ip', ['-n', here().name, '-d', 'link', 'show', 'vx6'], { encoding: 'utf8' })).toContain('ttl inherit');
    });

    it('macvlan and macvtap: every mode', async () => {
      await parent();
      for (const mode of ['private', 'vepa', 'bridge', 'passthru', 'source'] as const) {
        await here().nl.link.add({ name: 'mv0', kind: 'macvlan', link: 'p0', mode });
        expect(show(here(), 'mv0')).toMatchObject({ link: 'p0', linkinfo: { info_kind: 'macvlan', info_data: { mode } } });
        await here().nl.link.del('mv0');
      }
      await here().nl.link.add({ name: 'mt0', kind: 'macvtap', link: 'p0', mode: 'vepa' });
      expect(show(here(), 'mt0').linkinfo).toMatchObject({ info_kind: 'macvtap', info_data: { mode: 'vepa' } });
    });

    itIfHas('ipvlan')('ipvlan: modes and flags', async () => {
      await parent();
      await here().nl.link.add({ name: 'iv0', kind: 'ipvlan', link: 'p0', mode: 'l3', flag: 'private' });
      expect(show(here(), 'iv0').linkinfo).toMatchObject({ info_kind: 'ipvlan', info_data: { mode: 'l3', flags: 'private' } });
    });

    itIfHas('vlan')('vlan: id and protocol', async () => {
      await parent();
      await here().nl.link.add({ name: 'p0.10', kind: 'vlan', link: 'p0', id: 10, protocol: '802.1ad' });
      expect(show(here(), 'p0.10').linkinfo).toMatchObject({ info_kind: 'vlan', info_data: { protocol: '802.1ad', id: 10 } });
    });

    it('set: mtu, address, alias, txqlen, up and down', async () => {
      await parent();
      await here().nl.link.set('p0', { mtu: 1280, address: '02:00:00:00:00:09', alias: 'uplink', txqlen: 42, up: true });
      expect(show(here(), 'p0')).toMatchObject({ mtu: 1280, address: '02:00:00:00:00:09', ifalias: 'uplink', txqlen: 42 });
      expect(show(here(), 'p0').flags).toContain('UP');
      await here().nl.link.set('p1', { up: true });
      expect(show(here(), 'p0').operstate).toBe('UP');
      await here().nl.link.set('p0', { up: false });
      expect(show(here(), 'p0').flags).not.toContain('UP');
      expect(show(here(), 'p0').operstate).toBe('DOWN');
    });

    it('set: bridge options on an existing bridge', async () => {
      await here().nl.link.add({ name: 'br0', kind: 'bridge' });
      await here().nl.link.set('br0', { kind: 'bridge', stp: true, ageingTime: 500 });
      expect(infoData(here(), 'br0')).toMatchObject({ stp_state: 1, ageing_time: 500 });
    });
  });

  describe('what ip makes, nlnet reads the same', () => {
    it('veth: index, name, mtu, address, alias, txqlen, state, peer', async () => {
      ipRun(here().name, 'link', 'add', 'v0', 'mtu', '1400', 'address', '02:00:00:00:00:01', 'txqlen', '500', 'type', 'veth', 'peer', 'name', 'v1');
      ipRun(here().name, 'link', 'set', 'v0', 'alias', 'hello', 'up');
      const ip = show(here(), 'v0');
      const link = await here().nl.link.get('v0');
      expect(link).toMatchObject({ index: ip.ifindex, name: 'v0', mtu: 1400, address: '02:00:00:00:00:01', alias: 'hello', txqlen: 500, up: true, kind: 'veth' });
      expect(link.operstate).toBe(ip.operstate.toLowerCase());
      expect(link.link).toBe(show(here(), 'v1').ifindex);
      expect(isKind(link, 'veth')).toBe(true);
      expect(isKind(link, 'bridge')).toBe(false);
    });

    it('bridge options, and a port with its master and slave kind', async () => {
      ipRun(here().name, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '1', 'forward_delay', '1000', 'ageing_time', '20000', 'priority', '100');
      ipRun(here().name, 'link', 'add', 'v0', 'master', 'br0', 'type', 'veth', 'peer', 'name', 'v1');
      const br = await here().nl.link.get('br0');
      expect(isKind(br, 'bridge')).toBe(true);
      if (!isKind(br, 'bridge')) return;
      expect(br).toMatchObject({ stp: true, forwardDelay: 1000, ageingTime: 20000, priority: 100 });
      expect(await here().nl.link.get('v0')).toMatchObject({ master: br.index, slaveKind: 'bridge', kind: 'veth' });
    });

    it('vxlan options, a fixed ttl staying a number', async () => {
      ipRun(here().name, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
      ipRun(here().name, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'remote', '10.0.0.2', 'local', '10.0.0.1', 'dev', 'p0',
        'dstport', '4789', 'srcport', '1000', '2000', 'ttl', '64', 'nolearning', 'l2miss', 'ageing', '120');
      const vx = await here().nl.link.get('vx0');
      expect(isKind(vx, 'vxlan')).toBe(true);
      expect(vx).toMatchObject({
        vni: 42, remote: '10.0.0.2', local: '10.0.0.1', dev: show(here(), 'p0').ifindex, dstport: 4789, srcport: { low: 1000, high: 2000 },
        ttl: 64, learning: false, l2miss: true, l3miss: false, ageing: 120,
      });
      ipRun(here().name, 'link', 'add', 'vx1', 'type', 'vxlan', 'id', '43', 'group', '239.1.1.1', 'dev', 'p0', 'ttl', 'inherit', 'dstport', '4789');
      expect(await here().nl.link.get('vx1')).toMatchObject({ vni: 43, group: '239.1.1.1', ttl: 'inherit' });
    });

    it('macvlan modes', async () => {
      ipRun(here().name, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
      for (const mode of ['private', 'vepa', 'bridge', 'passthru', 'source'] as const) {
        ipRun(here().name, 'link', 'add', 'link', 'p0', 'name', 'mv0', 'type', 'macvlan', 'mode', mode);
        expect(await here().nl.link.get('mv0')).toMatchObject({ kind: 'macvlan', mode, link: show(here(), 'p0').ifindex });
        ipRun(here().name, 'link', 'del', 'mv0');
      }
    });

    itIfHas('vlan')('vlan id and protocol', async () => {
      ipRun(here().name, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
      ipRun(here().name, 'link', 'add', 'link', 'p0', 'name', 'p0.10', 'type', 'vlan', 'protocol', '802.1ad', 'id', '10');
      expect(await here().nl.link.get('p0.10')).toMatchObject({ kind: 'vlan', id: 10, protocol: '802.1ad' });
    });

    itIfHas('ipvlan')('ipvlan mode and flag', async () => {
      ipRun(here().name, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
      ipRun(here().name, 'link', 'add', 'link', 'p0', 'name', 'iv0', 'type', 'ipvlan', 'mode', 'l2', 'vepa');
      expect(await here().nl.link.get('iv0')).toMatchObject({ kind: 'ipvlan', mode: 'l2', flag: 'vepa' });
    });
  });

  describe('namespaces', () => {
    it('creates a macvlan straight into another namespace and reads it back there', async () => {
      await parent();
      const made = await here().nl.link.add({ name: 'eth0', kind: 'macvlan', link: 'p0', netns: there().name, mode: 'bridge', address: '02:42:0a:00:00:07' });
      expect(made).toMatchObject({ name: 'eth0', kind: 'macvlan', address: '02:42:0a:00:00:07' });
      expect(names(here())).not.toContain('eth0');
      expect(show(there(), 'eth0').linkinfo).toMatchObject({ info_kind: 'macvlan', info_data: { mode: 'bridge' } });
    });

    it('creates a veth peer straight into another namespace', async () => {
      await here().nl.link.add({ name: 'v0', kind: 'veth', peer: { name: 'eth0', netns: there().name, mtu: 1450 } });
      expect(names(here())).toContain('v0');
      expect(names(here())).not.toContain('eth0');
      expect(show(there(), 'eth0').mtu).toBe(1450);
      // Each end sees the other through the peer namespace's id.
      expect((await here().nl.link.get('v0')).linkNetnsId).toBeTypeOf('number');
    });

    it('takes the namespace as a name, an open Netns, a path or a process', async () => {
      const ns = await netns.open(there().name);
      const sleeper = await sleepIn(there().name);
      try {
        await here().nl.link.add({ name: 'a0', kind: 'veth', peer: { name: 'a1', netns: ns } });
        await here().nl.link.add({ name: 'b0', kind: 'veth', peer: { name: 'b1', netns: { path: `/run/netns/${there().name}` } } });
        await here().nl.link.add({ name: 'c0', kind: 'veth', peer: { name: 'c1', netns: { pid: sleeper.pid! } } });
        expect(ns.fd).toBeGreaterThanOrEqual(0); // the caller's Netns stays open
      } finally {
        ns.close();
        sleeper.kill();
      }
      expect(names(there())).toEqual(expect.arrayContaining(['a1', 'b1', 'c1']));
    });

    it('moves a link with set({ netns }), by name and by process', async () => {
      await parent();
      await here().nl.link.set('p1', { netns: there().name });
      expect(names(here())).not.toContain('p1');
      expect(names(there())).toContain('p1');
      const sleeper = await sleepIn(here().name);
      try {
        await there().nl.link.set('p1', { netns: { pid: sleeper.pid! } });
      } finally {
        sleeper.kill();
      }
      expect(names(there())).not.toContain('p1');
      expect(names(here())).toContain('p1');
    });

    it('rejects a namespace that does not exist, and a path that is not one', async () => {
      const missing = `nlk-missing-${process.pid}`;
      const e = await failure(here().nl.link.add({ name: 'v0', kind: 'veth', peer: { name: 'v1', netns: missing } }));
      expect(e).toBeInstanceOf(NotFoundError);
      expect(names(here())).not.toContain('v0');
      await parent();
      expect(await failure(here().nl.link.set('p1', { netns: { path: '/proc/version' } }))).toBeInstanceOf(ValidationError);
      expect(await failure(here().nl.link.set('p1', { netns: '../etc' }))).toMatchObject({ name: 'ValidationError', field: 'netns' });
      expect(names(here())).toContain('p1');
    });
  });

  describe('rename, master, get and list', () => {
    it('renames by name and by index', async () => {
      const p0 = await parent();
      await here().nl.link.set('p0', { name: 'up0' });
      expect(names(here())).toContain('up0');
      await here().nl.link.set(p0.index, { name: 'up1', mtu: 1300 });
      expect(show(here(), 'up1')).toMatchObject({ ifindex: p0.index, mtu: 1300 });
      expect(names(here())).not.toContain('up0');
    });

    it('enslaves to a bridge and frees again (master, nomaster)', async () => {
      await parent();
      const br = await here().nl.link.add({ name: 'br0', kind: 'bridge' });
      await here().nl.link.set('p0', { master: 'br0' });
      expect(show(here(), 'p0').master).toBe('br0');
      expect((await here().nl.link.get('p0')).master).toBe(br.index);
      await here().nl.link.set('p0', { master: null });
      expect(show(here(), 'p0').master).toBeUndefined();
      expect((await here().nl.link.get('p0')).master).toBeUndefined();
    });

    it('gets by index and by name', async () => {
      const p0 = await parent();
      const byName = await here().nl.link.get('p0');
      const byIndex = await here().nl.link.get(p0.index);
      expect(byName).toEqual(byIndex);
      expect(byName).toMatchObject({ index: show(here(), 'p0').ifindex, name: 'p0' });
    });

    it('lists all, by kind and by master, as ip does', async () => {
      await parent();
      await here().nl.link.add({ name: 'br0', kind: 'bridge' });
      await here().nl.link.add({ name: 'q0', kind: 'veth', master: 'br0', peer: { name: 'q1' } });
      const all = (await here().nl.link.list()).map((l) => l.name).sort();
      expect(all).toEqual(names(here()).sort());
      const veths = (await here().nl.link.list({ kind: 'veth' })).map((l) => l.name).sort();
      expect(veths).toEqual(ipj<IpLink[]>(here().name, 'link', 'show', 'type', 'veth').map((l) => l.ifname).sort());
      expect(veths).toEqual(['p0', 'p1', 'q0', 'q1']);
      expect((await here().nl.link.list({ kind: 'bridge' })).map((l) => l.name)).toEqual(['br0']);
      expect((await here().nl.link.list({ master: 'br0' })).map((l) => l.name)).toEqual(['q0']);
    });
  });

  describe('kernel errors', () => {
    it('EEXIST on a duplicate add', async () => {
      await here().nl.link.add({ name: 'br0', kind: 'bridge' });
      await expectNetlinkError(here().nl.link.add({ name: 'br0', kind: 'bridge' }), 'EEXIST', 'link.add');
    });

    it('ENODEV on del, set and get of a missing link, by name and by index', async () => {
      await expectNetlinkError(here().nl.link.del('nope0'), 'ENODEV', 'link.del');
      await expectNetlinkError(here().nl.link.set('nope0', { up: true }), 'ENODEV', 'link.set');
      await expectNetlinkError(here().nl.link.get('nope0'), 'ENODEV', 'link.get');
      await expectNetlinkError(here().nl.link.del(99999), 'ENODEV', 'link.del');
      await expectNetlinkError(here().nl.link.get(99999), 'ENODEV', 'link.get');
      await parent();
      await expectNetlinkError(here().nl.link.set('p0', { master: 'nobr0' }), 'ENODEV', 'link.set');
    });
  });

  describe('batches', () => {
    it('a later step names a link by what an earlier add returned', async () => {
      await here().nl.batch((b) => {
        const br = b.link.add({ name: 'br0', kind: 'bridge' });
        const v = b.link.add({ name: 'v0', kind: 'veth', peer: { name: 'v1' } });
        b.link.set(v, { up: true, mtu: 1400, master: br });
        b.link.set(br, { up: true });
      });
      const v0 = show(here(), 'v0');
      expect(v0).toMatchObject({ mtu: 1400, master: 'br0' });
      expect(v0.flags).toContain('UP');
      expect(show(here(), 'br0').flags).toContain('UP');
    });

    it('a failing step is reported by number; the steps before it stay done, those after never run', async () => {
      const e = await expectNetlinkError(
        here().nl.batch((b) => {
          b.link.add({ name: 'br0', kind: 'bridge' });
          b.link.set('nope0', { up: true });
          b.link.add({ name: 'br1', kind: 'bridge' });
        }),
        'ENODEV',
        'link.set',
      );
      expect(e.step).toBe(1);
      expect(names(here())).toContain('br0');
      expect(names(here())).not.toContain('br1');
    });
  });
});
