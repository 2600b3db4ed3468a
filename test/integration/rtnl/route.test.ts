// Routes in a fresh namespace, checked both ways against `ip -j -d route show|get`: what nlnet
// adds, ip reads the same; what ip adds, nlnet reads the same. Then the kernel's refusals, and
// a dump of 50,000 routes.
import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { NetlinkError, ValidationError } from '../../../lib/index.js';
import type { Route, RouteFilter } from '../../../lib/rtnl/route.js';
import { ipRun, isRoot, ROOT_SKIP_REASON, type TestNs, useNetns } from '../../helpers/ns.js';

/** One route as `ip -j -d route show` prints it. */
interface IpRoute {
  type: string;
  dst: string;
  gateway?: string;
  dev?: string | undefined;
  table?: string;
  protocol?: string | undefined;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  flags: string[];
  metrics?: { mtu?: number; advmss?: number }[];
  nexthops?: { gateway?: string; dev: string; weight: number; flags: string[] }[];
}

const TABLES: Record<string, number> = { default: 253, main: 254, local: 255 };

/** `ip -n NS -j -d ARGS…`, with room for the output of 50,000 routes. */
function ipjd<T>(ns: string, ...args: string[]): T {
  const out = execFileSync('ip', ['-n', ns, '-j', '-d', ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return (out.trim() ? JSON.parse(out) : []) as T;
}

function ifindexes(ns: string): Record<string, number> {
  return Object.fromEntries(ipjd<{ ifname: string; ifindex: number }[]>(ns, 'link', 'show').map((l) => [l.ifname, l.ifindex]));
}

/** ip prints values it has no name for as numbers in strings ("99"); nlnet gives numbers. */
const nameOrNumber = (v: string): string | number => (/^\d+$/.test(v) ? Number(v) : v);

/** What ip shows, in nlnet's shape. `table` is the table asked for when ip does not print one. */
function fromIp(r: IpRoute, family: 'inet' | 'inet6', table: number, index: Record<string, number>): Route {
  const full = family === 'inet' ? 32 : 128;
  const out: Route = {
    family,
    dst: r.dst === 'default' || r.dst.includes('/') ? r.dst : `${r.dst}/${full}`,
    type: nameOrNumber(r.type) as Route['type'],
    table: r.table === undefined ? table : (TABLES[r.table] ?? Number(r.table)),
    protocol: nameOrNumber(r.protocol!) as Route['protocol'],
    scope: nameOrNumber(r.scope!) as Route['scope'],
  };
  if (r.gateway !== undefined) out.via = r.gateway;
  if (r.dev !== undefined) out.dev = index[r.dev]!;
  if (r.prefsrc !== undefined) out.src = r.prefsrc;
  if (r.metric !== undefined) out.metric = r.metric;
  if (r.flags.includes('onlink')) out.onlink = true;
  if (r.metrics?.[0]?.mtu !== undefined) out.mtu = r.metrics[0].mtu;
  if (r.metrics?.[0]?.advmss !== undefined) out.advmss = r.metrics[0].advmss;
  if (r.nexthops)
    out.nexthops = r.nexthops.map((h) => ({
      dev: index[h.dev]!,
      weight: h.weight,
      ...(h.gateway !== undefined ? { via: h.gateway } : {}),
      ...(h.flags.includes('onlink') ? { onlink: true } : {}),
    }));
  return out;
}

// The kernel's IPv6 link-local addresses (and their routes) appear when DAD ends, any time.
const settled = (r: Route) => !r.dst.startsWith('fe80:');
const key = (r: Route) => `${r.family} ${r.table} ${r.dst} ${r.metric ?? ''} ${r.dev ?? ''} ${r.type}`;
const sorted = (list: Route[]) => list.filter(settled).sort((a, b) => key(a).localeCompare(key(b)));

function ipFamilyFlag(family: 'inet' | 'inet6' | undefined): string[] {
  return family === 'inet' ? ['-4'] : family === 'inet6' ? ['-6'] : [];
}

/**
 * nlnet's list and ip's show agree on every route of a table. ip without -4/-6 shows IPv4 only
 * (both families for `table all`), so each family is asked for separately.
 */
async function expectSameView(t: TestNs, filter: RouteFilter & { family: 'inet' | 'inet6' }, ipArgs: string[] = []): Promise<Route[]> {
  const ours = await t.nl.route.list(filter);
  const table = filter.table === undefined || filter.table === 'all' ? 254 : typeof filter.table === 'number' ? filter.table : TABLES[filter.table]!;
  const tableArgs = filter.table === undefined ? [] : ['table', String(filter.table)];
  const theirs = ipjd<IpRoute[]>(t.name, ...ipFamilyFlag(filter.family), 'route', 'show', ...tableArgs, ...ipArgs);
  const index = ifindexes(t.name);
  // ip leaves out what the filter already says.
  const implied = (r: IpRoute): IpRoute => ({
    ...r,
    dev: r.dev ?? (typeof filter.dev === 'string' ? filter.dev : undefined),
    protocol: r.protocol ?? (filter.protocol === undefined ? undefined : String(filter.protocol)),
  });
  expect(sorted(ours)).toEqual(sorted(theirs.map((r) => fromIp(implied(r), filter.family, table, index))));
  return ours;
}

/** v0 (10.0.0.1/24, 2001:db8::1/64) and w0 (10.1.0.1/24, 2001:db8:1::1/64), veths whose peers are up. */
async function setup(t: TestNs): Promise<Record<string, number>> {
  await t.nl.batch((b) => {
    for (const [dev, peer, n] of [['v0', 'v1', 0], ['w0', 'w1', 1]] as const) {
      const link = b.link.add({ name: dev, kind: 'veth', up: true, peer: { name: peer } });
      b.link.set(peer, { up: true });
      b.addr.add({ dev: link, address: `10.${n}.0.1/24` });
      b.addr.add({ dev: link, address: `2001:db8:${n}::1/64`, nodad: true });
    }
  });
  return ifindexes(t.name);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe.skipIf(!isRoot)(`route (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(1, 'nlr');

  it('IPv4: what nlnet adds, ip reads the same', async () => {
    const t = spaces[0]!;
    const dev = await setup(t);
    await t.nl.batch((b) => {
      b.route.add({ dst: 'default', via: '10.0.0.2' });
      b.route.add({ dst: '192.168.0.0/16', via: '10.0.0.2', dev: 'v0', metric: 50, protocol: 'static' });
      b.route.add({ dst: '192.169.0.0/16', dev: 'w0', src: '10.1.0.1' });
      b.route.add({ dst: '192.170.0.0/16', dev: 'v0', scope: 'global', protocol: 250 });
      b.route.add({ dst: '192.173.0.0/16', dev: 'v0', protocol: 'openr' });
      b.route.add({ dst: '192.171.0.0/16', via: '10.0.0.2', mtu: 1400, advmss: 1360 });
      b.route.add({ dst: '192.172.0.0/16', via: '10.9.9.9', dev: 'v0', onlink: true });
      b.route.add({ dst: '10.200.0.0/16', type: 'blackhole' });
      b.route.add({ dst: '10.201.0.0/16', type: 'unreachable' });
      b.route.add({ dst: '10.202.0.0/16', type: 'prohibit' });
    });
    const ip = Object.fromEntries(ipjd<IpRoute[]>(t.name, 'route', 'show').map((r) => [r.dst, r]));
    expect(ip['default']).toMatchObject({ gateway: '10.0.0.2', dev: 'v0', protocol: 'boot', scope: 'global' });
    expect(ip['192.168.0.0/16']).toMatchObject({ gateway: '10.0.0.2', dev: 'v0', metric: 50, protocol: 'static' });
    expect(ip['192.169.0.0/16']).toMatchObject({ dev: 'w0', prefsrc: '10.1.0.1', scope: 'link' });
    expect(ip['192.170.0.0/16']).toMatchObject({ dev: 'v0', scope: 'global', protocol: '250' });
    expect(ip['192.173.0.0/16']).toMatchObject({ protocol: 'openr' });
    expect(ip['192.171.0.0/16']).toMatchObject({ metrics: [{ mtu: 1400, advmss: 1360 }] });
    expect(ip['192.172.0.0/16']).toMatchObject({ gateway: '10.9.9.9', flags: ['onlink'] });
    expect(ip['10.200.0.0/16']).toMatchObject({ type: 'blackhole' });
    expect(ip['10.201.0.0/16']).toMatchObject({ type: 'unreachable' });
    expect(ip['10.202.0.0/16']).toMatchObject({ type: 'prohibit' });
    const ours = await expectSameView(t, { family: 'inet' });
    expect(ours.find((r) => r.dst === '192.170.0.0/16')).toMatchObject({ dev: dev['v0'], protocol: 250 });
  });

  it('IPv4: what ip adds, nlnet reads the same, filtered by dev, protocol and table', async () => {
    const t = spaces[0]!;
    const dev = await setup(t);
    ipRun(t.name, 'route', 'add', 'default', 'via', '10.1.0.2', 'metric', '10');
    ipRun(t.name, 'route', 'add', '172.16.0.0/12', 'via', '10.0.0.2', 'proto', 'bgp', 'mtu', '1300');
    ipRun(t.name, 'route', 'add', '172.32.0.0/16', 'dev', 'w0', 'proto', 'bgp');
    ipRun(t.name, 'route', 'add', 'local', '10.3.0.1', 'dev', 'v0');
    ipRun(t.name, 'route', 'add', 'throw', '10.4.0.0/16', 'table', '100');
    ipRun(t.name, 'route', 'add', '10.5.0.0/16', 'via', '10.0.0.2', 'table', '100');
    await expectSameView(t, { family: 'inet' });
    await expectSameView(t, { family: 'inet', dev: 'w0' }, ['dev', 'w0']);
    await expectSameView(t, { family: 'inet', dev: 'v0' }, ['dev', 'v0']);
    expect((await t.nl.route.list({ family: 'inet', dev: dev['v0']! })).map(key)).toEqual((await t.nl.route.list({ family: 'inet', dev: 'v0' })).map(key));
    const bgp = await expectSameView(t, { family: 'inet', protocol: 'bgp' }, ['proto', 'bgp']);
    expect(bgp.map((r) => r.dst).sort()).toEqual(['172.16.0.0/12', '172.32.0.0/16']);
    const t100 = await expectSameView(t, { family: 'inet', table: 100 });
    expect(t100.map((r) => r.type).sort()).toEqual(['throw', 'unicast']);
    const local = await expectSameView(t, { family: 'inet', table: 'local' });
    expect(local.find((r) => r.dst === '10.3.0.1/32')).toMatchObject({ type: 'local', scope: 'host', protocol: 'boot', table: 255 });
  });

  it('IPv6: both ways', async () => {
    const t = spaces[0]!;
    await setup(t);
    await t.nl.batch((b) => {
      b.route.add({ dst: 'default', via: '2001:db8::2' });
      b.route.add({ dst: '2001:db8:5::/48', via: '2001:db8::2', dev: 'v0', metric: 50, protocol: 'static' });
      b.route.add({ dst: '2001:db8:6::/48', dev: 'w0', src: '2001:db8:1::1' });
      b.route.add({ dst: '2001:db8:7::/48', type: 'blackhole' });
      b.route.add({ dst: '2001:db8:8::/48', via: '2001:db8::2', mtu: 1400 });
    });
    ipRun(t.name, '-6', 'route', 'add', '2001:db8:9::/48', 'via', '2001:db8:1::2', 'proto', 'dhcp', 'metric', '7');
    ipRun(t.name, '-6', 'route', 'add', 'unreachable', '2001:db8:a::/48');
    const ip = Object.fromEntries(ipjd<IpRoute[]>(t.name, '-6', 'route', 'show').map((r) => [r.dst, r]));
    expect(ip['default']).toMatchObject({ gateway: '2001:db8::2', dev: 'v0', metric: 1024 });
    expect(ip['2001:db8:5::/48']).toMatchObject({ gateway: '2001:db8::2', metric: 50, protocol: 'static' });
    expect(ip['2001:db8:6::/48']).toMatchObject({ dev: 'w0', prefsrc: '2001:db8:1::1' });
    expect(ip['2001:db8:7::/48']).toMatchObject({ type: 'blackhole' });
    expect(ip['2001:db8:8::/48']).toMatchObject({ metrics: [{ mtu: 1400 }] });
    await expectSameView(t, { family: 'inet6' });
    await expectSameView(t, { family: 'inet6', protocol: 'dhcp' }, ['proto', 'dhcp']);
    await expectSameView(t, { family: 'inet6', dev: 'w0' }, ['dev', 'w0']);
  });

  it('multipath with weights, IPv4 and IPv6, both ways', async () => {
    const t = spaces[0]!;
    const dev = await setup(t);
    await t.nl.route.add({ dst: '172.16.0.0/12', nexthops: [{ via: '10.0.0.2', dev: 'v0', weight: 1 }, { via: '10.1.0.2', dev: 'w0', weight: 3 }] });
    await t.nl.route.add({ dst: '2001:db8:5::/48', nexthops: [{ via: '2001:db8::2', dev: 'v0', weight: 2 }, { via: '2001:db8:1::2', dev: 'w0', weight: 5 }] });
    ipRun(t.name, 'route', 'add', '172.32.0.0/16', 'table', '1000', 'nexthop', 'via', '10.0.0.3', 'dev', 'v0', 'weight', '7', 'nexthop', 'via', '10.9.9.9', 'dev', 'w0', 'onlink');
    ipRun(t.name, '-6', 'route', 'add', '2001:db8:6::/48', 'nexthop', 'via', '2001:db8::3', 'dev', 'v0', 'nexthop', 'via', '2001:db8:1::3', 'dev', 'w0', 'weight', '4');

    const ip = ipjd<IpRoute[]>(t.name, 'route', 'show', '172.16.0.0/12')[0]!;
    expect(ip.nexthops).toEqual([
      expect.objectContaining({ gateway: '10.0.0.2', dev: 'v0', weight: 1 }),
      expect.objectContaining({ gateway: '10.1.0.2', dev: 'w0', weight: 3 }),
    ]);
    await expectSameView(t, { family: 'inet' });
    const t1000 = await expectSameView(t, { family: 'inet', table: 1000 });
    expect(t1000[0]!.nexthops).toEqual([{ via: '10.0.0.3', dev: dev['v0'], weight: 7 }, { via: '10.9.9.9', dev: dev['w0'], weight: 1, onlink: true }]);
    const v6 = await expectSameView(t, { family: 'inet6' });
    expect(v6.find((r) => r.dst === '2001:db8:5::/48')?.nexthops).toEqual([{ via: '2001:db8::2', dev: dev['v0'], weight: 2 }, { via: '2001:db8:1::2', dev: dev['w0'], weight: 5 }]);
  });

  it('tables of 256 and more, and all tables at once', async () => {
    const t = spaces[0]!;
    await setup(t);
    await t.nl.route.add({ dst: '10.50.0.0/16', via: '10.0.0.2', table: 256 });
    await t.nl.route.add({ dst: '10.51.0.0/16', dev: 'v0', table: 70000, metric: 3 });
    await t.nl.route.add({ dst: '2001:db8:50::/48', via: '2001:db8::2', table: 4000000000 });
    ipRun(t.name, 'route', 'add', '10.52.0.0/16', 'via', '10.1.0.2', 'table', '70000');
    await expectSameView(t, { family: 'inet', table: 256 });
    const big = await expectSameView(t, { family: 'inet', table: 70000 });
    expect(big.map((r) => r.dst).sort()).toEqual(['10.51.0.0/16', '10.52.0.0/16']);
    expect(big.every((r) => r.table === 70000)).toBe(true);
    await expectSameView(t, { family: 'inet6', table: 4000000000 });
    // `ip route show table all` shows both families, each route with its table.
    const ours = await t.nl.route.list({ table: 'all' });
    const index = ifindexes(t.name);
    const theirs = ipjd<IpRoute[]>(t.name, 'route', 'show', 'table', 'all').map((r) => fromIp(r, r.dst.includes(':') ? 'inet6' : 'inet', 254, index));
    expect(sorted(ours)).toEqual(sorted(theirs));
    expect(new Set(ours.map((r) => r.table))).toEqual(new Set([254, 255, 256, 70000, 4000000000]));
    // A table that never held a route is empty, not an error.
    expect(await t.nl.route.list({ family: 'inet', table: 12345 })).toEqual([]);
    expect(await t.nl.route.list({ table: 12345 })).toEqual([]);
  });

  it('replace changes a route in place, and adds one that is missing', async () => {
    const t = spaces[0]!;
    await setup(t);
    await t.nl.route.add({ dst: '10.60.0.0/16', via: '10.0.0.2' });
    await t.nl.route.replace({ dst: '10.60.0.0/16', via: '10.1.0.2', mtu: 1280 });
    await t.nl.route.replace({ dst: '10.61.0.0/16', dev: 'w0' });
    await t.nl.route.replace({ dst: '2001:db8:60::/48', via: '2001:db8::2' });
    await t.nl.route.replace({ dst: '2001:db8:60::/48', via: '2001:db8:1::2' });
    const ip = Object.fromEntries(ipjd<IpRoute[]>(t.name, 'route', 'show').map((r) => [r.dst, r]));
    expect(ip['10.60.0.0/16']).toMatchObject({ gateway: '10.1.0.2', dev: 'w0', metrics: [{ mtu: 1280 }] });
    expect(ip['10.61.0.0/16']).toMatchObject({ dev: 'w0', scope: 'link' });
    expect(ipjd<IpRoute[]>(t.name, '-6', 'route', 'show', '2001:db8:60::/48')).toEqual([expect.objectContaining({ gateway: '2001:db8:1::2' })]);
    await expectSameView(t, { family: 'inet' });
    await expectSameView(t, { family: 'inet6' });
  });

  it('onlink: a gateway outside every subnet, on a given device', async () => {
    const t = spaces[0]!;
    const dev = await setup(t);
    await t.nl.route.add({ dst: '10.70.0.0/16', via: '192.0.2.1', dev: 'v0', onlink: true, table: 300 });
    ipRun(t.name, 'route', 'add', '10.71.0.0/16', 'via', '198.51.100.1', 'dev', 'w0', 'onlink', 'table', '300');
    const routes = await expectSameView(t, { family: 'inet', table: 300 });
    expect(routes.find((r) => r.dst === '10.70.0.0/16')).toMatchObject({ via: '192.0.2.1', dev: dev['v0'], onlink: true });
    expect(routes.find((r) => r.dst === '10.71.0.0/16')).toMatchObject({ via: '198.51.100.1', dev: dev['w0'], onlink: true });
  });

  it('del removes what ip or nlnet added', async () => {
    const t = spaces[0]!;
    await setup(t);
    ipRun(t.name, 'route', 'add', '10.80.0.0/16', 'via', '10.0.0.2', 'table', '1000');
    ipRun(t.name, 'route', 'add', 'blackhole', '10.81.0.0/16');
    ipRun(t.name, '-6', 'route', 'add', '2001:db8:80::/48', 'via', '2001:db8::2');
    await t.nl.route.add({ dst: '10.82.0.0/16', dev: 'v0', metric: 9 });
    await t.nl.route.del({ dst: '10.80.0.0/16', table: 1000 });
    await t.nl.route.del({ dst: '10.81.0.0/16', type: 'blackhole' });
    await t.nl.route.del({ dst: '2001:db8:80::/48', via: '2001:db8::2' });
    await t.nl.route.del({ dst: '10.82.0.0/16', metric: 9 });
    const left = ipjd<IpRoute[]>(t.name, 'route', 'show', 'table', 'all').map((r) => r.dst);
    for (const dst of ['10.80.0.0/16', '10.81.0.0/16', '2001:db8:80::/48', '10.82.0.0/16']) expect(left).not.toContain(dst);
  });

  it('get: the route the kernel would use, as ip route get reports it', async () => {
    const t = spaces[0]!;
    const dev = await setup(t);
    await t.nl.route.add({ dst: '10.90.0.0/16', via: '10.1.0.2', table: 'main' });
    await t.nl.route.add({ dst: '2001:db8:90::/48', via: '2001:db8:1::2' });
    const cases: [string, Parameters<TestNs['nl']['route']['get']>[1], string[]][] = [
      ['10.0.0.2', {}, []],
      ['10.90.1.1', {}, []],
      ['10.90.1.1', { from: '10.0.0.1', oif: 'w0', mark: 7 }, ['from', '10.0.0.1', 'oif', 'w0', 'mark', '7']],
      ['2001:db8::2', {}, []],
      ['2001:db8:90::1', {}, []],
    ];
    for (const [dst, opts, args] of cases) {
      const ours = await t.nl.route.get(dst, opts);
      const [ip] = ipjd<IpRoute[]>(t.name, 'route', 'get', dst, ...args);
      const full = dst.includes(':') ? 128 : 32;
      expect(ours).toMatchObject({ dst: `${ip!.dst}/${full}`, dev: dev[ip!.dev!], type: ip!.type });
      expect(ours.via).toBe(ip!.gateway);
      expect(ours.src).toBe(ip!.prefsrc);
      if (ip!.table !== undefined) expect(ours.table).toBe(TABLES[ip!.table] ?? Number(ip!.table));
    }
    expect((await t.nl.route.get('10.90.1.1')).via).toBe('10.1.0.2');
  });

  describe('failures', () => {
    it('EEXIST on adding a route twice (IPv4 and IPv6)', async () => {
      const t = spaces[0]!;
      await setup(t);
      for (const spec of [{ dst: '10.100.0.0/16', via: '10.0.0.2' }, { dst: '2001:db8:100::/48', via: '2001:db8::2' }]) {
        await t.nl.route.add(spec);
        const e = await rejection(t.nl.route.add(spec));
        expect(e).toBeInstanceOf(NetlinkError);
        expect(e).toMatchObject({ code: 'EEXIST', op: 'route.add', errno: 17 });
      }
    });

    it('ESRCH on deleting a route that is not there (IPv4, IPv6, a missing table)', async () => {
      const t = spaces[0]!;
      await setup(t);
      for (const spec of [{ dst: '10.101.0.0/16' }, { dst: '2001:db8:101::/48' }, { dst: '10.101.0.0/16', table: 5000 }]) {
        const e = await rejection(t.nl.route.del(spec));
        expect(e).toBeInstanceOf(NetlinkError);
        expect(e).toMatchObject({ code: 'ESRCH', op: 'route.del' });
      }
    });

    it('a gateway not on any connected subnet: ENETUNREACH (IPv4), EHOSTUNREACH (IPv6)', async () => {
      const t = spaces[0]!;
      await setup(t);
      const v4 = await rejection(t.nl.route.add({ dst: '10.102.0.0/16', via: '192.0.2.1' }));
      expect(v4).toMatchObject({ code: 'ENETUNREACH', op: 'route.add' });
      const v4dev = await rejection(t.nl.route.add({ dst: '10.102.0.0/16', via: '192.0.2.1', dev: 'v0' }));
      expect(v4dev).toMatchObject({ code: 'ENETUNREACH', op: 'route.add' });
      expect((v4dev as NetlinkError).extack).toMatch(/gateway/i);
      const v6 = await rejection(t.nl.route.add({ dst: '2001:db8:102::/48', via: '2001:db8:99::1' }));
      expect(v6).toBeInstanceOf(NetlinkError);
      expect(v6).toMatchObject({ code: 'EHOSTUNREACH', op: 'route.add' });
      expect(ipjd<IpRoute[]>(t.name, 'route', 'show', '10.102.0.0/16')).toEqual([]);
    });

    it('ENODEV for a device that does not exist', async () => {
      const t = spaces[0]!;
      await setup(t);
      const byName = await rejection(t.nl.route.add({ dst: '10.103.0.0/16', dev: 'nosuch0' }));
      expect(byName).toMatchObject({ code: 'ENODEV', op: 'route.add' });
      expect((byName as NetlinkError).message).toContain('nosuch0');
      const byIndex = await rejection(t.nl.route.add({ dst: '10.103.0.0/16', dev: 999 }));
      expect(byIndex).toMatchObject({ code: 'ENODEV', op: 'route.add' });
      const list = await rejection(t.nl.route.list({ dev: 'nosuch0' }));
      expect(list).toMatchObject({ code: 'ENODEV', op: 'route.list' });
    });

    it('bad input is a ValidationError and changes nothing', async () => {
      const t = spaces[0]!;
      await setup(t);
      const before = ipjd<IpRoute[]>(t.name, 'route', 'show', 'table', 'all').length;
      const bad: [() => Promise<unknown>, string][] = [
        [() => t.nl.route.add({ dst: '10.0.0.0/33' }), 'route.dst'],
        [() => t.nl.route.add({ dst: '10.104.0.0/16', via: '2001:db8::2' }), 'route.via'],
        [() => t.nl.route.add({ dst: '10.104.0.0/16', via: '10.0.0.2', table: 0 }), 'route.table'],
        [() => t.nl.route.add({ dst: '10.104.0.0/16', nexthops: [] }), 'route.nexthops'],
        [() => t.nl.route.add({ dst: '10.104.0.0/16', nexthops: [{ via: '10.0.0.2', weight: 300 }] }), 'route.nexthops[0].weight'],
        [() => t.nl.route.del({ dst: 'default', via: 'gw' }), 'route.via'],
        [() => t.nl.route.list({ table: -1 }), 'filter.table'],
        [() => t.nl.route.get('not-an-address'), 'dst'],
      ];
      for (const [call, field] of bad) {
        const e = await rejection(call());
        expect(e).toBeInstanceOf(ValidationError);
        expect((e as ValidationError).field).toBe(field);
      }
      expect(ipjd<IpRoute[]>(t.name, 'route', 'show', 'table', 'all')).toHaveLength(before);
    });
  });

  it('a dump of 50,000 routes holds exactly what was added', async () => {
    const t = spaces[0]!;
    const dev = await setup(t);
    const TABLE = 2000;
    const COUNT = 50_000;
    const PER_BATCH = 1_000;
    const dst = (i: number) => `10.${Math.floor(i / 256)}.${i % 256}.0/24`;
    for (let start = 0; start < COUNT; start += PER_BATCH) {
      await t.nl.batch((b) => {
        for (let i = start; i < start + PER_BATCH; i++) b.route.add({ dst: dst(i), dev: 'v0', table: TABLE });
      });
    }
    const ours = await t.nl.route.list({ family: 'inet', table: TABLE });
    const theirs = ipjd<IpRoute[]>(t.name, 'route', 'show', 'table', String(TABLE));
    const expected = Array.from({ length: COUNT }, (_, i) => dst(i)).sort();
    expect(ours).toHaveLength(COUNT);
    expect(ours.map((r) => r.dst).sort()).toEqual(expected);
    expect(theirs.map((r) => r.dst).sort()).toEqual(expected);
    expect(ours.every((r) => r.dev === dev['v0'] && r.table === TABLE && r.scope === 'link')).toBe(true);
    // Deleting the device takes its routes with it.
    await t.nl.link.del('v0');
    expect(await t.nl.route.list({ family: 'inet', table: TABLE })).toEqual([]);
    expect(ipjd<IpRoute[]>(t.name, 'route', 'show', 'table', String(TABLE))).toEqual([]);
  });
});
