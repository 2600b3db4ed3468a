// The embedded store: the whole state in one JSON file, `<dir>/store.json`.
//
// One file, not one per document: a transaction that touches a network, its endpoints and a
// sandbox then commits with a single rename(2), which is atomic, so no journal is needed. The
// price is rewriting the whole file on each commit; the state of one host (networks, endpoints,
// sandboxes) is kilobytes to a few megabytes, so that is cheap next to the fsyncs.
//
// A commit writes `store.json.<pid>.<nonce>.tmp` in the same directory, fsyncs it, renames it over
// `store.json` and fsyncs the directory. A crash at any point leaves the old file or the new one;
// a temp file left by a dead process is removed on open and never read.
//
// Transactions are serialized in two layers: a promise queue inside the process, and a lock file
// across processes (see lock.ts). Reads outside a transaction take no lock: they read
// whichever `store.json` the last rename installed.

import { closeSync, fstatSync, fsync, openSync, readFileSync, renameSync, statSync, writeSync, type BigIntStats } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';

import { ConflictError, ValidationError } from '../../errors.js';
import { acquireLock, isCode, pidAlive, tempName, unlinkQuiet } from './lock.js';
import type { Json, Store, StoreEntry, StoreTx } from './types.js';

const STATE = 'store.json';
const LOCK = 'store.lock';
const FORMAT = 'nlnet-store';
const VERSION = 1;
/** Temp files of the state, the lock and its break markers: `store.json.<pid>.<hex>.tmp`, `store.lock….<pid>.<hex>.tmp`. */
const TEMP_RE = /^store\.(?:json|lock)(?:\.break-[0-9a-z-]+)*\.(\d+)\.[0-9a-f]+\.tmp$/;

export interface FileStoreOptions {
  /** The state directory (the engine passes its `stateDir`, /var/lib/nlnet by default). Created if missing. */
  dir: string;
  /** How long `update` waits for another process's lock before a ConflictError. Default 30 s. */
  lockTimeoutMs?: number;
}

type Data = Map<string, Json>;

export class FileStore implements Store {
  readonly #dir: string;
  readonly #lockTimeoutMs: number;
  /** The last state read or written, and the identity of the file it came from. Never mutated. */
  #cache: { id: string; data: Data } | undefined;
  /** Tail of the in-process queue: each update starts when the previous one has settled. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, lockTimeoutMs: number) {
    this.#dir = dir;
    this.#lockTimeoutMs = lockTimeoutMs;
  }

  /** The state directory. */
  get dir(): string {
    return this.#dir;
  }

  /** Opens (creating if needed) the store in `dir`, removing temp files that dead processes left. */
  static async open(options: FileStoreOptions): Promise<FileStore> {
    const { dir, lockTimeoutMs = 30_000 } = options;
    if (typeof dir !== 'string' || dir === '') throw new ValidationError('dir', dir, 'must be a non-empty path');
    if (!Number.isFinite(lockTimeoutMs) || lockTimeoutMs < 0) {
      throw new ValidationError('lockTimeoutMs', lockTimeoutMs, 'must be a non-negative number');
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(dir)) {
      const pid = TEMP_RE.exec(name)?.[1];
      if (pid !== undefined && !pidAlive(Number(pid))) unlinkQuiet(join(dir, name));
    }
    const store = new FileStore(dir, lockTimeoutMs);
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

  update<T>(fn: (tx: StoreTx) => T | Promise<T>): Promise<T> {
    return this.decide(fn).then(async ({ value, written }) => {
      await written;
      return value;
    });
  }

  decide<T>(fn: (tx: StoreTx) => T | Promise<T>): Promise<{ value: T; written: Promise<void> }> {
    if (typeof fn !== 'function') throw new ValidationError('fn', fn, 'must be a function');
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
    const lock = await acquireLock(join(this.#dir, LOCK), this.#lockTimeoutMs);
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
    }
  }

  // Synchronous: a page-cache read, cheaper than a thread-pool round trip (see lock.ts). The
  // parsed state is kept while the file is the same one (every commit renames a new file in, so
  // its inode, size or write time differ): with hundreds of sandboxes, parsing is most of a read.
  async #read(): Promise<Data> {
    const path = join(this.#dir, STATE);
    let text: string;
    let id: string;
    try {
      id = identity(statSync(path, { bigint: true }));
      if (this.#cache?.id === id) return this.#cache.data;
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (isCode(err, 'ENOENT')) return new Map();
      throw err;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      doc = undefined;
    }
    const { format, version, data } = (doc ?? {}) as { format?: unknown; version?: unknown; data?: unknown };
    if (format !== FORMAT || version !== VERSION || typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new ValidationError(path, text.slice(0, 40), `is not an ${FORMAT} file of version ${VERSION}`);
    }
    const parsed: Data = new Map(Object.entries(data as Record<string, Json>));
    // Read between a stat and a rename by someone else, the text may be newer than `id`: then
    // the next read sees another id and parses again. Never the reverse.
    this.#cache = { id, data: parsed };
    return parsed;
  }

  async #write(data: Data): Promise<void> {
    const sorted = Object.fromEntries([...data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const text = `${JSON.stringify({ format: FORMAT, version: VERSION, data: sorted })}\n`;
    this.#cache = undefined;
    const id = await writeDurably(this.#dir, STATE, text);
    this.#cache = { id, data };
  }
}

const fsyncAsync = promisify(fsync);

/**
 * Replaces `dir/name` with `text` so that a crash leaves the old content or the new, never a mix:
 * temp file in the same directory (rename is only atomic within a file system), fsync it so the
 * rename cannot reach the disk before the data, rename, then fsync the directory so the rename
 * itself survives a power loss. Only the two fsyncs wait for the disk, so only they go to the
 * thread pool; the rest are page-cache operations of microseconds (see lock.ts).
 */
async function writeDurably(dir: string, name: string, text: string): Promise<string> {
  const temp = join(dir, tempName(name));
  let id: string;
  try {
    const fd = openSync(temp, 'wx', 0o600);
    try {
      const bytes = Buffer.from(text, 'utf8');
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
      await fsyncAsync(fd);
      id = identity(fstatSync(fd, { bigint: true }));
    } finally {
      closeSync(fd);
    }
    renameSync(temp, join(dir, name));
  } catch (err) {
    unlinkQuiet(temp);
    throw err;
  }
  const dh = openSync(dir, 'r');
  try {
    await fsyncAsync(dh);
  } finally {
    closeSync(dh);
  }
  return id;
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


/**
 * Which file a path holds now: a commit renames a new one in, with its own inode and write time
 * (not its change time: the rename itself changes that).
 */
function identity(st: BigIntStats): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}`;
}

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
