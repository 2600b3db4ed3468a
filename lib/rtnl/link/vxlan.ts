// vxlan: L2 over UDP. The kernel keeps IPv4 and IPv6 endpoints in separate attributes and does
// not tell a unicast remote from a multicast group; both are mapped here by the address given.
import { isIPv6 } from 'node:net';

import type { Body } from '../../core/binding.js';
import { ValidationError } from '../../core/errors.js';
import { bool, ifref, ip, type IfRef, uint } from '../../core/validate.js';
import { BE16, BOOL8, IP, U32, U8, be16, type FieldReader, type WireField } from '../../core/wire.js';
import type { KindCodec } from './kinds.js';

/** IANA's VXLAN port, which Docker uses; the kernel's own default is the older 8472. */
export const VXLAN_PORT = 4789;

/** A vxlan has a VNI of its own, or is in metadata mode, where routes carry the VNI. */
export type VxlanOptions = VxlanCommon & (VxlanWithVni | VxlanExternal);

interface VxlanWithVni {
  /** VXLAN network identifier, 0 to 16777215 (`id`). */
  vni: number;
  external?: false;
}

/** Metadata mode (`external`), for lightweight tunnels: no vni, and no learning unless asked. */
interface VxlanExternal {
  vni?: undefined;
  external: true;
}

interface VxlanCommon {
  /** Source address of the tunnel (`local`). */
  local?: string;
  /** Unicast peer (`remote`), exclusive with group. */
  remote?: string;
  /** Multicast group (`group`), exclusive with remote. */
  group?: string;
  /** Underlying device (`dev`). */
  dev?: IfRef;
  /** UDP destination port (`dstport`); 4789 unless given. */
  dstport?: number;
  /** UDP source port range (`srcport LOW HIGH`). */
  srcport?: { low: number; high: number };
  /** `ttl N` or `ttl inherit`. */
  ttl?: number | 'inherit';
  /** The TOS byte as a number (`ip … tos 10` reads its argument as hex: 0x10). */
  tos?: number;
  /** Learn remote MACs into the FDB: on unless given, off in metadata mode, as ip sets it. */
  learning?: boolean;
  proxy?: boolean;
  l2miss?: boolean;
  l3miss?: boolean;
  /** UDP checksums over IPv4 (`udpcsum`). */
  udpCsum?: boolean;
  udp6ZeroCsumTx?: boolean;
  udp6ZeroCsumRx?: boolean;
  /** FDB ageing, seconds. */
  ageing?: number;
  /** Maximum FDB entries. */
  limit?: number;
}

const FLAGS = ['learning', 'proxy', 'l2miss', 'l3miss', 'udpCsum', 'udp6ZeroCsumTx', 'udp6ZeroCsumRx', 'external'] as const;

// <linux/if_link.h>
const IFLA_VXLAN_ID = 1;
const IFLA_VXLAN_GROUP = 2;
const IFLA_VXLAN_LINK = 3;
const IFLA_VXLAN_LOCAL = 4;
const IFLA_VXLAN_TTL = 5;
const IFLA_VXLAN_TOS = 6;
const IFLA_VXLAN_LEARNING = 7;
const IFLA_VXLAN_AGEING = 8;
const IFLA_VXLAN_LIMIT = 9;
const IFLA_VXLAN_PORT_RANGE = 10;
const IFLA_VXLAN_PROXY = 11;
const IFLA_VXLAN_L2MISS = 13;
const IFLA_VXLAN_L3MISS = 14;
const IFLA_VXLAN_PORT = 15;
const IFLA_VXLAN_GROUP6 = 16;
const IFLA_VXLAN_LOCAL6 = 17;
const IFLA_VXLAN_UDP_CSUM = 18;
const IFLA_VXLAN_UDP_ZERO_CSUM6_TX = 19;
const IFLA_VXLAN_UDP_ZERO_CSUM6_RX = 20;
const IFLA_VXLAN_COLLECT_METADATA = 25;
const IFLA_VXLAN_TTL_INHERIT = 28;

// struct ifla_vxlan_port_range: two ports in network byte order.
const PORT_RANGE: FieldReader = (b, at, len) => (len === 4 ? { low: be16(b, at), high: be16(b, at + 2) } : undefined);
// A flag going in, but dumped as a u8 that is 0 on every vxlan without `ttl inherit`
// (native/rtnl/link_vxlan.cc).
const TTL_INHERIT: FieldReader = (b, at, len) => (len === 0 ? true : len === 1 ? b[at] !== 0 : undefined);

