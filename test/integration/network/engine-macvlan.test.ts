// The macvlan and ipvlan drivers: sandboxes on the parent's LAN. The host namespace's parent
// `lan0` is one end of a veth whose other end, in a second namespace, plays the LAN and its
// router (10.99.0.1). Oracles: `ip -d -j`, ping from the LAN, `nft -j`.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ConflictError, NetlinkError, NotFoundError, ValidationError } from '../../../lib/index.js';
import { Engine } from '../../../lib/network/engine.js';
import { removeEngineLeftovers } from '../../helpers/engine.js';
import { ipj, ipRun, isRoot, kernelHasKind, nsExec, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

interface IpLink {
  ifname: string;
  address: string;
  linkinfo?: { info_kind: string; info_data?: { mode?: string } };
}
interface IpAddr {
  addr_info: { family: string; local: string; prefixlen: number }[];
}

const ROUTER = '10.99.0.1';
const SUBNET = '10.99.0.0/24';
const links = (ns: string): IpLink[] => ipj<IpLink[]>(ns, '-d', 'link', 'show');
const v4 = (ns: string, dev: string): string[] =>
  ipj<IpAddr[]>(ns, 'addr', 'show', 'dev', dev).flatMap((a) => a.addr_info.filter((i) => i.family === 'inet').map((i) => `${i.local}/${i.prefixlen}`));
const ping = (ns: string, addr: string): boolean => nsExec(ns, 'ping', '-c1', '-W2', addr).status === 0;
const hasIpvlan = isRoot && kernelHasKind('ipvlan');
const hasVlan = isRoot && kernelHasKind('vlan');

describe.skipIf(!isRoot)(`engine: macvlan and ipvlan (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(2, 'nlmv');
  let engine: Engine;
  let stateDir: string;
  let host: string;
  let lan: string;

  beforeEach(async () => {
    host = spaces[0]!.name;
    lan = spaces[1]!.name;
    ipRun(host, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'uplink', 'netns', lan);
    ipRun(host, 'link', 'set', 'lan0', 'up');
    ipRun(lan, 'addr', 'add', `${ROUTER}/24`, 'dev', 'uplink');
    ipRun(lan, 'link', 'set', 'uplink', 'up');
    stateDir = await mkdtemp(join(tmpdir(), 'nlnet-macvlan-'));
    engine = await Engine.open({ hostNetns: host, stateDir });
  });

  afterEach(async () => {
    await removeEngineLeftovers(host);
    await engine.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  const macvlan = () => engine.createNetwork({ name: 'mv', driver: 'macvlan', subnet: SUBNET, gateway: ROUTER, options: { parent: 'lan0' } });

  it('puts sandboxes on the LAN: macvlan eth0 with a 02:42 MAC, reached from the LAN, reaching each other', async () => {
    await macvlan();
    const a = await engine.createSandbox({ name: 'a', network: 'mv', publish: ['8080:80'] });
    const b = await engine.createSandbox({ name: 'b', network: 'mv' });
    const eth0 = links(a.netns).find((l) => l.ifname === 'eth0')!;
    expect(eth0.linkinfo).toMatchObject({ info_kind: 'macvlan', info_data: { mode: 'bridge' } });
    expect(eth0.address).toBe('02:42:0a:63:00:02');
    expect(v4(a.netns, 'eth0')).toEqual(['10.99.0.2/24']);
    expect(ipj<{ gateway: string }[]>(a.netns, 'route', 'show', 'default')).toMatchObject([{ gateway: ROUTER }]);
    expect(ping(lan, '10.99.0.2')).toBe(true);
    expect(ping(a.netns, '10.99.0.3')).toBe(true);
    expect(ping(b.netns, ROUTER)).toBe(true);
    // Nothing on the host: no bridge, no veth, no firewall; ports are not published (as Docker).
    expect(links(host).map((l) => l.ifname).sort()).toEqual(['lan0', 'lo']);
    expect(execFileSync('nsenter', [`--net=/run/netns/${host}`, 'nft', '-j', 'list', 'tables'], { encoding: 'utf8' })).not.toContain('nlnet');
    expect(await engine.listPorts('a')).toEqual([]);
    expect((await engine.inspectNetwork('mv')).Driver).toBe('macvlan');
  });

  it('connects and disconnects a sandbox of another network (eth1), and removes links with their sandbox', async () => {
    await macvlan();
    await engine.createNetwork({ name: 'u', subnet: '10.98.0.0/24' });
    const s = await engine.createSandbox({ name: 's', network: 'u' });
    expect(await engine.connect('mv', 's', { ip: '10.99.0.50' })).toMatchObject({ ifname: 'eth1', hostIf: '' });
    expect(v4(s.netns, 'eth1')).toEqual(['10.99.0.50/24']);
    expect(ping(lan, '10.99.0.50')).toBe(true);
    await engine.disconnect('mv', 's');
    expect(links(s.netns).map((l) => l.ifname)).not.toContain('eth1');
    expect(ping(lan, '10.99.0.50')).toBe(false);
    await expect(engine.removeNetwork('mv')).resolves.toBeUndefined();
    expect(links(host).map((l) => l.ifname)).toContain('lan0');
  });

  it('refuses what Docker refuses: no parent, an unknown parent, a parent in use, internal, removal while used', async () => {
    await expect(engine.createNetwork({ name: 'x', driver: 'macvlan', options: {} })).rejects.toBeInstanceOf(ValidationError);
    await expect(engine.createNetwork({ name: 'x', driver: 'macvlan', options: { parent: 'nosuch0' } })).rejects.toBeInstanceOf(NotFoundError);
    await expect(engine.createNetwork({ name: 'x', driver: 'macvlan', internal: true, options: { parent: 'lan0' } })).rejects.toBeInstanceOf(ValidationError);
    await expect(engine.createNetwork({ name: 'x', driver: 'macvlan', options: { parent: 'lan0', macvlan_mode: 'fast' } })).rejects.toBeInstanceOf(ValidationError);
    await macvlan();
    await expect(engine.createNetwork({ name: 'y', driver: 'macvlan', subnet: '10.97.0.0/24', options: { parent: 'lan0' } })).rejects.toThrow('network mv is already using parent interface lan0');
    await engine.createSandbox({ name: 'a', network: 'mv' });
    await expect(engine.removeNetwork('mv')).rejects.toBeInstanceOf(ConflictError);
    expect((await engine.listNetworks()).map((n) => n.name)).toEqual(['mv']);
  });

  it('a sandbox whose link was deleted behind its back gets it back on the next open', async () => {
    await macvlan();
    const a = await engine.createSandbox({ name: 'a', network: 'mv' });
    ipRun(a.netns, 'link', 'del', 'eth0');
    await engine.close();
    engine = await Engine.open({ hostNetns: host, stateDir });
    expect(v4(a.netns, 'eth0')).toEqual(['10.99.0.2/24']);
    expect(ping(lan, '10.99.0.2')).toBe(true);
    expect(await engine.reconcile()).toEqual({ recreated: [], removed: [] });
  });

  it.skipIf(hasVlan)('a VLAN parent (parent=lan0.10) on a kernel without 802.1Q: a NetlinkError and nothing left', async () => {
    const e = await engine.createNetwork({ name: 'v', driver: 'macvlan', options: { parent: 'lan0.10' } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(await engine.listNetworks()).toEqual([]);
    expect(links(host).map((l) => l.ifname).sort()).toEqual(['lan0', 'lo']);
  });

  it.skipIf(!hasVlan)('a VLAN parent (parent=lan0.10) is made with the network and removed with it', async () => {
    await engine.createNetwork({ name: 'v', driver: 'macvlan', options: { parent: 'lan0.10' } });
    expect(links(host).find((l) => l.ifname === 'lan0.10')?.linkinfo?.info_kind).toBe('vlan');
    await engine.removeNetwork('v');
    expect(links(host).map((l) => l.ifname)).not.toContain('lan0.10');
  });

  it.skipIf(!hasIpvlan)('ipvlan l2: the sandbox shares the parent MAC and is reached from the LAN', async () => {
    await engine.createNetwork({ name: 'iv', driver: 'ipvlan', subnet: SUBNET, gateway: ROUTER, options: { parent: 'lan0' } });
    const a = await engine.createSandbox({ name: 'a', network: 'iv' });
    const parentMac = links(host).find((l) => l.ifname === 'lan0')!.address;
    expect(links(a.netns).find((l) => l.ifname === 'eth0')).toMatchObject({ address: parentMac, linkinfo: { info_kind: 'ipvlan' } });
    expect(ping(lan, '10.99.0.2')).toBe(true);
  });
});
