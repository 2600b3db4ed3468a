// lib/network/engine.ts with overlay networks: two "hosts" in this one process, each a throwaway
// namespace (joined by a veth pair, 10.201.0.1 and .2 on their eth0) with an Engine and a state
// directory of its own, and one real etcd on 127.0.0.1 (test/helpers/etcd.ts), which the etcd
// client reaches from this process's own namespace. Checked with `ip -j`, `bridge -j`, `nft`,
// the file store, etcd itself and ping: failures at every step undo everything, etcd down changes
// nothing, peers are programmed on both sides, reconcile brings a deleted network namespace back.
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { netns } from '../../../lib/index.js';
import { Engine, type AttachStep, type DetachStep } from '../../../lib/network/engine.js';
import { sandboxNetnsName, type NetworkRecord } from '../../../lib/network/model/sandbox.js';
import { NETNS_MARKS } from '../../../lib/network/owner.js';
import { overlayNetnsName } from '../../../lib/network/overlay/devices.js';
import { globalEndpoints, globalNetwork, reserveGlobalEndpoint } from '../../../lib/network/overlay/records.js';
import { EtcdError } from '../../../lib/network/store/etcd-client.js';
import { EtcdStore } from '../../../lib/network/store/etcd.js';
import { FileStore } from '../../../lib/network/store/file.js';
import { removeEngineLeftovers } from '../../helpers/engine.js';
import { ETCD, ETCD_SKIP_REASON, startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { bridgej, ipj, isRoot, nsExec, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

const SKIP = !isRoot ? ROOT_SKIP_REASON : ETCD === undefined ? ETCD_SKIP_REASON : '';
if (SKIP !== '') console.warn(`skipped: ${SKIP}`);

/** Where the engine keeps its documents in etcd (EtcdStore's default prefix). */
const PREFIX = '/nlnet/v1/';
const UNDERLAY = ['10.201.0.1', '10.201.0.2'] as const;
const GWBRIDGE = 'docker_gwbridge';

interface IpLink {
  ifname: string;
  master?: string;
  flags: string[];
  address: string;
  mtu: number;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; port?: number; learning?: boolean; proxy?: boolean } };
}
interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}
interface Fdb {
  mac: string;
  dst?: string;
  state?: string;
  flags?: string[];
}
interface Neigh {
  dst: string;
  lladdr?: string;
  state?: string[];
}

const links = (ns: string): IpLink[] => ipj<IpLink[]>(ns, '-d', 'link', 'show');
const names = (ns: string): string[] => links(ns).map((l) => l.ifname).sort();
const v4 = (ns: string, dev: string): string[] =>
  ipj<IpAddr[]>(ns, 'addr', 'show', 'dev', dev).flatMap((a) => a.addr_info.filter((i) => i.family === 'inet').map((i) => `${i.local}/${i.prefixlen}`));
/** vxlan0's static entries with a destination: what a remote endpoint is programmed as. */
const fdbPeers = (ns: string): { mac: string; dst: string }[] =>
  bridgej<Fdb[]>(ns, 'fdb', 'show', 'dev', 'vxlan0').filter((f) => f.dst !== undefined && f.mac !== '00:00:00:00:00:00').map((f) => ({ mac: f.mac, dst: f.dst! })).sort((a, b) => a.mac.localeCompare(b.mac));
const neighPeers = (ns: string): { ip: string; mac: string }[] =>
  ipj<Neigh[]>(ns, 'neigh', 'show', 'dev', 'vxlan0').filter((n) => n.lladdr !== undefined).map((n) => ({ ip: n.dst, mac: n.lladdr! })).sort((a, b) => a.ip.localeCompare(b.ip));
/** Each link of a namespace with its IPv4 addresses: `eth0 10.0.0.2/24`. */
const addrs = (ns: string): string[] =>
  ipj<IpAddr[]>(ns, 'addr', 'show').map((a) => [a.ifname, ...a.addr_info.filter((x) => x.family === 'inet').map((x) => `${x.local}/${x.prefixlen}`)].join(' ')).sort();