const WIRE: WireField[] = [
  [IFLA_VXLAN_ID, 'id', U32],
  [IFLA_VXLAN_GROUP, 'group', IP],
  [IFLA_VXLAN_GROUP6, 'group6', IP],
  [IFLA_VXLAN_LOCAL, 'local', IP],
  [IFLA_VXLAN_LOCAL6, 'local6', IP],
  [IFLA_VXLAN_LINK, 'link', U32],
  [IFLA_VXLAN_TTL_INHERIT, 'ttlInherit', TTL_INHERIT],
  [IFLA_VXLAN_TTL, 'ttl', U8],
  [IFLA_VXLAN_TOS, 'tos', U8],
  [IFLA_VXLAN_LEARNING, 'learning', BOOL8],
  [IFLA_VXLAN_PROXY, 'proxy', BOOL8],
  [IFLA_VXLAN_L2MISS, 'l2miss', BOOL8],
  [IFLA_VXLAN_L3MISS, 'l3miss', BOOL8],
  [IFLA_VXLAN_UDP_CSUM, 'udpCsum', BOOL8],
  [IFLA_VXLAN_UDP_ZERO_CSUM6_TX, 'udp6ZeroCsumTx', BOOL8],
  [IFLA_VXLAN_UDP_ZERO_CSUM6_RX, 'udp6ZeroCsumRx', BOOL8],
  [IFLA_VXLAN_COLLECT_METADATA, 'external', BOOL8],
  [IFLA_VXLAN_AGEING, 'ageing', U32],
  [IFLA_VXLAN_LIMIT, 'limit', U32],
  [IFLA_VXLAN_PORT, 'port', BE16],
  [IFLA_VXLAN_PORT_RANGE, 'portRange', PORT_RANGE],
];

export const vxlanKind: KindCodec<VxlanOptions> = {
  wire: WIRE,
  keys: ['vni', 'local', 'remote', 'group', 'dev', 'dstport', 'srcport', 'ttl', 'tos', 'ageing', 'limit', ...FLAGS],
  toNative(s, field, ctx) {
    const d: Body = {};
    const { vni, external } = s as { vni?: unknown; external?: unknown };
    if (external === true && vni !== undefined) throw new ValidationError(`${field}.vni`, vni, 'an external (metadata mode) vxlan has no vni');
    if (vni !== undefined || (!ctx.forChange && external !== true)) d.id = uint(`${field}.vni`, vni, 0, 0xffffff);
    if (s.remote !== undefined && s.group !== undefined)
      throw new ValidationError(`${field}.group`, s.group, 'give either remote or group, not both');
    const peer = s.remote ?? s.group;
    if (peer !== undefined) {
      const key = s.remote !== undefined ? 'remote' : 'group';
      ip(`${field}.${key}`, peer);
      if (key === 'group' && !isMulticast(peer)) throw new ValidationError(`${field}.group`, peer, 'expected a multicast address');
      if (key === 'remote' && isMulticast(peer)) throw new ValidationError(`${field}.remote`, peer, 'expected a unicast address');
      d[isIPv6(peer) ? 'group6' : 'group'] = peer;
    }
    if (s.local !== undefined) d[isIPv6(ip(`${field}.local`, s.local)) ? 'local6' : 'local'] = s.local;
    if (s.dev !== undefined) d.link = ifref(`${field}.dev`, s.dev);
    if (s.ttl === 'inherit') d.ttlInherit = true;
    else if (s.ttl !== undefined) d.ttl = uint(`${field}.ttl`, s.ttl, 0, 255);
    if (s.tos !== undefined) d.tos = uint(`${field}.tos`, s.tos, 0, 255);
    for (const k of FLAGS) if (s[k] !== undefined) d[k] = bool(`${field}.${k}`, s[k]);
    // ip always says whether a new vxlan learns: yes, unless in metadata mode.
    if (d.learning === undefined && !ctx.forChange) d.learning = d.external !== true;
    if (s.ageing !== undefined) d.ageing = uint(`${field}.ageing`, s.ageing, 0, 0xffffffff);
    if (s.limit !== undefined) d.limit = uint(`${field}.limit`, s.limit, 0, 0xffffffff);
    if (s.srcport !== undefined) {
      const low = uint(`${field}.srcport.low`, s.srcport?.low, 1, 65535);
      const high = uint(`${field}.srcport.high`, s.srcport?.high, 1, 65535);
      if (high < low) throw new ValidationError(`${field}.srcport`, s.srcport, 'high must not be below low');
      d.portRange = { low, high };
    }
    if (s.dstport !== undefined) d.port = uint(`${field}.dstport`, s.dstport, 1, 65535);
    else if (!ctx.forChange) d.port = VXLAN_PORT;
    return d;
  },
  fromNative(d) {
    const o: Partial<VxlanOptions> & Record<string, unknown> = {};
    if (typeof d.id === 'number') o.vni = d.id;
    const peer = (d.group ?? d.group6) as string | undefined;
    if (peer !== undefined && peer !== '0.0.0.0' && peer !== '::') o[isMulticast(peer) ? 'group' : 'remote'] = peer;
    const local = (d.local ?? d.local6) as string | undefined;
    if (local !== undefined && local !== '0.0.0.0' && local !== '::') o.local = local;
    if (typeof d.link === 'number' && d.link > 0) o.dev = d.link;
    if (d.ttlInherit === true) o.ttl = 'inherit';
    else if (typeof d.ttl === 'number') o.ttl = d.ttl;
    if (typeof d.tos === 'number') o.tos = d.tos;
    for (const k of FLAGS) if (typeof d[k] === 'boolean') o[k] = d[k] as boolean;
    if (typeof d.ageing === 'number') o.ageing = d.ageing;
    if (typeof d.limit === 'number') o.limit = d.limit;
    if (typeof d.port === 'number') o.dstport = d.port;
    const range = d.portRange as { low: number; high: number } | undefined;
    if (range && (range.low !== 0 || range.high !== 0)) o.srcport = range;
    return o;
  },
};

function isMulticast(addr: string): boolean {
  if (isIPv6(addr)) return addr.toLowerCase().startsWith('ff');
  const first = Number(addr.split('.')[0]);
  return first >= 224 && first <= 239;
}
