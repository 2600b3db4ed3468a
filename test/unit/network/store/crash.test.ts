// Crash at every byte and every step of a commit: a child process commits one multi-key
// transaction with a fault hook (lib/network/store/fault.ts) that kills it by SIGKILL after N bytes
// of its journal record, or right after one step of the commit (lock, append, sync, unlock; and the
// snapshot and journal rewrites of a migration and of a compaction). Then the next process opens
// the store and must find the whole transaction or none of it (never a mix, never an unreadable
// state), take the dead child's lock over at once (lockTimeoutMs 0: a lock not seen as stale would
// fail), and leave nothing behind. Three starting points: a state with a journal (the common
// commit), the single-file state of an earlier version (the commit migrates it first), and a
// compaction after every commit (compactBytes 1).
//
// SIGKILL loses nothing already written to the page cache, so this tests atomicity against a
// process dying, not a power loss: for that, the checksum of each journal line, fdatasync before a
// commit returns, and write → fsync → rename → fsync(dir) for the rewrites are what counts.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Data } from '../../../../lib/network/store/disk.js';
import type { CommitStep, StoreFault } from '../../../../lib/network/store/fault.js';
import { FileStore } from '../../../../lib/network/store/file.js';
import { encodeRecord, journalHeader } from '../../../../lib/network/store/journal.js';
import type { Json } from '../../../../lib/network/store/types.js';
import { buildStore, STORE_WORKER, type StoreBuild } from '../../../helpers/store-build.js';

/** Children at once: each is mostly Node's start-up, on one core. */
const PARALLEL = 4;
const FILES = ['store.journal', 'store.json'];

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

/** A starting state directory, made once and copied for each trial. */
interface Start {
  dir: string;
  old: Data;
  /** The seq of the child's commit, and its journal record's size. */
  seq: number;
  recordBytes: number;
  /** FileStore options of the child. */
  options: object;
  /** Bytes the journal grows by before the record: a migration makes it, with its header. */
  before: number;
}

/** A state with a journal: `old` put in one commit, then two more commits of one key. */
async function journaled(old: Data, options: object = {}): Promise<Start> {
  const dir = await mkdtemp(join(tmpdir(), 'nlnet-crash-start-'));
  const store = await FileStore.open({ dir });
  await store.update((tx) => {
    for (const [k, v] of old) tx.put(k, v);
  });
  for (const n of [1, 2]) await store.update((tx) => tx.put(`tmp/${n}`, n));
  await store.update((tx) => {
    tx.delete('tmp/1');
    tx.delete('tmp/2');
  });
  await store.close();
  return { dir, old, seq: 5, recordBytes: recordBytes(old, 5), options, before: 0 };
}

/** The single-file state of earlier versions (format version 1). */
async function legacy(old: Data): Promise<Start> {
  const dir = await mkdtemp(join(tmpdir(), 'nlnet-crash-start-'));
  await writeFile(join(dir, 'store.json'), `${JSON.stringify({ format: 'nlnet-store', version: 1, data: Object.fromEntries(old) })}\n`);
  return { dir, old, seq: 1, recordBytes: recordBytes(old, 1), options: {}, before: journalHeader(0).length };
}

function recordBytes(old: Data, seq: number): number {
  const tx = txFor(old);
  return encodeRecord({ seq, put: tx.put, del: tx.delete }).length;
}

type Outcome = 'old' | 'new' | 'mixed' | 'unreadable' | 'lock-not-taken-over' | 'leftovers' | 'not-killed';

interface Trial {
  fault: StoreFault;
  outcome: Outcome;
  /** What the dead child left in the directory, before the reopen cleans it up. */
  left: string[];
  /** How many bytes the journal grew by. */
  grew: number;
  detail?: string;
}

const entriesOf = (data: Data): [string, Json][] => [...data].sort(([a], [b]) => (a < b ? -1 : 1));
const journalSize = async (dir: string): Promise<number> => (await stat(join(dir, 'store.journal')).catch(() => ({ size: 0 }))).size;

let build: StoreBuild;
beforeAll(async () => {
  build = await buildStore();
});
afterAll(async () => {
  await build.remove();
});

