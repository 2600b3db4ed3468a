// A job: an attach's steps in several namespaces done in one native call on a namespace thread,
// with no JS between them (native/netns/job.cc): `ip netns add`, files, rtnetlink batches on a
// handle or in the new namespace, nf_tables transactions. It stops at the first failure, which
// says which part failed; undoing the parts that finished is the caller's, who knows what they
// meant (as with a batch).
import { isNativeError, native, type Body, type NativeJobPart } from '../core/binding.js';
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
   * Runs every part in one native call; resolves to each part's step results ([] for a netns or
   * file part). With `before`, the parts run one native call each, awaiting `before(i)` ahead of
   * part i: for fault-injection tests, which stop or fail a job between two parts.
   */
  async run(before?: (part: number) => Promise<void>): Promise<unknown[][]> {
    const ops = this.#parts.flatMap((p) => p.ops ?? []);
    let at = 0;
    try {
      for (const op of ops) if (op.prepare) await op.prepare();
      const job = new native.Job(this.#parts.map((p) => p.native));
      const replies: Body[][][] = [];
      if (before === undefined) replies.push(...(await job.run()));
      else
        for (; at < this.#parts.length; at++) {
          await before(at);
          replies.push(...(await job.run(1)));
        }
      return replies.map((r, i) => parse(this.#parts[i]!, r));
    } catch (e) {
      throw this.#error(e, before === undefined ? 0 : at);
    } finally {
      for (const op of ops) op.cleanup?.();
    }
  }

  /** A native failure as the failing part's error; `from` is the first part of the failed run. */
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
