// The data types a rule compares against, as nft lays them out in a register: length, byte order,
// names. Follows nft's src/datatype.c, src/ct.c, src/proto.c, src/fib.c and src/meta.c.
import { endianness } from 'node:os';

import { ValidationError } from '../../core/errors.js';
import { CT_STATE } from '../expr.js';
import { TYPES } from '../values.js';

export interface ValueType {
  /** Bytes in the register. */
  len: number;
  /**
   * Big-endian values compare in order (<, ranges). Host-order ones (marks, ifindexes, ct state)
   * only by equality: ordering them takes a byteorder expression first, which nlnet does not build.
   */
  order: 'big' | 'host';
  /** A bitmask: a bare `ct state established` tests whether any of the flags is set. */
  flags?: boolean;
  /** The value's bytes; throws a ValidationError naming `field`. */
  encode(field: string, v: unknown): Buffer;
  /** The value as nft prints it. */
  text(v: unknown): string;
}

const HOST_LE = endianness() === 'LE';

function uintBytes(n: number, len: number, order: 'big' | 'host'): Buffer {
  const b = Buffer.alloc(len);
  if (order === 'host' && HOST_LE) b.writeUIntLE(n, 0, len);
  else b.writeUIntBE(n, 0, len);
  return b;
}

function uintIn(field: string, v: unknown, len: number): number {
  const max = 2 ** (8 * len) - 1;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new ValidationError(field, v, `expected an integer from 0 to ${max}`);
  return v;
}

function int(len: number, order: 'big' | 'host', hex = false): ValueType {
  return {
    len,
    order,
    encode: (f, v) => uintBytes(uintIn(f, v, len), len, order),
    text: (v) => (hex ? `0x${(v as number).toString(16)}` : String(v)),
  };
}

/** Named values, or any number that fits when `numbers` is set (`icmp type 42`). */
function named(names: Record<string, number>, len: number, order: 'big' | 'host', numbers: boolean): ValueType {
  return {
    len,
    order,
    encode(f, v) {
      if (typeof v === 'string' && Object.hasOwn(names, v)) return uintBytes(names[v]!, len, order);
      if (numbers && typeof v === 'number') return uintBytes(uintIn(f, v, len), len, order);
      throw new ValidationError(f, v, `expected ${numbers ? 'a number or ' : ''}one of ${Object.keys(names).join(', ')}`);
    },
    text: (v) => String(v),
  };
}

/** A bitmask given as one flag name or a list of them. */
function flags(names: Record<string, number>, len: number, order: 'big' | 'host'): ValueType {
  return {
    len,
    order,
    flags: true,
    encode(f, v) {
      const list: unknown[] = Array.isArray(v) ? v : [v];
      if (list.length === 0) throw new ValidationError(f, v, 'expected at least one flag');
      let bits = 0;
      for (const x of list) {
        if (typeof x !== 'string' || !Object.hasOwn(names, x)) throw new ValidationError(f, x, `expected one of ${Object.keys(names).join(', ')}`);
        bits |= names[x]!;
      }
      return uintBytes(bits >>> 0, len, order);
    },
    text: (v) => (Array.isArray(v) ? v.join(',') : String(v)),
  };
}

/** An interface name; a trailing '*' matches every name with that beginning (`iifname "veth*"`). */
const ifname: ValueType = {
  len: 16,
  order: 'big',
  encode(f, v) {
    if (typeof v === 'string' && v.length > 1 && v.endsWith('*')) {
      const stem = Buffer.from(v.slice(0, -1));
      if (stem.length > 15) throw new ValidationError(f, v, 'interface names are at most 15 bytes');
      return stem;
    }
    return TYPES.ifname.encode(f, v);
  },
  text: (v) => JSON.stringify(v),
};

const fromValues = (t: keyof typeof TYPES, order: 'big' | 'host', text: (v: unknown) => string = String): ValueType => ({
  len: TYPES[t].len,
  order,
  encode: TYPES[t].encode,
  text,
});

