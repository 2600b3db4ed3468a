// What the overlay tests across hosts share (test/integration/cli/overlay*.test.ts): the CLI run
// as each host would, its daemon, and the oracles read with tools nlnet did not write: `ip -j`
// and `bridge -j` inside the overlay network's namespace, `etcdctl` in the underlay, real TCP
// from node one-liners run inside the namespaces, `ping` and `dig` through `nlnet exec`.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { expect } from 'vitest';

import type { CliResult } from './cli.js';
import { UNDERLAY_GATEWAY, type TestCluster, type TestHost } from './hosts.js';
import { bridgej, ipj } from './ns.js';

/** The lease ttl the daemons run with (discovery.ttl), seconds. */
export const TTL = 2;

export interface ContainerInfo {
  ip: string;
  mac: string;
  /** Its namespace's name under /run/netns. */
  netns: string;
}

/** A container and its host's underlay address: what the other hosts' vxlan0 should hold for it. */
export type Placed = ContainerInfo & { vtep: string };

/** An FDB entry of vxlan0 to another host, and a neighbour entry on vxlan0, as iproute2 prints them. */
export interface FdbEntry {
  mac: string;
  dst?: string;
  flags?: string[];
  state?: string;
  master?: string;
}
export interface NeighEntry {
  dst: string;
  lladdr?: string;
  state?: string[];
}

