// An operation as the families build it: the native request plus what to make of the replies.
// The same Op runs alone (`nl.link.add(...)`) or as one step of a batch.
import type { Body, NativeOp } from './binding.js';
import { open, type Netns, type NetnsTarget } from './netns.js';

export interface Op<T> extends NativeOp {
  /** The operation's name in errors: 'link.add', 'route.del'… */
  op: string;
  /** Turns the step's decoded replies into the caller's result. */
  parse(replies: Body[]): T;
  /** Async work before sending (opening a namespace named in the request). */
  prepare?(): Promise<void>;
  /** Runs after the step, sent or not (closing what prepare opened). */
  cleanup?(): void;
}

export const none = (): void => undefined;

/** What the family APIs run their operations through (the Netlink handle). */
export interface Runner {
  run<T>(op: Op<T>): Promise<T>;
  runAll(ops: Op<unknown>[]): Promise<unknown[]>;
}

/**
 * A namespace a request must carry as IFLA_NET_NS_FD: opened in prepare(), closed in cleanup()
 * unless the caller passed an open Netns (then it is theirs to close).
 */
export function withNetnsFd<T>(op: Op<T>, targets: { body: Record<string, unknown>; netns: NetnsTarget }[]): Op<T> {
  if (targets.length === 0) return op;
  const opened: Netns[] = [];
  return {
    ...op,
    async prepare() {
      for (const t of targets) {
        const ns = await open(t.netns);
        if (ns !== t.netns) opened.push(ns);
        t.body.netnsFd = ns.fd;
      }
    },
    cleanup() {
      for (const ns of opened.splice(0)) ns.close();
    },
  };
}
