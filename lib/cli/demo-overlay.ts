// `nlnet demo`, part 8: an overlay network across two hosts, in throwaway namespaces only. An
// underlay namespace holds a bridge; two namespaces play the hosts, each with eth0 on it; a real
// etcd (the cluster store) runs for the demo, and one Engine per host registers it and serves its
// part of the overlay (peers from etcd watches, the network's DNS). A container on each host then
// finds the other by name through the overlay gateway's name server and talks to it over VXLAN.
//
// etcd is started through nlnet's own spawn (lib/netns/spawn.ts) in this process's namespace,
// listening on 127.0.0.1 only: the engines' etcd client connects from this process, and a
// listener on loopback changes nothing of the machine's network. It is stopped by its pid.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { netns } from '../netns/namespace.js';
import { spawnInNetns, SpawnError, type ExitStatus } from '../netns/spawn.js';
import { Engine } from '../network/engine.js';
import { removeSandboxEtc, sandboxEtcDirs } from '../network/etc.js';
import { sandboxNetnsName, type SandboxRecord } from '../network/model/sandbox.js';
import type { OverlayAgent } from '../network/overlay/agent.js';
import { overlayNetnsName, programmedPeers } from '../network/overlay/devices.js';
import { unmarkPrefixed } from '../network/owner.js';
import { withNetlink } from '../network/plumbing.js';
import { ask, resolveIn, serveHello } from './demo-traffic.js';

/** The underlay (TEST-NET-2, RFC 5737: never routed anywhere) and the hosts' addresses on it. */
const UNDERLAY = { prefixlen: 24, hosts: ['198.51.100.10', '198.51.100.11'] };
const NETWORK = 'demo-ov';
const PORT = 7000;
/** Short: a lease of a host that vanished must not outlive the demo by much. */
const HOST_TTL = 10;
/** How long the demo waits for an overlay daemon to catch up (it takes milliseconds). */
const CONVERGE_MS = 5000;

/** What the demo lends its parts: output, and the check that stops at the next step after a signal. */
export interface DemoUi {
  out(line?: string): void;
  ok(what: string, detail: string): void;
  /** Prints a section's title; throws if the demo was interrupted. */
  section(title: string): void;
  /** Throws if the demo was interrupted. */
  check(): void;
}

interface DemoHost {
  label: string;
  netns: string;
  address: string;
  stateDir?: string;
  engine?: Engine;
  agent?: OverlayAgent;
}

interface Etcd {
  pid: number;
  endpoint: string;
  exited: Promise<ExitStatus>;
  done: boolean;
}

const fail = (what: string, detail: string): never => {
  throw new Error(`${what}: ${detail}`);
};

export class OverlayDemo {
  readonly underlay: string;
  readonly hosts: DemoHost[];
  readonly #servers: Server[] = [];
  #etcd: Etcd | undefined;
  #etcdDir: string | undefined;

  constructor(tag: string) {
    this.underlay = `${tag}-ul`;
    this.hosts = UNDERLAY.hosts.map((address, i) => ({ label: `host-${i + 1}`, netns: `${tag}-h${i + 1}`, address }));
  }

  /** The namespace names this part makes, and the prefixes of those its engines make. */
  get namespaces(): { names: string[]; prefixes: string[] } {
    return { names: [this.underlay, ...this.hosts.map((h) => h.netns)], prefixes: this.hosts.map((h) => sandboxNetnsName(h.netns, '')) };
  }

