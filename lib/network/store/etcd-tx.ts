// Transactions over etcd: optimistic, like etcd's own software transactions (clientv3/concurrency
// STM), with list() reads made safe against deletes.
//
// An attempt reads at one revision R (the first read fixes it, every later read asks for R), so
// `fn` sees one committed state. Its writes are buffered. The commit is one etcd Txn:
//   if   every key read through get() still has the mod revision seen (0: it was absent)
//   and  no key under each prefix listed has a mod revision above R      (a range compare)
//   and  the guard of every collection seen in a listing is unchanged since R
//   and  every leased key seen in a listing still has the same create revision
//   then the puts and deletes, and a put of the guard of each collection a delete touches.
// If the compares fail, nothing was written and the store runs `fn` again with fresh reads.
//
// Why the guards: a range compare tests the keys that exist at commit time, so it sees a key put
// or created after R but not one deleted: a deleted key is simply not there to compare. Comparing
// every listed key instead does not scale: etcd takes at most --max-txn-ops (128) compares per
// Txn. So every delete also bumps `<prefix>\0guard/<collection>` in the same Txn, and a list reader
// compares the guards of the collections of the keys it listed. That is enough: a delete changes
// a listing only if the key was in it (then its collection's guard is compared) or was created
// after R (then the create already fails the range compare, or the key is gone again and the
// listing is what it was). Guards hold a control character, which no store key may (keys.ts), so
// no list() answer shows one. Keys under an etcd lease (hosts/, etcd-lease.ts) are deleted by
// etcd itself when the lease expires, bumping no guard: for them the create-revision compare
// does the job, and there are few of them.
import type { ICompare, IKeyValue, IRequestOp } from 'etcd3';

import { ConflictError } from '../../core/errors.js';
import { EtcdError, prefixEnd, type EtcdConnection } from './etcd-client.js';
import { checkJson, checkKey, checkPrefix, collectionOf } from './keys.js';
import type { Json, StoreEntry, StoreSnapshot, StoreTx } from './types.js';

/** Reads through one connection, all at one revision once the first read has fixed it. */
export class EtcdReader implements StoreSnapshot {
  constructor(
    readonly conn: EtcdConnection,
    /** The revision read at; undefined until the first read (or for reads at the latest). */
    public revision: string | undefined,
    /** Whether the first read fixes `revision` for every later one. */
    private readonly pin = true,
  ) {}

  async get<T extends Json = Json>(key: string): Promise<T | undefined> {
    checkKey(key);
    const kv = (await this.range(this.conn.key(key), undefined))[0];
    return (kv === undefined ? undefined : this.conn.decode(kv)) as T | undefined;
  }

  async list<T extends Json = Json>(prefix: string): Promise<StoreEntry<T>[]> {
    checkPrefix(prefix);
    return entries(this.conn, await this.listRaw(prefix)) as StoreEntry<T>[];
  }

  /** The etcd documents under a store prefix, internal keys left out. */
  async listRaw(prefix: string): Promise<IKeyValue[]> {
    const key = this.conn.key(prefix);
    return (await this.range(key, prefixEnd(key))).filter((kv) => this.conn.storeKey(kv.key) !== undefined);
  }

  async range(key: Buffer, rangeEnd: Buffer | undefined): Promise<IKeyValue[]> {
    const at = this.revision;
    const res = await this.conn.call('read', (options) =>
      this.conn.client.kv.range({ key, ...(rangeEnd === undefined ? {} : { range_end: rangeEnd }), ...(at === undefined ? {} : { revision: at }) }, options),
    );
    if (this.pin && this.revision === undefined) this.revision = res.header.revision;
    return res.kvs;
  }
}

/** One attempt of a transaction: reads at one revision, what they saw, and the buffered writes. */
export class EtcdTx implements StoreTx {
  readonly #reader: EtcdReader;
  readonly #writes = new Map<string, Json | undefined>();
  /** What get() read (and saw as its mod revision) before any write of this attempt. */
  readonly #got = new Map<string, { value: Json | undefined; mod: string }>();
  readonly #listed = new Set<string>();
  readonly #guards = new Set<string>();
  /** Leased keys seen in listings, and their create revisions. */
  readonly #leased = new Map<string, string>();
  done = false;

  constructor(conn: EtcdConnection) {
    this.#reader = new EtcdReader(conn, undefined);
  }

  get hasWrites(): boolean {
    return this.#writes.size > 0;
  }

