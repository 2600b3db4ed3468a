// Routes: `ip route add|replace|del|show|get`, IPv4 and IPv6, with tables, metrics and multipath.
import type { Body } from '../core/binding.js';
import { F_ACK, F_ADD, F_DUMP, F_REPLACE, NLM_F_REQUEST, RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE } from '../core/constants.js';
import { NetlinkError, ValidationError } from '../core/errors.js';
import { none, type Op, type RawOp, type Runner } from '../core/op.js';
import { bool, type Family, familyOf, ifref, type IfRef, ip, knownKeys, object, oneOf, prefix, uint } from '../core/validate.js';
import type { Scope } from './addr.js';
import { decodeRoutes } from './wire/route.js';

export type RouteType = 'unicast' | 'local' | 'broadcast' | 'anycast' | 'multicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw' | 'nat';
const TYPES: readonly RouteType[] = ['unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat'];
const SCOPES: readonly Scope[] = ['global', 'site', 'link', 'host', 'nowhere'];
/** The names of iproute2's rt_protos; other protocols are numbers. */
export type Protocol =
  | 'unspec' | 'redirect' | 'kernel' | 'boot' | 'static' | 'gated' | 'ra' | 'mrt' | 'zebra' | 'bird' | 'dnrouted'
  | 'xorp' | 'ntk' | 'dhcp' | 'keepalived' | 'babel' | 'openr' | 'bgp' | 'isis' | 'ospf' | 'rip' | 'eigrp';
const PROTOCOLS: readonly Protocol[] = [
  'unspec', 'redirect', 'kernel', 'boot', 'static', 'gated', 'ra', 'mrt', 'zebra', 'bird', 'dnrouted',
  'xorp', 'ntk', 'dhcp', 'keepalived', 'babel', 'openr', 'bgp', 'isis', 'ospf', 'rip', 'eigrp',
];
const TABLES: Record<string, number> = { default: 253, main: 254, local: 255 };
const LOCAL_TABLE_TYPES: readonly RouteType[] = ['local', 'broadcast', 'anycast', 'nat'];
const RTNH_F_ONLINK = 4;
// <linux/rtnetlink.h>: ask `route get` to report the table the route came from.
const RTM_F_LOOKUP_TABLE = 0x1000;

export interface Nexthop {
  via?: string;
  dev?: IfRef;
  /** 1 to 256, as `ip route … nexthop via … weight N`. */
  weight?: number;
  onlink?: boolean;
}

export interface RouteSpec {
  /** "10.0.0.0/8", "2001:db8::/32", an address (/32, /128) or 'default'. */
  dst: string;
  /** Needed only for 'default' without a gateway to tell; 'inet' otherwise. */
  family?: Family;
  /** Gateway (`via`). */
  via?: string;
  dev?: IfRef;
  /** Preferred source address (`src`). */
  src?: string;
  /** A number, or 'main' (the default), 'local', 'default'. */
  table?: number | 'main' | 'local' | 'default';
  metric?: number;
  scope?: Scope;
  protocol?: Protocol | number;
  type?: RouteType;
  onlink?: boolean;
  mtu?: number;
  advmss?: number;
  nexthops?: Nexthop[];
}

export interface Route {
  family: Family;
  dst: string;
  type: RouteType | number;
  table: number;
  protocol: Protocol | number;
  scope: Scope | number;
  via?: string;
  dev?: number;
  src?: string;
  metric?: number;
  onlink?: boolean;
  mtu?: number;
  advmss?: number;
  nexthops?: { via?: string; dev: number; weight: number; onlink?: boolean }[];
}

const KEYS = ['dst', 'family', 'via', 'dev', 'src', 'table', 'metric', 'scope', 'protocol', 'type', 'onlink', 'mtu', 'advmss', 'nexthops'] as const;

function tableId(field: string, v: unknown): number {
  if (typeof v === 'string') {
    const id = TABLES[v];
    if (id === undefined) throw new ValidationError(field, v, "expected a table number or 'main', 'local', 'default'");
    return id;
  }
  return uint(field, v, 1, 0xffffffff);
}

/** The scope `ip route` sends when none is given. */
function defaultScope(family: Family, type: RouteType | undefined, del: boolean, hasGateway: boolean): Scope {
  if (family === 'inet6') return 'global'; // IPv6 routes have no scope; ip always sends universe
  if (type === 'local' || type === 'nat') return 'host';
  if (type === 'broadcast' || type === 'multicast' || type === 'anycast') return 'link';
  if (del) return 'nowhere'; // matches a route of any scope
  return type === 'unicast' && !hasGateway ? 'link' : 'global';
}