  async run(ui: DemoUi, section: number): Promise<void> {
    const title = `${section}. An overlay network across two hosts: containers reach each other by name over VXLAN (etcd as the cluster store)`;
    ui.check();
    const etcd = await this.#startEtcd();
    if (etcd === undefined) {
      ui.out(`\n${section}. overlay across two hosts: skipped (etcd is not installed: apt-get install etcd-server)`);
      return;
    }
    ui.section(title);
    ui.ok('etcd', `pid ${etcd.pid}, listening on ${etcd.endpoint} (this process's loopback), data in ${this.#etcdDir}`);
    await this.#makeUnderlay();
    ui.check();
    for (const h of this.hosts) {
      h.stateDir = mkdtempSync(join(tmpdir(), 'nlnet-demo-'));
      h.engine = await Engine.open({ hostNetns: h.netns, stateDir: h.stateDir, store: `etcd://${etcd.endpoint}`, advertise: 'eth0', clusterTimeoutMs: 2000 });
      const reg = await h.engine.registerHost({ ttlSeconds: HOST_TTL });
      h.agent = await h.engine.serveOverlay();
      ui.ok(`${h.label} (namespace ${h.netns})`, `eth0 ${h.address}/${UNDERLAY.prefixlen} on the underlay bridge; registered as ${reg.id} under a ${HOST_TTL} s lease; serving its overlay part`);
      ui.check();
    }
    const [one, two] = this.hosts as [Required<DemoHost>, Required<DemoHost>];
    const net = await one.engine.createNetwork({ name: NETWORK, driver: 'overlay' });
    ui.ok(`${NETWORK} (made on ${one.label}, kept in etcd)`, `subnet ${net.subnet}, gateway ${net.gateway}, VNI ${net.vni}`);

    const times: string[] = [];
    /** When the last attach started, and how long it took. */
    let last = { start: 0, ms: 0 };
    const attach = async (h: Required<DemoHost>, name: string, what: string): Promise<SandboxRecord> => {
      ui.check();
      const start = performance.now();
      const sb = await h.engine.createSandbox({ name, network: NETWORK });
      last = { start, ms: performance.now() - start };
      times.push(`  ${last.ms.toFixed(2).padStart(7)} ms  ${name} on ${NETWORK}, ${h.label} (${what})`);
      return sb;
    };
    const alpha = await attach(one, 'alpha', "first use on this host: the network's namespace, br0, vxlan0, docker_gwbridge");
    const gamma = await attach(one, 'gamma', 'the network is there');
    const beta = await attach(two, 'beta', 'first use on this host: it programs alpha and gamma as peers itself');
    // host-1 learns beta from etcd: its endpoint document is written before beta's links are made.
    const betaAttach = last;
    const betaIp = beta.endpoints[0]!.ip;
    await this.#until(ui, () => one.agent.peers(NETWORK).some((p) => p.ip === betaIp), `${one.label}'s daemon never programmed beta`);
    const programmed = performance.now() - betaAttach.start;
    const kernelOf = async (h: DemoHost): Promise<string[]> => (await programmedPeers(overlayNetnsName(h.netns, net.id))).map((p) => `${p.ip} -> VTEP ${p.vtep}`).sort();
    if (!(await kernelOf(one)).includes(`${betaIp} -> VTEP ${two.address}`)) fail(`${one.label}'s vxlan0`, `no entry for beta ${betaIp}`);
    for (const [h, sb] of [[one, alpha], [one, gamma], [two, beta]] as const) {
      const mtu = await withNetlink(sb.netns, async (nl) => (await nl.link.list()).find((l) => l.name === 'eth0')?.mtu);
      ui.ok(`${sb.name} on ${h.label}`, `eth0 ${sb.endpoints[0]!.ip} (mtu ${mtu}, the underlay's 1500 - 50) on ${NETWORK}; eth1 ${sb.endpoints[1]?.ip} on docker_gwbridge (its default route)`);
    }
    ui.ok(`${one.label}'s vxlan0`, `beta ${betaIp} (${beta.endpoints[0]!.mac}) -> VTEP ${two.address}, from the etcd watch, ${programmed.toFixed(1)} ms after beta's attach began (it returned after ${betaAttach.ms.toFixed(1)} ms)`);
    // beta's attach programmed these itself, before host-2's daemon ran a pass.
    ui.ok(`${two.label}'s vxlan0`, `${(await kernelOf(two)).join(', ')} (static fdb + neighbour entries, learning off)`);

    for (const [client, server, port] of [[beta, alpha, PORT], [alpha, beta, PORT + 1]] as const) {
      this.#servers.push(await serveHello(server.netns, '0.0.0.0', port, server.name));
      const addr = await this.#resolve(ui, client.netns, net.gateway, server.name);
      if (addr !== server.endpoints[0]!.ip) fail(`${client.name} resolves ${server.name}`, `got ${addr}, expected ${server.endpoints[0]!.ip}`);
      const reply = (await ask(client.netns, addr, port)) ?? fail(`${client.name} -> ${server.name}:${port}`, 'no answer over VXLAN');
      ui.ok(`${client.name} resolves "${server.name}" at ${net.gateway}:53 -> ${addr}, connects over VXLAN`, reply);
    }
    const local = (await ask(gamma.netns, alpha.endpoints[0]!.ip, PORT)) ?? fail('gamma -> alpha', 'no answer');
    ui.ok('gamma -> alpha on the same host (through br0, no VXLAN)', local);

    const inspect = await one.engine.inspectNetwork(NETWORK);
    ui.ok(`docker network inspect ${NETWORK} on ${one.label}`, `Scope ${inspect.Scope}, Peers ${(inspect.Peers ?? []).map((p) => p.IP).sort().join(' and ')}, Containers here: ${Object.values(inspect.Containers).map((c) => c.Name).join(', ')}`);

    ui.check();
    const removing = performance.now();
    await two.engine.removeSandbox('beta');
    const removed = performance.now() - removing;
    await this.#until(ui, () => !one.agent.peers(NETWORK).some((p) => p.ip === betaIp), `${one.label}'s daemon kept beta's entries`);
    const after = await kernelOf(one);
    if (after.some((p) => p.startsWith(`${betaIp} `))) fail(`${one.label}'s vxlan0`, `still holds beta: ${after.join(', ')}`);
    ui.ok(`beta removed on ${two.label} (${removed.toFixed(1)} ms)`, `${one.label}'s vxlan0 withdrew its entries ${(performance.now() - removing).toFixed(1)} ms after the removal began: no stale entry points at the old host`);

    ui.out(`  time of each overlay attach (the reservation in etcd, then the links; eth0 on ${NETWORK} and eth1 on docker_gwbridge):`);
    for (const t of times) ui.out(t);
  }