/** One crash: a copy of `start`, a child killed at `fault`, then the checks. */
async function crashOnce(start: Start, fault: StoreFault): Promise<Trial> {
  const dir = await mkdtemp(join(tmpdir(), 'nlnet-crash-'));
  const tx = txFor(start.old);
  try {
    await cp(start.dir, dir, { recursive: true });
    const before = await journalSize(dir);
    const { signal, pid, stderr } = await new Promise<{ signal: NodeJS.Signals | null; pid: number; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [STORE_WORKER, build.file, 'commit', dir, JSON.stringify(fault), JSON.stringify(tx), JSON.stringify(start.options)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('exit', (_code, sig) => resolve({ signal: sig, pid: child.pid!, stderr: err }));
    });
    const left = (await readdir(dir)).map((n) => n.replace(`.${pid}.`, '.PID.').replace(/\.[0-9a-f]{12}\.tmp$/, '.X.tmp')).sort();
    const base = { fault, left, grew: (await journalSize(dir)) - before };
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
    const outcome: Outcome = same(start.old) ? 'old' : same(applied(start.old, tx)) ? 'new' : 'mixed';
    if (outcome === 'mixed') return { ...base, outcome, detail: JSON.stringify(seen) };
    try {
      await store.update((t) => t.put('check/after', 1));
      await store.close();
    } catch (e) {
      return { ...base, outcome: 'lock-not-taken-over', detail: String(e) };
    }
    const after = (await readdir(dir)).sort();
    if (JSON.stringify(after) !== JSON.stringify(FILES)) return { ...base, outcome: 'leftovers', detail: after.join(' ') };
    return { ...base, outcome };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function crashAll(start: Start, faults: StoreFault[]): Promise<Trial[]> {
  const trials: Trial[] = new Array(faults.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < faults.length; i = next++) trials[i] = await crashOnce(start, faults[i]!);
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return trials;
}

function summary(trials: Trial[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of trials) counts[t.outcome] = (counts[t.outcome] ?? 0) + 1;
  return counts;
}

const LOCK_TEMP = 'store.lock.PID.X.tmp';
const JOURNAL_TEMP = 'store.journal.PID.X.tmp';
const SNAPSHOT_TEMP = 'store.json.PID.X.tmp';
const sorted = (...names: string[]): string[] => names.sort();

/** Per step: what the directory holds when a child dies right after it, and whether the commit is in. */
type Expect = { left: string[]; outcome: 'old' | 'new' };

/** A commit on a state with a journal. */
const COMMIT: Partial<Record<CommitStep, Expect>> = {
  'lock-temp': { left: sorted(...FILES, LOCK_TEMP), outcome: 'old' },
  'lock-linked': { left: sorted(...FILES, 'store.lock', LOCK_TEMP), outcome: 'old' },
  locked: { left: sorted(...FILES, 'store.lock'), outcome: 'old' },
  appended: { left: sorted(...FILES, 'store.lock'), outcome: 'new' },
  synced: { left: sorted(...FILES, 'store.lock'), outcome: 'new' },
  released: { left: FILES, outcome: 'new' },
};

/** A commit on a state of an earlier version: the open migrates it (journal first), then the commit. */
const MIGRATE: Partial<Record<CommitStep, Expect>> = {
  'lock-temp': { left: sorted('store.json', LOCK_TEMP), outcome: 'old' },
  'lock-linked': { left: sorted('store.json', 'store.lock', LOCK_TEMP), outcome: 'old' },
  locked: { left: sorted('store.json', 'store.lock'), outcome: 'old' },
  'journal-temp': { left: sorted('store.json', 'store.lock', JOURNAL_TEMP), outcome: 'old' },
  'snapshot-temp': { left: sorted('store.json', 'store.lock', JOURNAL_TEMP, SNAPSHOT_TEMP), outcome: 'old' },
  'journal-renamed': { left: sorted(...FILES, 'store.lock', SNAPSHOT_TEMP), outcome: 'old' },
  'snapshot-renamed': { left: sorted(...FILES, 'store.lock'), outcome: 'old' },
  'dir-synced': { left: sorted(...FILES, 'store.lock'), outcome: 'old' },
  appended: { left: sorted(...FILES, 'store.lock'), outcome: 'new' },
  synced: { left: sorted(...FILES, 'store.lock'), outcome: 'new' },
  released: { left: FILES, outcome: 'new' },
};

/** A commit followed by a compaction (snapshot first): the commit is in before the compaction starts. */
const COMPACT: Partial<Record<CommitStep, Expect>> = {
  'journal-temp': { left: sorted(...FILES, 'store.lock', JOURNAL_TEMP), outcome: 'new' },
  'snapshot-temp': { left: sorted(...FILES, 'store.lock', JOURNAL_TEMP, SNAPSHOT_TEMP), outcome: 'new' },
  'snapshot-renamed': { left: sorted(...FILES, 'store.lock', JOURNAL_TEMP), outcome: 'new' },
  'journal-renamed': { left: sorted(...FILES, 'store.lock'), outcome: 'new' },
  'dir-synced': { left: sorted(...FILES, 'store.lock'), outcome: 'new' },
  released: { left: FILES, outcome: 'new' },
};

async function checkSteps(start: Start, table: Partial<Record<CommitStep, Expect>>): Promise<Trial[]> {
  const steps = Object.keys(table) as CommitStep[];
  const trials = await crashAll(start, steps.map((step) => ({ step })));
  for (const t of trials) {
    const step = (t.fault as { step: CommitStep }).step;
    expect({ step, outcome: t.outcome, left: t.left, detail: t.detail }).toEqual({ step, ...table[step], detail: undefined });
  }
  return trials;
}

/**
 * Byte offsets of the record (all of them, or `sample` random ones plus both ends): only the whole
 * record (its last byte, the newline) commits. The record's size does not depend on the state's.
 */
async function checkBytes(start: Start, sample?: number): Promise<Trial[]> {
  const all = Array.from({ length: start.recordBytes + 1 }, (_, n) => n);
  const rnd = random(Number(process.env.NLNET_CRASH_SEED ?? 20_240_601));
  const picked = sample === undefined ? all : [0, start.recordBytes - 1, start.recordBytes, ...Array.from({ length: sample }, () => Math.floor(rnd() * start.recordBytes))];
  const faults: StoreFault[] = [...new Set(picked)].sort((a, b) => a - b).map((n) => ({ bytes: n }));
  const trials = await crashAll(start, faults);
  for (const t of trials) {
    const n = (t.fault as { bytes: number }).bytes;
    const outcome = n === start.recordBytes ? 'new' : 'old';
    expect({ n, outcome: t.outcome, grew: t.grew, detail: t.detail }).toEqual({ n, outcome, grew: start.before + n, detail: undefined });
  }
  return trials;
}

/** A small seeded generator (mulberry32), so a failing offset can be tried again (NLNET_CRASH_SEED). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('FileStore commit killed at every byte and every step', () => {
  const starts: Start[] = [];
  afterAll(async () => {
    for (const s of starts) await rm(s.dir, { recursive: true, force: true });
  });
  const started = async (p: Promise<Start>): Promise<Start> => {
    const s = await p;
    starts.push(s);
    return s;
  };

  for (const [name, state] of [['small', () => SMALL], ['large', largeState]] as const) {
    it(`${name} state with a journal: ${name === 'small' ? 'every byte' : '20 random bytes and both ends'} of the record and every step`, { timeout: 600_000 }, async () => {
      const start = await started(journaled(state()));
      const t0 = Date.now();
      const steps = await checkSteps(start, COMMIT);
      const bytes = await checkBytes(start, name === 'small' ? undefined : 20);
      console.log(`store crash, ${name} state (${start.old.size} documents, ${start.recordBytes}-byte record): ${bytes.length} byte offsets ${JSON.stringify(summary(bytes))}, ${steps.length} steps ${JSON.stringify(summary(steps))}, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });

    it(`${name} state of an earlier version, migrated by the commit: every step, 20 random bytes of the record`, { timeout: 600_000 }, async () => {
      const start = await started(legacy(state()));
      const t0 = Date.now();
      const steps = await checkSteps(start, MIGRATE);
      const bytes = await checkBytes(start, 20);
      console.log(`store crash, ${name} state migrated: ${bytes.length} byte offsets ${JSON.stringify(summary(bytes))}, ${steps.length} steps ${JSON.stringify(summary(steps))}, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });

    it(`${name} state compacted after the commit: every step of the compaction`, { timeout: 600_000 }, async () => {
      const start = await started(journaled(state(), { compactBytes: 1 }));
      const steps = await checkSteps(start, COMPACT);
      console.log(`store crash, ${name} state compacted: ${steps.length} steps ${JSON.stringify(summary(steps))}`);
    });
  }

  it('without a fault the same child commits the whole transaction (the harness itself works)', async () => {
    const start = await started(journaled(SMALL));
    const dir = await mkdtemp(join(tmpdir(), 'nlnet-crash-'));
    try {
      await cp(start.dir, dir, { recursive: true });
      const code = await new Promise((resolve) => spawn(process.execPath, [STORE_WORKER, build.file, 'commit', dir, 'none', JSON.stringify(txFor(SMALL))], { stdio: 'inherit' }).on('exit', resolve));
      expect(code).toBe(0);
      const store = await FileStore.open({ dir });
      expect((await store.list('')).map((e) => [e.key, e.value])).toEqual(entriesOf(applied(SMALL, txFor(SMALL))));
      expect((await readdir(dir)).sort()).toEqual(FILES);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