function specToNative(spec: RouteSpec, del: boolean): Body {
  const s = object('route', spec) as RouteSpec & Record<string, unknown>;
  knownKeys('route', s, KEYS);
  let family: Family;
  const body: Body = {};
  if (s.dst === 'default') {
    family = s.family ?? (s.via !== undefined ? familyOf(ip('route.via', s.via)) : 'inet');
    body.dstLen = 0;
  } else {
    const p = prefix('route.dst', s.dst, s.family);
    family = p.family;
    body.dstLen = p.prefixlen;
    body.dst = p.address;
  }
  body.family = family;
  const type = s.type === undefined ? (del ? undefined : 'unicast') : oneOf('route.type', s.type, TYPES);
  if (type !== undefined) body.type = type;
  // The defaults `ip route` sends: the main table (local for local, broadcast, anycast and nat
  // routes); on add, protocol boot and type unicast; on delete neither, so any matches.
  const table = s.table !== undefined ? tableId('route.table', s.table) : type !== undefined && LOCAL_TABLE_TYPES.includes(type) ? 255 : 254;
  body.tableId = table < 256 ? table : 0;
  if (table >= 256) body.table = table;
  if (s.protocol !== undefined) body.protocol = typeof s.protocol === 'number' ? uint('route.protocol', s.protocol, 0, 255) : oneOf('route.protocol', s.protocol, PROTOCOLS);
  else if (!del) body.protocol = 'boot';
  body.scope = s.scope !== undefined ? oneOf('route.scope', s.scope, SCOPES) : defaultScope(family, type, del, s.via !== undefined || s.nexthops !== undefined);
  if (s.via !== undefined) body.gateway = ip('route.via', s.via, family);
  if (s.src !== undefined) body.prefsrc = ip('route.src', s.src, family);
  if (s.metric !== undefined) body.priority = uint('route.metric', s.metric, 0, 0xffffffff);
  if (s.dev !== undefined) body.oif = ifref('route.dev', s.dev);
  if (s.onlink !== undefined && bool('route.onlink', s.onlink)) body.flags = RTNH_F_ONLINK;
  const metrics: Body = {};
  if (s.mtu !== undefined) metrics.mtu = uint('route.mtu', s.mtu, 68, 65535);
  if (s.advmss !== undefined) metrics.advmss = uint('route.advmss', s.advmss, 1, 65535);
  if (Object.keys(metrics).length) body.metrics = metrics;
  if (s.nexthops !== undefined) {
    if (!Array.isArray(s.nexthops) || s.nexthops.length === 0) throw new ValidationError('route.nexthops', s.nexthops, 'expected a non-empty array');
    body.multipath = s.nexthops.map((nh, i) => {
      const f = `route.nexthops[${i}]`;
      const h = object(f, nh) as Nexthop & Record<string, unknown>;
      knownKeys(f, h, ['via', 'dev', 'weight', 'onlink']);
      const out: Body = {};
      if (h.via !== undefined) out.gateway = ip(`${f}.via`, h.via, family);
      if (h.dev !== undefined) out.dev = ifref(`${f}.dev`, h.dev);
      if (h.weight !== undefined) out.weight = uint(`${f}.weight`, h.weight, 1, 256);
      if (h.onlink !== undefined && bool(`${f}.onlink`, h.onlink)) out.flags = RTNH_F_ONLINK;
      return out;
    });
  }
  return body;
}

export function routeFromNative(b: Body): Route {
  const family = b.family as Family;
  const dstLen = b.dstLen as number;
  const r: Route = {
    family,
    dst: b.dst === undefined && dstLen === 0 ? 'default' : `${(b.dst as string | undefined) ?? (family === 'inet' ? '0.0.0.0' : '::')}/${dstLen}`,
    type: b.type as RouteType,
    table: (b.table as number | undefined) ?? (typeof b.tableId === 'number' ? b.tableId : TABLES[b.tableId as string] ?? 0),
    protocol: b.protocol as Protocol,
    scope: b.scope as Scope,
  };
  if (b.gateway !== undefined) r.via = b.gateway as string;
  if (b.oif !== undefined) r.dev = b.oif as number;
  if (b.prefsrc !== undefined) r.src = b.prefsrc as string;
  if (b.priority !== undefined) r.metric = b.priority as number;
  if (((b.flags as number) & RTNH_F_ONLINK) !== 0) r.onlink = true;
  const m = b.metrics as { mtu?: number; advmss?: number } | undefined;
  if (m?.mtu !== undefined) r.mtu = m.mtu;
  if (m?.advmss !== undefined) r.advmss = m.advmss;
  const mp = b.multipath as { gateway?: string; dev: number; weight: number; flags: number }[] | undefined;
  if (mp)
    r.nexthops = mp.map((h) => ({
      dev: h.dev,
      weight: h.weight,
      ...(h.gateway !== undefined ? { via: h.gateway } : {}),
      ...(h.flags & RTNH_F_ONLINK ? { onlink: true } : {}),
    }));
  return r;
}

