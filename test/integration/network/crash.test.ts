// Crash at every step: a process doing attach, detach, connect, disconnect, network create or
// network rm is SIGKILLed at each step boundary and at random points inside the operation
// (test/helpers/crash-child.mjs), then the engine is opened again (which reconciles) and the
// whole picture is checked with the oracles: every record is whole in the kernel (links, bridge
// ports, addresses inside the sandboxes), nothing is left that no record knows (veths, bridges,
// namespaces, /etc/netns, owner markers, map elements), no address is held twice, a second
// reconcile finds nothing, and the operation can be undone and done again without a conflict.
// NLNET_CRASH_RANDOM=N sets the random kills per operation (default 4); the seed is printed.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { netns } from '../../../lib/index.js';
import { Engine, type Step } from '../../../lib/network/engine.js';
import { NETNS_MARKS } from '../../../lib/network/owner.js';
import { sandboxNetnsName } from '../../../lib/network/model/sandbox.js';
import { removeEngineLeftovers } from '../../helpers/engine.js';
import { nftj } from '../../helpers/nft.js';
import { ipj, isRoot, ROOT_SKIP_REASON, unique } from '../../helpers/ns.js';

interface IpLink {
  ifname: string;
  master?: string;
  flags: string[];
}
interface IpAddr {
  addr_info: { family: string; local: string }[];
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CHILD = join(root, 'test', 'helpers', 'crash-child.mjs');
const DIST_ENGINE = join(root, 'dist', 'network', 'engine.js');

type Op = 'attach' | 'detach' | 'connect' | 'disconnect' | 'network-create' | 'network-rm';
const STEPS: Record<Op, Step[]> = {
  attach: ['allocate', 'netns', 'veth', 'sandbox', 'publish', 'finish'],
  detach: ['unpublish', 'unlink', 'unnetns', 'release'],
  connect: ['allocate', 'veth', 'sandbox', 'finish'],
  disconnect: ['unpublish', 'unlink', 'release'],
  'network-create': ['net-record', 'net-bridge', 'net-firewall', 'net-finish'],
  'network-rm': ['net-unrecord', 'net-unfirewall', 'net-unbridge'],
};
const OPS = Object.keys(STEPS) as Op[];

const RANDOM = Number(process.env.NLNET_CRASH_RANDOM ?? 4);
const SEED = Number(process.env.NLNET_CRASH_SEED ?? Date.now() % 1_000_000);
console.log(`crash tests: ${RANDOM} random kills per operation, NLNET_CRASH_SEED=${SEED}`);

/** mulberry32: a small seeded PRNG, so a failing random kill can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);

/** Runs the child; resolves to how it ended: killed, or finished with the operation's time. */
function runChild(host: string, stateDir: string, op: Op, at: string): Promise<{ killed: boolean; ms?: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, DIST_ENGINE, host, stateDir, op, at], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') return resolve({ killed: true });
      const m = /finished ([\d.]+)/.exec(out);
      if (code === 0 && m) return resolve({ killed: false, ms: Number(m[1]) });
      reject(new Error(`child ${op} ${at} exited ${code ?? signal}: ${out}`));
    });
  });
}

const entries = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

