// The host ends of veths deleted together when many sandboxes go at once. Deleting a link waits
// in the kernel for RCU (synchronize_net, ~9 ms here) under rtnl_lock, so 100 detaches at once
// wait 100 times one after the other; links of one device group deleted by one request
// (`ip link delete group G`) are unregistered together, with one wait. A deletion alone is sent
// as it comes; those arriving while one is in flight go together as soon as it is done, each
// put in a fresh random group first (a group no one else uses: the request deletes all of it).
import { randomInt } from 'node:crypto';

import { NetlinkError } from '../core/errors.js';
import type { Netlink } from '../rtnl/netlink.js';
import { deleteLink } from './drivers/common.js';

interface Waiting {
  name: string;
  done: (e?: unknown) => void;
}

interface Queue {
  waiting: Waiting[];
  busy: boolean;
}

const queues = new WeakMap<Netlink, Queue>();

/** `ip link del NAME` in `nl`'s namespace, together with the other deletions waiting then; a link already gone is fine. */
export function reapLink(nl: Netlink, name: string): Promise<void> {
  let q = queues.get(nl);
  if (q === undefined) queues.set(nl, (q = { waiting: [], busy: false }));
  const queue = q;
  return new Promise<void>((resolve, reject) => {
    queue.waiting.push({ name, done: (e) => (e === undefined ? resolve() : reject(e)) });
    if (!queue.busy) void drain(nl, queue);
  });
}

async function drain(nl: Netlink, q: Queue): Promise<void> {
  q.busy = true;
  while (q.waiting.length > 0) {
    const round = q.waiting.splice(0);
    try {
      if (round.length === 1) await deleteLink(nl, round[0]!.name);
      else await deleteTogether(nl, round.map((w) => w.name));
      for (const w of round) w.done();
    } catch (e) {
      for (const w of round) w.done(e);
    }
  }
  q.busy = false;
}

/** The links moved into one fresh group, then the group deleted; a link gone meanwhile is skipped. */
async function deleteTogether(nl: Netlink, names: string[]): Promise<void> {
  const group = randomInt(1 << 16, 2 ** 31);
  let left = names;
  while (left.length > 0) {
    try {
      await nl.batch((b) => {
        for (const name of left) b.link.set(name, { devgroup: group });
        b.link.delGroup(group);
      });
      return;
    } catch (e) {
      // A link already gone stops the batch at its step: the ones before it are in the group.
      if (!(e instanceof NetlinkError && e.code === 'ENODEV' && e.step !== undefined && e.step < left.length)) throw e;
      left = left.slice(e.step + 1);
    }
  }
  await nl.link.delGroup(group).catch((e: unknown) => (e instanceof NetlinkError && e.code === 'ENODEV' ? undefined : Promise.reject(e)));
}
