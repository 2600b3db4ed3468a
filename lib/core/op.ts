// An operation as the families build it: the native request plus what to make of the replies.
// The same Op runs alone (`nl.link.add(...)`) or as one step of a batch.
import { isNativeError, type Body, type ExecOptions, type NativeError, type NativeHandle, type NativeOp, type Replies } from './binding.js';
import { DumpInterruptedError, NetlinkError } from './errors.js';

interface OpCommon extends NativeOp {
  /** The operation's name in errors: 'link.add', 'route.del'… */
  op: string;
  /** Async work before sending (opening a namespace named in the request). */
  prepare?(): Promise<void>;
  /** Runs after the step, sent or not (closing what prepare opened). */
  cleanup?(): void;
}

export interface Op<T> extends OpCommon {
  raw?: false;
  /** Turns the step's decoded replies into the caller's result. */
  parse(replies: Body[]): T;
}

/** A dump decoded in JS from the bytes the kernel sent (lib/rtnl/wire/), not by the addon. */
export interface RawOp<T> extends OpCommon {
  raw: true;
  parse(bytes: Buffer): T;
}

/** What the executor runs: either kind of step. */
export type AnyOp<T> = Op<T> | RawOp<T>;

function parse<T>(op: AnyOp<T>, r: Replies): T {
  return op.raw ? op.parse(r as Buffer) : op.parse(r as Body[]);
}

export const none = (): void => undefined;

/** What the family APIs run their operations through (the Netlink handle). */
export interface Runner {
  run<T>(op: AnyOp<T>): Promise<T>;
  runAll(ops: AnyOp<unknown>[]): Promise<unknown[]>;
}

/**
 * Runs operations in one native call and turns the replies into results, and native failures
 * into NetlinkError (naming the failing step's operation) or DumpInterruptedError.
 */
export async function execOps(handle: NativeHandle, ops: AnyOp<unknown>[], options?: ExecOptions): Promise<unknown[]> {
  try {
    // Only steps with something to prepare cost an await, so a plain batch reaches the worker
    // in the same tick it was asked for.
    for (const op of ops) if (op.prepare) await op.prepare();
    const replies = await handle.exec(ops, options);
    return replies.map((r, i) => parse(ops[i]!, r));
  } catch (e) {
    if (!isNativeError(e)) throw e;
    throw stepsError(e, ops, e.results ?? []);
  } finally {
    for (const op of ops) op.cleanup?.();
  }
}

/**
 * A native failure of one of `ops` as the caller sees it: a NetlinkError naming the failing
 * step's operation, with what the steps before it returned (`done`, parsed) as `completed`; or
 * a DumpInterruptedError carrying what the dump read.
 */
export function stepsError(e: NativeError, ops: AnyOp<unknown>[], done: Replies[]): NetlinkError {
  const step = e.step ?? 0;
  const op = ops[step];
  const name = op?.op ?? 'netlink';
  if (e.code === 'EINTR' && e.partial && op) return new DumpInterruptedError(name, parse(op, e.partial) as unknown[], step);
  const err = new NetlinkError({ errno: e.errno, code: e.code, op: name, extack: e.extack, syscall: e.syscall, step: ops.length > 1 ? step : undefined, message: e.message });
  // What the steps before the failing one returned (none for an nf_tables batch: it is atomic).
  if (ops.length > 1) Object.defineProperty(err, 'completed', { value: done.map((r, i) => parse(ops[i]!, r)), enumerable: false });
  return err;
}
