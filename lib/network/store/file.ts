// The embedded store: the whole state in one JSON file, `<dir>/store.json` (its format and how
// it is replaced: disk.ts).
//
// One file, not one per document: a transaction that touches a network, its endpoints and a
// sandbox then commits with a single rename(2), which is atomic, so no journal is needed. The
// price is rewriting the whole file on each commit; the state of one host (networks, endpoints,
// sandboxes) is kilobytes to a few megabytes, so that is cheap next to the fsyncs.
//
// Transactions are serialized in two layers: a promise queue inside the process, and a lock file
// across processes (see lock.ts). Reads outside a transaction take no lock: they read
// whichever `store.json` the last rename installed, which is always one whole commit. So a
// store opened `readonly` writes nothing at all, not even a lock, and still reads consistently.

import { statSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.js';
import { readState, serialize, stateIdentity, writeDurably, type Data } from './disk.js';
import { ioError, StoreError, type LockHolder } from './errors.js';
import { COMMIT_STEPS, reach, type StoreFault } from './fault.js';
import { acquireLock, isCode, pidAlive, unlinkQuiet } from './lock.js';
import type { Json, Store, StoreEntry, StoreSnapshot, StoreTx } from './types.js';

const STATE = 'store.json';
const LOCK = 'store.lock';
/** Temp files of the state, the lock and its break markers: `store.json.<pid>.<hex>.tmp`, `store.lock….<pid>.<hex>.tmp`. */
const TEMP_RE = /^store\.(?:json|lock)(?:\.break-[0-9a-z-]+)*\.(\d+)\.[0-9a-f]+\.tmp$/;

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
  /** The last state read or written, and the identity of the file it came from. Never mutated. */
  #cache: { id: string; data: Data } | undefined;
  /** Whether a state file was ever seen: then its disappearing is an error, not an empty state. */
  #seen = false;
  /** Tail of the in-process queue: each update starts when the previous one has settled. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, readonly: boolean, lock: LockWait, fault: StoreFault | undefined) {
    this.#dir = dir;
    this.#readonly = readonly;
    this.#lock = lock;
    this.#fault = fault;
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
   * processes left there, and reads the state once, so that a damaged file fails here.
   */
  static async open(options: FileStoreOptions): Promise<FileStore> {
    const { dir, readonly = false, lockTimeoutMs = 30_000, lockNoticeMs = 0, onLockWait, fault } = options;
    const create = options.create ?? !readonly;
    if (typeof dir !== 'string' || dir === '') throw new ValidationError('dir', dir, 'must be a non-empty path');
    if (typeof readonly !== 'boolean') throw new ValidationError('readonly', readonly, 'must be a boolean');
    if (typeof create !== 'boolean') throw new ValidationError('create', create, 'must be a boolean');
    if (readonly && create) throw new ValidationError('create', create, 'a readonly store creates nothing');
    for (const [field, ms] of [['lockTimeoutMs', lockTimeoutMs], ['lockNoticeMs', lockNoticeMs]] as const) {
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new ValidationError(field, ms, 'must be a non-negative number of milliseconds');
    }
    if (onLockWait !== undefined && typeof onLockWait !== 'function') throw new ValidationError('onLockWait', onLockWait, 'must be a function');
    if (fault !== undefined && !isFault(fault)) throw new ValidationError('fault', fault, `must be { step: ${COMMIT_STEPS.join('|')} } or { bytes: n }`);

    await openDir(dir, create);
    if (!readonly) await removeDeadTemps(dir);
    const store = new FileStore(dir, readonly, { timeoutMs: lockTimeoutMs, noticeMs: lockNoticeMs, onWait: onLockWait }, fault);
    await store.#read(); // a damaged file fails here, not at the first update
    return store;
  }

  async get<T extends Json = Json>(key: string): Promise<T | undefined> {
    checkKey(key);
    return copy((await this.#read()).get(key)) as T | undefined;
  }

  async list<T extends Json = Json>(prefix: string, opts: { readonly?: boolean } = {}): Promise<StoreEntry<T>[]> {
    checkPrefix(prefix);
    return listOf(await this.#read(), prefix, opts.readonly !== true) as StoreEntry<T>[];
  }

  async snapshot(): Promise<StoreSnapshot> {
    return new FileSnapshot(await this.#read());
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
    let decided!: (d: { value: T; written: Promise<void> }) => void;
    const early = new Promise<{ value: T; written: Promise<void> }>((resolve) => (decided = resolve));
    // The queue moves on only once the write is done (and the lock released).
    const run = this.#queue.then(() => this.#transact(fn, decided));
    this.#queue = run.catch(() => undefined);
    return Promise.race([early, run.then((value) => ({ value, written: Promise.resolve() }))]);
  }

  async close(): Promise<void> {
    await this.#queue;
  }

  async #transact<T>(fn: (tx: StoreTx) => T | Promise<T>, decided: (d: { value: T; written: Promise<void> }) => void): Promise<T> {
    const lock = await acquireLock(join(this.#dir, LOCK), { ...this.#lock, fault: this.#fault });
    try {
      const tx = new FileTx(await this.#read());
      let result: T;
      try {
        result = await fn(tx);
      } finally {
        tx.done = true;
      }
      if (tx.writes.size > 0) {
        const written = this.#write(tx.merged());
        written.catch(() => undefined); // reported through `written` and this function's result
        decided({ value: result, written });
        await written;
      }
      return result;
    } finally {
      await lock.release();
      reach(this.#fault, 'released');
    }
  }

  // Synchronous: a page-cache read, cheaper than a thread-pool round trip (see lock.ts). The
  // parsed state is kept while the file is the same one (every commit renames a new file in, so
  // its inode, size or write time differ): with hundreds of sandboxes, parsing is most of a read.
  async #read(): Promise<Data> {
    const path = join(this.#dir, STATE);
    const id = stateIdentity(path);
    if (id !== undefined && this.#cache?.id === id) return this.#cache.data;
    const data = id === undefined ? undefined : readState(path);
    if (data === undefined) return this.#missing(path);
    // Read between a stat and a rename by someone else, the text may be newer than `id`: then
    // the next read sees another id and parses again. Never the reverse.
    this.#cache = { id: id!, data };
    this.#seen = true;
    return data;
  }

  /** No state file: a fresh state, unless there was one (or the directory is gone too). */
  #missing(path: string): Data {
    if (this.#seen) throw new StoreError(path, 'vanished', `state file ${path} was removed while nlnet was using it; not reading it as an empty state`);
    try {
      statSync(this.#dir);
    } catch (err) {
      if (isCode(err, 'ENOENT')) throw new StoreError(this.#dir, 'vanished', `state directory ${this.#dir} was removed while nlnet was using it`);
      throw ioError(this.#dir, 'cannot read the state directory', err);
    }
    return new Map();
  }

  async #write(data: Data): Promise<void> {
    this.#cache = undefined;
    const id = await writeDurably(this.#dir, STATE, serialize(data), this.#fault);
    this.#cache = { id, data };
    this.#seen = true;
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
    return listOf(this.data, prefix, opts.readonly !== true) as StoreEntry<T>[];
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
    return listOf(this.merged(), prefix, opts.readonly !== true) as StoreEntry<T>[];
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

  merged(): Data {
    const data = new Map(this.snapshot);
    for (const [key, value] of this.writes) {
      if (value === undefined) data.delete(key);
      else data.set(key, value);
    }
    return data;
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

function listOf(data: Data, prefix: string, copied = true): StoreEntry[] {
  return [...data.keys()]
    .filter((key) => key.startsWith(prefix))
    .sort()
    .map((key) => ({ key, value: copied ? copy(data.get(key) as Json) : (data.get(key) as Json) }));
}

/** Keys are `collection/id`-style paths: non-empty, no empty segment, no control characters. */
function checkKey(key: string): void {
  if (typeof key !== 'string' || !/^[^/\0-\x1f]+(?:\/[^/\0-\x1f]+)*$/.test(key)) {
    throw new ValidationError('key', key, "must be a non-empty path like 'networks/<id>'");
  }
}

function checkPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw new ValidationError('prefix', prefix, 'must be a string');
}

/** Rejects what JSON.stringify would silently change or drop, so a value reads back as it was put. */
function checkJson(value: unknown, where: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return;
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => checkJson(v, `${where}[${i}]`));
    return;
  } else if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) checkJson(v, `${where}.${k}`);
    return;
  }
  throw new ValidationError(where, value, 'must be plain JSON (null, boolean, finite number, string, array, plain object)');
}
