// The fields a rule can match, named as nft names them, and where each one is loaded from: a
// header (payload), the packet's metadata (meta), its connection (ct). Offsets follow nft's
// src/proto.c header templates.
import type { MetaKey } from '../expr.js';
import type { TypeName } from './types.js';

/** Header protocols: the layer each sits on decides which dependency a match on it needs. */
export type Proto = 'ether' | 'ip' | 'ip6' | 'tcp' | 'udp' | 'th' | 'icmp' | 'icmpv6';
export type Base = 'll' | 'network' | 'transport';

export const PROTO_BASE: Record<Proto, Base> = {
  ether: 'll', ip: 'network', ip6: 'network', tcp: 'transport', udp: 'transport', th: 'transport', icmp: 'transport', icmpv6: 'transport',
};

export type CtKey = 'state' | 'status' | 'mark';

/** nft's proto_desc_id of each header (src/proto.h), recorded in anonymous sets' user data. */
export const PROTO_DESC: Record<Proto, number> = { icmp: 4, udp: 6, tcp: 8, th: 11, ip: 12, ip6: 13, icmpv6: 14, ether: 17 };

export interface FieldDef {
  type: TypeName;
  /** `tmpl`: the field's index among its header's templates in nft (src/proto.c), for the same. */
  payload?: { proto: Proto; offset: number; len: number; tmpl: number };
  meta?: MetaKey;
  ct?: CtKey;
  /**
   * A protocol key: an equality match on it tells nft which protocol the next layer carries
   * (`ip protocol tcp`, `meta nfproto ipv4`), so later matches need no dependency of their own.
   */
  selects?: 'network' | 'transport';
  /** `meta mark set …`, `ct mark set …` */
  settable?: true;
}

const p = (proto: Proto, offset: number, len: number, tmpl: number, type: TypeName, selects?: 'network' | 'transport'): FieldDef =>
  selects ? { type, payload: { proto, offset, len, tmpl }, selects } : { type, payload: { proto, offset, len, tmpl } };

const META = {
  'meta l4proto': { type: 'inet_proto', meta: 'l4proto', selects: 'transport' },
  'meta nfproto': { type: 'nf_proto', meta: 'nfproto', selects: 'network' },
  'meta protocol': { type: 'ether_type', meta: 'protocol', selects: 'network' },
  'meta mark': { type: 'mark', meta: 'mark', settable: true },
  'meta iif': { type: 'ifindex', meta: 'iif' },
  'meta oif': { type: 'ifindex', meta: 'oif' },
  'meta iifname': { type: 'ifname', meta: 'iifname' },
  'meta oifname': { type: 'ifname', meta: 'oifname' },
  'meta pkttype': { type: 'pkt_type', meta: 'pkttype' },
} as const satisfies Record<string, FieldDef>;

export const FIELDS = {
  'ether daddr': p('ether', 0, 6, 1, 'ether_addr'),
  'ether saddr': p('ether', 6, 6, 2, 'ether_addr'),
  'ether type': p('ether', 12, 2, 3, 'ether_type', 'network'),
  'ip ttl': p('ip', 8, 1, 8, 'u8'),
  'ip protocol': p('ip', 9, 1, 9, 'inet_proto', 'transport'),
  'ip saddr': p('ip', 12, 4, 11, 'ipv4_addr'),
  'ip daddr': p('ip', 16, 4, 12, 'ipv4_addr'),
  'ip6 nexthdr': p('ip6', 6, 1, 6, 'inet_proto', 'transport'),
  'ip6 hoplimit': p('ip6', 7, 1, 7, 'u8'),
  'ip6 saddr': p('ip6', 8, 16, 8, 'ipv6_addr'),
  'ip6 daddr': p('ip6', 24, 16, 9, 'ipv6_addr'),
  'tcp sport': p('tcp', 0, 2, 1, 'inet_service'),
  'tcp dport': p('tcp', 2, 2, 2, 'inet_service'),
  'tcp flags': p('tcp', 13, 1, 7, 'tcp_flags'),
  'udp sport': p('udp', 0, 2, 1, 'inet_service'),
  'udp dport': p('udp', 2, 2, 2, 'inet_service'),
  'th sport': p('th', 0, 2, 1, 'inet_service'),
  'th dport': p('th', 2, 2, 2, 'inet_service'),
  'icmp type': p('icmp', 0, 1, 1, 'icmp_type'),
  'icmp code': p('icmp', 1, 1, 2, 'icmp_code'),
  'icmpv6 type': p('icmpv6', 0, 1, 1, 'icmpv6_type'),
  'icmpv6 code': p('icmpv6', 1, 1, 2, 'icmpv6_code'),
  ...META,
  // nft takes these meta keys without the word `meta`.
  iif: META['meta iif'],
  oif: META['meta oif'],
  iifname: META['meta iifname'],
  oifname: META['meta oifname'],
  mark: META['meta mark'],
  'ct state': { type: 'ct_state', ct: 'state' },
  'ct status': { type: 'ct_status', ct: 'status' },
  'ct mark': { type: 'mark', ct: 'mark', settable: true },
} as const satisfies Record<string, FieldDef>;

/** A field by its nft name: 'ip saddr', 'meta l4proto', 'th dport', 'ct mark'… */
export type FieldName = keyof typeof FIELDS;

export const isFieldName = (v: unknown): v is FieldName => typeof v === 'string' && Object.hasOwn(FIELDS, v);
