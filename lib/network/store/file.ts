// The embedded store: a snapshot and a journal in the state directory (`<dir>/store.json` and
// `<dir>/store.journal`; their formats: disk.ts, journal.ts; how they are read and written:
// state.ts).
//
// A commit appends one line to the journal and fdatasyncs it: one transaction touching a network,
// its endpoints and a sandbox is one line, all-or-nothing because a line counts only when whole
// and checksummed. So a commit costs what it changed, not the whole state, and the 500th sandbox
// commits as fast as the first. When the journal outgrows the snapshot (and at least
// `compactBytes`), the commit that crossed the line also rewrites the snapshot and starts an
// empty journal; spread over the commits that filled it, that is a constant cost per commit too.
//
// Transactions are serialized in two layers: a queue inside the process, and a lock file across
// processes (see lock.ts). Those waiting together run as one group under one lock hold, each
// appending its own line, and are fdatasynced once (group commit): a burst of attaches pays one
// lock and one sync. Reads outside a transaction take no lock: they read the
// snapshot and every whole record after it, which is always one whole commit, and keep what they
// read in memory, reading only what was appended since. So a store opened `readonly` writes
// nothing at all, not even a lock, and still reads consistently.
//
// The single-file state of earlier versions (version 1: all of it in `store.json`, rewritten at
// every commit) is read as it is, and migrated to snapshot and journal by the first open that may
// write.

import { statSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.js';
import type { Data } from './disk.js';
import { ioError, StoreError, type LockHolder } from './errors.js';
import { COMMIT_STEPS, reach, type StoreFault } from './fault.js';
import { acquireLock, isCode, pidAlive, unlinkQuiet } from './lock.js';
import { checkJson, checkKey, checkPrefix } from './keys.js';
import { DiskState } from './state.js';
import type { Json, Store, StoreEntry, StoreSnapshot, StoreTx } from './types.js';

const LOCK = 'store.lock';
/** Temp files of the snapshot, the journal, the lock and its break markers: `store.json.<pid>.<hex>.tmp`, `store.lock….<pid>.<hex>.tmp`. */
const TEMP_RE = /^store\.(?:json|journal|lock)(?:\.break-[0-9a-z-]+)*\.(\d+)\.[0-9a-f]+\.tmp$/;
/** The journal size below which it is never compacted, however small the snapshot. */
const MIN_COMPACT_BYTES = 1 << 20;
/** Transactions in one group commit at most: a steady stream still gets synced. */
const MAX_GROUP = 64;

/** A transaction waiting for its turn, and how its decision is reported. */
interface Waiting {
  fn: (tx: StoreTx) => unknown;
  decided: (d: { value: unknown; written: Promise<void> }) => void;
  failed: (e: unknown) => void;
}

export interface FileStoreOptions {
  /** The state directory (the engine passes its `stateDir`, /var/lib/nlnet by default). */
  dir: string;
  /**
   * Whether to create `dir` when it is missing. Default true, unless `readonly`. With false, a
   * missing `dir` is a NotFoundError (`no state at <dir>`): a mistyped directory must not read as
   * an empty state.
   */
  create?: boolean;
  /**
   * Reads only: nothing is written to `dir`, not even a lock (so it works on a read-only mount, or
   * for a user who may only read it); `update`/`decide` fail with a ConflictError. Default false.
   */
  readonly?: boolean;
  /**
   * How long `update` waits for another live process's lock, ms, before a LockTimeoutError naming
   * it; 0 fails at once. A lock whose holder is dead is taken over without waiting. Default 30 s.
   */
  lockTimeoutMs?: number;
  /**
   * Called once per transaction that finds the lock held by another live process, as soon as it
   * has waited `lockNoticeMs`, with who holds it (pid, command line, since when): for a message
   * like "waiting for the state lock held by pid N (…)". Not called with `lockTimeoutMs` 0. If it
   * throws, the wait ends and the transaction fails with that error.
   */
  onLockWait?: (holder: LockHolder) => void;
  /** How long a transaction waits for the lock before `onLockWait` is called, ms. Default 0. */
  lockNoticeMs?: number;
  /**
   * The journal size, bytes, at which a commit rewrites the snapshot and starts the journal anew.
   * Default: the snapshot's size, and at least 1 MiB.
   */
  compactBytes?: number;
  /** Test-only: die by SIGKILL at this point of the first commit (fault.ts). Leave undefined. */
  fault?: StoreFault;
}

/** How a transaction waits for another process's lock (FileStoreOptions' `lock…` options). */
type LockWait = { timeoutMs: number; noticeMs: number; onWait: ((holder: LockHolder) => void) | undefined };

export class FileStore implements Store {
  readonly #dir: string;
  readonly #readonly: boolean;
  readonly #lock: LockWait;
  readonly #fault: StoreFault | undefined;
  readonly #compactBytes: number | undefined;
  readonly #state: DiskState;
  /** The journal size at which a compaction that failed is tried again. */
  #compactRetryAt = 0;
  /** The transactions not started yet, in order. */
  readonly #waiting: Waiting[] = [];
  /** Settles when the transactions waiting have all run; undefined when none are. */
  #drained: Promise<void> | undefined;

  private constructor(dir: string, readonly: boolean, lock: LockWait, fault: StoreFault | undefined, compactBytes: number | undefined) {
    this.#dir = dir;
    this.#readonly = readonly;
    this.#lock = lock;
    this.#fault = fault;
    this.#compactBytes = compactBytes;
    this.#state = new DiskState(dir);
  }

  /** The state directory. */
  get dir(): string {
    return this.#dir;
  }

  /** Whether it was opened `readonly`. */
  get readonly(): boolean {
    return this.#readonly;
  }

  /**
   * Opens the store in `dir` (creating `dir` unless told not to), removes the temp files dead
   * processes left there, reads the state once, so that a damaged file fails here, and migrates
   * the single-file state of an earlier version (unless `readonly`).
   */
  static async open(options: FileStoreOptions): Promise<FileStore> {
    const { dir, readonly = false, lockTimeoutMs = 30_000, lockNoticeMs = 0, onLockWait, fault, compactBytes } = options;
    const create = options.create ?? !readonly;
    if (typeof dir !== 'string' || dir === '') throw new ValidationError('dir', dir, 'must be a non-empty path');
    if (typeof readonly !== 'boolean') throw new ValidationError('readonly', readonly, 'must be a boolean');
    if (typeof create !== 'boolean') throw new ValidationError('create', create, 'must be a boolean');
    if (readonly && create) throw new ValidationError('create', create, 'a readonly store creates nothing');
    for (const [field, ms] of [['lockTimeoutMs', lockTimeoutMs], ['lockNoticeMs', lockNoticeMs]] as const) {
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new ValidationError(field, ms, 'must be a non-negative number of milliseconds');
    }
    if (onLockWait !== undefined && typeof onLockWait !== 'function') throw new ValidationError('onLockWait', onLockWait, 'must be a function');
    if (compactBytes !== undefined && !(Number.isSafeInteger(compactBytes) && compactBytes >= 0)) throw new ValidationError('compactBytes', compactBytes, 'must be a non-negative whole number of bytes');
    if (fault !== undefined && !isFault(fault)) throw new ValidationError('fault', fault, `must be { step: ${COMMIT_STEPS.join('|')} } or { bytes: n }`);

    await openDir(dir, create);
    if (!readonly) await removeDeadTemps(dir);
    const store = new FileStore(dir, readonly, { timeoutMs: lockTimeoutMs, noticeMs: lockNoticeMs, onWait: onLockWait }, fault, compactBytes);
    store.#state.read(); // a damaged file fails here, not at the first update
    if (!readonly && store.#state.legacy) await store.#migrate();
    return store;
  }

  async get<T extends Json = Json>(key: string): Promise<T | undefined> {
    checkKey(key);
    return copy(this.#state.read().get(key)) as T | undefined;
  }

  async list<T extends Json = Json>(prefix: string, opts: { readonly?: boolean } = {}): Promise<StoreEntry<T>[]> {
    checkPrefix(prefix);
    return listOf(this.#state.read(), NO_WRITES, prefix, opts.readonly !== true) as StoreEntry<T>[];
  }

  async snapshot(): Promise<StoreSnapshot> {
    return new FileSnapshot(this.#state.share());
  }

  update<T>(fn: (tx: StoreTx) => T | Promise<T>): Promise<T> {
    return this.decide(fn).then(async ({ value, written }) => {
      await written;
      return value;
    });
  }

  decide<T>(fn: (tx: StoreTx) => T | Promise<T>): Promise<{ value: T; written: Promise<void> }> {
    if (typeof fn !== 'function') throw new ValidationError('fn', fn, 'must be a function');
    if (this.#readonly) return Promise.reject(new ConflictError('store', this.#dir, 'opened read-only: it cannot change anything'));
    return new Promise((decided, failed) => {
      this.#waiting.push({ fn, decided, failed } as Waiting);
      if (this.#drained === undefined) this.#drained = this.#drain();
    });
  }

  async close(): Promise<void> {
    await this.#drained;
  }

  /** Runs the transactions waiting, a group at a time, until none are left. */
  async #drain(): Promise<void> {
    try {
      while (this.#waiting.length > 0) {
        try {
          await this.#group();
        } catch (e) {
          // The lock could not be released: the group is decided, those after it would wait for ever.
          for (const job of this.#waiting.splice(0)) job.failed(e);
        }
      }
    } finally {
      this.#drained = undefined;
    }
  }

  /**
   * Group commit: the transactions waiting run one after the other under one lock, each on the
   * state its predecessors left (their records are applied in memory as they are appended), and
   * their records are fdatasynced once for all. Each is decided as soon as its record is written;
   * its `written` settles with the group's sync. One that throws changes nothing and fails alone.
   * A burst of attaches or detaches then waits for one lock and one sync, not one each.
   */
  async #group(): Promise<void> {
    let lock: Awaited<ReturnType<typeof acquireLock>>;
    try {
      lock = await acquireLock(join(this.#dir, LOCK), { ...this.#lock, fault: this.#fault });
    } catch (e) {
      this.#waiting.shift()!.failed(e);
      return;
    }
    try {
      const synced: { resolve: () => void; reject: (e: unknown) => void }[] = [];
      for (let n = 0; n < MAX_GROUP && this.#waiting.length > 0; n++) {
        const job = this.#waiting.shift()!;
        let tx: FileTx | undefined;
        let value: unknown;
        try {
          // A damaged or vanished state fails here, this transaction alone.
          tx = new FileTx(this.#state.prepare());
          value = await job.fn(tx);
        } catch (e) {
          job.failed(e);
          continue;
        } finally {
          if (tx !== undefined) tx.done = true;
        }
        if (tx.writes.size === 0) {
          job.decided({ value, written: Promise.resolve() });
          continue;
        }
        try {
          await this.#state.append(tx.writes, this.#fault, false);
        } catch (e) {
          job.failed(e);
          continue;
        }
        const written = new Promise<void>((resolve, reject) => synced.push({ resolve, reject }));
        written.catch(() => undefined); // reported through `written`
        job.decided({ value, written });
      }
      if (synced.length > 0) {
        try {
          await this.#state.sync(this.#fault);
          for (const s of synced) s.resolve();
        } catch (e) {
          for (const s of synced) s.reject(e);
          return;
        }
        await this.#compactIfDue();
      }
    } finally {
      await lock.release();
      reach(this.#fault, 'released');
    }
  }

  /**
   * Rewrites the snapshot once the journal has outgrown it. The commit is durable already, so a
   * compaction that fails (a full disk) fails nothing: it is tried again when the journal has
   * grown as much once more, and the journal meanwhile holds every commit.
   */
  async #compactIfDue(): Promise<void> {
    const journal = this.#state.journalBytes() ?? 0;
    const limit = this.#compactBytes ?? Math.max(MIN_COMPACT_BYTES, this.#state.snapshotBytes);
    if (journal < limit || journal < this.#compactRetryAt) return;
    try {
      await this.#state.rewrite('compact', this.#fault);
      this.#compactRetryAt = 0;
    } catch {
      this.#compactRetryAt = journal + limit;
    }
  }

  /** Rewrites a version-1 state as snapshot and journal, under the lock (another process may too). */
  async #migrate(): Promise<void> {
    const lock = await acquireLock(join(this.#dir, LOCK), { ...this.#lock, fault: this.#fault });
    try {
      this.#state.prepare();
      if (this.#state.legacy) await this.#state.rewrite('afresh', this.#fault);
    } finally {
      await lock.release();
    }
  }
}

function isFault(f: unknown): f is StoreFault {
  if (typeof f !== 'object' || f === null) return false;
  const { step, bytes } = f as { step?: unknown; bytes?: unknown };
  return (COMMIT_STEPS as readonly unknown[]).includes(step) || (Number.isInteger(bytes) && (bytes as number) >= 0);
}

/** Makes sure `dir` is a directory, creating it if `create`; otherwise a missing one is a NotFoundError. */
async function openDir(dir: string, create: boolean): Promise<void> {
  if (create) {
    try {
      await makeDir(dir);
    } catch (err) {
      throw ioError(dir, 'cannot create the state directory', err);
    }
  }
  try {
    if (!statSync(dir).isDirectory()) throw new StoreError(dir, 'io', `the state directory ${dir} is not a directory`);
  } catch (err) {
    if (err instanceof StoreError) throw err;
    if (isCode(err, 'ENOENT')) throw new NotFoundError('state', dir, `no state at ${dir}`);
    throw ioError(dir, 'cannot open the state directory', err);
  }
}

/**
 * `mkdir -p`, mode 0700. Not mkdir's own `recursive`: on a read-only file system that reports
 * ENOENT (it stats the path after any failure), where the user needs to read EROFS.
 */
async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if (isCode(err, 'EEXIST')) return;
    if (!isCode(err, 'ENOENT') || dirname(dir) === dir) throw err;
    await makeDir(dirname(dir));
    await makeDir(dir);
  }
}

/**
 * Removes the temp files dead writers left in `dir` (never read: see disk.ts). One it cannot
 * remove (a read-only mount) is left for a later open; readers ignore it either way.
 */
async function removeDeadTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw ioError(dir, 'cannot read the state directory', err);
  }
  for (const name of names) {
    const pid = TEMP_RE.exec(name)?.[1];
    if (pid === undefined || pidAlive(Number(pid))) continue;
    try {
      unlinkQuiet(join(dir, name));
    } catch {
      // see above
    }
  }
}

/** One committed state, read only. */
class FileSnapshot implements StoreSnapshot {
  constructor(private readonly data: Data) {}

  async get<T extends Json = Json>(key: string): Promise<T | undefined> {
    checkKey(key);
    return copy(this.data.get(key)) as T | undefined;
  }

  async list<T extends Json = Json>(prefix: string, opts: { readonly?: boolean } = {}): Promise<StoreEntry<T>[]> {
    checkPrefix(prefix);
    return listOf(this.data, NO_WRITES, prefix, opts.readonly !== true) as StoreEntry<T>[];
  }
}

/** Buffers a transaction's writes over its snapshot; `undefined` in `writes` marks a delete. */
class FileTx implements StoreTx {
  readonly writes = new Map<string, Json | undefined>();
  done = false;
  constructor(private readonly snapshot: Data) {}

  async get<T extends Json = Json>(key: string): Promise<T | undefined> {
    this.#live();
    checkKey(key);
    return copy(this.writes.has(key) ? this.writes.get(key) : this.snapshot.get(key)) as T | undefined;
  }

  async list<T extends Json = Json>(prefix: string, opts: { readonly?: boolean } = {}): Promise<StoreEntry<T>[]> {
    this.#live();
    checkPrefix(prefix);
    return listOf(this.snapshot, this.writes, prefix, opts.readonly !== true) as StoreEntry<T>[];
  }

  put(key: string, value: Json): void {
    this.#live();
    checkKey(key);
    checkJson(value, key);
    this.writes.set(key, copy(value));
  }

  delete(key: string): void {
    this.#live();
    checkKey(key);
    this.writes.set(key, undefined);
  }

  /** A transaction object kept past its function would write into a commit that already happened. */
  #live(): void {
    if (this.done) throw new ConflictError('transaction', 'store', 'used after it ended');
  }
}

// ---- Small helpers ----------------------------------------------------------------------------

function copy<T extends Json | undefined>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

const NO_WRITES: ReadonlyMap<string, Json | undefined> = new Map();

/** The documents under `prefix` of `data` with `writes` over it (undefined: deleted), sorted by key. */
function listOf(data: Data, writes: ReadonlyMap<string, Json | undefined>, prefix: string, copied = true): StoreEntry[] {
  const keys = new Set<string>();
  for (const key of data.keys()) if (key.startsWith(prefix)) keys.add(key);
  for (const [key, value] of writes) if (key.startsWith(prefix) && value !== undefined) keys.add(key);
  const entries: StoreEntry[] = [];
  for (const key of [...keys].sort()) {
    const value = writes.has(key) ? writes.get(key) : data.get(key);
    if (value !== undefined) entries.push({ key, value: copied ? copy(value) : value });
  }
  return entries;
}

