// Neighbours (ARP / NDP entries): `ip neigh add|replace|del|show`, proxy entries included.
import type { Body } from '../core/binding.js';
import { F_ACK, F_ADD, F_DUMP, F_REPLACE, RTM_DELNEIGH, RTM_GETNEIGH, RTM_NEWNEIGH } from '../core/constants.js';
import { ValidationError } from '../core/errors.js';
import { none, type Op, type Runner } from '../core/op.js';
import { bool, type Family, familyOf, ifref, type IfRef, ip, knownKeys, mac, object, oneOf } from '../core/validate.js';

export type NeighState = 'incomplete' | 'reachable' | 'stale' | 'delay' | 'probe' | 'failed' | 'noarp' | 'permanent' | 'none';
const STATES: readonly NeighState[] = ['incomplete', 'reachable', 'stale', 'delay', 'probe', 'failed', 'noarp', 'permanent', 'none'];
// <linux/neighbour.h> NUD_* and NTF_*
const STATE_BITS: [NeighState, number][] = [
  ['incomplete', 0x01], ['reachable', 0x02], ['stale', 0x04], ['delay', 0x08],
  ['probe', 0x10], ['failed', 0x20], ['noarp', 0x40], ['permanent', 0x80],
];
export const NTF_SELF = 0x02;
export const NTF_MASTER = 0x04;
export const NTF_PROXY = 0x08;
export const NTF_EXT_LEARNED = 0x10;
export const NTF_STICKY = 0x40;
export const NTF_ROUTER = 0x80;

/** A state as the codec decodes it (a name for one known bit, else the number) back to bits. */
export function stateBits(v: unknown): number {
  if (typeof v === 'number') return v;
  return STATE_BITS.find(([n]) => n === v)?.[1] ?? 0;
}

/** The states of an entry: the kernel sends a bitmask, usually of one state. */
export function stateNames(v: unknown): NeighState[] {
  const bits = stateBits(v);
  if (bits === 0) return ['none'];
  return STATE_BITS.filter(([, bit]) => bits & bit).map(([n]) => n);
}

export interface NeighSpec {
  dev: IfRef;
  /** The neighbour's IP address. */
  address: string;
  /** Its hardware address (`lladdr`); not for proxy entries. */
  lladdr?: string;
  /** `nud STATE`; 'permanent' unless given, as `ip neigh add`. */
  state?: NeighState;
  /** A proxy ARP / NDP entry (`proxy ADDR`). */
  proxy?: boolean;
  /** The neighbour is a router (`router`, IPv6). */
  router?: boolean;
  /** Learned by an external control plane (`extern_learn`). */
  externLearn?: boolean;
}

export interface Neigh {
  family: Family;
  dev: number;
  address: string;
  lladdr?: string;
  state: NeighState[];
  proxy: boolean;
  router: boolean;
  externLearn: boolean;
}

function specToNative(spec: NeighSpec, del: boolean): Body {
  const s = object('neigh', spec) as NeighSpec & Record<string, unknown>;
  knownKeys('neigh', s, ['dev', 'address', 'lladdr', 'state', 'proxy', 'router', 'externLearn']);
  const address = ip('neigh.address', s.address);
  let flags = 0;
  if (s.proxy !== undefined && bool('neigh.proxy', s.proxy)) flags |= NTF_PROXY;
  if (s.router !== undefined && bool('neigh.router', s.router)) flags |= NTF_ROUTER;
  if (s.externLearn !== undefined && bool('neigh.externLearn', s.externLearn)) flags |= NTF_EXT_LEARNED;
  // A proxy entry is an address answered for, with no hardware address: the kernel would drop it.
  if (flags & NTF_PROXY && s.lladdr !== undefined)
    throw new ValidationError('neigh.lladdr', s.lladdr, 'a proxy entry has no hardware address');
  // `ip neigh` sends NUD_PERMANENT unless told otherwise, on `del` as well (where the kernel
  // ignores it): we do the same so that our bytes match.
  const state = del || s.state === undefined ? 'permanent' : oneOf('neigh.state', s.state, STATES);
  const body: Body = { family: familyOf(address), index: ifref('neigh.dev', s.dev), state, flags };
  body.dst = address;
  if (s.lladdr !== undefined && !del) body.lladdr = mac('neigh.lladdr', s.lladdr);
  return body;
}