export const ICMP_TYPES = {
  'echo-reply': 0, 'destination-unreachable': 3, 'source-quench': 4, redirect: 5, 'echo-request': 8,
  'router-advertisement': 9, 'router-solicitation': 10, 'time-exceeded': 11, 'parameter-problem': 12,
  'timestamp-request': 13, 'timestamp-reply': 14, 'info-request': 15, 'info-reply': 16,
  'address-mask-request': 17, 'address-mask-reply': 18,
} as const;

export const ICMPV6_TYPES = {
  'destination-unreachable': 1, 'packet-too-big': 2, 'time-exceeded': 3, 'parameter-problem': 4,
  'echo-request': 128, 'echo-reply': 129, 'mld-listener-query': 130, 'mld-listener-report': 131,
  'mld-listener-done': 132, 'nd-router-solicit': 133, 'nd-router-advert': 134, 'nd-neighbor-solicit': 135,
  'nd-neighbor-advert': 136, 'nd-redirect': 137, 'router-renumbering': 138, 'mld2-listener-report': 143,
} as const;

// IPS_* conntrack status bits.
export const CT_STATUSES = { expected: 1, 'seen-reply': 2, assured: 4, confirmed: 8, snat: 16, dnat: 32, dying: 512 } as const;
export const TCP_FLAGS = { fin: 1, syn: 2, rst: 4, psh: 8, ack: 16, urg: 32, ecn: 64, cwr: 128 } as const;
// RTN_* route types, what `fib … type` returns.
export const ADDR_TYPES = {
  unspec: 0, unicast: 1, local: 2, broadcast: 3, anycast: 4, multicast: 5, blackhole: 6,
  unreachable: 7, prohibit: 8, throw: 9, nat: 10, xresolve: 11,
} as const;
export const NF_PROTOS = { ipv4: 2, ipv6: 10 } as const;
export const ETHER_TYPES = { ip: 0x0800, arp: 0x0806, ip6: 0x86dd, vlan: 0x8100 } as const;
export const PKT_TYPES = { host: 0, broadcast: 1, multicast: 2, other: 3 } as const;
export const L4_PROTOS = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 } as const;

export const VALUE_TYPES = {
  ipv4_addr: fromValues('ipv4_addr', 'big'),
  ipv6_addr: fromValues('ipv6_addr', 'big'),
  ether_addr: fromValues('ether_addr', 'big'),
  inet_proto: fromValues('inet_proto', 'big'),
  inet_service: fromValues('inet_service', 'big'),
  mark: fromValues('mark', 'host', (v) => `0x${(v as number).toString(16)}`),
  ifname,
  ifindex: int(4, 'host'),
  u8: int(1, 'big'),
  icmp_code: int(1, 'big'),
  icmpv6_code: int(1, 'big'),
  nf_proto: named(NF_PROTOS, 1, 'big', false),
  ether_type: named(ETHER_TYPES, 2, 'big', true),
  pkt_type: named(PKT_TYPES, 1, 'big', false),
  icmp_type: named(ICMP_TYPES, 1, 'big', true),
  icmpv6_type: named(ICMPV6_TYPES, 1, 'big', true),
  fib_addrtype: named(ADDR_TYPES, 4, 'host', false),
  ct_state: flags(CT_STATE, 4, 'host'),
  ct_status: flags(CT_STATUSES, 4, 'host'),
  tcp_flags: flags(TCP_FLAGS, 1, 'big'),
} satisfies Record<string, ValueType>;

export type TypeName = keyof typeof VALUE_TYPES;

/** nft's data type ids (src/datatype.h enum datatypes): what an anonymous set's key type says. */
export const DATATYPE_IDS: Record<TypeName, number> = {
  u8: 4, nf_proto: 2, ipv4_addr: 7, ipv6_addr: 8, ether_addr: 9, ether_type: 10, inet_proto: 12, inet_service: 13,
  icmp_type: 14, tcp_flags: 15, mark: 19, ifindex: 20, ct_state: 26, ct_status: 28, icmpv6_type: 29,
  pkt_type: 31, icmp_code: 32, icmpv6_code: 33, fib_addrtype: 38, ifname: 41,
};

/** Host-order integer bytes, for the constants nlnet adds itself (meta iiftype). */
export const hostUint = (n: number, len: number): Buffer => uintBytes(n, len, 'host');
export const beUint = (n: number, len: number): Buffer => uintBytes(n, len, 'big');