/** Polls `check` (true: done) every 100 ms until `ms` have passed; then fails saying `what`, with the last `detail`. */
export async function waitFor(what: string, ms: number, check: () => boolean, detail: () => unknown = () => ''): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (check()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`${what}: not so after ${ms} ms; last seen: ${JSON.stringify(detail())}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resolves once a daemon printed that it is ready; rejects if it exits first. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('nlnet daemon: ready')) resolve();
    });
    child.on('exit', (code, sig) => reject(new Error(`daemon exited (${code ?? sig}) before it was ready: ${err}`)));
  });
}

/** Sends `sig` and waits for the process to exit. */
export async function stop(child: ChildProcess, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(sig);
  await exited;
}

/** A TCP server on `port` answering each connection with the client's address, then closing. */
const SERVER = (port: number): string =>
  `require('net').createServer((c)=>c.end(String(c.remoteAddress).replace(/^::ffff:/,'')+'\\n')).listen(${port},'0.0.0.0',()=>console.log('listening'))`;
/** Connects to `host:port`, prints what it is sent; exit 1 on an error, 2 after 2 s without an answer. */
const CLIENT = (host: string, port: number): string =>
  `const c=require('net').connect({host:'${host}',port:${port}});let d='';c.setTimeout(2000,()=>{console.error('timeout');process.exit(2)});c.on('data',(x)=>d+=x);c.on('end',()=>{process.stdout.write(d);process.exit(0)});c.on('error',(e)=>{console.error(e.code);process.exit(1)})`;

/** The CLI of a cluster's hosts, each advertising its eth0, and the oracles. */
export class Hosts {
  constructor(readonly cluster: TestCluster) {}

  get all(): TestHost[] {
    return this.cluster.hosts;
  }

  /** `nlnet --cluster-advertise eth0 ARGS…` on `host`, as it runs: output and status unchecked. */
  try(host: TestHost, ...args: string[]): CliResult {
    return this.cluster.nlnet(host, '--cluster-advertise', 'eth0', ...args);
  }

  /** The same, expected to succeed quietly; its stdout. */
  run(host: TestHost, ...args: string[]): string {
    const r = this.try(host, ...args);
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.status, args.join(' ')).toBe(0);
    return r.stdout;
  }

  /** The same, expected to fail with one line on stderr; that line. */
  fail(host: TestHost, ...args: string[]): string {
    const r = this.try(host, ...args);
    expect(r.status, `${args.join(' ')} should fail: ${r.stdout}`).toBe(1);
    expect(r.stderr.split('\n').filter((l) => l !== ''), args.join(' ')).toHaveLength(1);
    expect(r.stderr.endsWith('\n')).toBe(true);
    return r.stderr.trim();
  }

  /** `nlnet daemon` on `host` with the test's lease ttl, once it says it is ready. */
  async daemon(host: TestHost): Promise<ChildProcess> {
    const child = this.cluster.start(host, '--cluster-advertise', 'eth0', '--cluster-store-opt', `discovery.ttl=${TTL}`, 'daemon');
    child.stdout!.resume();
    await ready(child);
    return child;
  }

  /** `container create --name NAME --network NET EXTRA…` on `host`; its address, MAC and namespace on NET. */
  container(host: TestHost, name: string, network: string, ...extra: string[]): ContainerInfo {
    this.run(host, 'container', 'create', '--name', name, '--network', network, ...extra);
    return this.containerInfo(host, name, network);
  }

  /** The same, with the host's underlay address. */
  place(host: TestHost, name: string, network: string, ...extra: string[]): Placed {
    return { ...this.container(host, name, network, ...extra), vtep: host.address };
  }

  containerInfo(host: TestHost, name: string, network: string): ContainerInfo {
    const [c] = JSON.parse(this.run(host, 'container', 'inspect', name)) as [{ NetworkSettings: { SandboxKey: string; Networks: Record<string, { IPAddress: string; MacAddress: string }> } }];
    const on = c.NetworkSettings.Networks[network];
    expect(on, `${name} on ${network}`).toBeDefined();
    return { ip: on!.IPAddress, mac: on!.MacAddress, netns: c.NetworkSettings.SandboxKey.replace('/run/netns/', '') };
  }

  /** `network inspect NAME` on `host`. */
  inspect(host: TestHost, network: string): NetworkInspect {
    return (JSON.parse(this.run(host, 'network', 'inspect', network)) as NetworkInspect[])[0]!;
  }

  /** The namespace `host` keeps for overlay network `id` (Docker's `1-<10 hex>`, after the host's prefix). */
  overlayNetns(host: TestHost, id: string): string {
    return `${this.cluster.prefixOf(host)}@1-${id.slice(0, 10)}`;
  }

  /** `ip netns list`: the names only. */
  static netnsList(): string[] {
    return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n !== '');
  }

  /** The overlay namespaces of `host` that exist now. */
  overlayNamespaces(host: TestHost): string[] {
    const prefix = `${this.cluster.prefixOf(host)}@`;
    return Hosts.netnsList().filter((n) => n.startsWith(prefix));
  }

  /** vxlan0's FDB entries towards other hosts (`bridge -j fdb show dev vxlan0`, those with a dst). */
  static fdb(ns: string): FdbEntry[] {
    return bridgej<FdbEntry[]>(ns, 'fdb', 'show', 'dev', 'vxlan0').filter((e) => e.dst !== undefined);
  }

  /** vxlan0's IPv4 neighbour entries (`ip -j neigh show dev vxlan0`). */
  static neigh(ns: string): NeighEntry[] {
    return ipj<NeighEntry[]>(ns, '-4', 'neigh', 'show', 'dev', 'vxlan0');
  }

  /**
   * What vxlan0 of `ns` sends where, read from the kernel: `ip mac vtep` of each neighbour entry
   * joined with the FDB entry of its MAC, plus `? mac vtep` / `ip mac ?` for an entry missing its
   * other half. Sorted: compare with `expectedPeers`.
   */
  static peers(ns: string): string[] {
    const fdb = Hosts.fdb(ns);
    const neigh = Hosts.neigh(ns);
    const lines = neigh.map((n) => `${n.dst} ${n.lladdr ?? '?'} ${fdb.find((f) => f.mac === n.lladdr)?.dst ?? '?'}`);
    for (const f of fdb) if (!neigh.some((n) => n.lladdr === f.mac)) lines.push(`? ${f.mac} ${f.dst ?? '?'}`);
    return lines.sort();
  }

  /** `ip mac vtep` of each given endpoint, sorted. */
  static expectedPeers(eps: readonly { ip: string; mac: string; vtep: string }[]): string[] {
    return eps.map((e) => `${e.ip} ${e.mac} ${e.vtep}`).sort();
  }

  /** Waits until vxlan0 of network `id` on `host` holds exactly the endpoints of `all` that are on other hosts. */
  programmed(host: TestHost, id: string, all: readonly Placed[], ms = 10_000): Promise<number> {
    const ns = this.overlayNetns(host, id);
    const want = Hosts.expectedPeers(all.filter((c) => c.vtep !== host.address));
    return waitFor(`vxlan0 on ${host.address} holds the other hosts' endpoints`, ms, () => JSON.stringify(Hosts.peers(ns)) === JSON.stringify(want), () => ({ want, have: Hosts.peers(ns) }));
  }

  /** `nlnet exec NAME -- CMD…` on `host`. */
  exec(host: TestHost, name: string, ...cmd: string[]): CliResult {
    return this.try(host, 'exec', name, '--', ...cmd);
  }

  /** Whether one ping from container `name` on `host` to `target` is answered. */
  ping(host: TestHost, name: string, target: string): boolean {
    return this.exec(host, name, 'ping', '-c1', '-W1', target).status === 0;
  }

  /** `dig +short @SERVER NAME` from container `name` on `host`: the addresses it answers. */
  dig(host: TestHost, name: string, server: string, query: string): string[] {
    const r = this.exec(host, name, 'dig', '+short', '+time=1', '+tries=2', `@${server}`, query);
    return r.stdout.split('\n').filter((l) => l !== '').sort();
  }

  /** A TCP server (SERVER) inside namespace `ns`, stopped by cluster.remove(); resolves once it listens. */
  serve(ns: string, port: number): Promise<ChildProcess> {
    const child = this.cluster.spawnIn(ns, process.execPath, '-e', SERVER(port));
    return new Promise((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve(child));
      child.on('exit', (code) => reject(new Error(`TCP server in ${ns} exited (${code})`)));
    });
  }

  /** A TCP connection from container `name` on `host` (through nlnet exec): what the server said, or undefined. */
  tcpFrom(host: TestHost, name: string, target: string, port: number): string | undefined {
    const r = this.exec(host, name, process.execPath, '-e', CLIENT(target, port));
    return r.status === 0 ? r.stdout.trim() : undefined;
  }

  /** The same from namespace `ns` itself (the underlay, a host). */
  static tcpIn(ns: string, target: string, port: number): string | undefined {
    const r = spawnSync('nsenter', [`--net=/run/netns/${ns}`, process.execPath, '-e', CLIENT(target, port)], { encoding: 'utf8', timeout: 20_000 });
    return r.status === 0 ? r.stdout.trim() : undefined;
  }

  /** The keys under `/nlnet/v1/PREFIX` in etcd (`etcdctl get --prefix --keys-only`, from the underlay). */
  etcdKeys(prefix: string): string[] {
    const r = spawnSync('nsenter', [`--net=/run/netns/${this.cluster.underlay}`, 'etcdctl', `--endpoints=http://${UNDERLAY_GATEWAY}:2379`, 'get', '--prefix', '--keys-only', `/nlnet/v1/${prefix}`], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.split('\n').filter((l) => l !== '');
  }

  /** The value of one key under `/nlnet/v1/` (etcdctl), parsed; undefined if absent. */
  etcdGet<T>(key: string): T | undefined {
    const r = spawnSync('nsenter', [`--net=/run/netns/${this.cluster.underlay}`, 'etcdctl', `--endpoints=http://${UNDERLAY_GATEWAY}:2379`, 'get', '--print-value-only', `/nlnet/v1/${key}`], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as T);
  }
}

/** The parts of `network inspect` these tests read. */
export interface NetworkInspect {
  Name: string;
  Id: string;
  Scope: string;
  Driver: string;
  Internal: boolean;
  IPAM: { Config: { Subnet: string; Gateway: string }[] };
  Options: Record<string, string>;
  Containers: Record<string, { Name: string; IPv4Address: string; MacAddress: string }>;
  Peers?: { Name: string; IP: string }[];
}

/** Whether IPv4 address `ip` is inside `cidr`. */
export function inSubnet(ip: string, cidr: string): boolean {
  const [net, len] = cidr.split('/') as [string, string];
  const n = (a: string): number => a.split('.').reduce((acc, b) => acc * 256 + Number(b), 0);
  const block = 2 ** (32 - Number(len));
  return Math.floor(n(ip) / block) === Math.floor(n(net) / block);
}

/** Docker's MAC for an address: 02:42 and the four bytes of the IPv4 address. */
export const dockerMac = (ip: string): string => `02:42:${ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0')).join(':')}`;