export function neighFromNative(b: Body): Neigh {
  const flags = (b.flags as number) ?? 0;
  const n: Neigh = {
    family: b.family as Family,
    dev: b.index as number,
    address: b.dst as string,
    state: stateNames(b.state),
    proxy: (flags & NTF_PROXY) !== 0,
    router: (flags & NTF_ROUTER) !== 0,
    externLearn: (flags & NTF_EXT_LEARNED) !== 0,
  };
  if (b.lladdr !== undefined) n.lladdr = b.lladdr as string;
  return n;
}

export const neighOps = {
  /** `ip neigh add ADDR [lladdr MAC] dev DEV [nud STATE] [router] [extern_learn]`, or `ip neigh add proxy ADDR dev DEV` */
  add(spec: NeighSpec): Op<void> {
    return { op: 'neigh.add', type: RTM_NEWNEIGH, flags: F_ADD, body: specToNative(spec, false), parse: none };
  },
  /** `ip neigh replace …` */
  replace(spec: NeighSpec): Op<void> {
    return { op: 'neigh.replace', type: RTM_NEWNEIGH, flags: F_REPLACE, body: specToNative(spec, false), parse: none };
  },
  /** `ip neigh del ADDR dev DEV` (`proxy ADDR` for a proxy entry) */
  del(spec: Pick<NeighSpec, 'dev' | 'address' | 'proxy'>): Op<void> {
    return { op: 'neigh.del', type: RTM_DELNEIGH, flags: F_ACK, body: specToNative(spec, true), parse: none };
  },
  /**
   * `ip [-4|-6] neigh show nud all [dev DEV]`, or with proxy: true, `ip neigh show proxy`. Every
   * state is listed: a plain `ip neigh show` hides noarp entries, such as the multicast ones.
   */
  list(filter: { dev?: IfRef; family?: Family; proxy?: boolean } = {}): Op<Neigh[]> {
    object('filter', filter);
    knownKeys('filter', filter, ['dev', 'family', 'proxy']);
    const body: Body = { family: filter.family === undefined ? 'unspec' : oneOf('filter.family', filter.family, ['inet', 'inet6']) };
    // Strict dump checking wants the device in NDA_IFINDEX, not in the header.
    if (filter.dev !== undefined) body.via = ifref('filter.dev', filter.dev);
    if (filter.proxy !== undefined && bool('filter.proxy', filter.proxy)) body.flags = NTF_PROXY;
    return {
      op: 'neigh.list',
      type: RTM_GETNEIGH,
      flags: F_DUMP,
      body,
      // Bridge FDB entries share the message type; `ip neigh` leaves them out too.
      parse: (r) => r.filter((b) => b.family === 'inet' || b.family === 'inet6').map(neighFromNative),
    };
  },
};

/** `nl.neigh`: the calls of `ip neigh`. */
export class NeighApi {
  constructor(private readonly nl: Runner) {}
  /** `ip neigh add` */
  async add(spec: NeighSpec): Promise<void> {
    return this.nl.run(neighOps.add(spec));
  }
  /** `ip neigh replace` */
  async replace(spec: NeighSpec): Promise<void> {
    return this.nl.run(neighOps.replace(spec));
  }
  /** `ip neigh del` */
  async del(spec: Pick<NeighSpec, 'dev' | 'address' | 'proxy'>): Promise<void> {
    return this.nl.run(neighOps.del(spec));
  }
  /** `ip neigh show [dev DEV] [proxy]` */
  async list(filter?: { dev?: IfRef; family?: Family; proxy?: boolean }): Promise<Neigh[]> {
    return this.nl.run(neighOps.list(filter));
  }
}
