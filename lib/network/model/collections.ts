// The store's records, typed: `networks/<name>` and `sandboxes/<name>` as NetworkRecord and
// SandboxRecord, read through a transaction, a snapshot or the store itself and written through a
// transaction. The store (store/types.ts) keeps plain JSON under string keys; this is the only
// place that turns one into the other, and the only place that spells those keys.
import type { Json, StoreTx } from '../store/types.js';
import type { NetworkRecord, SandboxRecord } from './sandbox.js';

/** What reading needs: a transaction, a snapshot of one commit (store.snapshot()) or the store. */
export type StoreReader = Pick<StoreTx, 'get' | 'list'>;

/** One kind of record, keyed by its name. */
export interface ReadCollection<T> {
  get(name: string): Promise<T | undefined>;
  /** Every record, sorted by name: fresh copies. */
  list(): Promise<T[]>;
  /** Not copied: faster over many records, and the caller must not change them. */
  list(opts: { readonly: true }): Promise<readonly T[]>;
}

/** The same inside a transaction, which may change them (visible at commit). */
export interface Collection<T> extends ReadCollection<T> {
  put(record: T): void;
  delete(name: string): void;
}

/** The records as one reader sees them. */
export interface RecordReader {
  readonly networks: ReadCollection<NetworkRecord>;
  readonly sandboxes: ReadCollection<SandboxRecord>;
}

/**
 * A transaction with its records typed. It is a StoreTx too (its own methods pass through), so
 * what takes a StoreTx (owner.ts, the helpers of records.ts) takes it as well.
 */
export interface RecordTx extends StoreTx, RecordReader {
  readonly networks: Collection<NetworkRecord>;
  readonly sandboxes: Collection<SandboxRecord>;
}

// The one conversion between the store's JSON and a record type. Sound because every document
// under these prefixes is written by Collection.put from a record of that type, and records are
// plain data (strings, numbers, booleans, arrays and objects of those; optional fields absent,
// never undefined), which JSON keeps as it is: what comes back is what went in.
const fromJson = <T>(value: Json): T => value as unknown as T;

function reading<T>(source: StoreReader, prefix: string): ReadCollection<T> {
  async function list(): Promise<T[]>;
  async function list(opts: { readonly: true }): Promise<readonly T[]>;
  async function list(opts?: { readonly: true }): Promise<readonly T[]> {
    return (await source.list(prefix, opts)).map((e) => fromJson<T>(e.value));
  }
  return {
    get: async (name) => {
      const value = await source.get(prefix + name);
      return value === undefined ? undefined : fromJson<T>(value);
    },
    list,
  };
}

function writing<T extends { name: string }>(tx: StoreTx, prefix: string): Collection<T> {
  return {
    ...reading<T>(tx, prefix),
    // A record is an object of JSON values (see fromJson): Json's object case.
    put: (record) => tx.put(prefix + record.name, record as Json),
    delete: (name) => tx.delete(prefix + name),
  };
}

const NETWORKS = 'networks/';
const SANDBOXES = 'sandboxes/';

/** The records as `source` sees them: for reads outside a transaction (a snapshot, the store). */
export function recordsOf(source: StoreReader): RecordReader {
  return { networks: reading(source, NETWORKS), sandboxes: reading(source, SANDBOXES) };
}

// The typed view of each transaction, made once: helpers along one attach call recordsIn on the
// same transaction several times, and a RecordTx handed to one is its own view.
const views = new WeakMap<StoreTx, RecordTx>();

/** `tx` with its records typed (the same object for the same transaction). */
export function recordsIn(tx: StoreTx): RecordTx {
  let view = views.get(tx);
  if (view === undefined) {
    view = {
      get: <T extends Json = Json>(key: string) => tx.get<T>(key),
      list: <T extends Json = Json>(prefix: string, opts?: { readonly?: boolean }) => tx.list<T>(prefix, opts),
      put: (key, value) => tx.put(key, value),
      delete: (key) => tx.delete(key),
      networks: writing(tx, NETWORKS),
      sandboxes: writing(tx, SANDBOXES),
    };
    views.set(tx, view);
    views.set(view, view);
  }
  return view;
}
