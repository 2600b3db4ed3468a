// The store for many hosts: the documents in etcd, under a prefix (`/nlnet/v1/` by default), one
// etcd key per document (`/nlnet/v1/networks/<id>`), the value its JSON text. Hosts register
// under leases (etcd-lease.ts), and changes can be watched (etcd-watch.ts).
//
// Transactions are optimistic (etcd-tx.ts): `fn` runs against reads at one revision and commits
// with compares on what it read; when another writer came first, `fn` runs again on fresh reads,
// so it may run more than once and must do nothing but read and write the store. Inside one
// process transactions still queue, as in the file store: optimistic retries among N concurrent
// updates of one key cost O(N²) attempts, a queue costs nothing.
import { setTimeout as sleep } from 'node:timers/promises';

import { ConflictError, ValidationError } from '../../core/errors.js';
import { EtcdConnection, EtcdError } from './etcd-client.js';
import { HostLease, checkHost, type HostInfo, type HostRegistration, type RegisterHostOptions } from './etcd-lease.js';
import { EtcdReader, EtcdTx } from './etcd-tx.js';
import { PrefixWatch, currentRevision, type StoreWatch, type WatchEvent, type WatchOptions } from './etcd-watch.js';
import { checkPrefix } from './keys.js';
import type { Json, Store, StoreEntry, StoreSnapshot, StoreTx } from './types.js';

export interface EtcdStoreOptions {
  /** `host:port` of each etcd member (parseClusterStore makes them from `etcd://…`). */
  endpoints: string[];
  /** Where the documents live in etcd's key space. Default `/nlnet/v1/`. */
  prefix?: string;
  /** How long one call may wait for etcd before failing as unreachable, ms. Default 5000. */
  timeoutMs?: number;
  /** How many times a transaction runs before it gives up on conflicts. Default 20. */
  maxAttempts?: number;
  /** etcd's `--max-txn-ops` (compares or writes per transaction). Default 128, etcd's own. */
  maxTxnOps?: number;
}

export class EtcdStore implements Store {
  readonly #conn: EtcdConnection;
  readonly #maxAttempts: number;
  readonly #maxTxnOps: number;
  readonly #latest: EtcdReader;
  #queue: Promise<unknown> = Promise.resolve();
  /** Watches and host registrations still open: close() ends them. */
  readonly #open = new Set<{ close(): Promise<void> }>();

  private constructor(conn: EtcdConnection, maxAttempts: number, maxTxnOps: number) {
    this.#conn = conn;
    this.#maxAttempts = maxAttempts;
    this.#maxTxnOps = maxTxnOps;
    this.#latest = new EtcdReader(conn, undefined, false);
  }

  /** Connects and makes one read, so that an unreachable etcd fails here (within timeoutMs). */
  static async open(options: EtcdStoreOptions): Promise<EtcdStore> {
    const { endpoints, prefix = '/nlnet/v1/', timeoutMs = 5000, maxAttempts = 20, maxTxnOps = 128 } = options ?? {};
    if (!Array.isArray(endpoints) || endpoints.length === 0 || endpoints.some((e) => typeof e !== 'string' || !/^(?:\[[0-9A-Fa-f:.]+\]|[^:/\s]+):\d+$/.test(e))) {
      throw new ValidationError('endpoints', endpoints, "must be a non-empty list of 'host:port' (parseClusterStore makes one from etcd://…)");
    }
    if (typeof prefix !== 'string' || prefix === '' || /[\0-\x1f]/.test(prefix)) throw new ValidationError('prefix', prefix, 'must be a non-empty key prefix without control characters');
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new ValidationError('timeoutMs', timeoutMs, 'must be a whole number of milliseconds, at least 1');
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new ValidationError('maxAttempts', maxAttempts, 'must be a whole number, at least 1');
    if (!Number.isInteger(maxTxnOps) || maxTxnOps < 1) throw new ValidationError('maxTxnOps', maxTxnOps, 'must be a whole number, at least 1');
    const conn = new EtcdConnection(endpoints, prefix, timeoutMs);
    try {
      await currentRevision(conn);
    } catch (err) {
      conn.close();
      throw err;
    }
    return new EtcdStore(conn, maxAttempts, maxTxnOps);
  }

  /** The members, as errors name them: `127.0.0.1:2379`. */
  get where(): string {
    return this.#conn.where;
  }

  get<T extends Json = Json>(key: string): Promise<T | undefined> {
    return this.#latest.get<T>(key);
  }

