// `ip monitor`: link, address, route and neighbour changes in a namespace, as an async iterator.
// When the kernel drops events because the reader fell behind (ENOBUFS), a 'resync' event says
// so: the reader should list what it cares about again.
import type { Body, NativeSubscription } from '../core/binding.js';
import { native } from '../core/binding.js';
import { addrFromNative, type Addr } from './addr.js';
import * as C from '../core/constants.js';
import { linkFromNative, type Link } from './link.js';
import { neighFromNative, type Neigh } from './neigh.js';
import { routeFromNative, type Route } from './route.js';
import { oneOf, uint } from '../core/validate.js';

export type EventGroup = 'link' | 'addr' | 'route' | 'neigh';
const GROUPS: Record<EventGroup, number[]> = {
  link: [C.RTNLGRP_LINK],
  addr: [C.RTNLGRP_IPV4_IFADDR, C.RTNLGRP_IPV6_IFADDR],
  route: [C.RTNLGRP_IPV4_ROUTE, C.RTNLGRP_IPV6_ROUTE],
  neigh: [C.RTNLGRP_NEIGH],
};

export type NetlinkEvent =
  | { type: 'link'; action: 'new' | 'del'; link: Link }
  | { type: 'addr'; action: 'new' | 'del'; addr: Addr }
  | { type: 'route'; action: 'new' | 'del'; route: Route }
  | { type: 'neigh'; action: 'new' | 'del'; neigh: Neigh }
  | { type: 'resync' };

function toEvent(type: number, body: Body): NetlinkEvent | undefined {
  switch (type) {
    case C.RTM_NEWLINK:
    case C.RTM_DELLINK:
      return { type: 'link', action: type === C.RTM_NEWLINK ? 'new' : 'del', link: linkFromNative(body) };
    case C.RTM_NEWADDR:
    case C.RTM_DELADDR:
      return { type: 'addr', action: type === C.RTM_NEWADDR ? 'new' : 'del', addr: addrFromNative(body) };
    case C.RTM_NEWROUTE:
    case C.RTM_DELROUTE:
      return { type: 'route', action: type === C.RTM_NEWROUTE ? 'new' : 'del', route: routeFromNative(body) };
    case C.RTM_NEWNEIGH:
    case C.RTM_DELNEIGH:
      if (body.family !== 'inet' && body.family !== 'inet6') return undefined;
      return { type: 'neigh', action: type === C.RTM_NEWNEIGH ? 'new' : 'del', neigh: neighFromNative(body) };
    default:
      return undefined;
  }
}

/** A live subscription. Iterate it with `for await`; `close()` ends the iteration. */
export class EventStream implements AsyncIterableIterator<NetlinkEvent> {
  #queue: NetlinkEvent[] = [];
  #waiting: ((r: IteratorResult<NetlinkEvent>) => void) | undefined;
  #sub: NativeSubscription | undefined;

  /** @internal */
  constructor(fd: number) {
    this.#sub = new native.Subscription(fd, C.NETLINK_ROUTE, (messages, overflowed) => {
      if (overflowed) this.#push({ type: 'resync' });
      for (const m of messages) {
        const e = toEvent(m.type, m.body);
        if (e) this.#push(e);
      }
    });
  }

  #push(e: NetlinkEvent): void {
    const w = this.#waiting;
    if (w) {
      this.#waiting = undefined;
      w({ value: e, done: false });
    } else {
      this.#queue.push(e);
    }
  }

  next(): Promise<IteratorResult<NetlinkEvent>> {
    const e = this.#queue.shift();
    if (e) return Promise.resolve({ value: e, done: false });
    if (!this.#sub) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<NetlinkEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<NetlinkEvent> {
    return this;
  }

  close(): void {
    this.#sub?.close();
    this.#sub = undefined;
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.({ value: undefined, done: true });
  }
}

export interface EventOptions {
  /** Which changes to hear about; all four unless given. */
  groups?: readonly EventGroup[];
  /**
   * Socket receive buffer in bytes (default 4 MiB). Events the kernel cannot queue while the
   * reader is busy are dropped and reported as one 'resync' event.
   */
  receiveBuffer?: number;
}

export async function subscribe(nsfd: number, options: EventOptions = {}): Promise<EventStream> {
  const groups = options.groups ?? ['link', 'addr', 'route', 'neigh'];
  const ids = groups.flatMap((g) => GROUPS[oneOf('groups', g, ['link', 'addr', 'route', 'neigh'])]);
  const rcvbuf = options.receiveBuffer === undefined ? undefined : uint('receiveBuffer', options.receiveBuffer, 4096, 1 << 30);
  return new EventStream(await native.openNetlink(nsfd, C.NETLINK_ROUTE, ids, rcvbuf));
}