  /** Removes what run() made, whatever it got to: containers and network first (etcd must still be up), then etcd, then the namespaces. */
  async cleanup(): Promise<void> {
    for (const s of this.#servers.splice(0)) s.close();
    const etcdUp = this.#etcd !== undefined && !this.#etcd.done;
    for (const h of this.hosts) {
      if (h.engine === undefined || !etcdUp) continue;
      for (const sb of (await h.engine.listSandboxes().catch(() => [])).filter((s) => s.ownsNetns)) await h.engine.removeSandbox(sb.name).catch(() => undefined);
    }
    if (etcdUp) await this.hosts[0]?.engine?.removeNetwork(NETWORK).catch(() => undefined);
    for (const h of this.hosts) await h.engine?.close().catch(() => undefined);
    await this.#stopEtcd();
    const { names, prefixes } = this.namespaces;
    for (const n of await netns.list().catch(() => [] as string[])) if (names.includes(n) || prefixes.some((p) => n.startsWith(p))) await netns.delete(n).catch(() => undefined);
    for (const p of prefixes) {
      for (const d of sandboxEtcDirs(p)) await removeSandboxEtc(d).catch(() => undefined);
      unmarkPrefixed(p);
    }
    for (const h of this.hosts) if (h.stateDir !== undefined) rmSync(h.stateDir, { recursive: true, force: true });
  }

  /** The underlay namespace with br0, and each host's namespace with eth0 (a veth whose other end is a port of br0). */
  async #makeUnderlay(): Promise<void> {
    await netns.create(this.underlay);
    for (const h of this.hosts) await netns.create(h.netns);
    await withNetlink(this.underlay, (nl) =>
      nl.batch((b) => {
        b.link.set('lo', { up: true });
        const br = b.link.add({ kind: 'bridge', name: 'br0' });
        b.link.set(br, { up: true });
        this.hosts.forEach((h, i) => {
          const port = b.link.add({ kind: 'veth', name: `h${i + 1}`, master: br, peer: { name: 'eth0', netns: h.netns } });
          b.link.set(port, { up: true });
        });
      }),
    );
    for (const h of this.hosts) {
      await withNetlink(h.netns, (nl) =>
        nl.batch((b) => {
          b.link.set('lo', { up: true });
          b.addr.add({ dev: 'eth0', address: `${h.address}/${UNDERLAY.prefixlen}` });
          b.link.set('eth0', { up: true });
        }),
      );
    }
  }

