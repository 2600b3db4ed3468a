// Crash at every byte and every step of a commit: a child process commits one multi-key
// transaction with a fault hook (lib/network/store/fault.ts) that kills it by SIGKILL after N bytes
// of the new state file, or right after one step of the commit (lock, temp file, fsync, rename,
// directory fsync, unlock). Then the next process opens the store and must find the whole
// transaction or none of it (never a mix, never an unreadable file), take the dead child's lock
// over at once (lockTimeoutMs 0: a lock not seen as stale would fail), and leave nothing behind.
//
// SIGKILL loses nothing already written to the page cache, so this tests atomicity against a
// process dying, not a power loss: for that, the order write → fsync → rename → fsync(dir) in
// disk.ts is what counts.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { serialize, type Data } from '../../../../lib/network/store/disk.js';
import { COMMIT_STEPS, type CommitStep, type StoreFault } from '../../../../lib/network/store/fault.js';
import { FileStore } from '../../../../lib/network/store/file.js';
import type { Json } from '../../../../lib/network/store/types.js';
import { buildStore, STORE_WORKER, type StoreBuild } from '../../../helpers/store-build.js';

/** Random offsets tried in the large state (all of them in the small one). */
const RANDOM_OFFSETS = Number(process.env.NLNET_CRASH_OFFSETS ?? 200);
/** Children at once: each is mostly Node's start-up, on one core. */
const PARALLEL = 4;

interface Tx {
  put: Record<string, Json>;
  delete: string[];
}

/** The transaction every child commits: changes, adds and deletes, over several collections. */
function txFor(old: Data): Tx {
  const net = old.get('networks/a') as { name: string; subnet: string; n: number };
  return {
    put: {
      'networks/a': { ...net, n: net.n + 1 },
      'sandboxes/new': { name: 'new', netns: '/run/netns/new' },
      'ipam/a': { used: ['172.18.0.2', '172.18.0.3'] },
    },
    delete: ['endpoints/e1'],
  };
}

function applied(old: Data, tx: Tx): Data {
  const data = new Map(old);
  for (const [k, v] of Object.entries(tx.put)) data.set(k, v);
  for (const k of tx.delete) data.delete(k);
  return data;
}

const SMALL: Data = new Map<string, Json>([
  ['networks/a', { name: 'a', subnet: '172.18.0.0/16', n: 1 }],
  ['endpoints/e1', { network: 'a', ip: '172.18.0.2' }],
  ['ipam/a', { used: ['172.18.0.2'] }],
]);

/** About what a host with 300 containers keeps: ~190 KB. */
function largeState(): Data {
  const data = new Map<string, Json>([...SMALL]);
  for (let i = 0; i < 300; i++) {
    const id = i.toString(16).padStart(64, '0');
    data.set(`sandboxes/c${i}`, { name: `c${i}`, id, netns: `/run/netns/nlnet-${id.slice(0, 12)}`, endpoints: [`e${i}x`], labels: { app: 'web', n: String(i) } });
    data.set(`endpoints/e${i}x`, { network: 'a', sandbox: `c${i}`, ifname: 'eth0', mac: '02:42:ac:12:00:02', ip: `172.18.${i >> 8}.${i & 255}`, aliases: [`c${i}`] });
  }
  return data;
}

type Outcome = 'old' | 'new' | 'mixed' | 'unreadable' | 'lock-not-taken-over' | 'leftovers' | 'not-killed';

interface Trial {
  fault: StoreFault;
  outcome: Outcome;
  /** What the dead child left in the directory, before the reopen cleans it up. */
  left: string[];
  /** The size of the state's temp file it left, if any. */
  tempSize: number | undefined;
  detail?: string;
}

const entriesOf = (data: Data): [string, Json][] => [...data].sort(([a], [b]) => (a < b ? -1 : 1));

let build: StoreBuild;
beforeAll(async () => {
  build = await buildStore();
});
afterAll(async () => {
  await build.remove();
});