  list<T extends Json = Json>(prefix: string): Promise<StoreEntry<T>[]> {
    return this.#latest.list<T>(prefix);
  }

  /** One revision's view; its `revision` is where a watch of what follows starts (`fromRevision: revision + 1`). */
  async snapshot(): Promise<StoreSnapshot & { readonly revision: string | undefined }> {
    return new EtcdReader(this.#conn, String(await currentRevision(this.#conn)));
  }

  update<T>(fn: (tx: StoreTx) => T | Promise<T>): Promise<T> {
    return this.decide(fn).then(({ value }) => value);
  }

  /** etcd's commit is the decision and the write at once: `written` is resolved already. */
  decide<T>(fn: (tx: StoreTx) => T | Promise<T>): Promise<{ value: T; written: Promise<void> }> {
    if (typeof fn !== 'function') throw new ValidationError('fn', fn, 'must be a function');
    if (this.#conn.closed) return Promise.reject(new EtcdError(this.where, 'closed', `etcd at ${this.where}: the store was closed`));
    const run = this.#queue.then(() => this.#transact(fn));
    this.#queue = run.catch(() => undefined);
    return run.then((value) => ({ value, written: Promise.resolve() }));
  }

  /**
   * Calls `handler` with every change under `prefix`, in order, from `fromRevision` (default:
   * from now); see etcd-watch.ts for resuming and resyncs. Like `etcdctl watch --prefix`.
   */
  async watch(prefix: string, opts: WatchOptions, handler: (event: WatchEvent) => void | Promise<void>): Promise<StoreWatch> {
    checkPrefix(prefix);
    if (typeof handler !== 'function') throw new ValidationError('handler', handler, 'must be a function');
    if (opts.fromRevision !== undefined && (!Number.isInteger(opts.fromRevision) || opts.fromRevision < 1)) throw new ValidationError('fromRevision', opts.fromRevision, 'must be a revision, 1 or more');
    const watch = await PrefixWatch.start(this.#conn, prefix, opts, handler);
    const open = this.#open;
    const handle: StoreWatch = {
      get next() {
        return watch.next;
      },
      get restarts() {
        return watch.restarts;
      },
      close: () => {
        open.delete(handle);
        return watch.close();
      },
    };
    open.add(handle);
    return handle;
  }

  /** Puts `hosts/<id>` under a lease that the handle keeps alive; like flannel's subnet lease. */
  async registerHost(opts: RegisterHostOptions): Promise<HostRegistration> {
    checkHost(opts);
    const lease = await HostLease.register(this.#conn, opts, () => this.#open.delete(lease));
    this.#open.add(lease);
    return lease;
  }

  /** The hosts whose leases are alive, by id. */
  async hosts(): Promise<HostInfo[]> {
    return (await this.list<{ id: string; address: string; since: string }>('hosts/')).map(({ value: { id, address, since } }) => ({ id, address, since }));
  }

  /** Waits for queued transactions, ends watches and revokes host leases, and disconnects. */
  async close(): Promise<void> {
    await this.#queue;
    await Promise.all([...this.#open].map((o) => o.close()));
    this.#conn.close();
  }

  async #transact<T>(fn: (tx: StoreTx) => T | Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const tx = new EtcdTx(this.#conn);
      let value: T;
      try {
        value = await fn(tx);
      } catch (err) {
        // A read at a revision compacted while `fn` ran: a conflict like any other.
        if (!(err instanceof EtcdError && err.code === 'compacted') || attempt >= this.#maxAttempts) throw err;
        continue;
      } finally {
        tx.done = true;
      }
      if (!tx.hasWrites || (await tx.commit(this.#maxTxnOps))) return value;
      if (attempt >= this.#maxAttempts) {
        throw new ConflictError('transaction', this.where, `gave up after ${attempt} attempts: other writers kept changing what it read`);
      }
      // Full jitter (a random pause up to an exponential cap): writers that collided once
      // should not collide again in lock step.
      await sleep(Math.random() * Math.min(200, 2 ** attempt));
    }
  }
}

// The rest of the `nlnet/etcd` entry point (package.json's exports).
export { EtcdError, type EtcdCode } from './etcd-client.js';
export { parseClusterStore } from './cluster-url.js';
export type { HostInfo, HostRegistration, RegisterHostOptions } from './etcd-lease.js';
export type { StoreWatch, WatchEvent, WatchOptions } from './etcd-watch.js';
