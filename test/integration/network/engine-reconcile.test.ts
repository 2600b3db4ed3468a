// lib/network/reconcile.ts: the kernel changed behind the engine's back (links, bridges, map
// elements, namespaces deleted or added), and a process killed half-way through an attach; then
// reconcile() (and Engine.open) brings the kernel back to the store. Oracles: `ip -j`, `nft -j`,
// `ip netns`, ping, and the store itself.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { netns } from '../../../lib/index.js';
import { Engine } from '../../../lib/network/engine.js';
import { markNetns, netnsOwner } from '../../../lib/network/owner.js';
import { sandboxNetnsName } from '../../../lib/network/model/sandbox.js';
import { nft, nftj } from '../../helpers/nft.js';
import { removeEngineLeftovers } from '../../helpers/engine.js';
import { bridgej, ipj, ipRun, isRoot, nsExec, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

interface IpLink {
  ifindex: number;
  ifname: string;
  master?: string;
  address: string;
  flags: string[];
}
interface IpAddr {
  addr_info: { family: string; local: string; prefixlen: number }[];
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CHILD = join(root, 'test', 'helpers', 'engine-child.mjs');
const DIST_ENGINE = join(root, 'dist', 'network', 'engine.js');

const links = (ns: string): IpLink[] => ipj<IpLink[]>(ns, 'link', 'show');
const v4 = (ns: string, dev: string): string[] =>
  ipj<IpAddr[]>(ns, 'addr', 'show', 'dev', dev).flatMap((a) => a.addr_info.filter((i) => i.family === 'inet').map((i) => `${i.local}/${i.prefixlen}`));
const ping = (ns: string, addr: string): boolean => nsExec(ns, 'ping', '-c1', '-W2', addr).status === 0;
const bridgeLinks = (ns: string, dev: string): unknown => bridgej(ns, '-d', 'link', 'show', 'dev', dev);

describe.skipIf(!isRoot)(`engine reconcile (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(1, 'nlrec');
  let engine: Engine;
  let stateDir: string;
  let host: string;

  beforeEach(async () => {
    host = spaces[0]!.name;
    stateDir = await mkdtemp(join(tmpdir(), 'nlnet-engine-reconcile-'));
    engine = await Engine.open({ hostNetns: host, stateDir });
  });

  afterEach(async () => {
    await removeEngineLeftovers(host);
    await engine.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  const published = (): string[] => {
    const tables = nftj(host, 'list', 'tables').tables ?? [];
    if (!tables.some((t) => t.name === 'nlnet')) return [];
    const sets = nftj(host, 'list', 'table', 'ip', 'nlnet').sets.filter((s) => s.name === 'ports_any' || s.name === 'ports_addr');
    return sets.flatMap((s) => (s.elem ?? []).map((e) => JSON.stringify(e)));
  };
  const bridgesSet = (): string[] => (nftj(host, 'list', 'set', 'ip', 'nlnet', 'bridges').sets[0]?.elem ?? []).map(String);

  it('a consistent state: nothing to do', async () => {
    await engine.createNetwork({ name: 'n0' });
    await engine.createSandbox({ name: 's0', network: 'n0', publish: ['18080:80'] });
    expect(await engine.reconcile()).toEqual({ recreated: [], removed: [] });
  });

  it("recreates a sandbox's deleted host veth: same names, MAC, address, route; it pings the gateway again", async () => {
    const net = await engine.createNetwork({ name: 'n1' });
    const sb = await engine.createSandbox({ name: 's1', network: 'n1' });
    const ep = sb.endpoints[0]!;
    expect(ping(sb.netns, net.gateway)).toBe(true);
    ipRun(host, 'link', 'del', ep.hostIf);
    expect(ping(sb.netns, net.gateway)).toBe(false);

    const report = await engine.reconcile();
    expect(report.removed).toEqual([]);
    expect(report.recreated).toEqual([expect.stringContaining(ep.hostIf)]);
    expect(links(host).find((l) => l.ifname === ep.hostIf)?.master).toBe(net.bridge);
    const eth = links(sb.netns).find((l) => l.ifname === ep.ifname)!;
    expect(eth.address).toBe(ep.mac);
    expect(v4(sb.netns, ep.ifname)).toEqual([`${ep.ip}/${net.subnet.split('/')[1]}`]);
    expect(ipj<{ dst: string; gateway?: string }[]>(sb.netns, 'route', 'show', 'default')[0]?.gateway).toBe(net.gateway);
    expect(ping(sb.netns, net.gateway)).toBe(true);
    expect(await engine.reconcile()).toEqual({ recreated: [], removed: [] });
  });

  it("recreates a deleted bridge with its gateway, firewall and every endpoint re-plugged", async () => {
    const net = await engine.createNetwork({ name: 'n2' });
    const a = await engine.createSandbox({ name: 'a', network: 'n2' });
    const b = await engine.createSandbox({ name: 'b', network: 'n2' });
    ipRun(host, 'link', 'del', net.bridge);
    await firewallRemoveNetwork(engine, net.bridge);
    expect(bridgesSet()).not.toContain(net.bridge);

    const report = await engine.reconcile();
    expect(report.recreated).toEqual(expect.arrayContaining([expect.stringContaining(`bridge ${net.bridge}`), expect.stringContaining('firewall of network n2')]));
    expect(report.removed).toEqual([]);
    expect(v4(host, net.bridge)).toEqual([`${net.gateway}/${net.subnet.split('/')[1]}`]);
    expect(bridgesSet()).toContain(net.bridge);
    for (const sb of [a, b]) expect(links(host).find((l) => l.ifname === sb.endpoints[0]!.hostIf)?.master).toBe(net.bridge);
    expect(ping(a.netns, net.gateway)).toBe(true);
    expect(ping(a.netns, b.endpoints[0]!.ip)).toBe(true);
    expect(await engine.reconcile()).toEqual({ recreated: [], removed: [] });
  });

  it('recreates a deleted sandbox namespace and a withdrawn published port', async () => {
    const net = await engine.createNetwork({ name: 'n3' });
    const sb = await engine.createSandbox({ name: 's3', network: 'n3', publish: ['18081:80'] });
    const before = published();
    expect(before).toHaveLength(1);
    await netns.delete(sb.netns);
    nft(host, 'flush', 'map', 'ip', 'nlnet', 'ports_any');
    expect(published()).toEqual([]);

    const report = await engine.reconcile();
    expect(report.recreated).toEqual(expect.arrayContaining([expect.stringContaining(`netns ${sb.netns}`), expect.stringContaining('endpoint s3 on n3'), expect.stringContaining(':18081/tcp')]));
    expect(published()).toEqual(before);
    expect(links(sb.netns).find((l) => l.ifname === 'eth0')?.address).toBe(sb.endpoints[0]!.mac);
    expect(ping(sb.netns, net.gateway)).toBe(true);
    expect(await engine.reconcile()).toEqual({ recreated: [], removed: [] });
  });

  it('removes what this store made and no longer knows: a veth on nlnet0, a br- bridge, a map element, a namespace', async () => {
    const sb = await engine.createSandbox({ name: 'd1', network: 'bridge' });
    // What a crash between the kernel's work and the store's write leaves: objects carrying this
    // store's owner id (alias, namespace marker) or pointing into its network, with no record.
    const stray = `veth${Math.floor(Math.random() * 0x10000000).toString(16).padStart(7, '0')}`;
    ipRun(host, 'link', 'add', stray, 'master', 'nlnet0', 'type', 'veth', 'peer', 'name', 'strayp');
    ipRun(host, 'link', 'set', stray, 'alias', engine.owner);
    // Killed inside the batch that makes a veth: born on this store's bridge, no alias yet.
    const unmarked = 'veth0f0f0f1';
    ipRun(host, 'link', 'add', unmarked, 'master', 'nlnet0', 'type', 'veth', 'peer', 'name', 'strayq');
    // Not nlnet's: a veth named like ours on no bridge, and a bridge not named br-<12 hex>.
    ipRun(host, 'link', 'add', 'vethabcdef0', 'type', 'veth', 'peer', 'name', 'otherp');
    ipRun(host, 'link', 'add', 'br-mine', 'type', 'bridge');
    const strayBridge = 'br-0123456789ab';
    ipRun(host, 'link', 'add', strayBridge, 'type', 'bridge');
    ipRun(host, 'link', 'set', strayBridge, 'alias', engine.owner);
    nft(host, 'add', 'element', 'ip', 'nlnet', 'ports_any', '{ tcp . 15555 : 172.17.0.250 . 80 }');
    const strayNs = sandboxNetnsName(host, 'ghost');
    markNetns(strayNs, engine.owner);
    await netns.create(strayNs);

    const report = await engine.reconcile();
    expect(report.recreated).toEqual([]);
    expect(report.removed).toHaveLength(5);
    expect(report.removed).toEqual(expect.arrayContaining([`bridge ${strayBridge}`, `netns ${strayNs}`, `veth ${stray}`, `veth ${unmarked}`, expect.stringContaining(':15555/tcp')]));
    const names = links(host).map((l) => l.ifname);
    expect(names).not.toContain(stray);
    expect(names).not.toContain('strayp');
    expect(names).not.toContain(unmarked);
    expect(names).not.toContain(strayBridge);
    expect(names).toEqual(expect.arrayContaining(['vethabcdef0', 'br-mine', sb.endpoints[0]!.hostIf]));
    expect(published()).toEqual([]);
    expect(await netns.list()).not.toContain(strayNs);
    expect(netnsOwner(strayNs)).toBeUndefined();
    expect(await engine.reconcile()).toEqual({ recreated: [], removed: [] });
  });

  it('a bridge and a veth left inside the batches that make them (down, unmarked, no gateway address) are finished', async () => {
    const net = await engine.createNetwork({ name: 'hb', options: { 'com.docker.network.bridge.enable_icc': 'false' } });
    const sb = await engine.createSandbox({ name: 'h1', network: 'hb' });
    const hostIf = sb.endpoints[0]!.hostIf;
    // What a kill after each batch's first message leaves.
    ipRun(host, 'link', 'set', hostIf, 'down');
    ipRun(host, 'link', 'set', 'dev', hostIf, 'alias', '');
    ipRun(host, 'link', 'set', 'dev', hostIf, 'type', 'bridge_slave', 'isolated', 'off');
    ipRun(host, 'link', 'set', net.bridge, 'down');
    ipRun(host, 'link', 'set', 'dev', net.bridge, 'alias', '');
    ipRun(host, 'addr', 'flush', 'dev', net.bridge);
    expect(ping(sb.netns, net.gateway)).toBe(false);
    const report = await engine.reconcile();
    expect(report.recreated).toEqual(expect.arrayContaining([`bridge ${net.bridge} of network hb (left half-made)`, `veth ${hostIf} left down`]));
    const l = links(host);
    for (const name of [net.bridge, hostIf]) expect(l.find((x) => x.ifname === name)?.flags, name).toContain('UP');
    expect(v4(host, net.bridge)).toEqual([`${net.gateway}/${net.subnet.split('/')[1]}`]);
    expect(JSON.stringify(bridgeLinks(host, hostIf))).toContain('"isolated":true');
    // The gateway's neighbour entry failed while the links were down: until the kernel probes
    // again, pings may be refused from it (a second or more under load), so any reply within
    // four tries a second apart counts.
    let replied = false;
    for (let i = 0; i < 4 && !replied; i++) {
      replied = nsExec(sb.netns, 'ping', '-c1', '-W1', net.gateway).status === 0;
      if (!replied) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(replied).toBe(true);
    expect(await engine.reconcile()).toEqual({ recreated: [], removed: [] });
  });

  it('a namespace delete cut short between its umount and its unlink: the file goes, and a known sandbox gets its namespace again', async () => {
    const sb = await engine.createSandbox({ name: 'u1', network: 'bridge' });
    const gone = sandboxNetnsName(host, 'u2');
    markNetns(gone, engine.owner);
    await netns.create(gone);
    for (const ns of [sb.netns, gone]) expect(spawnSync('umount', [`/run/netns/${ns}`]).status).toBe(0);
    expect(existsSync(`/run/netns/${sb.netns}`)).toBe(true);
    const report = await engine.reconcile();
    expect(report.removed).toEqual([`netns ${gone}`]);
    expect(report.recreated).toEqual(expect.arrayContaining([`netns ${sb.netns} of sandbox u1`]));
    expect(existsSync(`/run/netns/${gone}`)).toBe(false);
    expect(netns.mounted(sb.netns)).toBe(true);
    expect(ping(sb.netns, '172.17.0.1')).toBe(true);
  });

  it('leaves what it cannot prove it made: look-alike names, objects of another store, elements outside its networks', async () => {
    const sb = await engine.createSandbox({ name: 'k1', network: 'bridge', publish: ['18181:80'] });
    const other = 'nlnet:00112233445566ff';
    // Named as nlnet names them, without this store's owner id: on a look-alike bridge, and on
    // nlnet0 but marked by another store.
    ipRun(host, 'link', 'add', 'br-00000000000a', 'type', 'bridge');
    const noAlias = 'veth0a0b0c1';
    ipRun(host, 'link', 'add', noAlias, 'master', 'br-00000000000a', 'type', 'veth', 'peer', 'name', 'keepp1');
    const otherVeth = 'veth0a0b0c2';
    ipRun(host, 'link', 'add', otherVeth, 'master', 'nlnet0', 'type', 'veth', 'peer', 'name', 'keepp2');
    ipRun(host, 'link', 'set', otherVeth, 'alias', other);
    ipRun(host, 'link', 'add', 'br-00000000000b', 'type', 'bridge');
    ipRun(host, 'link', 'set', 'br-00000000000b', 'alias', other);
    // A namespace of this host's pattern without a marker, and one marked by another store.
    const bare = sandboxNetnsName(host, 'bare');
    const theirs = sandboxNetnsName(host, 'theirs');
    await netns.create(bare);
    markNetns(theirs, other);
    await netns.create(theirs);
    // A map element into an address none of this store's networks has.
    nft(host, 'add', 'element', 'ip', 'nlnet', 'ports_any', '{ tcp . 15556 : 10.250.0.9 . 80 }');
    const before = { links: links(host).map((l) => l.ifname).sort(), published: published().sort() };

    expect(await engine.reconcile()).toEqual({ recreated: [], removed: [] });
    expect({ links: links(host).map((l) => l.ifname).sort(), published: published().sort() }).toEqual(before);
    expect(await netns.list()).toEqual(expect.arrayContaining([bare, theirs, sb.netns]));
    expect(netnsOwner(theirs)).toBe(other);
    for (const l of [noAlias, otherVeth, 'br-00000000000a', 'br-00000000000b']) ipRun(host, 'link', 'del', l);
  });

  it.skipIf(!existsSync(DIST_ENGINE))('three processes attaching to the not-yet-made default network at once: one nlnet0, all attached', async () => {
    await engine.close();
    const run = (name: string) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [CHILD, DIST_ENGINE, host, stateDir, 'no-pause', name, 'bridge'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => (code === 0 && out.includes('finished') ? resolve(out) : reject(new Error(`child ${name} exited ${code}: ${out}`))));
      });
    await Promise.all(['p1', 'p2', 'p3'].map(run));
    engine = await Engine.open({ hostNetns: host, stateDir });
    expect(links(host).filter((l) => l.ifname === 'nlnet0')).toHaveLength(1);
    const sbs = await engine.listSandboxes();
    expect(new Set(sbs.map((s) => s.endpoints[0]!.ip)).size).toBe(3);
    expect(ping(sbs[0]!.netns, sbs[2]!.endpoints[0]!.ip)).toBe(true);
    expect((await engine.listNetworks())[0]).not.toHaveProperty('creating');
  }, 30_000);

  it('a network left half-made by a dead process: attaches are refused until Engine.open repairs it', async () => {
    await engine.createSandbox({ name: 'first' });
    await engine.removeSandbox('first');
    const rec = (await engine.store.get('networks/bridge')) as unknown as Record<string, unknown>;
    const dead = { pid: 0x7ffffff0, boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() };
    await engine.store.update((tx) => tx.put('networks/bridge', { ...(rec as object), creating: dead } as never));
    ipRun(host, 'link', 'del', 'nlnet0');
    await engine.close();
    // Before the repair, an attach is refused at its reservation (seen through the store itself).
    const { reserveEndpoint } = await import('../../../lib/network/model/records.js');
    const sb = { name: 'x', id: '', created: '', mode: 'bridge', netns: '', ownsNetns: true, endpoints: [] };
    await expect(engine.store.update((tx) => reserveEndpoint(tx, sb, 'bridge', { aliases: [] }))).rejects.toThrow('network bridge is still being created');
    engine = await Engine.open({ hostNetns: host, stateDir });
    expect(await engine.store.get('networks/bridge')).not.toHaveProperty('creating');
    const a = await engine.createSandbox({ name: 'a' });
    expect(links(host).find((l) => l.ifname === 'nlnet0')).toBeDefined();
    expect(ping(a.netns, '172.17.0.1')).toBe(true);
  });

  it.skipIf(!existsSync(DIST_ENGINE)).each(['netns', 'veth', 'sandbox', 'publish'] as const)('a process killed with SIGKILL before the %s step of an attach: Engine.open leaves the sandbox whole, and it can be removed and made again', async (step) => {
    await engine.createNetwork({ name: 'nk' });
    await engine.close();
    const child = spawn(process.execPath, [CHILD, DIST_ENGINE, host, stateDir, step, 'k1', 'nk', '18090:80'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('paused')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited ${code} before pausing: ${stderr}`)));
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    // Killed half-way: the record exists, the kernel has only part of the sandbox.
    const ns = sandboxNetnsName(host, 'k1');
    expect(await netns.list()).toEqual(step === 'netns' ? expect.not.arrayContaining([ns]) : expect.arrayContaining([ns]));
    // The port is published alongside the links (veth, sandbox): only before them is it surely absent.
    if (step === 'netns' || step === 'publish') expect(published()).toEqual([]);

    engine = await Engine.open({ hostNetns: host, stateDir });
    const sb = await engine.inspectSandbox('k1');
    const ep = sb.endpoints[0]!;
    const net = (await engine.listNetworks()).find((n) => n.name === 'nk')!;
    // Whole: record, namespace, host veth on the bridge, the address and route inside, the port.
    expect(links(host).find((l) => l.ifname === ep.hostIf)?.master).toBe(net.bridge);
    expect(v4(ns, 'eth0')).toEqual([`${ep.ip}/${net.subnet.split('/')[1]}`]);
    expect(ping(ns, net.gateway)).toBe(true);
    expect(published()).toHaveLength(1);
    expect(await engine.reconcile()).toEqual({ recreated: [], removed: [] });

    // The same name again, after a removal: nothing of the old one is in the way.
    await engine.removeSandbox('k1');
    expect(await netns.list()).not.toContain(ns);
    expect(links(host).filter((l) => l.ifname.startsWith('veth'))).toEqual([]);
    expect(published()).toEqual([]);
    const again = await engine.createSandbox({ name: 'k1', network: 'nk', publish: ['18090:80'] });
    expect(ping(again.netns, net.gateway)).toBe(true);
  }, 30_000);
});

async function firewallRemoveNetwork(engine: Engine, bridge: string): Promise<void> {
  const firewall = await import('../../../lib/network/drivers/bridge/firewall.js');
  await firewall.removeNetwork(engine.nl, bridge);
}
