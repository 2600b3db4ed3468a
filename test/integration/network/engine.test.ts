// lib/network/engine.ts: networks and sandboxes in a throwaway host namespace with a throwaway
// state directory. Oracles: `ip -j`, `ip netns`, `nft -j`, ping, and the store file itself.
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ConflictError, NotFoundError, netns } from '../../../lib/index.js';
import { Engine, type AttachStep } from '../../../lib/network/engine.js';
import { sandboxNetnsName, type NetworkRecord } from '../../../lib/network/model/sandbox.js';
import { removeEngineLeftovers } from '../../helpers/engine.js';
import { ipj, ipRun, isRoot, nsExec, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

interface IpLink {
  ifname: string;
  operstate: string;
  flags: string[];
  address: string;
  master?: string;
  mtu: number;
}
interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

const inode = (ns: string): number => statSync(`/run/netns/${ns}`).ino;
const links = (ns: string): IpLink[] => ipj<IpLink[]>(ns, 'link', 'show');
const v4 = (ns: string, dev: string): string[] =>
  ipj<IpAddr[]>(ns, 'addr', 'show', 'dev', dev).flatMap((a) => a.addr_info.filter((i) => i.family === 'inet').map((i) => `${i.local}/${i.prefixlen}`));
const ping = (ns: string, addr: string): boolean => nsExec(ns, 'ping', '-c1', '-W2', addr).status === 0;

describe.skipIf(!isRoot)(`engine (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(1, 'nleng');
  let engine: Engine;
  let stateDir: string;
  let host: string;

  beforeEach(async () => {
    host = spaces[0]!.name;
    stateDir = await mkdtemp(join(tmpdir(), 'nlnet-engine-'));
    engine = await Engine.open({ hostNetns: host, stateDir });
  });

  afterEach(async () => {
    await removeEngineLeftovers(host);
    await engine.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  const hostVeths = (): IpLink[] => links(host).filter((l) => l.ifname.startsWith('veth'));
  const storedNetwork = async (name: string): Promise<NetworkRecord> => (await engine.store.get(`networks/${name}`)) as unknown as NetworkRecord;

  it('none: a namespace of its own with only lo, up', async () => {
    const sb = await engine.createSandbox({ name: 'n1', network: 'none' });
    expect(sb).toMatchObject({ mode: 'none', ownsNetns: true, endpoints: [] });
    const l = links(sb.netns);
    expect(l.map((x) => x.ifname)).toEqual(['lo']);
    expect(l[0]!.flags).toContain('UP');
    await engine.removeSandbox('n1');
    expect(await netns.list()).not.toContain(sb.netns);
    await expect(engine.inspectSandbox('n1')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('host: the host namespace itself; container: the other sandbox namespace', async () => {
    const h = await engine.createSandbox({ name: 'h', network: 'host' });
    expect(h).toMatchObject({ mode: 'host', netns: host, ownsNetns: false });
    expect(inode(h.netns)).toBe(inode(host));

    const a = await engine.createSandbox({ name: 'a', network: 'none' });
    const c = await engine.createSandbox({ name: 'c', network: 'container:a' });
    expect(c).toMatchObject({ mode: 'container:a', netns: a.netns, ownsNetns: false });
    expect(inode(c.netns)).toBe(inode(a.netns));
    await expect(engine.createSandbox({ name: 'd', network: 'container:nope' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(engine.removeSandbox('a')).rejects.toBeInstanceOf(ConflictError);

    await engine.removeSandbox('c');
    expect(await netns.list()).toContain(a.netns);
    await engine.removeSandbox('h');
    expect(await netns.list()).toContain(host);
    await engine.removeSandbox('a');
    expect(await netns.list()).not.toContain(a.netns);
  });

  it('default bridge network: nlnet0, 172.17.0.1/16, .2 and .3 ping each other and the gateway', async () => {
    const net = await engine.createNetwork({ name: 'bridge' });
    expect(net).toMatchObject({ bridge: 'nlnet0', subnet: '172.17.0.0/16', gateway: '172.17.0.1', driver: 'bridge', internal: false });
    expect(net.id).toMatch(/^[0-9a-f]{64}$/);
    expect(v4(host, 'nlnet0')).toEqual(['172.17.0.1/16']);
    expect(links(host).find((l) => l.ifname === 'nlnet0')!.flags).toContain('UP');
    expect(nsExec(host, 'sysctl', '-n', 'net.ipv4.ip_forward').stdout.trim()).toBe('1');

    const s1 = await engine.createSandbox({ name: 's1' }); // default network: 'bridge'
    const s2 = await engine.createSandbox({ name: 's2', network: 'bridge' });
    expect(s1.endpoints[0]).toMatchObject({ ip: '172.17.0.2', mac: '02:42:ac:11:00:02', ifname: 'eth0' });
    expect(s2.endpoints[0]).toMatchObject({ ip: '172.17.0.3', mac: '02:42:ac:11:00:03', ifname: 'eth0' });
    expect(s1.endpoints[0]!.hostIf).toMatch(/^veth[0-9a-f]{7}$/);
    expect(s1.endpoints[0]!.endpointId).toMatch(/^[0-9a-f]{64}$/);

    const eth0 = links(s1.netns).find((l) => l.ifname === 'eth0')!;
    expect(eth0).toMatchObject({ address: '02:42:ac:11:00:02', mtu: 1500 });
    expect(eth0.flags).toContain('UP');
    expect(links(s1.netns).find((l) => l.ifname === 'lo')!.flags).toContain('UP');
    expect(v4(s1.netns, 'eth0')).toEqual(['172.17.0.2/16']);
    expect(ipj<{ dst: string; gateway: string }[]>(s1.netns, 'route', 'show', 'default')).toMatchObject([{ dst: 'default', gateway: '172.17.0.1' }]);
    const veth = links(host).find((l) => l.ifname === s1.endpoints[0]!.hostIf)!;
    expect(veth.master).toBe('nlnet0');
    expect(veth.flags).toContain('UP');

    expect(ping(s1.netns, '172.17.0.3')).toBe(true);
    expect(ping(s2.netns, '172.17.0.2')).toBe(true);
    expect(ping(s1.netns, '172.17.0.1')).toBe(true);
  });

  it('--mac-address: a given MAC, or a random locally administered one', async () => {
    await engine.createNetwork({ name: 'm', subnet: '10.84.0.0/24' });
    const a = await engine.createSandbox({ name: 'a', network: 'm', mac: '02:aa:bb:cc:dd:ee' });
    const r = await engine.createSandbox({ name: 'r', network: 'm', mac: 'random' });
    expect(links(a.netns).find((l) => l.ifname === 'eth0')!.address).toBe('02:aa:bb:cc:dd:ee');
    const mac = links(r.netns).find((l) => l.ifname === 'eth0')!.address;
    expect(mac).toBe(r.endpoints[0]!.mac);
    expect(mac).not.toBe('02:42:0a:54:00:03');
    expect(parseInt(mac.slice(0, 2), 16) & 0x03).toBe(0x02);
    expect(ping(a.netns, '10.84.0.3')).toBe(true);
  });

  it("keeps the bridge's MAC as veths join and leave, so containers' ARP entries for the gateway stay right", async () => {
    const net = await engine.createNetwork({ name: 'm', subnet: '10.83.0.0/24' });
    const mac = links(host).find((l) => l.ifname === net.bridge)!.address;
    expect(mac).toMatch(/^02:42:/);
    const a = await engine.createSandbox({ name: 'a', network: 'm' });
    for (let i = 0; i < 5; i++) {
      await engine.createSandbox({ name: `b${i}`, network: 'm' });
      expect(links(host).find((l) => l.ifname === net.bridge)!.address).toBe(mac);
      await engine.removeSandbox(`b${i}`);
    }
    expect(ping(a.netns, '10.83.0.1')).toBe(true);
  });

  it('user-defined network: --subnet, --gateway, --ip-range, static --ip; firewall rules exist', async () => {
    const net = await engine.createNetwork({ name: 'u', subnet: '10.77.0.0/16', gateway: '10.77.0.254', ipRange: '10.77.5.0/24', labels: { a: 'b' } });
    expect(net.bridge).toBe(`br-${net.id.slice(0, 12)}`);
    expect(v4(host, net.bridge)).toEqual(['10.77.0.254/16']);
    const dyn = await engine.createSandbox({ name: 'd', network: 'u' });
    const fixed = await engine.createSandbox({ name: 'f', network: 'u', ip: '10.77.0.9' });
    expect(dyn.endpoints[0]!.ip).toBe('10.77.5.0');
    expect(fixed.endpoints[0]).toMatchObject({ ip: '10.77.0.9', mac: '02:42:0a:4d:00:09' });
    expect(v4(fixed.netns, 'eth0')).toEqual(['10.77.0.9/16']);
    expect(ping(fixed.netns, '10.77.0.254')).toBe(true);
    await expect(engine.createSandbox({ name: 'g', network: 'u', ip: '10.77.0.9' })).rejects.toBeInstanceOf(ConflictError);

    const ruleset = JSON.stringify(JSON.parse(nsExec(host, 'nft', '-j', 'list', 'ruleset').stdout));
    expect(ruleset).toContain(`nlnet:${net.bridge}`);
    await engine.removeSandbox('d');
    await engine.removeSandbox('f');
    await engine.removeNetwork('u');
    expect(nsExec(host, 'nft', '-j', 'list', 'ruleset').stdout).not.toContain(`nlnet:${net.bridge}`);
  });

  it('removeNetwork is refused while a sandbox is connected and works after; nothing is left', async () => {
    const net = await engine.createNetwork({ name: 'n' });
    const sb = await engine.createSandbox({ name: 's', network: 'n' });
    await expect(engine.removeNetwork('n')).rejects.toBeInstanceOf(ConflictError);
    expect(links(host).some((l) => l.ifname === net.bridge)).toBe(true);

    await engine.removeSandbox('s');
    expect(hostVeths()).toEqual([]);
    expect(await netns.list()).not.toContain(sb.netns);
    expect(await engine.store.get('sandboxes/s')).toBeUndefined();
    expect((await storedNetwork('n')).pool.allocated).toEqual([]);

    await engine.removeNetwork('n');
    expect(links(host).map((l) => l.ifname)).toEqual(['lo']);
    expect(await engine.listNetworks()).toEqual([]);
    await expect(engine.removeNetwork('n')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('releases addresses and reuses them', async () => {
    await engine.createNetwork({ name: 'r', subnet: '10.78.0.0/24' });
    await engine.createSandbox({ name: 'a', network: 'r' });
    await engine.createSandbox({ name: 'b', network: 'r' });
    await engine.removeSandbox('a');
    const c = await engine.createSandbox({ name: 'c', network: 'r' });
    expect(c.endpoints[0]!.ip).toBe('10.78.0.2');
    // Consecutive addresses are stored as one run (ipam/v4.ts).
    expect((await storedNetwork('r')).pool.allocated).toEqual(['10.78.0.2-10.78.0.3']);
  });

  it('connect and disconnect a second network (eth1, no second default route)', async () => {
    await engine.createNetwork({ name: 'one', subnet: '10.79.1.0/24' });
    await engine.createNetwork({ name: 'two', subnet: '10.79.2.0/24' });
    const sb = await engine.createSandbox({ name: 's', network: 'one' });
    const ep = await engine.connect('two', 's');
    expect(ep).toMatchObject({ ifname: 'eth1', ip: '10.79.2.2' });
    expect(v4(sb.netns, 'eth1')).toEqual(['10.79.2.2/24']);
    expect(ipj<{ gateway: string }[]>(sb.netns, 'route', 'show', 'default')).toMatchObject([{ gateway: '10.79.1.1' }]);
    await expect(engine.connect('two', 's')).rejects.toBeInstanceOf(ConflictError);
    expect(Object.keys((await engine.inspectNetwork('two')).Containers)).toEqual([sb.id]);

    await engine.disconnect('two', 's');
    expect(links(sb.netns).map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
    expect((await storedNetwork('two')).pool.allocated).toEqual([]);
    expect((await engine.inspectSandbox('s')).endpoints.map((e) => e.network)).toEqual(['one']);
    await engine.removeNetwork('two');

    await engine.createSandbox({ name: 'none', network: 'none' });
    await expect(engine.connect('one', 'none')).rejects.toBeInstanceOf(ConflictError);
  });

  it('refuses overlapping subnets and taken names; skips host routes when allocating', async () => {
    await engine.createNetwork({ name: 'a', subnet: '10.80.0.0/16' });
    await expect(engine.createNetwork({ name: 'a', subnet: '10.81.0.0/16' })).rejects.toBeInstanceOf(ConflictError);
    await expect(engine.createNetwork({ name: 'b', subnet: '10.80.3.0/24' })).rejects.toBeInstanceOf(ConflictError);
    expect((await engine.listNetworks()).map((n) => n.name)).toEqual(['a']);
    expect(links(host).filter((l) => l.ifname.startsWith('br-'))).toHaveLength(1);

    // A route to 172.17.0.0/16 in the host namespace makes the default pool move on.
    ipRun(host, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1');
    ipRun(host, 'addr', 'add', '172.17.5.1/24', 'dev', 'up0');
    ipRun(host, 'link', 'set', 'up0', 'up');
    const auto = await engine.createNetwork({ name: 'auto' });
    expect(auto.subnet).toBe('172.18.0.0/16');
    await engine.createSandbox({ name: 's', network: 'auto' });
    await expect(engine.createSandbox({ name: 's', network: 'auto' })).rejects.toBeInstanceOf(ConflictError);
    await expect(engine.createSandbox({ name: 't', network: 'missing' })).rejects.toBeInstanceOf(NotFoundError);
    expect(hostVeths()).toHaveLength(1);
  });

  it('createNetwork undoes its record when the kernel refuses the bridge, and leaves the device alone', async () => {
    ipRun(host, 'link', 'add', 'nlnet0', 'type', 'veth', 'peer', 'name', 'other0');
    await expect(engine.createNetwork({ name: 'bridge' })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await engine.listNetworks()).toEqual([]);
    expect(links(host).map((l) => l.ifname).sort()).toEqual(['lo', 'nlnet0', 'other0']);
    expect(nsExec(host, 'nft', '-j', 'list', 'ruleset').stdout).not.toContain('nlnet:nlnet0');
  });

  it('inspect has the shape of docker network inspect', async () => {
    const net = await engine.createNetwork({ name: 'i', subnet: '10.82.0.0/24', ipRange: '10.82.0.128/25', labels: { team: 'x' }, options: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' } });
    const sb = await engine.createSandbox({ name: 'web', network: 'i' });
    const ep = sb.endpoints[0]!;
    expect(await engine.inspectNetwork('i')).toEqual({
      Name: 'i',
      Id: net.id,
      Created: net.created,
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: '10.82.0.0/24', Gateway: '10.82.0.1', IPRange: '10.82.0.128/25' }] },
      Internal: false,
      Attachable: false,
      Ingress: false,
      Containers: { [sb.id]: { Name: 'web', EndpointID: ep.endpointId, MacAddress: '02:42:0a:52:00:80', IPv4Address: '10.82.0.128/24', IPv6Address: '' } },
      Options: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' },
      Labels: { team: 'x' },
    });
    expect(Number.isNaN(Date.parse(net.created))).toBe(false);
    await expect(engine.inspectNetwork('nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  describe('undo', () => {
    const steps: AttachStep[] = ['netns', 'veth', 'sandbox', 'finish'];

    async function expectNothingLeft(name: string): Promise<void> {
      expect(hostVeths()).toEqual([]);
      expect(await engine.store.get(`sandboxes/${name}`)).toBeUndefined();
      expect((await storedNetwork('n')).pool.allocated).toEqual([]);
      expect(await netns.list()).not.toContain(sandboxNetnsName(host, name));
    }

    for (const step of steps) {
      it(`createSandbox undoes everything when step '${step}' fails`, async () => {
        await engine.createNetwork({ name: 'n', subnet: '10.83.0.0/24' });
        engine.faults = { beforeStep: (s) => { if (s === step) throw new Error(`fault at ${s}`); } };
        await expect(engine.createSandbox({ name: 'x', network: 'n' })).rejects.toThrow(`fault at ${step}`);
        engine.faults = undefined;
        await expectNothingLeft('x');
        // And the same name and address work afterwards.
        const sb = await engine.createSandbox({ name: 'x', network: 'n' });
        expect(sb.endpoints[0]!.ip).toBe('10.83.0.2');
      });

      if (step === 'netns') continue; // connect makes no namespace
      it(`connect undoes everything when step '${step}' fails`, async () => {
        await engine.createNetwork({ name: 'n', subnet: '10.83.0.0/24' });
        await engine.createNetwork({ name: 'm', subnet: '10.84.0.0/24' });
        const sb = await engine.createSandbox({ name: 'x', network: 'm' });
        engine.faults = { beforeStep: (s) => { if (s === step) throw new Error(`fault at ${s}`); } };
        await expect(engine.connect('n', 'x')).rejects.toThrow(`fault at ${step}`);
        engine.faults = undefined;
        expect(hostVeths().map((l) => l.ifname)).toEqual([sb.endpoints[0]!.hostIf]);
        expect(links(sb.netns).map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
        expect((await engine.inspectSandbox('x')).endpoints.map((e) => e.network)).toEqual(['m']);
        expect((await storedNetwork('n')).pool.allocated).toEqual([]);
        expect((await engine.connect('n', 'x')).ip).toBe('10.83.0.2');
      });
    }

    // With no fault hooks the attach is one native job (attach-job.ts): a part the kernel refuses
    // is undone with what came before it, the same as the step-by-step path.
    it('undoes a one-job attach the kernel refuses at its namespace (the name taken outside the store)', async () => {
      await engine.createNetwork({ name: 'n', subnet: '10.83.0.0/24' });
      await netns.create(sandboxNetnsName(host, 'x'));
      await expect(engine.createSandbox({ name: 'x', network: 'n', publish: ['8080:80'] })).rejects.toMatchObject({ code: 'EEXIST', op: 'netns.create' });
      expect(hostVeths()).toEqual([]);
      expect(await engine.store.get('sandboxes/x')).toBeUndefined();
      expect((await storedNetwork('n')).pool.allocated).toEqual([]);
      expect(existsSync(join('/etc/netns', sandboxNetnsName(host, 'x')))).toBe(false);
      expect(existsSync(join('/run/nlnet/netns', sandboxNetnsName(host, 'x')))).toBe(false);
      await netns.delete(sandboxNetnsName(host, 'x'));
      const sb = await engine.createSandbox({ name: 'x', network: 'n', publish: ['8080:80'] });
      expect(sb.endpoints[0]!.ip).toBe('10.83.0.2');
    });

    // The namespace is made while the store decides: a refused name must leave the sandbox that
    // has it untouched (its namespace, marker, files), also when both attaches run at once.
    it('refuses a name in use and leaves its sandbox whole, one after the other and at once', async () => {
      await engine.createNetwork({ name: 'n', subnet: '10.83.0.0/24' });
      const a = await engine.createSandbox({ name: 'x', network: 'n' });
      await expect(engine.createSandbox({ name: 'x', network: 'n' })).rejects.toBeInstanceOf(ConflictError);
      await expect(engine.createSandbox({ name: 'x', network: 'none' })).rejects.toBeInstanceOf(ConflictError);
      const same = await Promise.allSettled([engine.createSandbox({ name: 'y', network: 'n' }), engine.createSandbox({ name: 'y', network: 'n' })]);
      expect(same.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect((same.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
      for (const sb of [a, await engine.inspectSandbox('y')]) {
        expect(v4(sb.netns, 'eth0')).toEqual([`${sb.endpoints[0]!.ip}/24`]);
        expect(existsSync(join('/run/nlnet/netns', sb.netns))).toBe(true);
        expect(existsSync(join('/etc/netns', sb.netns, 'hosts'))).toBe(true);
      }
      expect(hostVeths()).toHaveLength(2);
      expect((await storedNetwork('n')).pool.allocated).toEqual(['10.83.0.2-10.83.0.3']);
    });

    it('undoes a connect the kernel refuses (an eth1 already in the sandbox)', async () => {
      await engine.createNetwork({ name: 'n', subnet: '10.83.0.0/24' });
      await engine.createNetwork({ name: 'm', subnet: '10.84.0.0/24' });
      const sb = await engine.createSandbox({ name: 'x', network: 'm' });
      ipRun(sb.netns, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'other');
      await expect(engine.connect('n', 'x')).rejects.toMatchObject({ code: 'EEXIST' });
      expect(hostVeths()).toHaveLength(1);
      expect((await storedNetwork('n')).pool.allocated).toEqual([]);
      expect((await engine.inspectSandbox('x')).endpoints.map((e) => e.network)).toEqual(['m']);
      expect(links(sb.netns).map((l) => l.ifname).sort()).toEqual(['eth0', 'eth1', 'lo', 'other']);
    });
  });

  it('50 sandboxes attached concurrently get unique addresses, in the kernel as in the store', async () => {
    await engine.createNetwork({ name: 'bridge' });
    const made = await Promise.all(Array.from({ length: 50 }, (_, i) => engine.createSandbox({ name: `c${i}` })));
    const ips = made.map((s) => s.endpoints[0]!.ip);
    expect(new Set(ips).size).toBe(50);
    expect((await storedNetwork('bridge')).pool.allocated).toEqual(['172.17.0.2-172.17.0.51']);
    expect(hostVeths().filter((l) => l.master === 'nlnet0')).toHaveLength(50);
    expect(Object.keys((await engine.inspectNetwork('bridge')).Containers)).toHaveLength(50);
    // What each namespace really holds, read by ip: its own address, and no one else's.
    expect(made.map((s) => v4(s.netns, 'eth0')[0])).toEqual(ips.map((ip) => `${ip}/16`));
    expect(ping(made[0]!.netns, ips[49]!)).toBe(true);
    expect(ping(made[49]!.netns, ips[0]!)).toBe(true);
    await Promise.all(made.map((s) => engine.removeSandbox(s.name)));
    expect(hostVeths()).toEqual([]);
    expect((await storedNetwork('bridge')).pool.allocated).toEqual([]);
    const left = await netns.list();
    expect(made.filter((s) => left.includes(s.netns))).toEqual([]);
  });
});