const ping = (ns: string, addr: string): boolean => nsExec(ns, 'ping', '-c1', '-W2', addr).status === 0;

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const failAt = (step: AttachStep | DetachStep) => ({
  beforeStep: (s: string) => {
    if (s === step) throw new Error(`fault at ${s}`);
  },
});

describe.skipIf(SKIP !== '')(`engine with overlay networks (${SKIP || 'root, etcd'})`, () => {
  let etcd: TestEtcd;
  /** The test's own view of etcd, to check what the engines wrote. */
  let view: EtcdStore;
  const spaces = useNetns(2, 'nleo');
  const engines: Engine[] = [];
  const dirs: string[] = [];
  let url: string;

  beforeAll(async () => {
    etcd = await startEtcd();
    url = `etcd://${etcd.endpoint}`;
  });
  afterAll(async () => {
    await view?.close();
    await etcd?.remove();
  });

  beforeEach(async () => {
    const [a, b] = spaces as [(typeof spaces)[0], (typeof spaces)[0]];
    // The underlay: a veth pair between the two hosts.
    await a.nl.link.add({ name: 'eth0', kind: 'veth', peer: { name: 'eth0', netns: b.name } });
    for (const [i, h] of [a, b].entries()) {
      await h.nl.link.set('lo', { up: true });
      await h.nl.addr.add({ dev: 'eth0', address: `${UNDERLAY[i]}/24` });
      await h.nl.link.set('eth0', { up: true });
    }
    view ??= await EtcdStore.open({ endpoints: [etcd.endpoint], timeoutMs: 5000 });
  });

  afterEach(async () => {
    for (const e of engines.splice(0)) await e.close().catch(() => undefined);
    for (const s of spaces) await removeEngineLeftovers(s.name);
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    if (etcd.pid === undefined) await etcd.restart();
    // Every test starts from an empty cluster store.
    const raw = new Etcd3({ hosts: `http://${etcd.endpoint}` });
    try {
      await raw.delete().prefix(PREFIX);
    } finally {
      raw.close();
    }
  });

  const host = (i: 0 | 1): string => spaces[i]!.name;

  async function open(i: 0 | 1, opts: { clusterTimeoutMs?: number; stateDir?: string } = {}): Promise<Engine> {
    const stateDir = opts.stateDir ?? (await mkdtemp(join(tmpdir(), `nlnet-overlay-${i}-`)));
    if (!dirs.includes(stateDir)) dirs.push(stateDir);
    const e = await Engine.open({ hostNetns: host(i), stateDir, store: url, advertise: 'eth0', clusterTimeoutMs: opts.clusterTimeoutMs ?? 5000 });
    engines.push(e);
    return e;
  }

  const overlayNs = (i: 0 | 1, net: { id: string }): string => overlayNetnsName(host(i), net.id);

  /** Everything an attach or a detach may change, on host `i` and in etcd. */
  async function picture(e: Engine, i: 0 | 1, network = 'ov'): Promise<Record<string, unknown>> {
    const prefix = sandboxNetnsName(host(i), '');
    const net = await globalNetwork(view, network);
    return {
      ...(await localPicture(e, i)),
      etcdEndpoints: (await globalEndpoints(view)).map((x) => `${x.network}/${x.sandbox}/${x.ip}`).sort(),
      pool: net?.pool.allocated,
    };
  }

  /** The part of `picture` that needs no etcd: namespaces (and what is in them), markers, /etc/netns, host links, firewall, file store. */
  async function localPicture(e: Engine, i: 0 | 1): Promise<Record<string, unknown>> {
    const prefix = sandboxNetnsName(host(i), '');
    const spaces = (await netns.list()).filter((n) => n.startsWith(prefix)).sort();
    return {
      namespaces: Object.fromEntries(spaces.map((n) => [n, addrs(n)])),
      markers: existsSync(NETNS_MARKS) ? readdirSync(NETNS_MARKS).filter((n) => n.startsWith(prefix)).sort() : [],
      etc: existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => n.startsWith(prefix)).sort() : [],
      hostLinks: addrs(host(i)),
      nft: nsExec(host(i), 'nft', 'list', 'ruleset').stdout,
      store: await e.store.list(''),
    };
  }

  describe('an attach that fails at a step leaves nothing', () => {
    const steps: AttachStep[] = ['global', 'allocate', 'netns', 'overlay', 'veth', 'sandbox', 'peers', 'publish', 'finish'];

    for (const step of steps) {
      it(`createSandbox on an overlay network, failing at '${step}' (the first on this host: it makes the namespace and docker_gwbridge)`, async () => {
        const a = await open(0);
        const net = await a.createNetwork({ name: 'ov', driver: 'overlay' });
        // A local network first: nlnet's own nft table (kept once made) is there before.
        await a.createNetwork({ name: 'loc', subnet: '10.87.0.0/24' });
        const before = await picture(a, 0);
        a.faults = failAt(step);
        await expect(a.createSandbox({ name: 'x', network: 'ov', publish: ['18080:80'] })).rejects.toThrow(`fault at ${step}`);
        a.faults = undefined;
        expect(await picture(a, 0)).toEqual(before);
        expect(await netns.list()).not.toContain(overlayNs(0, net));
        expect(await a.store.get(`networks/${GWBRIDGE}`)).toBeUndefined();
        expect(names(host(0))).not.toContain(GWBRIDGE);
        expect(await globalEndpoints(view, 'ov')).toEqual([]);

        // The same name, address and port work afterwards.
        const sb = await a.createSandbox({ name: 'x', network: 'ov', publish: ['18080:80'] });
        expect(sb.endpoints.map((ep) => [ep.network, ep.ifname])).toEqual([['ov', 'eth0'], [GWBRIDGE, 'eth1']]);
        expect(sb.endpoints[0]!.ip).toBe('10.0.0.2');
        expect(v4(sb.netns, 'eth0')).toEqual(['10.0.0.2/24']);
        expect(names(overlayNs(0, net))).toEqual(['br0', 'lo', sb.endpoints[0]!.peerIf!, 'vxlan0'].sort());
        expect(await a.listPorts('x')).toEqual([{ containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 18080 }]);
        await a.removeSandbox('x');
        expect(await netns.list()).not.toContain(overlayNs(0, net));
        expect(await globalEndpoints(view, 'ov')).toEqual([]);
      });

      if (step === 'peers') continue; // only the host that makes the network's namespace programs peers
      it(`createSandbox on an overlay network, failing at '${step}' (this host has the namespace already)`, async () => {
        const a = await open(0);
        const net = await a.createNetwork({ name: 'ov', driver: 'overlay' });
        const keep = await a.createSandbox({ name: 'keep', network: 'ov' });
        const before = await picture(a, 0);
        const inOverlay = names(overlayNs(0, net));
        a.faults = failAt(step);
        await expect(a.createSandbox({ name: 'x', network: 'ov', publish: ['18081:80'] })).rejects.toThrow(`fault at ${step}`);
        a.faults = undefined;
        expect(await picture(a, 0)).toEqual(before);
        expect(names(overlayNs(0, net))).toEqual(inOverlay);
        expect(ping(keep.netns, '10.0.0.1')).toBe(true);
        expect((await a.createSandbox({ name: 'x', network: 'ov', publish: ['18081:80'] })).endpoints[0]!.ip).toBe('10.0.0.3');
      });
    }

    for (const step of steps.filter((s) => s !== 'netns' && s !== 'publish')) {
      it(`connect to an overlay network, failing at '${step}', leaves the sandbox as it was`, async () => {
        const a = await open(0);
        const net = await a.createNetwork({ name: 'ov', driver: 'overlay' });
        // An internal network gives no default route: the connect brings docker_gwbridge along.
        await a.createNetwork({ name: 'int', internal: true, subnet: '10.86.0.0/24' });
        const sb = await a.createSandbox({ name: 'x', network: 'int' });
        const before = await picture(a, 0);
        const inside = names(sb.netns);
        a.faults = failAt(step);
        await expect(a.connect('ov', 'x')).rejects.toThrow(`fault at ${step}`);
        a.faults = undefined;
        expect(await picture(a, 0)).toEqual(before);
        expect(names(sb.netns)).toEqual(inside);
        expect((await a.inspectSandbox('x')).endpoints.map((e) => e.network)).toEqual(['int']);
        expect(await netns.list()).not.toContain(overlayNs(0, net));
        expect(await a.store.get(`networks/${GWBRIDGE}`)).toBeUndefined();

        const ep = await a.connect('ov', 'x');
        expect(ep).toMatchObject({ network: 'ov', ifname: 'eth1', ip: '10.0.0.2' });
        expect((await a.inspectSandbox('x')).endpoints.map((e) => e.network)).toEqual(['int', 'ov', GWBRIDGE]);
        expect(ipj<{ dst: string; dev: string }[]>(sb.netns, 'route', 'show', 'default')).toMatchObject([{ dst: 'default', dev: 'eth2' }]);
      });
    }
  });

  describe('a detach that fails at a step finishes when run again', () => {
    const removeSteps: DetachStep[] = ['unpublish', 'unlink', 'unnetns', 'unglobal', 'release'];

    async function clean(a: Engine, net: NetworkRecord | { id: string }, name: string): Promise<void> {
      expect(await netns.list()).not.toContain(sandboxNetnsName(host(0), name));
      expect(await netns.list()).not.toContain(overlayNs(0, net));
      expect(await a.store.get(`sandboxes/${name}`)).toBeUndefined();
      expect(await a.store.get('networks/ov')).toBeUndefined();
      expect(await globalEndpoints(view, 'ov')).toEqual([]);
      expect((await globalNetwork(view, 'ov'))!.pool.allocated).toEqual([]);
      expect(names(host(0)).filter((l) => l.startsWith('veth'))).toEqual([]);
      expect(((await a.store.get(`networks/${GWBRIDGE}`)) as unknown as NetworkRecord).pool.allocated).toEqual([]);
    }

    for (const step of removeSteps) {
      it(`removeSandbox failing at '${step}'`, async () => {
        const a = await open(0);
        const net = await a.createNetwork({ name: 'ov', driver: 'overlay' });
        await a.createSandbox({ name: 'x', network: 'ov', publish: ['18082:80'] });
        a.faults = failAt(step);
        await expect(a.removeSandbox('x')).rejects.toThrow(`fault at ${step}`);
        a.faults = undefined;
        await a.removeSandbox('x');
        await clean(a, net, 'x');
        expect(nsExec(host(0), 'nft', 'list', 'ruleset').stdout).not.toContain('18082');
        // The address and the port are free again.
        expect((await a.createSandbox({ name: 'y', network: 'ov', publish: ['18082:80'] })).endpoints[0]!.ip).toBe('10.0.0.2');
      });
    }

    for (const step of removeSteps.filter((s) => s !== 'unnetns')) {
      it(`disconnect from an overlay network failing at '${step}'`, async () => {
        const a = await open(0);
        const net = await a.createNetwork({ name: 'ov', driver: 'overlay' });
        await a.createNetwork({ name: 'int', internal: true, subnet: '10.86.0.0/24' });
        const sb = await a.createSandbox({ name: 'x', network: 'int' });
        await a.connect('ov', 'x');
        a.faults = failAt(step);
        await expect(a.disconnect('ov', 'x')).rejects.toThrow(`fault at ${step}`);
        a.faults = undefined;
        await a.disconnect('ov', 'x');
        // The last overlay endpoint took its docker_gwbridge one along.
        expect((await a.inspectSandbox('x')).endpoints.map((e) => e.network)).toEqual(['int']);
        expect(names(sb.netns)).toEqual(['eth0', 'lo']);
        expect(await netns.list()).not.toContain(overlayNs(0, net));
        expect(await a.store.get('networks/ov')).toBeUndefined();
        expect(await globalEndpoints(view, 'ov')).toEqual([]);
        expect((await globalNetwork(view, 'ov'))!.pool.allocated).toEqual([]);
        expect((await a.connect('ov', 'x')).ip).toBe('10.0.0.2');
      });
    }

    it('a removal retried after its cluster release does not free an address another sandbox has by then', async () => {
      const a = await open(0);
      await a.createNetwork({ name: 'ov', driver: 'overlay' });
      await a.createSandbox({ name: 'x', network: 'ov' }); // 10.0.0.2
      a.faults = failAt('release'); // after 'unglobal': etcd has 10.0.0.2 back
      await expect(a.removeSandbox('x')).rejects.toThrow('fault at release');
      a.faults = undefined;
      const y = await a.createSandbox({ name: 'y', network: 'ov' });
      expect(y.endpoints[0]!.ip).toBe('10.0.0.2');
      await a.removeSandbox('x'); // the retry
      expect((await globalNetwork(view, 'ov'))!.pool.allocated).toEqual(['10.0.0.2']);
      const z = await a.createSandbox({ name: 'z', network: 'ov' });
      expect(z.endpoints[0]!.ip).not.toBe('10.0.0.2');
    });
  });

  describe('etcd down', () => {
    type Op = 'createNetwork' | 'createSandbox' | 'connect' | 'disconnect' | 'removeSandbox';
    const ops: Record<Op, (e: Engine) => Promise<unknown>> = {
      createNetwork: (e) => e.createNetwork({ name: 'ov2', driver: 'overlay' }),
      createSandbox: (e) => e.createSandbox({ name: 'y', network: 'ov' }),
      connect: (e) => e.connect('ov', 'l1'),
      disconnect: (e) => e.disconnect('ov', 'keep'),
      removeSandbox: (e) => e.removeSandbox('keep'),
    };

    for (const [op, run] of Object.entries(ops) as [Op, (e: Engine) => Promise<unknown>][]) {
      it(`${op} fails with one EtcdError naming the endpoint and changes nothing; bridge networks keep working; after etcd is back it works`, async () => {
        const a = await open(0, { clusterTimeoutMs: 1000 });
        await a.createNetwork({ name: 'ov', driver: 'overlay' });
        await a.createSandbox({ name: 'keep', network: 'ov' });
        await a.createNetwork({ name: 'loc', subnet: '10.87.0.0/24' });
        await a.createSandbox({ name: 'l1', network: 'loc' });
        await etcd.stop();
        const before = await localPicture(a, 0);
        const t = Date.now();
        const err = await run(a).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(EtcdError);
        expect((err as EtcdError).code).toBe('unreachable');
        expect((err as Error).message).toBe(`etcd at ${etcd.endpoint}: unreachable after 1 s`);
        expect(Date.now() - t).toBeLessThan(5000);
        expect(await localPicture(a, 0)).toEqual(before);

        // What is local still works.
        await a.createNetwork({ name: 'loc2', subnet: '10.88.0.0/24' });
        const l2 = await a.createSandbox({ name: 'l2', network: 'loc2' });
        expect(ping(l2.netns, '10.88.0.1')).toBe(true);
        await a.removeSandbox('l2');
        await a.removeNetwork('loc2');
        await a.removeSandbox('l1');
        expect((await a.listNetworks({ scope: 'local' })).map((n) => n.name).sort()).toEqual([GWBRIDGE, 'loc']);

        await etcd.restart();
        await until('etcd to be used again', () => a.listNetworks().then(() => true, () => false));
        if (op === 'connect') await a.createSandbox({ name: 'l1', network: 'loc' });
        await run(a);
        if (op === 'createSandbox') expect((await a.inspectSandbox('y')).endpoints[0]!.ip).toBe('10.0.0.3');
        if (op === 'removeSandbox') expect(await globalEndpoints(view, 'ov')).toEqual([]);
      });
    }

    it('an engine that never reached etcd fails the same way, and its local networks work', async () => {
      await etcd.stop();
      const a = await open(0, { clusterTimeoutMs: 1000 });
      await expect(a.createNetwork({ name: 'ov', driver: 'overlay' })).rejects.toThrow(`etcd at ${etcd.endpoint}: unreachable after 1 s`);
      await expect(a.listNetworks()).rejects.toBeInstanceOf(EtcdError);
      await a.createNetwork({ name: 'loc', subnet: '10.87.0.0/24' });
      await a.createSandbox({ name: 'l1', network: 'loc' });
      expect((await a.listNetworks({ scope: 'local' })).map((n) => n.name)).toEqual(['loc']);
      await a.removeSandbox('l1');
    });

    it("the default 'bridge' network is made on first use with a cluster store too", async () => {
      const a = await open(0, { clusterTimeoutMs: 1000 });
      const d1 = await a.createSandbox({ name: 'd1' });
      expect(d1.endpoints[0]).toMatchObject({ network: 'bridge', ip: '172.17.0.2' });
      await etcd.stop();
      const d2 = await a.createSandbox({ name: 'd2', network: 'bridge' });
      expect(d2.endpoints[0]!.ip).toBe('172.17.0.3');
    });
  });

  describe("a host's namespace of the network", () => {
    it('is made again at once when the last endpoint left and a new one comes', async () => {
      const a = await open(0);
      const net = await a.createNetwork({ name: 'ov', driver: 'overlay' });
      for (let i = 0; i < 3; i++) {
        await a.createSandbox({ name: `s${i}`, network: 'ov' });
        expect(names(overlayNs(0, net))).toContain('vxlan0');
        // The last endpoint here: the namespace goes, and the next attach makes it again.
        await a.removeSandbox(`s${i}`);
        expect(await netns.list()).not.toContain(overlayNs(0, net));
      }
      const c = await a.createNetwork({ name: 'ov2', driver: 'overlay', options: { 'com.docker.network.driver.overlay.vxlanid_list': '256' } }).catch((e: unknown) => e);
      // 256 is ov's: refused even though no host has ov's vxlan0 right now.
      expect((c as Error).message).toMatch(/VXLAN id 256 is already in use/);
    });
  });

  describe('two hosts', () => {
    it("the second host's first attach programs the first host's endpoints; the first host's agent programs the second's; removal withdraws them", async () => {
      const a = await open(0);
      const b = await open(1);
      const net = await a.createNetwork({ name: 'ov', driver: 'overlay' });
      const a1 = await a.createSandbox({ name: 'a1', network: 'ov' });
      const [nsA, nsB] = [overlayNs(0, net), overlayNs(1, net)];
      expect(links(nsA).find((l) => l.ifname === 'vxlan0')).toMatchObject({ mtu: 1450, master: 'br0', linkinfo: { info_kind: 'vxlan', info_data: { id: 256, port: 4789, learning: false, proxy: true } } });

      // Host A is not registered yet: B's first attach finds no live peer.
      const b0 = await b.createSandbox({ name: 'b0', network: 'ov' });
      expect(fdbPeers(nsB)).toEqual([]);
      await b.removeSandbox('b0');
      expect(await netns.list()).not.toContain(nsB);

      const regA = await a.registerHost({ ttlSeconds: 5 });
      expect((await a.clusterHosts()).map((h) => h.address)).toEqual([UNDERLAY[0]]);
      const b1 = await b.createSandbox({ name: 'b1', network: 'ov' });
      const [ipA, macA] = [a1.endpoints[0]!.ip, a1.endpoints[0]!.mac];
      const [ipB, macB] = [b1.endpoints[0]!.ip, b1.endpoints[0]!.mac];
      expect([ipA, ipB]).toEqual(['10.0.0.2', b0.endpoints[0]!.ip]);
      expect(fdbPeers(nsB)).toEqual([{ mac: macA, dst: UNDERLAY[0] }]);
      expect(neighPeers(nsB)).toEqual([{ ip: ipA, mac: macA }]);
      expect(ipj<Neigh[]>(nsB, 'neigh', 'show', 'dev', 'vxlan0')[0]!.state).toContain('PERMANENT');
      expect(bridgej<Fdb[]>(nsB, 'fdb', 'show', 'dev', 'vxlan0').find((f) => f.mac === macA)!.state).toBe('permanent');
      // B's endpoint reaches nothing on A yet: A has not programmed it.
      expect(fdbPeers(nsA)).toEqual([]);

      await b.registerHost({ ttlSeconds: 5 });
      const agent = await a.serveOverlay({ upstream: [] });
      await until("A's agent to program b1", () => fdbPeers(nsA).length === 1);
      expect(fdbPeers(nsA)).toEqual([{ mac: macB, dst: UNDERLAY[1] }]);
      expect(neighPeers(nsA)).toEqual([{ ip: ipB, mac: macB }]);
      expect(agent.peers('ov')).toEqual([{ mac: macB, ip: ipB, vtep: UNDERLAY[1] }]);
      const fdb = bridgej<Fdb[]>(nsA, 'fdb', 'show', 'dev', 'vxlan0').find((f) => f.mac === macB)!;
      expect(fdb.state).toBe('permanent');

      // Real traffic over VXLAN, both ways.
      await until('a1 to reach b1 over VXLAN', () => ping(a1.netns, ipB), 10_000);
      expect(ping(b1.netns, ipA)).toBe(true);

      // A second endpoint on B is programmed on A as etcd reports it.
      const b2 = await b.createSandbox({ name: 'b2', network: 'ov' });
      await until("A's agent to program b2", () => fdbPeers(nsA).length === 2);
      expect(neighPeers(nsA).map((n) => n.ip).sort()).toEqual([ipB, b2.endpoints[0]!.ip].sort());

      await b.removeSandbox('b1');
      await until("A's agent to withdraw b1", () => !fdbPeers(nsA).some((f) => f.mac === macB));
      expect(neighPeers(nsA)).toEqual([{ ip: b2.endpoints[0]!.ip, mac: b2.endpoints[0]!.mac }]);
      await b.removeSandbox('b2');
      await until("A's agent to withdraw b2", () => fdbPeers(nsA).length === 0 && neighPeers(nsA).length === 0);
      expect(await netns.list()).not.toContain(nsB);
      await agent.close();
      await regA.close();
    });

    it("a host whose registration ends loses its endpoints' entries on the other host", async () => {
      const a = await open(0);
      const b = await open(1);
      const net = await a.createNetwork({ name: 'ov', driver: 'overlay' });
      await a.createSandbox({ name: 'a1', network: 'ov' });
      await a.registerHost({ ttlSeconds: 5 });
      const regB = await b.registerHost({ ttlSeconds: 5 });
      await b.createSandbox({ name: 'b1', network: 'ov' });
      const nsA = overlayNs(0, net);
      await a.serveOverlay({ upstream: [] });
      await until("A's agent to program b1", () => fdbPeers(nsA).length === 1);
      await regB.close();
      await until("A's agent to withdraw the gone host's b1", () => fdbPeers(nsA).length === 0 && neighPeers(nsA).length === 0);
      // Its endpoint is still the cluster's (the host may come back): only the entries went.
      expect((await globalEndpoints(view, 'ov')).map((e) => e.sandbox).sort()).toEqual(['a1', 'b1']);
    });
  });

  describe('reconcile', () => {
    it('an engine reopened after its overlay namespace was deleted by hand brings it back with br0, vxlan0 and the endpoint', async () => {
      let a = await open(0);
      const stateDir = a.store.dir;
      const net = await a.createNetwork({ name: 'ov', driver: 'overlay' });
      const sb = await a.createSandbox({ name: 's1', network: 'ov' });
      const ep = sb.endpoints[0]!;
      const ns = overlayNs(0, net);
      await a.close();
      engines.splice(engines.indexOf(a), 1);
      await netns.delete(ns);
      // The kernel destroys a deleted namespace (and the veth with its end in it) a moment later.
      await until('the veth to go with the namespace', () => !names(sb.netns).includes('eth0'));

      a = await open(0, { stateDir });
      expect(await netns.list()).toContain(ns);
      const l = links(ns);
      expect(l.map((x) => x.ifname).sort()).toEqual(['br0', 'lo', ep.peerIf!, 'vxlan0'].sort());
      expect(l.find((x) => x.ifname === 'vxlan0')).toMatchObject({ master: 'br0', mtu: 1450, linkinfo: { info_data: { id: 256 } } });
      expect(l.find((x) => x.ifname === ep.peerIf)).toMatchObject({ master: 'br0' });
      expect(l.find((x) => x.ifname === 'br0')!.flags).toContain('UP');
      expect(v4(ns, 'br0')).toEqual(['10.0.0.1/24']);
      const eth0 = links(sb.netns).find((x) => x.ifname === 'eth0')!;
      expect(eth0).toMatchObject({ address: ep.mac, mtu: 1450 });
      expect(v4(sb.netns, 'eth0')).toEqual([`${ep.ip}/24`]);
      expect(ping(sb.netns, '10.0.0.1')).toBe(true);
      // A second pass finds nothing to do.
      expect(await a.reconcile()).toEqual({ recreated: [], removed: [] });
    });

    it('a veth in the network namespace that no endpoint has goes; a copy of a network without endpoints here goes with its namespace', async () => {
      let a = await open(0);
      const stateDir = a.store.dir;
      const net = await a.createNetwork({ name: 'ov', driver: 'overlay' });
      const sb = await a.createSandbox({ name: 's1', network: 'ov' });
      await a.createNetwork({ name: 'ov2', driver: 'overlay' });
      const s2 = await a.createSandbox({ name: 's2', network: 'ov2' });
      const ns = overlayNs(0, net);
      const ns2 = overlayNs(0, await a.inspectNetwork('ov2').then((n) => ({ id: n.Id })));
      await a.close();
      engines.splice(engines.indexOf(a), 1);
      // What an attach killed before its commit leaves: a veth on br0 nobody records.
      nsExec(ns, 'ip', 'link', 'add', 'vethstray', 'master', 'br0', 'type', 'veth', 'peer', 'name', 'vethstray2');
      // And a sandbox gone from the store behind its copy of ov2 (its record edited away).
      const store = await FileStore.open({ dir: stateDir });
      await store.update((tx) => tx.delete(`sandboxes/${s2.name}`));
      await store.close();

      a = await open(0, { stateDir });
      expect(names(ns)).not.toContain('vethstray');
      expect(names(ns)).toContain(sb.endpoints[0]!.peerIf!);
      expect(await netns.list()).not.toContain(ns2);
      expect((await a.store.list('networks/')).map((e) => e.key)).not.toContain('networks/ov2');
      expect(await a.reconcile()).toEqual({ recreated: [], removed: [] });
    });
  });

  describe("the daemon's start", () => {
    it('gives back the addresses this host reserved in etcd and never recorded (an attach killed half-way)', async () => {
      const a = await open(0);
      await a.createNetwork({ name: 'ov', driver: 'overlay' });
      const kept = await a.createSandbox({ name: 'kept', network: 'ov' });
      // The reservation of an attach killed before its commit on this host.
      await view.update((tx) => reserveGlobalEndpoint(tx, 'ov', { sandbox: 'lost', sandboxId: 'f'.repeat(64), host: a.owner, vtep: UNDERLAY[0], aliases: [] }));
      // Another host's endpoint is not this host's to give back.
      await view.update((tx) => reserveGlobalEndpoint(tx, 'ov', { sandbox: 'theirs', sandboxId: 'e'.repeat(64), host: 'nlnet:0123456789abcdef', vtep: UNDERLAY[1], aliases: [] }));
      expect((await globalEndpoints(view, 'ov')).map((x) => x.sandbox).sort()).toEqual(['kept', 'lost', 'theirs']);
      const agent = await a.serveOverlay();
      expect((await globalEndpoints(view, 'ov')).map((x) => x.sandbox).sort()).toEqual(['kept', 'theirs']);
      // The address is free again: the next sandbox takes it.
      const next = await a.createSandbox({ name: 'next', network: 'ov' });
      expect(next.endpoints[0]!.ip).toBe('10.0.0.3');
      expect(kept.endpoints[0]!.ip).toBe('10.0.0.2');
      await agent.close();
    });
  });
});