  async get<T extends Json = Json>(key: string): Promise<T | undefined> {
    this.#live();
    checkKey(key);
    if (this.#writes.has(key)) return copy(this.#writes.get(key)) as T | undefined;
    let got = this.#got.get(key);
    if (got === undefined) {
      const kv = (await this.#reader.range(this.#reader.conn.key(key), undefined))[0];
      got = kv === undefined ? { value: undefined, mod: '0' } : { value: this.#reader.conn.decode(kv), mod: kv.mod_revision };
      this.#got.set(key, got);
    }
    return copy(got.value) as T | undefined;
  }

  async list<T extends Json = Json>(prefix: string, opts: { readonly?: boolean } = {}): Promise<StoreEntry<T>[]> {
    this.#live();
    checkPrefix(prefix);
    const kvs = await this.#reader.listRaw(prefix);
    this.#listed.add(prefix);
    const merged = new Map<string, Json>();
    for (const { key, value } of entries(this.#reader.conn, kvs)) merged.set(key, value);
    for (const kv of kvs) {
      const key = this.#reader.conn.storeKey(kv.key)!;
      this.#guards.add(collectionOf(key));
      if (kv.lease !== '0') this.#leased.set(key, kv.create_revision);
    }
    for (const [key, value] of this.#writes) {
      if (!key.startsWith(prefix)) continue;
      if (value === undefined) merged.delete(key);
      else merged.set(key, value);
    }
    return [...merged.keys()].sort().map((key) => ({ key, value: opts.readonly === true ? merged.get(key)! : copy(merged.get(key)!) })) as StoreEntry<T>[];
  }

  put(key: string, value: Json): void {
    this.#live();
    checkKey(key);
    checkJson(value, key);
    this.#writes.set(key, copy(value));
  }

  delete(key: string): void {
    this.#live();
    checkKey(key);
    this.#writes.set(key, undefined);
  }

  /** Sends the commit Txn (see the top of this file); false if another writer came first. */
  async commit(maxTxnOps: number): Promise<boolean> {
    const conn = this.#reader.conn;
    const after = String(BigInt(this.#reader.revision ?? '0') + 1n);
    const compare: ICompare[] = [];
    for (const [key, { mod }] of this.#got) compare.push({ key: conn.key(key), target: 'Mod', result: 'Equal', mod_revision: mod });
    for (const prefix of this.#listed) {
      const key = conn.key(prefix);
      compare.push({ key, range_end: prefixEnd(key), target: 'Mod', result: 'Less', mod_revision: after });
    }
    for (const c of this.#guards) compare.push({ key: guardKey(conn, c), target: 'Mod', result: 'Less', mod_revision: after });
    for (const [key, created] of this.#leased) compare.push({ key: conn.key(key), target: 'Create', result: 'Equal', create_revision: created });

    const success: IRequestOp[] = [];
    const touched = new Set<string>();
    for (const [key, value] of this.#writes) {
      if (value === undefined) {
        success.push({ request_delete_range: { key: conn.key(key) } });
        touched.add(collectionOf(key));
      } else {
        success.push({ request_put: { key: conn.key(key), value: Buffer.from(JSON.stringify(value), 'utf8') } });
      }
    }
    for (const c of touched) success.push({ request_put: { key: guardKey(conn, c), value: Buffer.alloc(0) } });

    const most = Math.max(compare.length, success.length);
    if (most > maxTxnOps) {
      throw new EtcdError(conn.where, 'too-large', `etcd at ${conn.where}: this transaction needs ${compare.length} compares and ${success.length} operations (writes and delete guards); etcd takes at most ${maxTxnOps} of each per transaction (--max-txn-ops)`);
    }
    const res = await conn.call('commit', (options) => conn.client.kv.txn({ compare, success }, options));
    return res.succeeded;
  }

  /** A transaction object kept past its function would write into a commit that already happened. */
  #live(): void {
    if (this.done) throw new ConflictError('transaction', 'store', 'used after it ended');
  }
}

/** The guard a delete in `collection` bumps: `<prefix>\0guard/<collection>`. */
function guardKey(conn: EtcdConnection, collection: string): Buffer {
  return conn.key(`\0guard/${collection}`);
}

function entries(conn: EtcdConnection, kvs: IKeyValue[]): StoreEntry[] {
  return kvs.map((kv) => ({ key: conn.storeKey(kv.key)!, value: conn.decode(kv) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function copy<T extends Json | undefined>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}