describe.skipIf(!isRoot || !existsSync(DIST_ENGINE))(`crash at every step (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  let host = '';
  let stateDir = '';
  let engine: Engine | undefined;
  const durations = new Map<Op, number>();

  /** A fresh host namespace and state: three networks, a sandbox with a port, one to connect, one on two networks. */
  async function prepare(): Promise<void> {
    host = unique('nlcr');
    await netns.create(host);
    stateDir = await mkdtemp(join(tmpdir(), 'nlnet-crash-'));
    const e = await Engine.open({ hostNetns: host, stateDir });
    for (const [name, subnet] of [['n1', '10.111.0.0/24'], ['n2', '10.112.0.0/24'], ['n3', '10.113.0.0/24']] as const) await e.createNetwork({ name, subnet });
    await e.createSandbox({ name: 'cd', network: 'n1', publish: ['18101:80'] });
    await e.createSandbox({ name: 'cc', network: 'n1' });
    await e.createSandbox({ name: 'cx', network: 'n1' });
    await e.connect('n2', 'cx');
    await e.close();
  }

  async function cleanup(): Promise<void> {
    await engine?.close();
    engine = undefined;
    if (host === '') return;
    await removeEngineLeftovers(host);
    await netns.delete(host).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
    host = '';
  }
  afterEach(cleanup);
  /** Opens the engine again (it reconciles) and checks that the kernel and the store agree, with nothing leaked. */
  async function reopenAndCheck(label: string): Promise<Engine> {
    const e = await Engine.open({ hostNetns: host, stateDir });
    expect(await e.reconcile(), `${label}: a second reconcile`).toEqual({ recreated: [], removed: [] });
    const nets = await e.listNetworks();
    const sbs = await e.listSandboxes();
    const links = ipj<IpLink[]>(host, 'link', 'show');
    const byName = new Map(links.map((l) => [l.ifname, l]));
    // Whole: each network's bridge, each endpoint's veth on it and its address inside the sandbox.
    for (const n of nets) expect(byName.has(n.bridge), `${label}: bridge of ${n.name}`).toBe(true);
    for (const sb of sbs) {
      expect(netns.mounted(sb.netns), `${label}: namespace of ${sb.name}`).toBe(true);
      for (const ep of sb.endpoints) {
        const net = nets.find((n) => n.name === ep.network)!;
        expect(byName.get(ep.hostIf)?.master, `${label}: ${sb.name}'s veth on ${ep.network}`).toBe(net.bridge);
        expect(byName.get(ep.hostIf)?.flags, `${label}: ${sb.name}'s veth on ${ep.network} up`).toContain('UP');
        expect(ipj<IpLink[]>(sb.netns, 'link', 'show', 'dev', ep.ifname)[0]?.flags, `${label}: ${sb.name}'s ${ep.ifname} up`).toContain('UP');
        const inside = ipj<IpAddr[]>(sb.netns, 'addr', 'show', 'dev', ep.ifname).flatMap((a) => a.addr_info.filter((i) => i.family === 'inet').map((i) => i.local));
        expect(inside, `${label}: ${sb.name}'s address on ${ep.network}`).toEqual([ep.ip]);
      }
    }
    // No address held twice on a network.
    for (const n of nets) {
      const ips = sbs.flatMap((s) => s.endpoints.filter((ep) => ep.network === n.name).map((ep) => ep.ip));
      expect(new Set(ips).size, `${label}: addresses on ${n.name}`).toBe(ips.length);
      expect(ips, `${label}: the gateway of ${n.name}`).not.toContain(n.gateway);
    }
    // Nothing left that no record knows.
    const hostIfs = new Set(sbs.flatMap((s) => s.endpoints.map((ep) => ep.hostIf)));
    const bridges = new Set(nets.map((n) => n.bridge));
    expect(links.filter((l) => /^veth[0-9a-f]{7}$/.test(l.ifname) && !hostIfs.has(l.ifname)).map((l) => l.ifname), `${label}: stray veths`).toEqual([]);
    expect(links.filter((l) => /^br-[0-9a-f]{12}$/.test(l.ifname) && !bridges.has(l.ifname)).map((l) => l.ifname), `${label}: stray bridges`).toEqual([]);
    const prefix = sandboxNetnsName(host, '');
    const known = new Set(sbs.map((s) => s.netns));
    expect((await netns.list()).filter((n) => n.startsWith(prefix) && !known.has(n)), `${label}: stray namespaces`).toEqual([]);
    expect(entries('/etc/netns').filter((n) => n.startsWith(prefix) && !known.has(n)), `${label}: stray /etc/netns`).toEqual([]);
    expect(entries(NETNS_MARKS).filter((n) => n.startsWith(prefix) && !known.has(n)), `${label}: stray markers`).toEqual([]);
    const sets = nftj(host, 'list', 'table', 'ip', 'nlnet').sets.filter((s) => s.name === 'ports_any' || s.name === 'ports_addr');
    const elements = sets.flatMap((s) => s.elem ?? []);
    const ports = sbs.flatMap((s) => s.endpoints.flatMap((ep) => ep.ports ?? []));
    expect(elements.length, `${label}: map elements vs published ports`).toBe(ports.length);
    return e;
  }

  /** Undoes what the operation did, if it got done, and does it again: no conflict, no address clash. */
  async function again(e: Engine, op: Op): Promise<void> {
    const has = async (name: string): Promise<boolean> => (await e.listSandboxes()).some((s) => s.name === name);
    const on = async (sb: string, net: string): Promise<boolean> => (await e.inspectSandbox(sb)).endpoints.some((ep) => ep.network === net);
    const nets = async (): Promise<string[]> => (await e.listNetworks()).map((n) => n.name);
    switch (op) {
      case 'attach':
        if (await has('ca')) await e.removeSandbox('ca');
        await e.createSandbox({ name: 'ca', network: 'n1', publish: ['18100:80'] });
        break;
      case 'detach':
        if (await has('cd')) await e.removeSandbox('cd');
        await e.createSandbox({ name: 'cd', network: 'n1', publish: ['18101:80'] });
        break;
      case 'connect':
        if (await on('cc', 'n2')) await e.disconnect('n2', 'cc');
        await e.connect('n2', 'cc');
        break;
      case 'disconnect':
        if (await on('cx', 'n2')) await e.disconnect('n2', 'cx');
        await e.connect('n2', 'cx');
        break;
      case 'network-create':
        if ((await nets()).includes('n9')) await e.removeNetwork('n9');
        await e.createNetwork({ name: 'n9', subnet: '10.119.0.0/24' });
        break;
      case 'network-rm':
        if ((await nets()).includes('n3')) await e.removeNetwork('n3');
        await e.createNetwork({ name: 'n3', subnet: '10.113.0.0/24' });
        break;
      default: {
        const unknown: never = op;
        throw new Error(`unknown op ${String(unknown)}`);
      }
    }
  }

  async function crashAndCheck(op: Op, at: string): Promise<boolean> {
    const { killed, ms } = await runChild(host, stateDir, op, at);
    if (ms !== undefined) durations.set(op, ms);
    const label = `${op} killed ${killed ? `at ${at}` : `never (finished first, ${at})`}`;
    engine = await reopenAndCheck(label);
    await again(engine, op);
    await engine.close();
    engine = undefined;
    await reopenAndCheck(`${label}, then done again`).then((e) => e.close());
    return killed;
  }

  const boundaries = OPS.flatMap((op) => STEPS[op].map((step) => [op, step] as const));
  it.each(boundaries)('%s, killed before its %s step', async (op, step) => {
    await prepare();
    expect(await crashAndCheck(op, `step:${step}`)).toBe(true);
  });

  // Each operation's own time, from a run that is not killed, bounds its random points.
  it.each(OPS)('%s, run to its end: the span of its random kills', async (op) => {
    await prepare();
    expect(await crashAndCheck(op, 'after:100000')).toBe(false);
    expect(durations.get(op)).toBeGreaterThan(0);
  });

  const randomKills = OPS.flatMap((op) => Array.from({ length: RANDOM }, (_, i) => [op, i + 1] as const));
  const landed = new Map<Op, number>();
  it.each(randomKills)('%s, killed at random point #%i inside it', async (op, i) => {
    await prepare();
    const at = `after:${(random() * (durations.get(op) ?? 10)).toFixed(0)}`;
    if (await crashAndCheck(op, at)) landed.set(op, (landed.get(op) ?? 0) + 1);
    if (i === RANDOM) console.log(`crash tests: ${op}: ${landed.get(op) ?? 0} of ${RANDOM} random kills landed inside it (span ${durations.get(op)?.toFixed(1)} ms)`);
  });
});
