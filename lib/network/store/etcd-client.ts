// One connection to an etcd cluster for EtcdStore: the grpc client (microsoft's etcd3 package, used
// for its generated KV/Lease/Watch stubs only), the mapping of store keys to etcd keys, and the one
// place where etcd's failures become EtcdErrors.
//
// etcd3's own fault handling is switched off (no-op policies): its default retries three times at
// once and then opens a circuit breaker for 5 s, so an etcd that restarts in one second stays
// "down" for five, and its errors come in a dozen classes. Here every call gets one deadline,
// `timeoutMs` from its start, and is retried while etcd cannot be reached; at the deadline it
// fails with one line, `etcd at 127.0.0.1:2379: unreachable after 5 s`.
import { setTimeout as sleep } from 'node:timers/promises';
import { noop } from 'cockatiel';
import { ClientClosedError, Etcd3, GRPCDeadlineExceededError, GRPCOutOfRangeError, GRPCUnavailableError, type IKeyValue } from 'etcd3';

import { StoreError, type StoreProblem } from './errors.js';
import type { Json } from './types.js';

/** grpc's per-call options (the deadline), as etcd3's stubs take them. */
type CallOptions = NonNullable<Parameters<Etcd3['kv']['range']>[1]>;

/** What went wrong between nlnet and etcd. */
export type EtcdCode =
  /** No answer from any endpoint until the deadline: nothing was changed. */
  | 'unreachable'
  /** The connection broke after a commit was sent: it may or may not have been applied. */
  | 'outcome-unknown'
  /** A read asked for a revision etcd has compacted away. */
  | 'compacted'
  /** A transaction needs more operations than etcd takes in one (`--max-txn-ops`). */
  | 'too-large'
  /** A value under the prefix is not JSON: something other than nlnet wrote it. */
  | 'garbage'
  /** The store was closed. */
  | 'closed'
  /** etcd refused the request (permission, bad request): its message says why. */
  | 'rejected';

/** A StoreError about etcd: `path` is the endpoint list, `code` one of EtcdCode. */
export class EtcdError extends StoreError {
  override readonly code: EtcdCode;
  constructor(where: string, code: EtcdCode, message: string, cause?: unknown) {
    const problem: StoreProblem = code === 'garbage' ? 'garbage' : 'io';
    super(where, problem, message, cause);
    this.code = code;
    // StoreError's `name` is typed as its own literal, so a subclass cannot redeclare it.
    Object.defineProperty(this, 'name', { value: 'EtcdError' });
  }
}

/** Whether a call may be sent again after this error: only if nothing can have been applied. */
type Replay = 'read' | 'commit';

export class EtcdConnection {
  readonly client: Etcd3;
  /** `127.0.0.1:2379,10.0.0.2:2379`: how errors name the cluster. */
  readonly where: string;
  readonly #prefix: Buffer;
  #closed = false;

  constructor(endpoints: string[], prefix: string, readonly timeoutMs: number) {
    this.where = endpoints.join(',');
    this.#prefix = Buffer.from(prefix, 'utf8');
    this.client = new Etcd3({
      hosts: endpoints.map((e) => `http://${e}`),
      faultHandling: { global: noop, host: () => noop },
      grpcOptions: {
        // grpc-js backs off up to 120 s between reconnects; an etcd back from a restart should be
        // used within a second. Keepalive pings find a dead connection under an idle watch (etcd
        // refuses pings more often than every 5 s: --grpc-keepalive-min-time).
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
      },
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The etcd key of a store key (or of a store prefix). */
  key(storeKey: string): Buffer {
    return Buffer.concat([this.#prefix, Buffer.from(storeKey, 'utf8')]);
  }

  /** The store key of an etcd key under the prefix; undefined for internal keys (etcd-tx.ts). */
  storeKey(key: Buffer): string | undefined {
    const rest = key.subarray(this.#prefix.length).toString('utf8');
    return rest.startsWith('\0') ? undefined : rest;
  }

  /** A value as stored: JSON text. */
  decode(kv: IKeyValue): Json {
    try {
      return JSON.parse(kv.value.toString('utf8')) as Json;
    } catch (err) {
      throw new EtcdError(this.where, 'garbage', `etcd at ${this.where}: key ${kv.key.toString('utf8')} does not hold JSON; something other than nlnet wrote it`, err);
    }
  }

  /**
   * Runs one etcd call with a deadline of timeoutMs, sending it again while etcd cannot be
   * reached. A commit is sent again only when it never left this process (no connection): one
   * that was cut off on the way may have been applied, and repeating it could apply it twice.
   */
  async call<T>(replay: Replay, fn: (options: CallOptions) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    for (let pause = 50; ; pause = Math.min(pause * 2, 500)) {
      if (this.#closed) throw this.#closedError();
      try {
        return await fn({ deadline });
      } catch (err) {
        if (err instanceof ClientClosedError || this.#closed) throw this.#closedError();
        const unreachable = err instanceof GRPCUnavailableError || err instanceof GRPCDeadlineExceededError;
        if (!unreachable) throw this.#rejected(err);
        if (replay === 'commit' && !neverSent(err)) {
          throw new EtcdError(this.where, 'outcome-unknown', `etcd at ${this.where}: connection lost while committing; the transaction may or may not have been applied`, err);
        }
        const left = deadline - Date.now();
        if (left <= 0 || err instanceof GRPCDeadlineExceededError) throw this.unreachable(err);
        await sleep(Math.min(pause, left));
      }
    }
  }

  /** The one error of an etcd that did not answer in time. */
  unreachable(cause?: unknown): EtcdError {
    return new EtcdError(this.where, 'unreachable', `etcd at ${this.where}: unreachable after ${seconds(this.timeoutMs)} s`, cause);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.client.close();
  }

  #closedError(): EtcdError {
    return new EtcdError(this.where, 'closed', `etcd at ${this.where}: the store was closed`);
  }

  #rejected(err: unknown): EtcdError {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof GRPCOutOfRangeError || /required revision has been compacted/.test(message)) {
      return new EtcdError(this.where, 'compacted', `etcd at ${this.where}: the revision read was compacted away`, err);
    }
    return new EtcdError(this.where, 'rejected', `etcd at ${this.where}: ${message}`, err);
  }
}

/**
 * grpc-js's words for a call that failed before any connection carried it: no connection, or a
 * deadline that passed while it still waited for name resolution or a connection (a deadline
 * message names the call's `remote_addr` once a connection carried it).
 */
function neverSent(err: unknown): boolean {
  if (err instanceof GRPCUnavailableError) return /No connection established|ECONNREFUSED/.test(err.message);
  return err instanceof GRPCDeadlineExceededError && !/remote_addr/.test(err.message);
}

/** 5000 → "5", 1500 → "1.5": the timeout as people write it. */
function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

/** The end of etcd's range of every key that starts with `key` ("one bit larger"). */
export function prefixEnd(key: Buffer): Buffer {
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all 0xff: to the end of the key space
}
