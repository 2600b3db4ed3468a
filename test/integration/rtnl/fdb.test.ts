// The bridge FDB against `bridge fdb`: entries nlnet adds, `bridge -j fdb show` reads the same;
// entries `bridge fdb` adds, nlnet lists the same. Each test gets a namespace holding a vxlan
// device vx0 (VNI 42, port 4789, no learning) and a bridge br0 with the veth v0 as its port.
import { spawnSync } from 'node:child_process';
import { beforeEach, describe, expect, it } from 'vitest';

import { NetlinkError, ValidationError } from '../../../lib/index.js';
import type { Fdb } from '../../../lib/rtnl/fdb.js';
import { bridgej, ipj, ipRun, isRoot, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

interface BridgeFdb {
  mac: string;
  ifname?: string;
  dst?: string;
  port?: number;
  vni?: number;
  viaIf?: string;
  master?: string;
  flags: string[];
  state: string;
}

const ZERO = '00:00:00:00:00:00';
const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';
const MAC_C = '02:00:00:00:00:0c';

/** Runs `bridge -n NS ARGS…`; returns its exit status and stderr. */
function bridgeRun(ns: string, ...args: string[]): { status: number | null; stderr: string } {
  return spawnSync('bridge', ['-n', ns, ...args], { encoding: 'utf8' });
}

/** What `bridge -j fdb show` says of one entry, in nlnet's words. */
function fromBridge(e: BridgeFdb, dev: string, ifindex: Record<string, number>): Partial<Fdb> {
  const f: Partial<Fdb> = {
    dev: ifindex[e.ifname ?? dev]!,
    lladdr: e.mac,
    self: e.flags.includes('self'),
    master: e.master !== undefined,
    sticky: e.flags.includes('sticky'),
    externLearn: e.flags.includes('extern_learn'),
    // `bridge` prints nothing for a dynamic entry.
    state: e.state === '' ? 'dynamic' : (e.state as Fdb['state']),
  };
  if (e.dst !== undefined) f.dst = e.dst;
  if (e.port !== undefined) f.port = e.port;
  if (e.vni !== undefined) f.vni = e.vni;
  if (e.viaIf !== undefined) f.via = ifindex[e.viaIf]!;
  if (e.master !== undefined) f.bridge = ifindex[e.master]!;
  return f;
}

const order = (a: Partial<Fdb>, b: Partial<Fdb>): number =>
  `${a.lladdr} ${a.dst ?? ''} ${a.dev}`.localeCompare(`${b.lladdr} ${b.dst ?? ''} ${b.dev}`);

describe.skipIf(!isRoot)(`fdb (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(1, 'nlf');
  let ns: string;
  let ifindex: Record<string, number>;

  beforeEach(() => {
    ns = spaces[0]!.name;
    ipRun(ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'nolearning');
    ipRun(ns, 'link', 'add', 'br0', 'type', 'bridge');
    ipRun(ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    ipRun(ns, 'link', 'set', 'v0', 'master', 'br0');
    for (const dev of ['br0', 'v0', 'v1']) ipRun(ns, 'link', 'set', dev, 'up');
    ifindex = Object.fromEntries(ipj<{ ifname: string; ifindex: number }[]>(ns, 'link', 'show').map((l) => [l.ifname, l.ifindex]));
  });

  /**
   * The entries of one device with these MACs, as `bridge fdb show` reads them and as nlnet does
   * (the kernel adds entries of its own, multicast and learned ones, which are left out).
   */
  async function both(dev: string, macs: string[]): Promise<{ tool: Partial<Fdb>[]; nl: Fdb[] }> {
    const tool = bridgej<BridgeFdb[]>(ns, 'fdb', 'show', 'dev', dev)
      .filter((e) => macs.includes(e.mac))
      .map((e) => fromBridge(e, dev, ifindex));
    const nl = (await spaces[0]!.nl.fdb.list({ dev })).filter((e) => macs.includes(e.lladdr));
    return { tool: tool.sort(order), nl: nl.sort(order) };
  }

  it('appends several remotes to the all-zero MAC of a vxlan (head-end replication)', async () => {
    const { nl } = spaces[0]!;
    await nl.fdb.append({ dev: 'vx0', lladdr: ZERO, dst: '192.0.2.10' });
    await nl.fdb.append({ dev: 'vx0', lladdr: ZERO, dst: '192.0.2.11' });
    await nl.fdb.append({ dev: ifindex.vx0!, lladdr: ZERO, dst: '192.0.2.12', self: true });
    const { tool, nl: read } = await both('vx0', [ZERO]);
    expect(tool.map((e) => [e.dst, e.self, e.master, e.state])).toEqual([
      ['192.0.2.10', true, false, 'permanent'],
      ['192.0.2.11', true, false, 'permanent'],
      ['192.0.2.12', true, false, 'permanent'],
    ]);
    expect(read).toEqual(tool);

    // Deleting one remote leaves the others.
    await nl.fdb.del({ dev: 'vx0', lladdr: ZERO, dst: '192.0.2.11' });
    const left = bridgej<BridgeFdb[]>(ns, 'fdb', 'show', 'dev', 'vx0').filter((e) => e.mac === ZERO);
    expect(left.map((e) => e.dst).sort()).toEqual(['192.0.2.10', '192.0.2.12']);
  });

  it('adds vxlan entries with dst, vni, port and via, as bridge reads them', async () => {
    const { nl } = spaces[0]!;
    await nl.fdb.add({ dev: 'vx0', lladdr: MAC_A, dst: '192.0.2.20', vni: 100, port: 4790, via: 'v1' });
    await nl.fdb.add({ dev: 'vx0', lladdr: MAC_B, dst: '192.0.2.22', state: 'static' });
    await nl.fdb.add({ dev: 'vx0', lladdr: MAC_C, dst: '192.0.2.21', vni: 42, state: 'dynamic' });
    const { tool, nl: read } = await both('vx0', [MAC_A, MAC_B, MAC_C]);
    expect(tool).toEqual([
      { dev: ifindex.vx0, lladdr: MAC_A, dst: '192.0.2.20', vni: 100, port: 4790, via: ifindex.v1, self: true, master: false, sticky: false, externLearn: false, state: 'permanent' },
      { dev: ifindex.vx0, lladdr: MAC_B, dst: '192.0.2.22', self: true, master: false, sticky: false, externLearn: false, state: 'static' },
      // The device's own VNI is not reported back.
      { dev: ifindex.vx0, lladdr: MAC_C, dst: '192.0.2.21', self: true, master: false, sticky: false, externLearn: false, state: 'dynamic' },
    ]);
    expect(read).toEqual(tool);
  });

  it('adds IPv6 remotes to an IPv6 vxlan', async () => {
    // A vxlan speaks one address family, chosen by its local or remote address; vx0 is IPv4.
    ipRun(ns, 'link', 'add', 'vx6', 'type', 'vxlan', 'id', '43', 'dstport', '4789', 'local', '2001:db8::1', 'nolearning');
    ifindex.vx6 = ipj<{ ifindex: number }[]>(ns, 'link', 'show', 'dev', 'vx6')[0]!.ifindex;
    const { nl } = spaces[0]!;
    await nl.fdb.append({ dev: 'vx6', lladdr: ZERO, dst: '2001:db8::20' });
    await nl.fdb.append({ dev: 'vx6', lladdr: ZERO, dst: '2001:db8::21' });
    await nl.fdb.add({ dev: 'vx6', lladdr: MAC_A, dst: '2001:db8::22', vni: 44, state: 'static' });
    const { tool, nl: read } = await both('vx6', [ZERO, MAC_A]);
    expect(tool.map((e) => [e.lladdr, e.dst, e.vni, e.state])).toEqual([
      [ZERO, '2001:db8::20', undefined, 'permanent'],
      [ZERO, '2001:db8::21', undefined, 'permanent'],
      [MAC_A, '2001:db8::22', 44, 'static'],
    ]);
    expect(read).toEqual(tool);
    const err = await nl.fdb.add({ dev: 'vx0', lladdr: MAC_B, dst: '2001:db8::23' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EAFNOSUPPORT', op: 'fdb.add' });
  });

  it('reads what bridge fdb adds to a vxlan', async () => {
    for (const dst of ['192.0.2.30', '192.0.2.31']) expect(bridgeRun(ns, 'fdb', 'append', ZERO, 'dev', 'vx0', 'dst', dst).status).toBe(0);
    expect(bridgeRun(ns, 'fdb', 'add', MAC_A, 'dev', 'vx0', 'dst', '192.0.2.32', 'vni', '7', 'port', '8472', 'via', 'v1').status).toBe(0);
    expect(bridgeRun(ns, 'fdb', 'add', MAC_B, 'dev', 'vx0', 'dst', '192.0.2.33', 'static').status).toBe(0);
    const { tool, nl } = await both('vx0', [ZERO, MAC_A, MAC_B]);
    expect(tool).toHaveLength(4);
    expect(nl).toEqual(tool);
  });

  it('replaces the remote of a vxlan entry', async () => {
    const { nl } = spaces[0]!;
    await nl.fdb.add({ dev: 'vx0', lladdr: MAC_A, dst: '192.0.2.40' });
    await nl.fdb.replace({ dev: 'vx0', lladdr: MAC_A, dst: '192.0.2.41', vni: 9 });
    const { tool, nl: read } = await both('vx0', [MAC_A]);
    expect(tool.map((e) => [e.dst, e.vni])).toEqual([['192.0.2.41', 9]]);
    expect(read).toEqual(tool);
  });

  it('adds permanent, static and dynamic entries to a bridge port (master)', async () => {
    const { nl } = spaces[0]!;
    await nl.fdb.add({ dev: 'v0', lladdr: MAC_A, master: true });
    await nl.fdb.add({ dev: 'v0', lladdr: MAC_B, master: true, state: 'static' });
    await nl.fdb.add({ dev: 'v0', lladdr: MAC_C, master: true, state: 'dynamic', sticky: true });
    const { tool, nl: read } = await both('v0', [MAC_A, MAC_B, MAC_C]);
    expect(tool.map((e) => [e.lladdr, e.master, e.bridge, e.self, e.sticky, e.state])).toEqual([
      [MAC_A, true, ifindex.br0, false, false, 'permanent'],
      [MAC_B, true, ifindex.br0, false, false, 'static'],
      [MAC_C, true, ifindex.br0, false, true, 'dynamic'],
    ]);
    expect(read).toEqual(tool);
    // The bridge filter of `bridge fdb show br br0` finds them too.
    const onBridge = (await nl.fdb.list({ br: 'br0' })).filter((e) => [MAC_A, MAC_B, MAC_C].includes(e.lladdr));
    expect(onBridge.sort(order)).toEqual(read);
  });

  it('reads what bridge fdb adds to a bridge port, and deletes it', async () => {
    const { nl } = spaces[0]!;
    expect(bridgeRun(ns, 'fdb', 'add', MAC_A, 'dev', 'v0', 'master', 'static').status).toBe(0);
    expect(bridgeRun(ns, 'fdb', 'add', MAC_B, 'dev', 'v0', 'master', 'permanent').status).toBe(0);
    const { tool, nl: read } = await both('v0', [MAC_A, MAC_B]);
    expect(tool.map((e) => e.state)).toEqual(['static', 'permanent']);
    expect(read).toEqual(tool);

    // What the list gives back is enough to delete the entry.
    for (const e of read) await nl.fdb.del({ dev: e.dev, lladdr: e.lladdr, master: e.master });
    expect(bridgej<BridgeFdb[]>(ns, 'fdb', 'show', 'dev', 'v0').filter((e) => [MAC_A, MAC_B].includes(e.mac))).toEqual([]);
  });

  it('refuses a vlan on a bridge without vlan filtering, as bridge fdb does (EINVAL)', async () => {
    // This kernel has no bridge vlan filtering, so a vlan entry cannot be made and read back;
    // the bytes are checked in test/unit/rtnl/fdb.test.ts. Both tools get the same answer.
    expect(bridgeRun(ns, 'fdb', 'add', MAC_A, 'dev', 'v0', 'master', 'vlan', '10').stderr).toMatch(/Invalid argument/);
    const err = await spaces[0]!.nl.fdb.add({ dev: 'v0', lladdr: MAC_A, master: true, vlan: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'EINVAL', op: 'fdb.add' });
  });

  it('fails with EEXIST adding an entry twice, or another remote without append', async () => {
    const { nl } = spaces[0]!;
    await nl.fdb.add({ dev: 'v0', lladdr: MAC_A, master: true });
    await expect(nl.fdb.add({ dev: 'v0', lladdr: MAC_A, master: true })).rejects.toMatchObject({ code: 'EEXIST', errno: 17 });
    await nl.fdb.add({ dev: 'vx0', lladdr: MAC_B, dst: '192.0.2.50' });
    await expect(nl.fdb.add({ dev: 'vx0', lladdr: MAC_B, dst: '192.0.2.51' })).rejects.toMatchObject({ code: 'EEXIST' });
    // Appending a remote the entry already has is not an error.
    await expect(nl.fdb.append({ dev: 'vx0', lladdr: MAC_B, dst: '192.0.2.50' })).resolves.toBeUndefined();
  });

  it('fails with ENOENT deleting an entry that is not there', async () => {
    const { nl } = spaces[0]!;
    await expect(nl.fdb.del({ dev: 'v0', lladdr: MAC_A, master: true })).rejects.toMatchObject({ code: 'ENOENT', op: 'fdb.del' });
    await expect(nl.fdb.del({ dev: 'vx0', lladdr: MAC_A })).rejects.toMatchObject({ code: 'ENOENT' });
    // A vxlan entry that exists, named with a remote it does not have: the kernel (6.18) says
    // nothing and deletes nothing, and `bridge fdb del` gets the same.
    await nl.fdb.append({ dev: 'vx0', lladdr: ZERO, dst: '192.0.2.60' });
    await expect(nl.fdb.del({ dev: 'vx0', lladdr: ZERO, dst: '192.0.2.61' })).resolves.toBeUndefined();
    expect(bridgeRun(ns, 'fdb', 'del', ZERO, 'dev', 'vx0', 'dst', '192.0.2.61').status).toBe(0);
    expect((await both('vx0', [ZERO])).nl.map((e) => e.dst)).toEqual(['192.0.2.60']);
  });

  it('fails with EPERM for a dynamic entry on a port that is down', async () => {
    ipRun(ns, 'link', 'set', 'v0', 'down');
    await expect(spaces[0]!.nl.fdb.add({ dev: 'v0', lladdr: MAC_A, master: true, state: 'dynamic' })).rejects.toMatchObject({ code: 'EPERM' });
  });

  it('fails with EOPNOTSUPP for a master entry on a link that is not a bridge port', async () => {
    // errno 95; Node (libuv) names it ENOTSUP, which Linux defines as the same number.
    expect(bridgeRun(ns, 'fdb', 'add', MAC_A, 'dev', 'v1', 'master').stderr).toMatch(/Operation not supported/);
    await expect(spaces[0]!.nl.fdb.add({ dev: 'v1', lladdr: MAC_A, master: true })).rejects.toMatchObject({ errno: 95, code: 'ENOTSUP' });
  });

  it('fails with ENODEV for a device that does not exist', async () => {
    const { nl } = spaces[0]!;
    await expect(nl.fdb.add({ dev: 'nosuch0', lladdr: MAC_A })).rejects.toMatchObject({ code: 'ENODEV' });
    await expect(nl.fdb.add({ dev: 99999, lladdr: MAC_A })).rejects.toMatchObject({ code: 'ENODEV', op: 'fdb.add' });
    await expect(nl.fdb.list({ br: 'nosuch0' })).rejects.toMatchObject({ code: 'ENODEV' });
  });

  it('refuses bad input before anything reaches the kernel', async () => {
    const { nl } = spaces[0]!;
    await expect(nl.fdb.add({ dev: 'vx0', lladdr: ZERO, dst: '192.0.2.300' })).rejects.toThrow(ValidationError);
    await expect(nl.fdb.append({ dev: 'vx0', lladdr: ZERO, dst: '192.0.2.70', vni: 1 << 24 })).rejects.toThrow(expect.objectContaining({ field: 'fdb.vni' }));
    await expect(nl.fdb.add({ dev: 'v0', lladdr: MAC_A, master: true, state: 'reachable' as never })).rejects.toThrow(expect.objectContaining({ field: 'fdb.state' }));
    expect(bridgej<BridgeFdb[]>(ns, 'fdb', 'show').filter((e) => [ZERO, MAC_A].includes(e.mac))).toEqual([]);
  });
});
