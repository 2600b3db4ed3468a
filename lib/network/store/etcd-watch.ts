// Watches of a store prefix, on etcd's Watch stream, with the resume logic kept here rather than
// in etcd3's WatchManager: that one throws inside its stream handler on a response it cannot
// place, hides the compact revision of a cancelled watch inside an error message, and is where the
// silent stalls users report live (microsoft/etcd3#72, #78, #31; streams reset after hours, #153).
//
// Resume: `next` is one past the last revision delivered. After any stream error or end (etcd
// restarted, connection reset), the watch is created again from `next`, and events below `next`
// are dropped, so nothing is lost and nothing is delivered twice. etcd sends all events of one
// revision in one response, so `next` moves at response boundaries. When etcd has compacted past
// `next`, it cancels the watch with `compact_revision`: the handler gets `resync` with a fresh
// listing and the watch goes on from that listing's revision.
//
// Stalls: every `checkMs` the watch sends a progress request on its stream. An answer (or any
// event) proves the stream is alive; none by the next check, and the stream is dropped and the
// watch re-created from `next`. Progress answers never move `next`: in etcd 3.4 the revision they
// carry can run ahead of events not yet sent to a watcher that is catching up (etcd#15220).
import type { IDuplexStream, IWatchRequest, IWatchResponse } from 'etcd3';

import { prefixEnd, type EtcdConnection } from './etcd-client.js';
import { EtcdReader } from './etcd-tx.js';
import type { Json, StoreEntry } from './types.js';

export type WatchEvent =
  | { type: 'put'; key: string; value: Json; revision: number }
  | { type: 'delete'; key: string; revision: number }
  /** The watch could not resume (etcd compacted past it): this is the whole prefix now. */
  | { type: 'resync'; entries: StoreEntry[]; revision: number };

export interface WatchOptions {
  /** The first revision to deliver; default: changes after the watch is created. */
  fromRevision?: number;
  /** How often the stream is checked for a stall, ms (default 30 s). */
  checkMs?: number;
  /** Called with what the handler throws or rejects with; the watch then stops. Default: rethrown. */
  onError?: (err: unknown) => void;
}

export interface StoreWatch {
  /** One past the last revision delivered. */
  readonly next: number;
  /** How many times the stream was created again (after errors, stalls, compaction). */
  readonly restarts: number;
  close(): Promise<void>;
}

type Handler = (event: WatchEvent) => void | Promise<void>;
type Stream = IDuplexStream<IWatchRequest, IWatchResponse>;

export class PrefixWatch implements StoreWatch {
  next: number;
  restarts = 0;
  #stream: Stream | undefined;
  #closed = false;
  #heard = true;
  #timer: NodeJS.Timeout;
  #retry: NodeJS.Timeout | undefined;
  #pause = 100;
  /** Handler calls in order: each event waits for the one before. */
  #queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly conn: EtcdConnection,
    private readonly prefix: string,
    private readonly handler: Handler,
    private readonly opts: WatchOptions,
    next: number,
  ) {
    this.next = next;
    this.#timer = setInterval(() => this.#check(), opts.checkMs ?? 30_000);
  }

  static async start(conn: EtcdConnection, prefix: string, opts: WatchOptions, handler: Handler): Promise<PrefixWatch> {
    // "From now" is fixed before start() returns, so nothing committed after it can be missed.
    const next = opts.fromRevision ?? (await currentRevision(conn)) + 1;
    const watch = new PrefixWatch(conn, prefix, handler, opts, next);
    watch.#open();
    return watch;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#retry);
    this.#drop();
    await this.#queue.catch(() => undefined);
  }

  #open(): void {
    if (this.#closed) return;
    const key = this.conn.key(this.prefix);
    this.conn.client.watchClient.watch().then(
      (stream) => {
        if (this.#closed) return stream.cancel();
        this.#stream = stream;
        this.#heard = true;
        stream.on('data', (res) => stream === this.#stream && this.#onResponse(res));
        stream.on('error', () => stream === this.#stream && this.#restart());
        stream.on('end', () => stream === this.#stream && this.#restart());
        stream.write({ create_request: { key, range_end: prefixEnd(key), start_revision: this.next, progress_notify: true } });
      },
      () => this.#restart(),
    );
  }

  #onResponse(res: IWatchResponse): void {
    this.#heard = true;
    if (res.canceled) {
      if (res.compact_revision !== '0') this.#resync();
      else this.#restart();
      return;
    }
    this.#pause = 100;
    let last = 0;
    for (const ev of res.events) {
      const revision = Number(ev.kv.mod_revision);
      last = Math.max(last, revision);
      const key = this.conn.storeKey(ev.kv.key);
      if (revision < this.next || key === undefined) continue;
      this.#deliver(ev.type === 'Put' ? { type: 'put', key, value: this.conn.decode(ev.kv), revision } : { type: 'delete', key, revision });
    }
    if (last >= this.next) this.next = last + 1;
  }

  /** Lists the prefix at the latest revision and goes on from there. */
  #resync(): void {
    this.#drop();
    const reader = new EtcdReader(this.conn, undefined);
    reader.listRaw(this.prefix).then(
      (kvs) => {
        if (this.#closed) return;
        const revision = Number(reader.revision);
        const entries = kvs.map((kv) => ({ key: this.conn.storeKey(kv.key)!, value: this.conn.decode(kv) })).sort((a, b) => (a.key < b.key ? -1 : 1));
        this.next = revision + 1;
        this.#deliver({ type: 'resync', entries, revision });
        this.restarts++;
        this.#open();
      },
      () => this.#later(() => this.#resync()),
    );
  }

  #deliver(event: WatchEvent): void {
    this.#queue = this.#queue.then(() => this.handler(event)).catch((err: unknown) => {
      if (this.#closed) return;
      void this.close();
      if (this.opts.onError === undefined) throw err;
      this.opts.onError(err);
    });
  }

  #check(): void {
    if (this.#stream === undefined) return;
    if (!this.#heard) {
      this.#restart();
      return;
    }
    this.#heard = false;
    this.#stream.write({ progress_request: {} });
  }

  #restart(): void {
    this.#drop();
    this.#later(() => {
      this.restarts++;
      this.#open();
    });
  }

  #later(fn: () => void): void {
    if (this.#closed) return;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(fn, this.#pause);
    this.#pause = Math.min(this.#pause * 2, 2_000);
  }

  #drop(): void {
    const stream = this.#stream;
    this.#stream = undefined;
    stream?.cancel();
  }
}

/** The store's current revision: the header of any read. */
export async function currentRevision(conn: EtcdConnection): Promise<number> {
  const reader = new EtcdReader(conn, undefined);
  await reader.range(conn.key('\0now'), undefined);
  return Number(reader.revision);
}
