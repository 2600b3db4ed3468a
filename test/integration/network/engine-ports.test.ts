// lib/network/engine.ts: published ports, enable_icc=false, prune and the default network created
// on first use, in a throwaway host namespace with an `outside` namespace on its uplink. Oracles:
// TCP servers that tell each client its address, ping, `ip -j`, `bridge -j`, `nft -j`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ConflictError, ValidationError, netns } from '../../../lib/index.js';
import { Engine } from '../../../lib/network/engine.js';
import * as firewall from '../../../lib/network/drivers/bridge/firewall.js';
import { sandboxNetnsName } from '../../../lib/network/model/sandbox.js';
import { removeEngineLeftovers } from '../../helpers/engine.js';
import { uplink, UPLINK } from '../../helpers/hostnet.js';
import { nftj, pings, startAddressServer, tcpAsk, useTcpServers } from '../../helpers/nft.js';
import { bridgej, ipj, isRoot, nsExec, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

interface IpLink {
  ifname: string;
  master?: string;
}
interface IpAddr {
  addr_info: { family: string; local: string; prefixlen: number }[];
}

describe.skipIf(!isRoot)(`engine ports, icc, prune (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(2, 'nlep');
  useTcpServers();
  let engine: Engine;
  let stateDir: string;
  let host: string;
  let outside: string;

  beforeEach(async () => {
    host = spaces[0]!.name;
    outside = spaces[1]!.name;
    await uplink(spaces[0]!, spaces[1]!);
    stateDir = await mkdtemp(join(tmpdir(), 'nlnet-engine-ports-'));
    engine = await Engine.open({ hostNetns: host, stateDir });
  });

  afterEach(async () => {
    engine.faults = undefined;
    await removeEngineLeftovers(host);
    await engine.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  const links = (): IpLink[] => ipj<IpLink[]>(host, 'link', 'show');
  const hostVeths = (): string[] => links().filter((l) => l.ifname.startsWith('veth')).map((l) => l.ifname);
  /** The elements of `ip nlnet ports_any` and `ports_addr`, as nft prints them. */
  const published = (): string[] => {
    const sets = nftj(host, 'list', 'table', 'ip', 'nlnet').sets.filter((s) => s.name === 'ports_any' || s.name === 'ports_addr');
    return sets.flatMap((s) => (s.elem ?? []).map((e) => JSON.stringify(e)));
  };
  // This host's sandbox namespaces only: other test files (and benchmarks) make their own.
  const ours = async (): Promise<string[]> => (await netns.list()).filter((n) => n.startsWith(sandboxNetnsName(host, '')));

  async function expectNothingLeft(name: string, veths: string[], namespaces: string[], elements: string[]): Promise<void> {
    expect(await engine.store.get(`sandboxes/${name}`)).toBeUndefined();
    expect(hostVeths()).toEqual(veths);
    expect(await ours()).toEqual(namespaces);
    expect(published()).toEqual(elements);
  }

  it('publishes on the default network: reachable from outside (client address kept) and on 127.0.0.1; unpublished on removal', async () => {
    const sb = await engine.createSandbox({ name: 'web', publish: ['8080:80'] });
    expect(sb.endpoints[0]!.ports).toEqual([{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
    expect(await engine.listPorts('web')).toEqual([{ containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8080 }]);
    await startAddressServer(sb.netns, 80);
    expect(tcpAsk(outside, UPLINK.host, 8080), 'from outside').toBe(UPLINK.outside);
    expect(tcpAsk(host, '127.0.0.1', 8080), 'from the host on 127.0.0.1').toBe('172.17.0.1');
    // docker network inspect has no ports.
    expect(JSON.stringify(await engine.inspectNetwork('bridge'))).not.toContain('8080');

    await engine.removeSandbox('web');
    expect(published()).toEqual([]);
    expect(tcpAsk(outside, UPLINK.host, 8080), 'unpublished').toBe('ECONNREFUSED');
  });

  it('disconnect unpublishes the endpoint’s ports', async () => {
    await engine.createNetwork({ name: 'n', subnet: '10.88.7.0/24' });
    const sb = await engine.createSandbox({ name: 's', network: 'n', publish: ['127.0.0.1:8081:80', '5353:53/udp'] });
    expect(published()).toHaveLength(2);
    await startAddressServer(sb.netns, 80);
    expect(tcpAsk(host, '127.0.0.1', 8081)).toBe('10.88.7.1');
    await engine.disconnect('n', 's');
    expect(published()).toEqual([]);
    expect(await engine.listPorts('s')).toEqual([]);
  });

  it('refuses a host port another sandbox holds: ConflictError, nothing left', async () => {
    const first = await engine.createSandbox({ name: 'a', publish: ['8080:80'] });
    const before = published();
    const e = await engine.createSandbox({ name: 'b', publish: ['8080:81'] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConflictError);
    expect((e as Error).message).toMatch(/port is already allocated/);
    await expectNothingLeft('b', [first.endpoints[0]!.hostIf], [first.netns], before);
    // Another address does not clash with a specific one; 0.0.0.0 clashes with everything.
    await engine.createSandbox({ name: 'c', publish: ['127.0.0.1:9000:80'] });
    await expect(engine.createSandbox({ name: 'd', publish: ['9000:80'] })).rejects.toBeInstanceOf(ConflictError);
  });

  it('refuses a host port the firewall holds outside the store, undoing the sandbox', async () => {
    await engine.createNetwork({ name: 'n', subnet: '10.88.8.0/24' });
    await firewall.publish(engine.nl, [{ protocol: 'tcp', hostPort: 9090, containerIp: '10.88.9.9', containerPort: 80 }]);
    const before = published();
    await expect(engine.createSandbox({ name: 'x', network: 'n', publish: ['9090:80'] })).rejects.toThrow(/port is already allocated/);
    await expectNothingLeft('x', [], [], before);
    expect((await engine.inspectNetwork('n')).Containers).toEqual({});
  });

  it('-p CONTAINERPORT and -P pick host ports from ip_local_port_range; listPorts reports them', async () => {
    expect(nsExec(host, 'sysctl', '-w', 'net.ipv4.ip_local_port_range=41000 41004').status).toBe(0);
    const a = await engine.createSandbox({ name: 'a', publish: ['80'] });
    const b = await engine.createSandbox({ name: 'b', publishAll: true, expose: [80, 443] });
    const ports = [...(await engine.listPorts('a')), ...(await engine.listPorts('b'))];
    expect(ports.map((p) => p.containerPort)).toEqual([80, 80, 443]);
    for (const p of ports) {
      expect(p.hostPort).toBeGreaterThanOrEqual(41000);
      expect(p.hostPort).toBeLessThanOrEqual(41004);
    }
    expect(new Set(ports.map((p) => p.hostPort)).size).toBe(3);
    await startAddressServer(b.netns, 443);
    expect(tcpAsk(outside, UPLINK.host, ports[2]!.hostPort)).toBe(UPLINK.outside);
    expect(a.endpoints[0]!.ports).toHaveLength(1);
    // Three of five taken, and one by the firewall outside the store: two left, then none.
    await firewall.publish(engine.nl, [{ protocol: 'tcp', hostPort: [41000, 41001, 41002, 41003, 41004].find((p) => !ports.some((q) => q.hostPort === p))!, containerIp: '10.88.9.9', containerPort: 1 }]);
    await engine.createSandbox({ name: 'c', publish: ['80'] });
    await expect(engine.createSandbox({ name: 'd', publish: ['80'] })).rejects.toBeInstanceOf(ConflictError);
    expect(await engine.store.get('sandboxes/d')).toBeUndefined();
  });

  it('host mode ignores published ports; container mode refuses them', async () => {
    const h = await engine.createSandbox({ name: 'h', network: 'host', publish: ['8080:80'] });
    expect(h.endpoints).toEqual([]);
    expect(await engine.listPorts('h')).toEqual([]);
    expect(await engine.listNetworks()).toEqual([]);
    await engine.createSandbox({ name: 'n', network: 'none' });
    await expect(engine.createSandbox({ name: 'c', network: 'container:n', publish: ['80'] })).rejects.toBeInstanceOf(ValidationError);
    await expect(engine.createSandbox({ name: 'v', publish: ['80:x'] })).rejects.toBeInstanceOf(ValidationError);
    expect(await engine.store.get('sandboxes/v')).toBeUndefined();
  });

  for (const step of ['publish', 'finish'] as const) {
    it(`undoes everything, published ports too, when step '${step}' fails`, async () => {
      await engine.createNetwork({ name: 'n', subnet: '10.88.5.0/24' });
      engine.faults = { beforeStep: (s) => { if (s === step) throw new Error(`fault at ${s}`); } };
      await expect(engine.createSandbox({ name: 'x', network: 'n', publish: ['8080:80', '53/udp'] })).rejects.toThrow(`fault at ${step}`);
      engine.faults = undefined;
      await expectNothingLeft('x', [], [], []);
      const n = (await engine.store.get('networks/n')) as unknown as { pool: { allocated: string[] } };
      expect(n.pool.allocated).toEqual([]);
      // The same name, address and host port work afterwards.
      const sb = await engine.createSandbox({ name: 'x', network: 'n', publish: ['8080:80'] });
      expect(sb.endpoints[0]!.ip).toBe('10.88.5.2');
      await startAddressServer(sb.netns, 80);
      expect(tcpAsk(outside, UPLINK.host, 8080)).toBe(UPLINK.outside);
    });
  }

  it('enable_icc=false: isolated bridge ports, containers cannot ping each other but reach the gateway', async () => {
    await engine.createNetwork({ name: 'quiet', subnet: '10.88.6.0/24', options: { 'com.docker.network.bridge.enable_icc': 'false' } });
    const a = await engine.createSandbox({ name: 'a', network: 'quiet' });
    const b = await engine.createSandbox({ name: 'b', network: 'quiet' });
    const ports = bridgej<{ ifname: string; isolated?: boolean }[]>(host, '-d', 'link', 'show');
    for (const sb of [a, b]) expect(ports.find((p) => p.ifname === sb.endpoints[0]!.hostIf)?.isolated).toBe(true);
    expect(pings(a.netns, '10.88.6.1'), 'a to the gateway').toBe(true);
    expect(pings(b.netns, '10.88.6.1'), 'b to the gateway').toBe(true);
    expect(pings(a.netns, b.endpoints[0]!.ip), 'a to b').toBe(false);
    expect(pings(b.netns, a.endpoints[0]!.ip), 'b to a').toBe(false);

    // The control: the same on a network with icc.
    await engine.createNetwork({ name: 'loud', subnet: '10.88.4.0/24' });
    const c = await engine.createSandbox({ name: 'c', network: 'loud' });
    const d = await engine.createSandbox({ name: 'd', network: 'loud' });
    expect(bridgej<{ ifname: string; isolated?: boolean }[]>(host, '-d', 'link', 'show').find((p) => p.ifname === c.endpoints[0]!.hostIf)?.isolated).toBe(false);
    expect(pings(c.netns, d.endpoints[0]!.ip)).toBe(true);
  });

  it('prune removes only unused user-defined networks, never bridge', async () => {
    await engine.createSandbox({ name: 'd', network: 'none' });
    await engine.createNetwork({ name: 'bridge' });
    const used = await engine.createNetwork({ name: 'used', subnet: '10.88.1.0/24' });
    const idle = await engine.createNetwork({ name: 'idle', subnet: '10.88.2.0/24' });
    await engine.createNetwork({ name: 'idle2', subnet: '10.88.3.0/24' });
    await engine.createSandbox({ name: 's', network: 'used' });
    expect((await engine.prune()).sort()).toEqual(['idle', 'idle2']);
    expect((await engine.listNetworks()).map((n) => n.name).sort()).toEqual(['bridge', 'used']);
    const names = links().map((l) => l.ifname);
    expect(names).toContain('nlnet0');
    expect(names).toContain(used.bridge);
    expect(names).not.toContain(idle.bridge);
    expect(await engine.prune()).toEqual([]);
  });

  it('creates the default network on first use of connect', async () => {
    await engine.createNetwork({ name: 'u', subnet: '10.88.9.0/24' });
    await engine.createSandbox({ name: 'x', network: 'u' });
    expect((await engine.connect('bridge', 'x')).ip).toBe('172.17.0.2');
    expect(links().find((l) => l.ifname === 'nlnet0')).toBeDefined();
  });

  it('creates the default network on first use, and refuses to remove it', async () => {
    expect(await engine.listNetworks()).toEqual([]);
    const sb = await engine.createSandbox({ name: 'first' });
    expect(sb.endpoints[0]).toMatchObject({ network: 'bridge', ip: '172.17.0.2' });
    expect(await engine.listNetworks()).toMatchObject([{ name: 'bridge', bridge: 'nlnet0', subnet: '172.17.0.0/16' }]);
    const addr = ipj<IpAddr[]>(host, 'addr', 'show', 'dev', 'nlnet0').flatMap((a) => a.addr_info.filter((i) => i.family === 'inet').map((i) => `${i.local}/${i.prefixlen}`));
    expect(addr).toEqual(['172.17.0.1/16']);
    expect(pings(sb.netns, '172.17.0.1')).toBe(true);
    await engine.removeSandbox('first');
    await expect(engine.removeNetwork('bridge')).rejects.toThrow('bridge is a pre-defined network and cannot be removed');
    expect(links().find((l) => l.ifname === 'nlnet0')).toBeDefined();
  });

  it('10 concurrent first users: exactly one nlnet0, unique addresses', async () => {
    const made = await Promise.all(Array.from({ length: 10 }, (_, i) => engine.createSandbox(i % 2 === 0 ? { name: `c${i}`, network: 'bridge' } : { name: `c${i}` })));
    expect(links().filter((l) => l.ifname === 'nlnet0')).toHaveLength(1);
    expect(links().filter((l) => l.ifname.startsWith('br-'))).toEqual([]);
    expect((await engine.listNetworks()).map((n) => n.name)).toEqual(['bridge']);
    const ips = made.map((s) => s.endpoints[0]!.ip);
    expect(new Set(ips).size).toBe(10);
    expect(links().filter((l) => l.master === 'nlnet0')).toHaveLength(10);
    expect(pings(made[0]!.netns, ips[9]!)).toBe(true);
  });

  it('30 sandboxes with published ports created and removed concurrently: every port published, then none', async () => {
    const made = await Promise.all(Array.from({ length: 30 }, (_, i) => engine.createSandbox({ name: `p${i}`, publish: [`${20000 + i}:80`] })));
    expect(made).toHaveLength(30);
    expect(published()).toHaveLength(30);
    await Promise.all(made.map((s) => engine.removeSandbox(s.name)));
    expect(published()).toEqual([]);
    expect(hostVeths()).toEqual([]);
    expect(await ours()).toEqual([]);
  });
});
