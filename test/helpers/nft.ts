// Oracles and fixtures for the nft*.test.ts files: `nft` itself run inside a test namespace (its
// JSON and its text), scripts applied with `nft -f`, a few hand-built expressions, and a routed
// three-namespace topology with TCP and ping probes for the traffic tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

import type { Expr, NftFamily, Verdict } from '../../lib/index.js';
import { nsExec, type TestNs } from './ns.js';

// ---- nft as the oracle ----------------------------------------------------------------------

/** `nft ARGS…` inside NS; its stdout. Throws with nft's stderr. */
export function nft(ns: string, ...args: string[]): string {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', ...args], { encoding: 'utf8', maxBuffer: 1 << 30, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`nft ${args.join(' ')} in ${ns}: ${r.stderr.trim() || r.error?.message}`);
  return r.stdout;
}

/** `nft -f FILE` inside NS, FILE holding `script`: how the tests make what nlnet must read. */
export function nftApply(ns: string, script: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'nlnet-nft-'));
  try {
    const file = join(dir, 'ruleset.nft');
    writeFileSync(file, script);
    nft(ns, '-f', file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface JTable { family: string; name: string; handle: number; flags?: string | string[] }
export interface JChain { family: string; table: string; name: string; handle: number; type?: string; hook?: string; prio?: number; policy?: string }
export interface JRule { family: string; table: string; chain: string; handle: number; comment?: string; expr: unknown[] }
export interface JSet {
  family: string;
  table: string;
  name: string;
  handle: number;
  type: string | string[];
  map?: string | string[];
  flags?: string[];
  timeout?: number;
  size?: number;
  comment?: string;
  elem?: unknown[];
}
export interface NftJson {
  tables: JTable[];
  chains: JChain[];
  rules: JRule[];
  /** Sets and maps, maps with `map` set. */
  sets: JSet[];
}

/** `nft -j list ruleset` inside NS (or `nft -j ARGS…`), its objects grouped by kind. */
export function nftj(ns: string, ...args: string[]): NftJson {
  const out = nft(ns, '-j', ...(args.length ? args : ['list', 'ruleset']));
  const list = (JSON.parse(out) as { nftables: Record<string, unknown>[] }).nftables;
  const of = <T>(kind: string): T[] => list.filter((o) => kind in o).map((o) => o[kind] as T);
  return { tables: of('table'), chains: of('chain'), rules: of('rule'), sets: [...of<JSet>('set'), ...of<JSet>('map')] };
}

/** The text `nft list chain` prints for each rule of a chain, in order, without handles. */
export function ruleTexts(ns: string, family: NftFamily, table: string, chain: string): string[] {
  return rulesWithHandles(ns, family, table, chain).map((r) => r.text);
}

/** Each rule of a chain as `nft -a list chain` prints it: its text and its handle. */
export function rulesWithHandles(ns: string, family: NftFamily, table: string, chain: string): { text: string; handle: number }[] {
  const lines = nft(ns, '-a', 'list', 'chain', family, table, chain).split('\n');
  const out: { text: string; handle: number }[] = [];
  for (const line of lines.map((l) => l.trim())) {
    // The chain's own line and its hook line carry no rule; rule lines end with their handle.
    if (line.startsWith('table ') || line.startsWith('chain ') || line.startsWith('type ')) continue;
    const m = /^(.*\S) # handle (\d+)$/.exec(line);
    if (m) out.push({ text: m[1]!, handle: Number(m[2]) });
  }
  return out;
}

// ---- hand-built expressions -----------------------------------------------------------------
// What `nft` itself sends for the common matches, so the codec is tested apart from the builder.

const be16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const REG = 1;

export const x = {
  verdict: (verdict: Verdict): Expr => ({ type: 'immediate', dreg: 0, data: { verdict } }),
  accept: (): Expr => x.verdict({ code: 'accept' }),
  drop: (): Expr => x.verdict({ code: 'drop' }),
  jump: (chain: string): Expr => x.verdict({ code: 'jump', chain }),
  counter: (): Expr => ({ type: 'counter' }),
  /** `meta l4proto P` */
  l4proto: (proto: number): Expr[] => [
    { type: 'meta', key: 'l4proto', dreg: REG },
    { type: 'cmp', sreg: REG, op: 'eq', data: { value: Buffer.from([proto]) } },
  ],
  /** `tcp dport P` (`udp dport P` with proto 17) */
  dport: (port: number, proto = 6): Expr[] => [
    ...x.l4proto(proto),
    { type: 'payload', base: 'transport', offset: 2, len: 2, dreg: REG },
    { type: 'cmp', sreg: REG, op: 'eq', data: { value: be16(port) } },
  ],
  /** `ip saddr A` in an ip table (an inet table also needs `meta nfproto ipv4` first). */
  ipSaddr: (addr: string, op: 'eq' | 'neq' = 'eq'): Expr[] => [
    { type: 'payload', base: 'network', offset: 12, len: 4, dreg: REG },
    { type: 'cmp', sreg: REG, op, data: { value: Buffer.from(addr.split('.').map(Number)) } },
  ],
  /** `iifname "NAME"` */
  iifname: (name: string): Expr[] => {
    const value = Buffer.alloc(16);
    value.write(name);
    return [{ type: 'meta', key: 'iifname', dreg: REG }, { type: 'cmp', sreg: REG, op: 'eq', data: { value } }];
  },
};

// ---- a routed topology and probes -----------------------------------------------------------

/** client (10.1.0.2) ─ c0│r0 (10.1.0.1) router (10.2.0.1) r1│s0 ─ (10.2.0.2) server */
export const NET = { client: '10.1.0.2', routerIn: '10.1.0.1', routerOut: '10.2.0.1', server: '10.2.0.2' } as const;

/** Wires three namespaces as in NET, the router forwarding; every host routes by default via the router. */
export async function routeThrough(client: TestNs, router: TestNs, server: TestNs): Promise<void> {
  await router.nl.link.add({ name: 'r0', kind: 'veth', up: true, peer: { name: 'c0', netns: client.name } });
  await router.nl.link.add({ name: 'r1', kind: 'veth', up: true, peer: { name: 's0', netns: server.name } });
  await router.nl.addr.add({ dev: 'r0', address: `${NET.routerIn}/24` });
  await router.nl.addr.add({ dev: 'r1', address: `${NET.routerOut}/24` });
  await router.nl.sysctl.set('net.ipv4.ip_forward', 1);
  for (const [host, dev, addr, via] of [[client, 'c0', NET.client, NET.routerIn], [server, 's0', NET.server, NET.routerOut]] as const) {
    await host.nl.link.set(dev, { up: true });
    await host.nl.link.set('lo', { up: true });
    await host.nl.addr.add({ dev, address: `${addr}/24` });
    await host.nl.route.add({ dst: 'default', via });
  }
}

/**
 * Pings from NS to ADDR every 0.2 s until one is answered (true) or 3 s have passed (false):
 * a single ping can be lost while neighbours resolve on a busy machine.
 */
export function pings(ns: string, addr: string): boolean {
  return nsExec(ns, 'ping', '-c', '1', '-i', '0.2', '-w', '3', addr).status === 0;
}

// The server answers each connection with the address it came from; the client prints the
// answer, or the error's code; ETIMEDOUT when no answer came within 4 s (SYN retransmits
// at 1 s and 3 s, so a lost first SYN is not taken for a drop).
const SERVER = `
const port = Number(process.argv[1]);
require('net').createServer((s) => s.end(s.remoteAddress + '\\n')).listen(port, process.argv[2] ?? '0.0.0.0', () => console.log('ready'));
`;
const CLIENT = `
const s = require('net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
let got = '';
s.setTimeout(4000, () => { console.log('ETIMEDOUT'); process.exit(0); });
s.on('data', (d) => (got += d));
s.on('end', () => console.log(got.trim()));
s.on('error', (e) => console.log(e.code));
`;

const servers = new Set<ChildProcess>();

/**
 * Registers cleanup for the TCP servers a test file starts (call it once at the top level of
 * the describe, after useNetns so that servers stop before their namespaces go).
 */
export function useTcpServers(): void {
  afterEach(() => {
    for (const p of servers) p.kill('SIGKILL');
    servers.clear();
  });
}

/**
 * Starts a TCP server in NS on PORT (of every IPv4 address, or of `host`: '::' for IPv6 and IPv4)
 * that tells each client its address, as the server sees it.
 */
export async function startAddressServer(ns: string, port: number, host = '0.0.0.0'): Promise<void> {
  // `ip netns exec` execs node in place, so this pid is the server's own.
  const p = spawn('ip', ['netns', 'exec', ns, 'node', '-e', SERVER, String(port), host], { stdio: ['ignore', 'pipe', 'pipe'] });
  servers.add(p);
  await new Promise<void>((resolve, reject) => {
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d));
    p.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    p.on('exit', (code) => reject(new Error(`TCP server in ${ns} exited (${code}): ${err.trim()}`)));
  });
}

/** Connects from NS to HOST:PORT; the server's answer (the client address it saw) or an error code. */
export function tcpAsk(ns: string, host: string, port: number): string {
  const r = nsExec(ns, 'node', '-e', CLIENT, host, String(port));
  if (r.status !== 0) throw new Error(`TCP client in ${ns}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}
