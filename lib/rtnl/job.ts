// A job: an attach's steps in several namespaces done in one native call on a namespace thread,
// with no JS between them (native/netns/job.cc): `ip netns add`, files, rtnetlink batches on a
// handle or in the new namespace, nf_tables transactions. It stops at the first failure, which
// says which part failed; undoing the parts that finished is the caller's, who knows what they
// meant (as with a batch).
import { isNativeError, native, type Body, type NativeJob, type NativeJobPart } from '../core/binding.js';
import { NetlinkError, ValidationError } from '../core/errors.js';
import { stepsError, type Op } from '../core/op.js';
import { JobNetns, netnsError } from '../netns/namespace.js';
import { NftBatch } from '../nft/index.js';
import { NETLINK_ROUTE } from '../core/constants.js';
import { Batch } from './batch.js';
import type { Netlink } from './netlink.js';

interface Part {
  native: NativeJobPart;
  /** The operations of an ops part, parsing its replies and naming its failures. */
  ops?: Op<unknown>[];
  /** What a netns or file part is called in errors. */
  subject?: string;
}

/** A job's failure: the error of its failing part (NetlinkError, NotFoundError…), and which part that was. */
export type JobError = Error & { part: number };

/** The part of a job that failed, or undefined when `e` is no job's failure. */
export const failedPart = (e: unknown): number | undefined => (e instanceof Error && typeof (e as Partial<JobError>).part === 'number' ? (e as JobError).part : undefined);

export class Job {
  readonly #parts: Part[] = [];
  #netns: JobNetns | undefined;
  #native: NativeJob | undefined;
  /** How many parts were handed to the native job. */
  #ran = 0;

  /** The namespace this job makes, once netns() named it. */
  get namespace(): JobNetns | undefined {
    return this.#netns;
  }

  /** How many parts the job has; each adder returns its part's index. */
  get length(): number {
    return this.#parts.length;
  }

  #push(p: Part): number {
    return this.#parts.push(p) - 1;
  }

  /** `ip netns add NAME`; later parts name the namespace by what this returns (one per job). */
  netns(name: string): JobNetns {
    if (this.#netns !== undefined) throw new ValidationError('netns', name, `this job already makes namespace ${this.#netns.name}`);
    this.#push({ native: { netns: name }, subject: name });
    return (this.#netns = new JobNetns(name));
  }

  /** Writes `data` as the whole of file `path` (mode 0644), making its directories (0755). */
  writeFile(path: string, data: string): number {
    if (!path.startsWith('/')) throw new ValidationError('path', path, 'expected an absolute path');
    return this.#push({ native: { file: path, data }, subject: path });
  }

  /** An rtnetlink batch on `nl`'s socket, as `nl.batch(build)` sends it. */
  batch(nl: Netlink, build: (b: Batch) => void): number {
    const b = new Batch();
    build(b);
    return this.#push({ native: { handle: nl.nativeHandle, ops: b.ops }, ops: b.ops });
  }

  /** An rtnetlink batch on a socket opened inside the namespace this job makes. */
  batchIn(ns: JobNetns, build: (b: Batch) => void): number {
    if (ns !== this.#netns) throw new ValidationError('netns', ns.name, 'not the namespace this job makes');
    const b = new Batch();
    build(b);
    return this.#push({ native: { protocol: NETLINK_ROUTE, ops: b.ops }, ops: b.ops });
  }

  /** An nf_tables transaction on `nl.nft`'s socket, as `nl.nft.commit(build)` sends it. */
  commit(nl: Netlink, build: (b: NftBatch) => void): number {
    const b = new NftBatch();
    build(b);
    return this.#push({ native: { handle: nl.nft.nativeHandle, ops: b.ops, options: { batch: true } }, ops: b.ops });
  }

  /**
   * Runs the parts added since the last run (all of them the first time) in one native call;
   * resolves to their step results ([] for a netns or file part). `more`: parts will be added and
   * run after this, so the job's namespace stays open for them (an attach makes its namespace
   * while the store decides what goes in it). `before`: the parts run one native call each,
   * awaiting `before(i)` ahead of part i: for fault-injection tests, which stop or fail a job
   * between two parts. A job that failed runs nothing more.
   */
  async run(options: { more?: boolean; before?: (part: number) => Promise<void> } = {}): Promise<unknown[][]> {
    const from = this.#ran;
    const parts = this.#parts.slice(from);
    const ops = parts.flatMap((p) => p.ops ?? []);
    let at = from;
    try {
      for (const op of ops) if (op.prepare) await op.prepare();
      const natives = parts.map((p) => p.native);
      if (this.#native === undefined) this.#native = new native.Job(natives);
      else this.#native.append(natives);
      this.#ran = this.#parts.length;
      const replies: Body[][][] = [];
      const more = options.more === true;
      if (options.before === undefined) replies.push(...(await this.#native.run(undefined, more)));
      else
        for (; at < this.#parts.length; at++) {
          await options.before(at);
          replies.push(...(await this.#native.run(1, more || at < this.#parts.length - 1)));
        }
      return replies.map((r, i) => parse(parts[i]!, r));
    } catch (e) {
      throw this.#error(e, at);
    } finally {
      for (const op of ops) op.cleanup?.();
    }
  }

  /** A native failure as the failing part's error; `from` is the first part of the failed native run. */
  #error(e: unknown, from: number): unknown {
    if (!isNativeError(e) || e.part === undefined) return e;
    const part = this.#parts[e.part]!;
    let err: unknown;
    if (part.ops !== undefined) err = stepsError(e, part.ops, e.jobResults?.[e.part - from] ?? []);
    else if ('netns' in part.native) err = netnsError('netns.create', e, part.subject!);
    else err = new NetlinkError({ errno: e.errno, code: e.code, op: 'job.writeFile', syscall: e.syscall, message: `${e.syscall} ${part.subject!}: ${e.message}` });
    return Object.assign(err as object, { part: e.part });
  }
}

const parse = (part: Part, replies: Body[][]): unknown[] => (part.ops === undefined ? [] : replies.map((r, i) => part.ops![i]!.parse(r)));
