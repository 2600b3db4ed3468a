// Requests that carry a namespace as IFLA_NET_NS_FD (moving a link, creating a veth peer in
// another namespace): the namespace is opened just before the request is sent and closed after.
import type { Op } from '../core/op.js';
import { JobNetns, open, type Netns, type NetnsTarget } from './namespace.js';

/**
 * A namespace a request must carry as IFLA_NET_NS_FD: opened in prepare(), closed in cleanup()
 * unless the caller passed an open Netns (then it is theirs to close).
 */
export function withNetnsFd<T>(op: Op<T>, targets: { body: Record<string, unknown>; netns: NetnsTarget }[]): Op<T> {
  // A job's namespace has no descriptor yet: the job fills it in when it runs (native/netns/job.cc).
  for (const t of targets) if (t.netns instanceof JobNetns) t.body.netnsFd = { jobNetns: true };
  const toOpen = targets.filter((t) => !(t.netns instanceof JobNetns));
  if (toOpen.length === 0) return op;
  const opened: Netns[] = [];
  return {
    ...op,
    async prepare() {
      for (const t of toOpen) {
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
