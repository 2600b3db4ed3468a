// The bridge forwarding database: `bridge fdb add|append|replace|del|show`. An entry maps a MAC
// to a port; on a vxlan port it also says which remote VTEP (dst, vni, port) to send to.
import type { Body } from '../core/binding.js';
import { F_ACK, F_ADD, F_APPEND, F_DUMP, F_REPLACE, RTM_DELNEIGH, RTM_GETNEIGH, RTM_NEWNEIGH } from '../core/constants.js';
import { NTF_EXT_LEARNED, NTF_MASTER, NTF_SELF, NTF_STICKY, stateBits } from './neigh.js';
import { none, type Op, type Runner } from '../core/op.js';
import { bool, ifref, type IfRef, ip, knownKeys, mac, object, oneOf, uint } from '../core/validate.js';

export interface FdbSpec {
  /** The port (a bridge port, or the vxlan device itself). */
  dev: IfRef;
  lladdr: string;
  /** Remote VTEP address (vxlan). */
  dst?: string;
  vni?: number;
  /** Remote UDP port (vxlan). */
  port?: number;
  vlan?: number;
  /** Outgoing device towards dst (`via`). */
  via?: IfRef;
  /** In the device's own table (`self`); the default when master is not set, as in `bridge`. */
  self?: boolean;
  /** In the master bridge's table (`master`). */
  master?: boolean;
  /** 'permanent' (default), 'static' or 'dynamic'. */
  state?: 'permanent' | 'static' | 'dynamic';
  sticky?: boolean;
  externLearn?: boolean;
}

/**
 * How an entry ages, in the words of `bridge fdb show`: 'permanent' (a local address, or a
 * permanent vxlan entry), 'static' (never ages), 'dynamic' (ages out), 'stale' (aged out).
 */
export type FdbState = 'permanent' | 'static' | 'dynamic' | 'stale';

export interface Fdb {
  dev: number;
  lladdr: string;
  dst?: string;
  vni?: number;
  port?: number;
  vlan?: number;
  via?: number;
  /** ifindex of the bridge (NDA_MASTER). */
  bridge?: number;
  self: boolean;
  master: boolean;
  sticky: boolean;
  externLearn: boolean;
  state: FdbState;
}

const KEYS = ['dev', 'lladdr', 'dst', 'vni', 'port', 'vlan', 'via', 'self', 'master', 'state', 'sticky', 'externLearn'] as const;
// <linux/neighbour.h> NUD_*, combined as `bridge fdb` sends them: it starts from NUD_NOARP and adds
// NUD_PERMANENT or NUD_REACHABLE, except that `dynamic` is NUD_REACHABLE alone. The combinations
// matter: vxlan refuses an entry with neither NUD_PERMANENT nor NUD_REACHABLE, and the bridge
// makes an entry static (no ageing) for NUD_NOARP.
const NUD_REACHABLE = 0x02;
const NUD_STALE = 0x04;
const NUD_NOARP = 0x40;
const NUD_PERMANENT = 0x80;
const STATES = {
  permanent: NUD_PERMANENT | NUD_NOARP,
  static: NUD_NOARP | NUD_REACHABLE,
  dynamic: NUD_REACHABLE,
} as const;
const STATE_NAMES = Object.keys(STATES) as (keyof typeof STATES)[];

function specToNative(spec: FdbSpec): Body {
  const s = object('fdb', spec) as FdbSpec & Record<string, unknown>;
  knownKeys('fdb', s, KEYS);
  let flags = 0;
  if (s.self !== undefined && bool('fdb.self', s.self)) flags |= NTF_SELF;
  if (s.master !== undefined && bool('fdb.master', s.master)) flags |= NTF_MASTER;
  if (!(flags & (NTF_SELF | NTF_MASTER))) flags |= NTF_SELF;
  if (s.sticky !== undefined && bool('fdb.sticky', s.sticky)) flags |= NTF_STICKY;
  if (s.externLearn !== undefined && bool('fdb.externLearn', s.externLearn)) flags |= NTF_EXT_LEARNED;
  const state = s.state === undefined ? 'permanent' : oneOf('fdb.state', s.state, STATE_NAMES);
  // `bridge fdb del` sends the state too; the kernel ignores it there.
  const body: Body = { family: 'bridge', index: ifref('fdb.dev', s.dev), state: STATES[state], flags };
  body.lladdr = mac('fdb.lladdr', s.lladdr);
  if (s.dst !== undefined) body.dst = ip('fdb.dst', s.dst);
  if (s.vlan !== undefined) body.vlan = uint('fdb.vlan', s.vlan, 1, 4094);
  if (s.port !== undefined) body.port = uint('fdb.port', s.port, 1, 65535);
  if (s.vni !== undefined) body.vni = uint('fdb.vni', s.vni, 0, 0xffffff);
  if (s.via !== undefined) body.via = ifref('fdb.via', s.via);
  return body;
}

