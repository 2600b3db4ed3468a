// Soak: many netlink operations and many attach/detach cycles in one process, sampling memory and
// file descriptors as it goes, to tell a leak (growth proportional to the work) from warm-up (growth
// that stops).
//
//   npm run build:ts && sudo node bench/soak.js [--ops N] [--cycles N] [--snapshots DIR]
//
// Part A: N low-level operations (default 1,000,000), in rounds of 12 in one throwaway namespace:
// addr add/del, route add/del, link get, link list (4 links), one nl.batch of 4 (addr add, route
// add, route del, addr del), an nf_tables element add and del (a transaction each); a step of the
// batch counts as one operation. Part B: N cycles (default 10,000) of Engine.createSandbox (a
// user-defined bridge network, one published TCP port) and removeSandbox, a new sandbox name each
// cycle, on an engine whose host namespace is another throwaway one and whose state is a fresh
// temp directory.
//
// Samples (probe.js) at the start, at every 10% and at the end, each after two full garbage
// collections: RSS split into RssAnon and RssFile; V8's heap (the RAM of all its spaces), its new
// space (the young generation, which V8 doubles up to 2 × 16 MB while allocation goes on) and RSS
// without it; heapUsed (what is still reachable); native = RssAnon − V8's heap (malloc arenas and
// stacks); fds. --snapshots DIR also writes a heap snapshot at each sample; the snapshot writer's own
// malloc'd memory then inflates `native` by tens of MB, so measure without it.
//
// Namespaces are nlbench-PID-… (sandbox.js) and the engine's nlnet-TAG-… for its sandboxes; they,
// the engine's /etc/netns files, namespace markers and state directory are removed at the end, on
// failure and on Ctrl-C. The machine's own namespace is compared before and after.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

import { Engine, Netlink, netns } from '../dist/index.js';

import { header, probe, row, summary } from './probe.js';
import { cleanup, cleanupOnSignals, nsName, PREFIX } from './sandbox.js';
import { run } from './util.js';

function flag(name, dflt) {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const n = Number(process.argv[i + 1]?.replace(/[_,]/g, ''));
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a whole number, got ${process.argv[i + 1]}`);
  return n;
}
const OPS = flag('--ops', 1_000_000);
const CYCLES = flag('--cycles', 10_000);
/** --snapshots DIR: a heap snapshot at every sample too, for Chrome DevTools' Memory tab to compare. */
const SNAPSHOTS = process.argv.includes('--snapshots') ? process.argv[process.argv.indexOf('--snapshots') + 1] : undefined;
const POINTS = 10; // a sample every 10%

/** Runs `step(i)` until `total` units are done (`perStep` each), sampling at the start, at every 10% and at the end. */
async function soak(title, unit, total, perStep, step) {
  const digits = unit === 'ops' ? 0 : 1;
  const t0 = process.hrtime.bigint();
  const take = (label, done) => probe(label, done, t0, SNAPSHOTS && join(SNAPSHOTS, `${unit}-${String(done).padStart(9, '0')}.heapsnapshot`));
  const samples = [take('start', 0)];
  console.log(`\n### ${title}\n\n${header(unit)}\n${row(samples[0], undefined, digits)}`);
  let next = 1;
  for (let i = 0; i < Math.ceil(total / perStep); i++) {
    await step(i);
    const done = Math.min((i + 1) * perStep, total);
    if (done < (next * total) / POINTS) continue;
    const s = take(next === POINTS ? 'end' : next === POINTS / 2 ? '50% (middle)' : `${next * 10}%`, done);
    console.log(row(s, samples.at(-1), digits));
    samples.push(s);
    next++;
  }
  const last = samples.at(-1);
  console.log(`\n${last.done.toLocaleString('en-US')} ${unit} in ${last.seconds.toFixed(1)} s: ${(last.done / last.seconds).toFixed(digits)} ${unit}/s`);
  console.log(summary(samples, unit));
  return samples;
}

// ---- part A: low-level operations -----------------------------------------------------------------

const OPS_PER_ROUND = 12;

async function partA(total) {
  const ns = nsName('ops');
  await netns.create(ns);
  const nl = await Netlink.open({ netns: ns });
  try {
    await nl.link.add({ name: 'vA', kind: 'veth', up: true, peer: { name: 'vB' } });
    await nl.link.add({ name: 'br0', kind: 'bridge', up: true });
    await nl.link.set('vB', { up: true });
    await nl.addr.add({ dev: 'vA', address: '10.1.0.1/16' });
    const set = { family: 'ip', table: 'soak', name: 'hosts', key: 'ipv4_addr' };
    await nl.nft.commit((b) => {
      b.addTable({ family: 'ip', name: 'soak' });
      b.addSet(set);
    });
    // Addresses and prefixes rotate over 250 values, so each round adds and removes its own.
    return await soak(`Part A: ${total.toLocaleString('en-US')} netlink operations (rounds of ${OPS_PER_ROUND}) in one namespace`, 'ops', total, OPS_PER_ROUND, async (i) => {
      const k = i % 250;
      await nl.addr.add({ dev: 'vA', address: `10.2.${k}.1/24` });
      await nl.route.add({ dst: `10.3.${k}.0/24`, via: '10.1.0.2' });
      await nl.link.get('vA');
      await nl.link.list();
      await nl.batch((b) => {
        b.addr.add({ dev: 'vA', address: `10.4.${k}.1/24` });
        b.route.add({ dst: `10.5.${k}.0/24`, dev: 'vA' });
        b.route.del({ dst: `10.5.${k}.0/24`, dev: 'vA' });
        b.addr.del({ dev: 'vA', address: `10.4.${k}.1/24` });
      });
      const el = [{ key: `10.6.${k}.${(i >> 8) & 0xff}` }];
      await nl.nft.addElements(set, el);
      await nl.nft.delElements(set, el);
      await nl.route.del({ dst: `10.3.${k}.0/24`, via: '10.1.0.2' });
      await nl.addr.del({ dev: 'vA', address: `10.2.${k}.1/24` });
    });
  } finally {
    nl.close();
    await netns.delete(ns).catch(() => undefined);
  }
}