  /** One etcd member on free loopback ports, its data and log in a temp dir; undefined when no etcd is in PATH. */
  async #startEtcd(): Promise<Etcd | undefined> {
    const [client, peer] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'nlnet-demo-etcd-'));
    this.#etcdDir = dir;
    const endpoint = `127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    // Its own ETCD_* settings from the caller's environment would override these flags.
    const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('ETCD_')));
    const argv = ['etcd', '--name', 'nlnet-demo', '--data-dir', join(dir, 'data'), '--listen-client-urls', `http://${endpoint}`, '--advertise-client-urls', `http://${endpoint}`,
      '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `nlnet-demo=${peerUrl}`, '--logger', 'zap', '--log-level', 'warn', '--log-outputs', join(dir, 'etcd.log')];
    let started;
    try {
      // Its stdout and stderr go to a file too: its gRPC library writes warnings to stderr past
      // --log-outputs ("connection refused" while etcd dials itself before it listens).
      started = spawnInNetns({ argv, env, cwd: dir, output: join(dir, 'etcd.out') });
    } catch (e) {
      if (e instanceof SpawnError && e.code === 'ENOENT') {
        this.#dropEtcdDir();
        return undefined;
      }
      throw e;
    }
    const etcd: Etcd = { pid: started.pid, endpoint, exited: started.exited, done: false };
    this.#etcd = etcd;
    const ended = started.exited.then(
      (s) => {
        etcd.done = true;
        return Promise.reject(new Error(`etcd exited (${s.signal ?? s.code}) before it was healthy: ${lastLine(join(dir, 'etcd.log'))}`));
      },
      (e: unknown) => {
        etcd.done = true;
        return Promise.reject(e);
      },
    );
    ended.catch(() => undefined);
    await Promise.race([healthy(endpoint, 20_000), ended]);
    return etcd;
  }

  /** SIGTERM to the etcd this part started (its pid is ours until it is reaped), SIGKILL if it lingers. */
  async #stopEtcd(): Promise<void> {
    const etcd = this.#etcd;
    this.#etcd = undefined;
    if (etcd !== undefined && !etcd.done) {
      const exited = etcd.exited.catch(() => undefined);
      process.kill(etcd.pid, 'SIGTERM');
      const timer = setTimeout(() => !etcd.done && process.kill(etcd.pid, 'SIGKILL'), 3000);
      await exited;
      etcd.done = true;
      clearTimeout(timer);
    }
    this.#dropEtcdDir();
  }

  #dropEtcdDir(): void {
    if (this.#etcdDir !== undefined) rmSync(this.#etcdDir, { recursive: true, force: true });
    this.#etcdDir = undefined;
  }

  /** Waits until `done()` holds, checking for a signal; fails with `why` after CONVERGE_MS. */
  async #until(ui: DemoUi, done: () => boolean, why: string): Promise<void> {
    const deadline = performance.now() + CONVERGE_MS;
    while (!done()) {
      ui.check();
      if (performance.now() > deadline) fail(why, `not within ${CONVERGE_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** The first address answered for `name`; the network's name server may start a moment after its namespace. */
  async #resolve(ui: DemoUi, ns: string, server: string, name: string): Promise<string> {
    const deadline = performance.now() + CONVERGE_MS;
    for (;;) {
      ui.check();
      const [addr] = await resolveIn(ns, server, name, 300).catch(() => [] as string[]);
      if (addr !== undefined) return addr;
      if (performance.now() > deadline) fail(`resolving ${name} at ${server}:53`, 'no address');
    }
  }
}

/** A TCP port nothing listens on right now, on this process's loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls etcd's /health until a fresh member has elected itself leader. */
async function healthy(endpoint: string, ms: number): Promise<void> {
  const until = performance.now() + ms;
  for (;;) {
    try {
      const res = await fetch(`http://${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      if (((await res.json()) as { health?: string }).health === 'true') return;
    } catch {
      // Not listening yet.
    }
    if (performance.now() > until) throw new Error(`etcd at ${endpoint} not healthy after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function lastLine(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '';
  } catch {
    return 'no log';
  }
}