/** The state as `bridge fdb show` names it (it tests the bits in this order). */
function fdbState(v: unknown): FdbState {
  const bits = typeof v === 'number' ? v : 0;
  if (bits & NUD_PERMANENT) return 'permanent';
  if (bits & NUD_NOARP) return 'static';
  if (bits & NUD_STALE) return 'stale';
  return 'dynamic';
}

export function fdbFromNative(b: Body): Fdb {
  const flags = (b.flags as number) ?? 0;
  const f: Fdb = {
    dev: b.index as number,
    lladdr: b.lladdr as string,
    self: (flags & NTF_SELF) !== 0,
    // The bridge reports the entries of its own table with NDA_MASTER rather than NTF_MASTER.
    master: (flags & NTF_MASTER) !== 0 || b.master !== undefined,
    sticky: (flags & NTF_STICKY) !== 0,
    externLearn: (flags & NTF_EXT_LEARNED) !== 0,
    state: fdbState(stateBits(b.state)),
  };
  for (const k of ['dst', 'vni', 'port', 'vlan', 'via'] as const) if (b[k] !== undefined) (f as unknown as Body)[k] = b[k];
  if (b.master !== undefined) f.bridge = b.master as number;
  return f;
}

export const fdbOps = {
  /** `bridge fdb add MAC dev DEV [dst IP] [vni N] [port N] [vlan N] [via DEV] [self|master] [permanent|static|dynamic]` */
  add(spec: FdbSpec): Op<void> {
    return { op: 'fdb.add', type: RTM_NEWNEIGH, flags: F_ADD, body: specToNative(spec), parse: none };
  },
  /** `bridge fdb append …`: another remote for the same MAC (vxlan head-end replication). */
  append(spec: FdbSpec): Op<void> {
    return { op: 'fdb.append', type: RTM_NEWNEIGH, flags: F_APPEND, body: specToNative(spec), parse: none };
  },
  /** `bridge fdb replace …` */
  replace(spec: FdbSpec): Op<void> {
    return { op: 'fdb.replace', type: RTM_NEWNEIGH, flags: F_REPLACE, body: specToNative(spec), parse: none };
  },
  /** `bridge fdb del MAC dev DEV [dst IP] [vni N] [vlan N] [self|master]` */
  del(spec: FdbSpec): Op<void> {
    return { op: 'fdb.del', type: RTM_DELNEIGH, flags: F_ACK, body: specToNative(spec), parse: none };
  },
  /** `bridge fdb show [br BRIDGE] [brport DEV]`: filtered in the kernel. */
  list(filter: { br?: IfRef; dev?: IfRef } = {}): Op<Fdb[]> {
    object('filter', filter);
    knownKeys('filter', filter, ['br', 'dev']);
    const body: Body = { family: 'bridge' };
    if (filter.dev !== undefined) body.index = ifref('filter.dev', filter.dev);
    if (filter.br !== undefined) body.master = ifref('filter.br', filter.br);
    return { op: 'fdb.list', type: RTM_GETNEIGH, flags: F_DUMP, body, parse: (r) => r.map(fdbFromNative) };
  },
};

/** `nl.fdb`: the calls of `bridge fdb`. */
export class FdbApi {
  constructor(private readonly nl: Runner) {}
  /** `bridge fdb add` */
  async add(spec: FdbSpec): Promise<void> {
    return this.nl.run(fdbOps.add(spec));
  }
  /** `bridge fdb append` */
  async append(spec: FdbSpec): Promise<void> {
    return this.nl.run(fdbOps.append(spec));
  }
  /** `bridge fdb replace` */
  async replace(spec: FdbSpec): Promise<void> {
    return this.nl.run(fdbOps.replace(spec));
  }
  /** `bridge fdb del` */
  async del(spec: FdbSpec): Promise<void> {
    return this.nl.run(fdbOps.del(spec));
  }
  /** `bridge fdb show [br BR] [brport DEV]` */
  async list(filter?: { br?: IfRef; dev?: IfRef }): Promise<Fdb[]> {
    return this.nl.run(fdbOps.list(filter));
  }
}
