// Links: `ip link add|del|set|show`. Kinds (veth, bridge, vxlan, macvlan, ipvlan, vlan) are a
// discriminated union on `kind`; each kind's options live in link/<kind>.ts.
import type { Body } from '../core/binding.js';
import { F_ACK, F_ADD, F_DUMP, NLM_F_ECHO, RTEXT_FILTER_SKIP_STATS, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK } from '../core/constants.js';
import { ValidationError } from '../core/errors.js';
import { isKnownKind, kinds, type KindContext, type KindOptions, type KnownKind } from './link/kinds.js';
import type { NetnsTarget } from '../netns/namespace.js';
import { none, type Op, type RawOp, type Runner } from '../core/op.js';
import { withNetnsFd } from '../netns/fd.js';
import { bool, ifname, ifref, type IfRef, knownKeys, mac, object, str, uint } from '../core/validate.js';
import { portFromNative, type BridgePort } from './bridge.js';
import { decodeLinks } from './wire/link.js';

/** What every kind of link takes (`ip link add NAME [mtu] [address] …`). */
export interface LinkCommon {
  name: string;
  mtu?: number;
  address?: string;
  broadcast?: string;
  txqlen?: number;
  alias?: string;
  /** Enslave to a bridge (`master DEV`). */
  master?: IfRef;
  /** The parent device of macvlan, ipvlan and vlan links (`link DEV`). */
  link?: IfRef;
  up?: boolean;
  /** Create the link straight into another namespace (`netns NS`). */
  netns?: NetnsTarget;
  /**
   * The device group (`ip link set DEV group N`). Not `group`: in a flat spec that word is the
   * vxlan's multicast group.
   */
  devgroup?: number;
  numTxQueues?: number;
  numRxQueues?: number;
}

/**
 * A link to create: the common options plus those of its kind. No alias: the kernel ignores
 * IFLA_IFALIAS when it creates a link (`ip link add … alias x` makes a link without one).
 */
export type LinkSpec = { [K in KnownKind]: Omit<LinkCommon, 'alias'> & { kind: K } & KindOptions[K] }[KnownKind];

/** What `ip link set` changes. `master: null` is `nomaster`; `name` renames. */
export type LinkChanges = Partial<Omit<LinkCommon, 'master'>> & { master?: IfRef | null } & (
  | { kind?: undefined }
  | { [K in KnownKind]: { kind: K } & Partial<KindOptions[K]> }[KnownKind]
);

/** A link as the kernel reports it (`ip -d link show`). */
export interface LinkAttrs {
  index: number;
  name: string;
  up: boolean;
  /** IFF_* flags. */
  flags: number;
  operstate?: string;
  mtu?: number;
  minMtu?: number;
  maxMtu?: number;
  address?: string;
  broadcast?: string;
  permAddress?: string;
  txqlen?: number;
  alias?: string;
  qdisc?: string;
  /** The device group (IFLA_GROUP). */
  devgroup?: number;
  carrier?: boolean;
  promiscuity?: number;
  numTxQueues?: number;
  numRxQueues?: number;
  /** ifindex of the bridge (or other master) this link is enslaved to. */
  master?: number;
  /** ifindex of the parent or peer (in the namespace `linkNetnsId` names, when set). */
  link?: number;
  linkNetnsId?: number;
  /** ARPHRD_* type: 1 Ethernet, 772 loopback… */
  hwType: number;
  kind?: string;
  /** The master's kind when enslaved ('bridge'…) */
  slaveKind?: string;
  /** Port options when enslaved to a bridge. */
  bridgePort?: BridgePort;
}

export type Link = LinkAttrs & Record<string, unknown>;

/** A link of a given kind, with that kind's options (from `isKind`). */
export type LinkOf<K extends KnownKind> = LinkAttrs & { kind: K } & Partial<KindOptions[K]>;

export function isKind<K extends KnownKind>(link: Link, kind: K): link is Link & LinkOf<K> {
  return link.kind === kind;
}

const COMMON_KEYS = ['name', 'mtu', 'address', 'broadcast', 'txqlen', 'alias', 'master', 'link', 'up', 'netns', 'devgroup', 'numTxQueues', 'numRxQueues'] as const;

const ATTR_KEYS = ['index', 'name', 'up', 'flags', 'operstate', 'mtu', 'minMtu', 'maxMtu', 'address', 'broadcast', 'permAddress', 'txqlen', 'alias', 'qdisc', 'carrier', 'promiscuity', 'numTxQueues', 'numRxQueues', 'master', 'link', 'linkNetnsId', 'hwType'] as const;

