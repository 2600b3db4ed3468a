// Loads the addon (a prebuild from prebuilds/ when one matches, else build/Release) and types it.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build, type NativeTape } from './tape.js';

/** A request as the executor takes it: a message type, its flags and a descriptor body. */
export interface NativeOp {
  type: number;
  flags: number;
  body: object;
  /** Name of the link this step creates, found by name if the kernel does not echo it. */
  name?: string;
  /** The step's replies as the bytes the kernel sent (one Buffer, the messages end to end), not decoded. */
  raw?: boolean;
}

/** A decoded message body: header fields and attributes under their JS names. */
export type Body = Record<string, unknown>;

/** What one step got back: its decoded replies, or their bytes for a step that asked for them raw. */
export type Replies = Body[] | Buffer;

/** An nf_tables transaction: the operations go between BATCH_BEGIN and BATCH_END. */
export interface ExecOptions {
  batch?: boolean;
  /** Refuse the batch (ERESTART) if the ruleset generation is no longer this one. */
  genid?: number;
}

export interface NativeHandle {
  /** Runs the operations in order on one socket; resolves to each step's replies. */
  exec(ops: NativeOp[], options?: ExecOptions): Promise<Replies[]>;
  close(): void;
}

/** One part of a job (native/netns/job.cc): done in order in one native call, no JS between. */
export type NativeJobPart =
  | { netns: string }
  | { file: string; data: string }
  | { handle: NativeHandle; ops: NativeOp[]; options?: ExecOptions }
  | { protocol: number; ops: NativeOp[]; options?: ExecOptions };

export interface NativeJob {
  /** Runs the next `count` parts (default: all left); `more`: parts will be appended, keep the job's namespace open. */
  run(count?: number, more?: boolean): Promise<Body[][][]>;
  /** Adds parts, between runs. */
  append(parts: NativeJobPart[]): void;
}

export interface NativeSubscription {
  close(): void;
}

export interface NativeBinding {
  Handle: new (nsfd: number, protocol: number, dumpRetries?: number) => NativeHandle;
  /** Process-wide counters: dumps retried after NLM_F_DUMP_INTR. */
  counters(): { dumpRetries: number };
  Subscription: new (
    fd: number,
    protocol: number,
    onMessages: (messages: { type: number; body: Body }[], overflowed: boolean) => void,
  ) => NativeSubscription;
  /**
   * Parts done in order on a namespace thread (native/netns/job.cc). `run(count?)` runs the next
   * `count` (default: all left) and resolves to each one's step replies (a non-ops part's are []);
   * it rejects at the first failure with `part` (counted over the whole job), `step` and
   * `jobResults` (the parts run before it in this run, then the failed part's finished steps).
   */
  Job: new (parts: NativeJobPart[]) => NativeJob;
  encode(protocol: number, type: number, flags: number, body: object): Buffer;
  decode(protocol: number, bytes: Buffer): { type: number; flags: number; seq: number; pid: number; body?: Body }[];
  netnsCreate(name: string): Promise<void>;
  netnsCreate(name: string, open: true): Promise<number>;
  netnsDelete(name: string): Promise<void>;
  netnsOpen(path: string): Promise<number>;
  sysctlRead(nsfd: number, path: string): Promise<string>;
  sysctlWrite(nsfd: number, path: string, value: string): Promise<void>;
  openNetlink(nsfd: number, protocol: number, groups: number[], receiveBuffer?: number): Promise<number>;
  // -- sockets inside a namespace (native/netns/netns_socket.cc) --
  /** A TCP socket made in `nsfd` (-1: the process's own namespace), bound and listening: its fd. */
  socketListenTcp(nsfd: number, address: string, port: number, backlog: number): Promise<number>;
  /** A TCP socket made in `nsfd`, bound to `localAddress` unless '', connected to address:port: its fd. */
  socketConnectTcp(nsfd: number, localAddress: string, address: string, port: number, timeoutMs: number): Promise<number>;
  /** A UDP socket made in `nsfd` and bound: its fd, for a UdpEndpoint. */
  socketOpenUdp(nsfd: number, address: string, port: number): Promise<number>;
  /**
   * Reads a UDP socket with uv_poll on the JS loop and owns its fd (closed by close()). `send` is
   * a non-blocking sendto() returning the bytes sent; it throws a NativeError (EAGAIN when full).
   */
  UdpEndpoint: new (
    fd: number,
    onMessage: (data: Buffer, address: string, port: number) => void,
  ) => { send(data: Buffer, address: string, port: number): number; address(): { address: string; port: number }; close(): void; ref(): void; unref(): void };
  // -- running a command inside a namespace (native/netns/spawn.cc) --
  /**
   * Forks and execs `file` (PATH already resolved) inside `nsPath`'s network namespace, with each
   * `binds` pair (source, target, …) bind-mounted in a mount namespace of its own. `started`
   * rejects with the failing step's errno/syscall/path, or resolves once the command runs;
   * `onExit` is then called once, when it ends (watched through a pidfd on the loop).
   */
  spawn(
    options: { file: string; argv: string[]; env: string[]; cwd?: string; output?: string; nsPath?: string; binds: string[] },
    onExit: (status: number | null, signal: number | null) => void,
  ): { pid: number; started: Promise<void> };
}