// ---- part B: attach / detach through the engine ------------------------------------------------------

let enginePrefix; // nlnet-TAG-, the engine's sandbox namespaces, once the host namespace is known
let stateDir;

/** Synchronous (it runs from signal handlers): the engine's namespaces, /etc/netns files, markers and state. */
function cleanupEngine() {
  if (enginePrefix) {
    const mine = (dir) => (existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(enginePrefix)) : []);
    for (const n of mine('/run/netns')) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
    for (const dir of ['/etc/netns', '/run/nlnet/netns']) for (const n of mine(dir)) rmSync(join(dir, n), { recursive: true, force: true });
    const left = mine('/run/netns');
    if (left.length) console.error(`soak: could not remove namespaces: ${left.join(' ')}`);
  }
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  stateDir = undefined;
}

async function partB(total) {
  const host = nsName('host');
  await netns.create(host);
  enginePrefix = `nlnet-${createHash('sha256').update(host).digest('hex').slice(0, 8)}-`;
  stateDir = mkdtempSync(join(tmpdir(), 'nlsoak-state-'));
  const engine = await Engine.open({ hostNetns: host, stateDir });
  try {
    await engine.createNetwork({ name: 'soak', subnet: '10.88.0.0/16' });
    const samples = await soak(`Part B: ${total.toLocaleString('en-US')} attach/detach cycles (user network, one published port, a new name each cycle)`, 'cycles', total, 1, async (i) => {
      await engine.createSandbox({ name: `soak${i}`, network: 'soak', publish: ['8080:80'] });
      await engine.removeSandbox(`soak${i}`);
    });
    // Every detach finished: no sandbox in the store, no sandbox namespace in the kernel.
    const left = [...(await engine.listSandboxes()).map((s) => s.name), ...(existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(enginePrefix)) : [])];
    if (left.length) throw new Error(`left after removeSandbox: ${left.join(' ')}`);
    await engine.removeNetwork('soak');
    return samples;
  } finally {
    await engine.close().catch(() => undefined);
    cleanupEngine();
  }
}

// ---- entry --------------------------------------------------------------------------------------

/**
 * The machine's own namespace: its links and nf_tables tables must be the same before and after.
 * Named namespaces are compared by name: other processes may make and remove theirs meanwhile,
 * so only one of this run's (PREFIX…, the engine's nlnet-TAG-…) left behind is a failure.
 */
function rootState() {
  const names = (dir) => (existsSync(dir) ? readdirSync(dir) : []);
  return {
    own: [run('ip', ['-o', 'link', 'show']).replace(/^\d+: /gm, ''), run('nft', ['list', 'tables'])].join('\n'),
    netns: run('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter(Boolean),
    files: [...names('/etc/netns'), ...names('/run/nlnet/netns')],
  };
}

function compareRoot(before, after) {
  const ours = (n) => n.startsWith(PREFIX) || (enginePrefix !== undefined && n.startsWith(enginePrefix));
  const left = [...after.netns, ...after.files].filter(ours);
  const others = after.netns.filter((n) => !before.netns.includes(n)).length + before.netns.filter((n) => !after.netns.includes(n)).length;
  const lines = [
    after.own === before.own ? 'links and nf_tables tables identical before and after' : 'links or nf_tables tables CHANGED',
    left.length === 0 ? 'no namespace, /etc/netns directory or namespace marker of this run left' : `LEFT BEHIND: ${left.join(' ')}`,
  ];
  if (others) lines.push(`${others} namespaces of other processes (not this run's names) came or went meanwhile`);
  return { ok: after.own === before.own && left.length === 0, text: lines.join('; ') };
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the soak creates network namespaces: run it as root');
  // Before cleanupOnSignals(), whose handler exits the process.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, cleanupEngine);
  cleanupOnSignals();
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  console.log(`date: ${new Date().toISOString()}; kernel ${os.release()}; node ${process.version}; ${cpu} × ${os.cpus().length}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const before = rootState();
  const started = Date.now();
  try {
    if (OPS > 0) await partA(OPS);
    if (CYCLES > 0) await partB(CYCLES);
  } finally {
    cleanupEngine();
    cleanup();
  }
  const { ok, text } = compareRoot(before, rootState());
  console.log(`\nmachine's own namespace: ${text}`);
  console.log(`soak took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (!ok) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