export function linkFromNative(b: Body): Link {
  const l: Record<string, unknown> = {};
  for (const k of ATTR_KEYS) if (b[k] !== undefined) l[k] = b[k];
  if (b.group !== undefined) l.devgroup = b.group;
  const info = b.info as { kind?: string; data?: Body; slaveKind?: string; slaveData?: Body } | undefined;
  if (info?.kind !== undefined) {
    l.kind = info.kind;
    if (info.data && isKnownKind(info.kind)) Object.assign(l, kinds[info.kind].fromNative(info.data));
  }
  if (info?.slaveKind !== undefined) {
    l.slaveKind = info.slaveKind;
    if (info.slaveKind === 'bridge' && info.slaveData) l.bridgePort = portFromNative(info.slaveData);
  }
  return l as Link;
}

type NetnsTargets = { body: Body; netns: NetnsTarget }[];

/** The options every link shares, validated, as native attributes. */
function commonToNative(s: Partial<Omit<LinkCommon, 'master'>> & { master?: IfRef | null }, field: string, body: Body, targets: NetnsTargets): void {
  if (s.mtu !== undefined) body.mtu = uint(`${field}.mtu`, s.mtu, 68, 65535);
  if (s.address !== undefined) body.address = mac(`${field}.address`, s.address);
  if (s.broadcast !== undefined) body.broadcast = mac(`${field}.broadcast`, s.broadcast);
  if (s.txqlen !== undefined) body.txqlen = uint(`${field}.txqlen`, s.txqlen, 0, 0xffffffff);
  if (s.alias !== undefined) body.alias = str(`${field}.alias`, s.alias, 255);
  if (s.master === null) body.master = 0;
  else if (s.master !== undefined) body.master = ifref(`${field}.master`, s.master);
  if (s.link !== undefined) body.link = ifref(`${field}.link`, s.link);
  if (s.up !== undefined) body.up = bool(`${field}.up`, s.up);
  if (s.devgroup !== undefined) body.group = uint(`${field}.devgroup`, s.devgroup, 0, 0xffffffff);
  if (s.numTxQueues !== undefined) body.numTxQueues = uint(`${field}.numTxQueues`, s.numTxQueues, 1, 4096);
  if (s.numRxQueues !== undefined) body.numRxQueues = uint(`${field}.numRxQueues`, s.numRxQueues, 1, 4096);
  if (s.netns !== undefined) netnsToNative(body, s.netns, `${field}.netns`, targets);
}

/**
 * Where a link goes: `{ pid }` travels as IFLA_NET_NS_PID, as `ip link set DEV netns PID` sends
 * it (the kernel looks the process up itself); a name, path or Netns as IFLA_NET_NS_FD, opened
 * just before the request is sent.
 */
function netnsToNative(body: Body, netns: NetnsTarget, field: string, targets: NetnsTargets): void {
  if (typeof netns === 'object' && netns !== null && 'pid' in netns) {
    body.netnsPid = uint(`${field}.pid`, netns.pid, 1, 0x7fffffff);
  } else {
    targets.push({ body, netns });
  }
}

function kindToNative(kind: unknown, spec: Record<string, unknown>, field: string, forChange: boolean, targets: NetnsTargets): Body {
  if (typeof kind !== 'string' || !isKnownKind(kind))
    throw new ValidationError(`${field}.kind`, kind, `expected one of ${Object.keys(kinds).join(', ')}`);
  const codec = kinds[kind];
  knownKeys(field, spec, [...COMMON_KEYS, 'kind', ...codec.keys]);
  const ctx: KindContext = { forChange, netns: (body, netns, f) => netnsToNative(body, netns, f, targets) };
  const data = (codec.toNative as (s: unknown, f: string, c: KindContext) => Body)(spec, field, ctx);
  // `ip link add NAME type veth` sends IFLA_LINKINFO with the kind alone, no empty data nest.
  return Object.keys(data).length > 0 ? { kind, data } : { kind };
}

/** The attributes that pick an existing link: the ifindex when known, else the name. */
function selector(dev: IfRef, field: string): Body {
  const d = ifref(field, dev);
  return typeof d === 'string' ? { name: d } : { index: d };
}

const STATS_OFF = { extMask: RTEXT_FILTER_SKIP_STATS };