/** The error shape native code rejects with (see native/core/errors.cc). */
export interface NativeError extends Error {
  errno: number;
  code: string;
  syscall: string;
  extack?: string;
  badAttrOffset?: number;
  path?: string;
  step?: number;
  results?: Replies[];
  partial?: Replies;
  /** A job's failing part. */
  part?: number;
  jobResults?: Body[][][];
}

/** The executor's tape; `raw[i]` holds the bytes of step i when it asked for them (native/core/handle.cc). */
type ExecTape = NativeTape & { raw?: (Buffer | undefined)[] };

/** What the addon itself exports: decoded messages come back as tapes (see lib/core/tape.ts). */
type RawHandle = { exec(ops: NativeOp[], options?: ExecOptions): Promise<ExecTape>; close(): void };
type RawJobPart = Exclude<NativeJobPart, { handle: NativeHandle }> | { handle: RawHandle; ops: NativeOp[]; options?: ExecOptions };

interface RawBinding extends Omit<NativeBinding, 'Handle' | 'Subscription' | 'decode' | 'Job'> {
  Handle: new (nsfd: number, protocol: number, dumpRetries?: number) => RawHandle;
  Job: new (parts: RawJobPart[]) => { run(count?: number, more?: boolean): Promise<NativeTape>; append(parts: RawJobPart[]): void };
  Subscription: new (fd: number, protocol: number, onMessages: (tape: NativeTape, overflowed: boolean) => void) => NativeSubscription;
  decode(protocol: number, bytes: Buffer): NativeTape;
}

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const load = require('node-gyp-build') as (dir: string) => unknown;
const raw = load(root) as RawBinding;

/** The addon's handle behind each typed one: what a job's parts name. */
const rawHandles = new WeakMap<NativeHandle, RawHandle>();

/** A job's part as the addon takes it: the addon's own handle. */
function rawPart(p: NativeJobPart): RawJobPart {
  if (!('handle' in p)) return p;
  const h = rawHandles.get(p.handle);
  if (h === undefined) throw new TypeError('job: a part names a handle that is not the addon’s');
  return { ...p, handle: h };
}

/** Each step's replies: the decoded bodies, or the bytes of a raw step (the partial step's at its index). */
function replies(tape: ExecTape): { results: Replies[]; partial?: Replies } {
  const out = build(tape) as { results: Replies[]; partial?: Replies };
  const raw = tape.raw;
  if (raw === undefined) return out;
  out.results = out.results.map((r, i) => raw[i] ?? r);
  const partial = raw[out.results.length];
  if (out.partial !== undefined && partial !== undefined) out.partial = partial;
  return out;
}

/** A native call whose failure carries the tape of what ran before it: that goes onto the error as `fields(tape)`. */
async function unpackingFailure<T extends NativeTape>(call: Promise<T>, fields: (tape: T) => object): Promise<T> {
  try {
    return await call;
  } catch (e) {
    const tape = (e as { tape?: T }).tape;
    if (tape) Object.assign(e as object, { ...fields(tape), tape: undefined });
    throw e;
  }
}

/** The addon, with its tapes turned into objects. */
export const native: NativeBinding = {
  ...raw,
  Handle: class Handle implements NativeHandle {
    readonly #h;
    constructor(nsfd: number, protocol: number, dumpRetries?: number) {
      this.#h = new raw.Handle(nsfd, protocol, dumpRetries);
      rawHandles.set(this, this.#h);
    }
    async exec(ops: NativeOp[], options?: ExecOptions): Promise<Replies[]> {
      return replies(await unpackingFailure(this.#h.exec(ops, options), (tape) => replies(tape))).results;
    }
    close(): void {
      this.#h.close();
    }
  },
  Subscription: class Subscription implements NativeSubscription {
    readonly #s;
    constructor(fd: number, protocol: number, onMessages: (messages: { type: number; body: Body }[], overflowed: boolean) => void) {
      this.#s = new raw.Subscription(fd, protocol, (tape, overflowed) => onMessages(build(tape) as { type: number; body: Body }[], overflowed));
    }
    close(): void {
      this.#s.close();
    }
  },
  Job: class Job implements NativeJob {
    readonly #j;
    constructor(parts: NativeJobPart[]) {
      this.#j = new raw.Job(parts.map(rawPart));
    }
    async run(count?: number, more?: boolean): Promise<Body[][][]> {
      const results = (tape: NativeTape): Body[][][] => (build(tape) as { results: Body[][][] }).results;
      return results(await unpackingFailure(this.#j.run(count, more), (tape) => ({ jobResults: results(tape) })));
    }
    append(parts: NativeJobPart[]): void {
      this.#j.append(parts.map(rawPart));
    }
  },
  decode: (protocol, bytes) => build(raw.decode(protocol, bytes)) as ReturnType<NativeBinding['decode']>,
};

export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as Partial<NativeError>).errno === 'number';
}
