// Neighbour entries against `ip neigh`: what nlnet adds, `ip -j neigh show` reads the same; what
// `ip neigh` adds, nlnet lists the same. Each test gets a namespace with a veth pair v0/v1 (up).
import { beforeEach, describe, expect, it } from 'vitest';

import { NetlinkError, ValidationError } from '../../../lib/index.js';
import type { Neigh } from '../../../lib/rtnl/neigh.js';
import { ipj, ipRun, isRoot, nsExec, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

interface IpNeigh {
  dst: string;
  dev: string;
  lladdr?: string;
  state?: string[];
  router?: null;
  proxy?: null;
  extern_learn?: null;
}

const MAC1 = '02:00:00:00:00:01';
const MAC2 = '02:00:00:00:00:02';
const MAC3 = '02:00:00:00:00:03';

/** What `ip -j neigh show` says of one entry, in nlnet's words (the device as an ifindex). */
function fromIp(e: IpNeigh, ifindex: Record<string, number>): Omit<Neigh, 'family'> {
  const n: Omit<Neigh, 'family'> = {
    dev: ifindex[e.dev]!,
    address: e.dst,
    state: e.proxy === null ? ['none'] : (e.state ?? []).map((s) => s.toLowerCase() as Neigh['state'][number]),
    proxy: e.proxy === null,
    router: e.router === null,
    externLearn: e.extern_learn === null,
  };
  if (e.lladdr !== undefined) n.lladdr = e.lladdr;
  return n;
}

const byAddress = (a: { address: string }, b: { address: string }): number => a.address.localeCompare(b.address);

describe.skipIf(!isRoot)(`neigh (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(1, 'nln');
  let ns: string;
  let ifindex: Record<string, number>;

  beforeEach(() => {
    ns = spaces[0]!.name;
    ipRun(ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    ipRun(ns, 'link', 'set', 'v0', 'up');
    ipRun(ns, 'link', 'set', 'v1', 'up');
    // A reachable entry turns stale when its reachable time (15–45 s) runs out: make that an
    // hour so that a state read twice reads the same.
    for (const fam of ['ipv4', 'ipv6'])
      expect(nsExec(ns, 'sysctl', '-qw', `net.${fam}.neigh.v0.base_reachable_time_ms=3600000`).status).toBe(0);
    ifindex = Object.fromEntries(ipj<{ ifname: string; ifindex: number }[]>(ns, 'link', 'show').map((l) => [l.ifname, l.ifindex]));
  });

  /** The entries on v0 with these addresses, as ip reads them and as nlnet reads them. */
  async function both(addresses: string[], proxy = false): Promise<{ ip: Omit<Neigh, 'family'>[]; nl: Omit<Neigh, 'family'>[] }> {
    const args = proxy ? ['neigh', 'show', 'proxy'] : ['neigh', 'show', 'nud', 'all'];
    const ip = ipj<IpNeigh[]>(ns, ...args).filter((e) => addresses.includes(e.dst)).map((e) => fromIp(e, ifindex));
    const nl = (await spaces[0]!.nl.neigh.list(proxy ? { proxy: true } : {}))
      .filter((e) => addresses.includes(e.address))
      .map(({ family: _family, ...rest }) => rest);
    return { ip: ip.sort(byAddress), nl: nl.sort(byAddress) };
  }

  it('adds IPv4 entries in each state, as ip reads them', async () => {
    const { nl } = spaces[0]!;
    await nl.neigh.add({ dev: 'v0', address: '192.0.2.1', lladdr: MAC1 });
    await nl.neigh.add({ dev: 'v0', address: '192.0.2.2', lladdr: MAC2, state: 'noarp' });
    await nl.neigh.add({ dev: ifindex.v0!, address: '192.0.2.3', lladdr: MAC3, state: 'stale' });
    await nl.neigh.add({ dev: 'v0', address: '192.0.2.4', lladdr: MAC1, state: 'reachable', externLearn: true });
    const addresses = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'];
    const { ip, nl: read } = await both(addresses);
    expect(ip.map((e) => [e.address, e.lladdr, e.state, e.externLearn])).toEqual([
      ['192.0.2.1', MAC1, ['permanent'], false],
      ['192.0.2.2', MAC2, ['noarp'], false],
      ['192.0.2.3', MAC3, ['stale'], false],
      ['192.0.2.4', MAC1, ['reachable'], true],
    ]);
    expect(read).toEqual(ip);
  });

  it('adds IPv6 entries, router flag included', async () => {
    const { nl } = spaces[0]!;
    await nl.neigh.add({ dev: 'v0', address: '2001:db8::1', lladdr: MAC1, router: true });
    await nl.neigh.add({ dev: 'v0', address: '2001:db8::2', lladdr: MAC2, state: 'stale' });
    const { ip, nl: read } = await both(['2001:db8::1', '2001:db8::2']);
    expect(ip).toEqual([
      { dev: ifindex.v0, address: '2001:db8::1', lladdr: MAC1, state: ['permanent'], proxy: false, router: true, externLearn: false },
      { dev: ifindex.v0, address: '2001:db8::2', lladdr: MAC2, state: ['stale'], proxy: false, router: false, externLearn: false },
    ]);
    expect(read).toEqual(ip);
    expect((await nl.neigh.list({ family: 'inet6' })).every((e) => e.family === 'inet6')).toBe(true);
  });

  it('reads what ip neigh adds', async () => {
    ipRun(ns, 'neigh', 'add', '192.0.2.5', 'lladdr', MAC1, 'dev', 'v0');
    ipRun(ns, 'neigh', 'add', '192.0.2.6', 'lladdr', MAC2, 'dev', 'v0', 'nud', 'noarp');
    ipRun(ns, 'neigh', 'add', '192.0.2.7', 'lladdr', MAC3, 'dev', 'v0', 'nud', 'stale', 'extern_learn');
    ipRun(ns, 'neigh', 'add', '2001:db8::5', 'lladdr', MAC1, 'dev', 'v0', 'router', 'nud', 'reachable');
    const addresses = ['192.0.2.5', '192.0.2.6', '192.0.2.7', '2001:db8::5'];
    const { ip, nl } = await both(addresses);
    expect(ip).toHaveLength(4);
    expect(nl).toEqual(ip);
    const v6 = (await spaces[0]!.nl.neigh.list({ dev: 'v0', family: 'inet6' })).find((e) => e.address === '2001:db8::5');
    expect(v6).toMatchObject({ family: 'inet6', router: true, state: ['reachable'] });
  });

  it('lists by device', async () => {
    ipRun(ns, 'neigh', 'add', '192.0.2.8', 'lladdr', MAC1, 'dev', 'v0');
    ipRun(ns, 'neigh', 'add', '192.0.2.9', 'lladdr', MAC2, 'dev', 'v1');
    const onV1 = await spaces[0]!.nl.neigh.list({ dev: 'v1', family: 'inet' });
    expect(onV1.map((e) => [e.address, e.dev])).toEqual([['192.0.2.9', ifindex.v1]]);
  });

  it('replaces an entry, and creates it when missing', async () => {
    const { nl } = spaces[0]!;
    await nl.neigh.replace({ dev: 'v0', address: '192.0.2.10', lladdr: MAC1, state: 'stale' });
    await nl.neigh.replace({ dev: 'v0', address: '192.0.2.10', lladdr: MAC2, state: 'permanent' });
    await nl.neigh.replace({ dev: 'v0', address: '2001:db8::10', lladdr: MAC3, state: 'noarp' });
    const { ip, nl: read } = await both(['192.0.2.10', '2001:db8::10']);
    expect(ip.map((e) => [e.address, e.lladdr, e.state])).toEqual([
      ['192.0.2.10', MAC2, ['permanent']],
      ['2001:db8::10', MAC3, ['noarp']],
    ]);
    expect(read).toEqual(ip);
  });

  it('deletes what ip added and what it added itself', async () => {
    const { nl } = spaces[0]!;
    ipRun(ns, 'neigh', 'add', '192.0.2.11', 'lladdr', MAC1, 'dev', 'v0');
    await nl.neigh.add({ dev: 'v0', address: '2001:db8::11', lladdr: MAC2 });
    await nl.neigh.del({ dev: 'v0', address: '192.0.2.11' });
    await nl.neigh.del({ dev: 'v0', address: '2001:db8::11' });
    const { ip, nl: read } = await both(['192.0.2.11', '2001:db8::11']);
    expect(ip).toEqual([]);
    expect(read).toEqual([]);
  });

  it('adds, lists and deletes proxy entries (ip neigh show proxy)', async () => {
    const { nl } = spaces[0]!;
    await nl.neigh.add({ dev: 'v0', address: '192.0.2.20', proxy: true });
    await nl.neigh.add({ dev: 'v0', address: '2001:db8::20', proxy: true });
    ipRun(ns, 'neigh', 'add', 'proxy', '192.0.2.21', 'dev', 'v0');
    const addresses = ['192.0.2.20', '192.0.2.21', '2001:db8::20'];
    const { ip, nl: read } = await both(addresses, true);
    expect(ip.map((e) => [e.address, e.proxy])).toEqual([
      ['192.0.2.20', true],
      ['192.0.2.21', true],
      ['2001:db8::20', true],
    ]);
    expect(read).toEqual(ip);
    // Proxy entries are a table of their own: the plain list does not show them.
    expect((await nl.neigh.list()).filter((e) => addresses.includes(e.address))).toEqual([]);

    await nl.neigh.del({ dev: 'v0', address: '192.0.2.21', proxy: true });
    await nl.neigh.del({ dev: 'v0', address: '2001:db8::20', proxy: true });
    expect(ipj<IpNeigh[]>(ns, 'neigh', 'show', 'proxy').map((e) => e.dst)).toEqual(['192.0.2.20']);
  });

  it('refuses to add an entry twice (EEXIST), but not a proxy entry', async () => {
    const { nl } = spaces[0]!;
    await nl.neigh.add({ dev: 'v0', address: '192.0.2.30', lladdr: MAC1 });
    const err = await nl.neigh.add({ dev: 'v0', address: '192.0.2.30', lladdr: MAC2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'EEXIST', errno: 17, op: 'neigh.add' });
    // The kernel does not look at NLM_F_EXCL for proxy entries (neither does `ip neigh add proxy`).
    await nl.neigh.add({ dev: 'v0', address: '192.0.2.31', proxy: true });
    await expect(nl.neigh.add({ dev: 'v0', address: '192.0.2.31', proxy: true })).resolves.toBeUndefined();
    expect(ipj<IpNeigh[]>(ns, 'neigh', 'show', 'proxy').map((e) => e.dst)).toEqual(['192.0.2.31']);
  });

  it('fails with ENOENT deleting an entry that is not there', async () => {
    const { nl } = spaces[0]!;
    await expect(nl.neigh.del({ dev: 'v0', address: '192.0.2.40' })).rejects.toMatchObject({ code: 'ENOENT', op: 'neigh.del' });
    await expect(nl.neigh.del({ dev: 'v0', address: '2001:db8::40' })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(nl.neigh.del({ dev: 'v0', address: '192.0.2.40', proxy: true })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('fails with ENODEV for a device that does not exist', async () => {
    const { nl } = spaces[0]!;
    await expect(nl.neigh.add({ dev: 'nosuch0', address: '192.0.2.50', lladdr: MAC1 })).rejects.toMatchObject({ code: 'ENODEV' });
    await expect(nl.neigh.add({ dev: 99999, address: '192.0.2.50', lladdr: MAC1 })).rejects.toMatchObject({ code: 'ENODEV', op: 'neigh.add' });
    await expect(nl.neigh.list({ dev: 'nosuch0' })).rejects.toMatchObject({ code: 'ENODEV' });
  });

  it('refuses bad input before anything reaches the kernel', async () => {
    const { nl } = spaces[0]!;
    // Validation refuses before a request is made: the promise rejects, nothing changes.
    await expect(nl.neigh.add({ dev: 'v0', address: '192.0.2.300', lladdr: MAC1 })).rejects.toThrow(ValidationError);
    await expect(nl.neigh.add({ dev: 'v0', address: '192.0.2.60', lladdr: 'zz' })).rejects.toThrow(expect.objectContaining({ field: 'neigh.lladdr' }));
    await expect(nl.neigh.add({ dev: 'v0', address: '192.0.2.60', lladdr: MAC1, proxy: true })).rejects.toThrow(expect.objectContaining({ field: 'neigh.lladdr' }));
    expect(ipj<IpNeigh[]>(ns, 'neigh', 'show', 'nud', 'all').filter((e) => e.dst.startsWith('192.0.2.'))).toEqual([]);
    expect(ipj<IpNeigh[]>(ns, 'neigh', 'show', 'proxy')).toEqual([]);
  });
});