/** One crash: a fresh directory holding `old`, a child killed at `fault`, then the checks. */
async function crashOnce(oldText: string, old: Data, tx: Tx, fault: StoreFault): Promise<Trial> {
  const dir = await mkdtemp(join(tmpdir(), 'nlnet-crash-'));
  try {
    await writeFile(join(dir, 'store.json'), oldText);
    const { signal, pid, stderr } = await new Promise<{ signal: NodeJS.Signals | null; pid: number; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [STORE_WORKER, build.file, 'commit', dir, JSON.stringify(fault), JSON.stringify(tx)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('exit', (_code, sig) => resolve({ signal: sig, pid: child.pid!, stderr: err }));
    });
    const left = (await readdir(dir)).map((n) => n.replace(`.${pid}.`, '.PID.').replace(/\.[0-9a-f]{12}\.tmp$/, '.X.tmp')).sort();
    const temp = (await readdir(dir)).find((n) => n.startsWith(`store.json.${pid}.`));
    const tempSize = temp === undefined ? undefined : (await stat(join(dir, temp))).size;
    const base = { fault, left, tempSize };
    if (signal !== 'SIGKILL') return { ...base, outcome: 'not-killed', detail: `${signal}: ${stderr}` };

    let store: FileStore;
    let seen: [string, Json][];
    try {
      store = await FileStore.open({ dir, lockTimeoutMs: 0, onLockWait: () => undefined });
      seen = (await store.list('')).map((e) => [e.key, e.value]);
    } catch (e) {
      return { ...base, outcome: 'unreadable', detail: String(e) };
    }
    const same = (d: Data): boolean => JSON.stringify(seen) === JSON.stringify(entriesOf(d));
    const outcome: Outcome = same(old) ? 'old' : same(applied(old, tx)) ? 'new' : 'mixed';
    if (outcome === 'mixed') return { ...base, outcome, detail: JSON.stringify(seen) };
    try {
      await store.update((t) => t.put('check/after', 1));
    } catch (e) {
      return { ...base, outcome: 'lock-not-taken-over', detail: String(e) };
    }
    const after = await readdir(dir);
    if (after.length !== 1 || after[0] !== 'store.json') return { ...base, outcome: 'leftovers', detail: after.join(' ') };
    return { ...base, outcome };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function crashAll(old: Data, faults: StoreFault[]): Promise<Trial[]> {
  const oldText = serialize(old);
  const tx = txFor(old);
  const trials: Trial[] = new Array(faults.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < faults.length; i = next++) trials[i] = await crashOnce(oldText, old, tx, faults[i]!);
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return trials;
}

/** A small seeded generator (mulberry32), so a failing offset can be tried again. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The state each step must leave: the transaction is in once the rename is done. */
const AFTER_RENAME = new Set<CommitStep>(['rename', 'dir-fsync', 'released']);
/** What a child killed after each step leaves in the directory (PID: its pid, X: a nonce). */
const LEFT: Record<CommitStep, string[]> = {
  'lock-temp': ['store.json', 'store.lock.PID.X.tmp'],
  'lock-linked': ['store.json', 'store.lock', 'store.lock.PID.X.tmp'],
  locked: ['store.json', 'store.lock'],
  'temp-open': ['store.json', 'store.json.PID.X.tmp', 'store.lock'],
  'temp-written': ['store.json', 'store.json.PID.X.tmp', 'store.lock'],
  'temp-fsync': ['store.json', 'store.json.PID.X.tmp', 'store.lock'],
  'temp-close': ['store.json', 'store.json.PID.X.tmp', 'store.lock'],
  rename: ['store.json', 'store.lock'],
  'dir-fsync': ['store.json', 'store.lock'],
  released: ['store.json'],
};

function summary(trials: Trial[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of trials) counts[t.outcome] = (counts[t.outcome] ?? 0) + 1;
  return counts;
}

function checkSteps(trials: Trial[], newSize: number): void {
  for (const t of trials) {
    const step = (t.fault as { step: CommitStep }).step;
    expect({ step, outcome: t.outcome, left: t.left, detail: t.detail }).toEqual({ step, outcome: AFTER_RENAME.has(step) ? 'new' : 'old', left: LEFT[step], detail: undefined });
    if (step === 'temp-open') expect(t.tempSize).toBe(0);
    if (step === 'temp-written' || step === 'temp-fsync' || step === 'temp-close') expect(t.tempSize).toBe(newSize);
  }
}

function checkBytes(trials: Trial[]): void {
  for (const t of trials) {
    const n = (t.fault as { bytes: number }).bytes;
    // The child died with exactly n bytes of the new file written, and the old state is intact.
    expect({ n, outcome: t.outcome, tempSize: t.tempSize, detail: t.detail }).toEqual({ n, outcome: 'old', tempSize: n, detail: undefined });
  }
}

describe('FileStore commit killed at every byte and every step', () => {
  const steps: StoreFault[] = COMMIT_STEPS.map((step) => ({ step }));

  it('small state: every byte offset of the new file and every step boundary', { timeout: 600_000 }, async () => {
    const newSize = Buffer.byteLength(serialize(applied(SMALL, txFor(SMALL))));
    const bytes: StoreFault[] = Array.from({ length: newSize + 1 }, (_, n) => ({ bytes: n }));
    const started = Date.now();
    const stepTrials = await crashAll(SMALL, steps);
    const byteTrials = await crashAll(SMALL, bytes);
    console.log(
      `store crash, small state (${Buffer.byteLength(serialize(SMALL))} → ${newSize} bytes): ${byteTrials.length} byte offsets (0..${newSize}) ${JSON.stringify(summary(byteTrials))}, ` +
        `${stepTrials.length} steps ${JSON.stringify(summary(stepTrials))}, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    checkSteps(stepTrials, newSize);
    checkBytes(byteTrials);
  });

  it(`large state: ${RANDOM_OFFSETS} random byte offsets, the first and last bytes, and every step boundary`, { timeout: 600_000 }, async () => {
    const large = largeState();
    const newSize = Buffer.byteLength(serialize(applied(large, txFor(large))));
    const seed = Number(process.env.NLNET_CRASH_SEED ?? 20_240_601);
    const rnd = random(seed);
    const offsets = new Set<number>([0, 1, newSize - 1, newSize]);
    while (offsets.size < RANDOM_OFFSETS + 4) offsets.add(Math.floor(rnd() * newSize));
    const bytes: StoreFault[] = [...offsets].sort((a, b) => a - b).map((n) => ({ bytes: n }));
    const started = Date.now();
    const stepTrials = await crashAll(large, steps);
    const byteTrials = await crashAll(large, bytes);
    console.log(
      `store crash, large state (${Buffer.byteLength(serialize(large))} → ${newSize} bytes, ${large.size} documents, seed ${seed}): ${byteTrials.length} byte offsets ${JSON.stringify(summary(byteTrials))}, ` +
        `${stepTrials.length} steps ${JSON.stringify(summary(stepTrials))}, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    checkSteps(stepTrials, newSize);
    checkBytes(byteTrials);
  });

  it('without a fault the same child commits the whole transaction (the harness itself works)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nlnet-crash-'));
    try {
      await writeFile(join(dir, 'store.json'), serialize(SMALL));
      const code = await new Promise((resolve) => spawn(process.execPath, [STORE_WORKER, build.file, 'commit', dir, 'none', JSON.stringify(txFor(SMALL))], { stdio: 'inherit' }).on('exit', resolve));
      expect(code).toBe(0);
      const store = await FileStore.open({ dir });
      expect((await store.list('')).map((e) => [e.key, e.value])).toEqual(entriesOf(applied(SMALL, txFor(SMALL))));
      expect(await readdir(dir)).toEqual(['store.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