export interface RouteFilter {
  family?: Family;
  /** A table, or 'all'. Default: 'main', as `ip route show`. */
  table?: number | 'main' | 'local' | 'default' | 'all';
  dev?: IfRef;
  protocol?: Protocol | number;
}

export const routeOps = {
  /** `ip route add DST [via GW] [dev DEV] [src] [table] [metric] [scope] [proto] [onlink] [mtu] [nexthop …]` */
  add(spec: RouteSpec): Op<void> {
    return { op: 'route.add', type: RTM_NEWROUTE, flags: F_ADD, body: specToNative(spec, false), parse: none };
  },
  /** `ip route replace …` */
  replace(spec: RouteSpec): Op<void> {
    return { op: 'route.replace', type: RTM_NEWROUTE, flags: F_REPLACE, body: specToNative(spec, false), parse: none };
  },
  /** `ip route del DST [via] [dev] [table] [metric]` */
  del(spec: RouteSpec): Op<void> {
    return { op: 'route.del', type: RTM_DELROUTE, flags: F_ACK, body: specToNative(spec, true), parse: none };
  },
  /** `ip [-6] route show [table T|all] [dev DEV] [proto P]`: filtered in the kernel. */
  list(filter: RouteFilter = {}): RawOp<Route[]> {
    object('filter', filter);
    knownKeys('filter', filter, ['family', 'table', 'dev', 'protocol']);
    const body: Body = { family: filter.family === undefined ? 'unspec' : oneOf('filter.family', filter.family, ['inet', 'inet6']) };
    const table = filter.table ?? 'main';
    // As `ip route show table T`: the table in RTA_TABLE whatever its number, rtm_table 0.
    if (table !== 'all') body.table = tableId('filter.table', table);
    if (filter.dev !== undefined) body.oif = ifref('filter.dev', filter.dev);
    if (filter.protocol !== undefined) body.protocol = typeof filter.protocol === 'number' ? uint('filter.protocol', filter.protocol, 0, 255) : oneOf('filter.protocol', filter.protocol, PROTOCOLS);
    return { op: 'route.list', type: RTM_GETROUTE, flags: F_DUMP, body, raw: true, parse: decodeRoutes };
  },
  /** `ip route get ADDR [from SRC] [iif DEV] [oif DEV] [mark M]`: the route the kernel would use. */
  get(dst: string, opts: { from?: string; iif?: IfRef; oif?: IfRef; mark?: number } = {}): Op<Route> {
    const family = familyOf(ip('dst', dst));
    const body: Body = { family, dst, dstLen: family === 'inet' ? 32 : 128 };
    // As `ip route get`: IPv4 asks for the table in the answer (IPv6 reports it anyway).
    if (family === 'inet') body.flags = RTM_F_LOOKUP_TABLE;
    object('opts', opts);
    knownKeys('opts', opts, ['from', 'iif', 'oif', 'mark']);
    if (opts.from !== undefined) {
      body.src = ip('opts.from', opts.from, family);
      body.srcLen = family === 'inet' ? 32 : 128;
    }
    if (opts.iif !== undefined) body.iif = ifref('opts.iif', opts.iif);
    if (opts.oif !== undefined) body.oif = ifref('opts.oif', opts.oif);
    if (opts.mark !== undefined) body.mark = uint('opts.mark', opts.mark, 0, 0xffffffff);
    // A plain request, as `ip` sends it: the answer is one RTM_NEWROUTE, or an error.
    return { op: 'route.get', type: RTM_GETROUTE, flags: NLM_F_REQUEST, body, parse: (r) => routeFromNative(r[0] ?? {}) };
  },
};

/** `nl.route`: the calls of `ip route`. Bad input rejects with a ValidationError before anything is sent. */
export class RouteApi {
  constructor(private readonly nl: Runner) {}
  /** `ip route add` */
  async add(spec: RouteSpec): Promise<void> {
    return this.nl.run(routeOps.add(spec));
  }
  /** `ip route replace` */
  async replace(spec: RouteSpec): Promise<void> {
    return this.nl.run(routeOps.replace(spec));
  }
  /** `ip route del` */
  async del(spec: RouteSpec): Promise<void> {
    return this.nl.run(routeOps.del(spec));
  }
  /** `ip route show` */
  async list(filter?: RouteFilter): Promise<Route[]> {
    try {
      return await this.nl.run(routeOps.list(filter));
    } catch (e) {
      // The kernel has no table that never held a route, and refuses to dump one for a given
      // family (ENOENT, "FIB table does not exist"); for us that table is just empty.
      if (e instanceof NetlinkError && e.code === 'ENOENT' && filter?.table !== undefined && filter.table !== 'all') return [];
      throw e;
    }
  }
  /** `ip route get ADDR` */
  async get(dst: string, opts?: { from?: string; iif?: IfRef; oif?: IfRef; mark?: number }): Promise<Route> {
    return this.nl.run(routeOps.get(dst, opts));
  }
}