export const linkOps = {
  /**
   * `ip link add NAME type KIND …`. With `echo: false` the kernel sends nothing back: the step
   * returns undefined and later steps must name the link, not refer to this step (an attach's
   * veth: the echo is a whole link message to receive and decode).
   */
  add(spec: LinkSpec, options: { echo?: boolean } = {}): Op<Link | undefined> {
    const s = object('link', spec) as LinkSpec & Record<string, unknown>;
    const name = ifname('link.name', s.name);
    if (s.alias !== undefined) throw new ValidationError('link.alias', s.alias, 'the kernel ignores an alias on a new link: set it with link.set once the link exists');
    const targets: NetnsTargets = [];
    const body: Body = {};
    commonToNative(s, 'link', body, targets);
    body.name = name;
    body.info = kindToNative(s.kind, s, 'link', false, targets);
    if (options.echo === false) return withNetnsFd({ op: 'link.add', type: RTM_NEWLINK, flags: F_ADD, body, parse: () => undefined }, targets);
    // A link born in another namespace has no ifindex here: nothing to look up by name after it.
    const here = s.netns === undefined ? { name } : {};
    return withNetnsFd(
      { op: 'link.add', type: RTM_NEWLINK, flags: F_ADD | NLM_F_ECHO, body, ...here, parse: (r) => (r[0] ? linkFromNative(r[0]) : undefined) },
      targets,
    );
  },

  /** `ip link del DEV` */
  del(dev: IfRef): Op<void> {
    return { op: 'link.del', type: RTM_DELLINK, flags: F_ACK, body: selector(dev, 'dev'), parse: none };
  },

  /**
   * `ip link delete group GROUP`: every link of the device group, unregistered by the kernel in
   * one go (one RCU wait for all, where one request per link waits once each).
   */
  delGroup(group: number): Op<void> {
    return { op: 'link.delGroup', type: RTM_DELLINK, flags: F_ACK, body: { group: uint('group', group, 1, 0xffffffff) }, parse: none };
  },

  /** `ip link set DEV …` */
  set(dev: IfRef, changes: LinkChanges): Op<void> {
    const c = object('changes', changes) as LinkChanges & Record<string, unknown>;
    const targets: NetnsTargets = [];
    const body: Body = {};
    if (c.name !== undefined) {
      // A rename needs the old link by index: IFLA_IFNAME now carries the new name.
      body.index = ifref('dev', dev);
      body.name = ifname('changes.name', c.name);
    } else {
      Object.assign(body, selector(dev, 'dev'));
    }
    commonToNative(c, 'changes', body, targets);
    if (c.kind !== undefined) body.info = kindToNative(c.kind, c, 'changes', true, targets);
    else knownKeys('changes', c, COMMON_KEYS);
    return withNetnsFd({ op: 'link.set', type: RTM_NEWLINK, flags: F_ACK, body, parse: none }, targets);
  },

  /** `ip link show DEV` */
  get(dev: IfRef): Op<Link> {
    return {
      op: 'link.get',
      type: RTM_GETLINK,
      flags: F_ACK,
      body: { ...selector(dev, 'dev'), ...STATS_OFF },
      parse: (r) => linkFromNative(r[0] ?? {}),
    };
  },

  /** `ip link show [type KIND] [master DEV]`: the kernel filters (strict dump checking). */
  list(filter: { kind?: string; master?: IfRef } = {}): RawOp<Link[]> {
    object('filter', filter);
    knownKeys('filter', filter, ['kind', 'master']);
    const body: Body = { ...STATS_OFF };
    if (filter.kind !== undefined) body.info = { kind: str('filter.kind', filter.kind, 15) };
    if (filter.master !== undefined) body.master = ifref('filter.master', filter.master);
    return { op: 'link.list', type: RTM_GETLINK, flags: F_DUMP, body, raw: true, parse: decodeLinks };
  },
};

/** `nl.link`: the calls of `ip link`. */
export class LinkApi {
  constructor(private readonly nl: Runner) {}

  /**
   * `ip link add`. Resolves to the new link as the kernel reports it; one made with `netns` is
   * read back in that namespace (the kernel does not echo it here).
   */
  async add(spec: LinkSpec): Promise<Link> {
    const add = linkOps.add(spec);
    if (spec.netns !== undefined) {
      const made = await this.nl.run(add);
      if (made !== undefined) return made;
      // Imported here: netlink.ts imports this module.
      const { Netlink } = await import('./netlink.js');
      const there = await Netlink.open({ netns: spec.netns });
      try {
        return await there.link.get(spec.name);
      } finally {
        there.close();
      }
    }
    // The kernel echoes a new link before enslaving it, so with a master ask again, in the same
    // native call.
    if (spec.master === undefined) return (await this.nl.run(add)) ?? (await this.get(spec.name));
    const [, link] = await this.nl.runAll([add as Op<unknown>, linkOps.get({ ref: 0 })]);
    return link as Link;
  }

  /** `ip link del DEV` */
  async del(dev: IfRef): Promise<void> {
    return this.nl.run(linkOps.del(dev));
  }

  /** `ip link delete group GROUP` (not group 0, which every link starts in). */
  async delGroup(group: number): Promise<void> {
    return this.nl.run(linkOps.delGroup(group));
  }

  /** `ip link set DEV [up|down] [mtu] [address] [name] [master|nomaster] [netns] [alias] [txqlen] [type KIND …]` */
  async set(dev: IfRef, changes: LinkChanges): Promise<void> {
    return this.nl.run(linkOps.set(dev, changes));
  }

  /** `ip link show DEV` */
  async get(dev: IfRef): Promise<Link> {
    return this.nl.run(linkOps.get(dev));
  }

  /** `ip link show [type KIND] [master DEV]` */
  async list(filter?: { kind?: string; master?: IfRef }): Promise<Link[]> {
    return this.nl.run(linkOps.list(filter));
  }
}
