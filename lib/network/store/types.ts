// The state store the engine keeps its networks, endpoints and sandboxes in. One interface, two
// back ends: the embedded file store (file.ts) for one host, etcd for many. The interface is shaped
// so etcd can implement it without pretending: reads inside a transaction are asynchronous (etcd's
// software transactions fetch keys lazily and re-run on conflict), writes are buffered until commit.

/** A plain JSON value: what `JSON.parse` returns. No `undefined`, no NaN, no class instances. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One document of a `list()` answer. */
export interface StoreEntry<T extends Json = Json> {
  key: string;
  value: T;
}

/**
 * A transaction's view of the store: a snapshot taken when the transaction started, plus its own
 * writes (a `get` after a `put` sees the put). Nothing is visible to anyone else until the
 * transaction's function returns; if it throws, nothing is written at all.
 */
export interface StoreTx {
  get<T extends Json = Json>(key: string): Promise<T | undefined>;
  /**
   * Documents whose key starts with `prefix` (e.g. `networks/`), sorted by key. With `readonly`,
   * the values are not copied: faster over many documents, and the caller must not change them.
   */
  list<T extends Json = Json>(prefix: string, opts?: { readonly?: boolean }): Promise<StoreEntry<T>[]>;
  put(key: string, value: Json): void;
  delete(key: string): void;
}

/** One committed state, read only: every read through it sees the same commit. */
export interface StoreSnapshot {
  get<T extends Json = Json>(key: string): Promise<T | undefined>;
  list<T extends Json = Json>(prefix: string, opts?: { readonly?: boolean }): Promise<StoreEntry<T>[]>;
}

/**
 * Keyed JSON documents in collections named by key prefix: `networks/<id>`, `endpoints/<id>`,
 * `sandboxes/<name>`. Values come back as fresh copies; changing one changes nothing stored.
 */
export interface Store {
  /** The latest committed value, or undefined. */
  get<T extends Json = Json>(key: string): Promise<T | undefined>;
  /** The latest committed documents under `prefix`, sorted by key; `readonly` as in StoreTx.list. */
  list<T extends Json = Json>(prefix: string, opts?: { readonly?: boolean }): Promise<StoreEntry<T>[]>;
  /**
   * The latest committed state as one view: two reads through it never straddle a commit, as two
   * calls of `get` can. Takes no lock.
   */
  snapshot(): Promise<StoreSnapshot>;
  /**
   * Runs `fn` in a transaction and commits all its writes at once, or none if it throws (the
   * error is rethrown). Transactions are serialized, across processes too, so a read-modify-write
   * inside `fn` never loses an update. `fn` must not call `update` on the same store: it would
   * wait for itself.
   */
  update<T>(fn: (tx: StoreTx) => T | Promise<T>): Promise<T>;
  /**
   * Like update, but hands back `fn`'s result as soon as the transaction is decided (its writes
   * are final and serialized after every earlier one) while they still go to disk: `written`
   * settles when they are there, or rejects if they could not be written. Lets a caller overlap
   * work that follows from the decision with the write; it must undo that work if `written` fails.
   */
  decide<T>(fn: (tx: StoreTx) => T | Promise<T>): Promise<{ value: T; written: Promise<void> }>;
  /** Waits for queued transactions to finish; the store is not used afterwards. */
  close(): Promise<void>;
}
