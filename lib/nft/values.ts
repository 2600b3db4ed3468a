// Typed values for set keys, map data and comparisons: nft's data types, with their ids (what
// NFTA_SET_KEY_TYPE carries, so that `nft list` prints them by name) and their byte layout.
import { endianness } from 'node:os';

import { addressBytes, addressFamily, formatAddress, type Family } from '../core/address.js';
import { ValidationError } from '../core/errors.js';

export type KeyType = 'ipv4_addr' | 'ipv6_addr' | 'ether_addr' | 'inet_proto' | 'inet_service' | 'mark' | 'ifname';

interface TypeInfo {
  id: number;
  len: number;
  /** nft's byte order for the type (src/datatype.h BYTEORDER_*): what set user data records. */
  byteorder: ByteOrder;
  encode(field: string, v: unknown): Buffer;
  decode(b: Buffer): Value;
}

export type Value = string | number;

/** nft's enum byteorder: a set's user data says which one its keys and values use. */
const BYTEORDER = { invalid: 0, host: 1, big: 2 } as const;
type ByteOrder = (typeof BYTEORDER)[keyof typeof BYTEORDER];

const PROTOS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 };
const PROTO_NAMES = Object.fromEntries(Object.entries(PROTOS).map(([k, v]) => [v, k]));

function ipBytes(field: string, v: unknown, family: Family): Buffer {
  if (typeof v !== 'string' || addressFamily(v) !== family) throw new ValidationError(field, v, `expected an IPv${family === 'inet' ? 4 : 6} address`);
  return addressBytes(v);
}

export const TYPES: Record<KeyType, TypeInfo> = {
  ipv4_addr: { id: 7, len: 4, byteorder: BYTEORDER.big, encode: (f, v) => ipBytes(f, v, 'inet'), decode: (b) => formatAddress(b.subarray(0, 4)) },
  ipv6_addr: { id: 8, len: 16, byteorder: BYTEORDER.big, encode: (f, v) => ipBytes(f, v, 'inet6'), decode: (b) => formatAddress(b.subarray(0, 16)) },
  ether_addr: {
    id: 9,
    len: 6,
    byteorder: BYTEORDER.big,
    encode(f, v) {
      if (typeof v !== 'string' || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v)) throw new ValidationError(f, v, 'expected a MAC address');
      return Buffer.from(v.replace(/:/g, ''), 'hex');
    },
    decode: (b) => [...b.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':'),
  },
  inet_proto: {
    id: 12,
    len: 1,
    // nft leaves a one-byte type's order unset.
    byteorder: BYTEORDER.invalid,
    encode(f, v) {
      const n = typeof v === 'string' ? PROTOS[v] : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 255) throw new ValidationError(f, v, `expected a protocol number or ${Object.keys(PROTOS).join(', ')}`);
      return Buffer.from([n]);
    },
    decode: (b) => PROTO_NAMES[b[0]!] ?? b[0]!,
  },
  inet_service: {
    id: 13,
    len: 2,
    byteorder: BYTEORDER.big,
    encode(f, v) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw new ValidationError(f, v, 'expected a port, 0 to 65535');
      const b = Buffer.alloc(2);
      b.writeUInt16BE(v);
      return b;
    },
    decode: (b) => b.readUInt16BE(0),
  },
  // Marks are host-endian integers in nft.
  mark: {
    id: 19,
    len: 4,
    byteorder: BYTEORDER.host,
    encode(f, v) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new ValidationError(f, v, 'expected a 32-bit mark');
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v);
      return b;
    },
    decode: (b) => b.readUInt32LE(0),
  },
  ifname: {
    id: 41,
    len: 16,
    byteorder: BYTEORDER.host,
    encode(f, v) {
      if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v) > 15) throw new ValidationError(f, v, 'expected an interface name');
      const b = Buffer.alloc(16);
      b.write(v);
      return b;
    },
    decode: (b) => b.toString('utf8', 0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)),
  },
};

export const KEY_TYPES = Object.keys(TYPES) as KeyType[];

/** nft's TYPE_BITS: a concatenated type id is the ids shifted in, 6 bits each. */
const TYPE_BITS = 6;

/** The byte order nft records for a key or value: a concatenation has none. */
const byteorderOf = (types: readonly KeyType[]): ByteOrder => (types.length === 1 ? TYPES[types[0]!].byteorder : BYTEORDER.invalid);

/** The id, length (each field padded to 4 bytes when concatenated) and field lengths of a key. */
export function keyLayout(types: readonly KeyType[]): { id: number; len: number; fields: number[] } {
  if (types.length === 1) {
    const t = TYPES[types[0]!];
    return { id: t.id, len: t.len, fields: [t.len] };
  }
  let id = 0;
  let len = 0;
  for (const t of types) {
    id = (id << TYPE_BITS) | TYPES[t].id;
    len += (TYPES[t].len + 3) & ~3;
  }
  return { id: id >>> 0, len, fields: types.map((t) => TYPES[t].len) };
}

/** Bytes of a (possibly concatenated) value, each field padded to 4 bytes when concatenated. */
export function encodeKey(field: string, types: readonly KeyType[], v: unknown): Buffer {
  if (types.length === 1) return TYPES[types[0]!].encode(field, v);
  if (!Array.isArray(v) || v.length !== types.length)
    throw new ValidationError(field, v, `expected ${types.length} values (${types.join(' . ')})`);
  return Buffer.concat(
    types.map((t, i) => {
      const b = TYPES[t].encode(`${field}[${i}]`, v[i]);
      return Buffer.concat([b, Buffer.alloc(((b.length + 3) & ~3) - b.length)]);
    }),
  );
}

export function decodeKey(types: readonly KeyType[], b: Buffer): Value | Value[] {
  if (types.length === 1) return TYPES[types[0]!].decode(b);
  const out: Value[] = [];
  let at = 0;
  for (const t of types) {
    out.push(TYPES[t].decode(b.subarray(at, at + TYPES[t].len)));
    at += (TYPES[t].len + 3) & ~3;
  }
  return out;
}

/** The key types of a type id from the kernel (a concatenation unpacks into several). */
export function typesOf(id: number, len: number): KeyType[] | undefined {
  const byId = new Map(KEY_TYPES.map((k) => [TYPES[k].id, k]));
  const single = byId.get(id);
  if (single && TYPES[single].len === len) return [single];
  const out: KeyType[] = [];
  for (let rest = id; rest > 0; rest = Math.floor(rest / 64)) {
    const t = byId.get(rest % 64);
    if (!t) return undefined;
    out.unshift(t);
  }
  return out.length > 1 ? out : undefined;
}

// ---- set user data ---------------------------------------------------------------------------
// nft keeps what the kernel does not store about a set in NFTA_SET_USERDATA, as libnftnl's
// NFTNL_UDATA_SET_* TLVs (type u8, length u8, value), and reads them back to print elements:
// without the byte order, `nft list` shows the mark 0x10 as 0x10000000. nlnet writes exactly what
// nft 1.0.6 writes for the same declaration.

const UDATA_SET_KEYBYTEORDER = 0;
const UDATA_SET_DATABYTEORDER = 1;
const UDATA_SET_KEY_TYPEOF = 3;
const UDATA_SET_DATA_TYPEOF = 4;
const UDATA_SET_DATA_INTERVAL = 6;
const UDATA_SET_COMMENT = 7;
// Inside a typeof entry: NFTNL_UDATA_SET_TYPEOF_EXPR (nft's expression type) and _DATA.
const UDATA_TYPEOF_EXPR = 0;
const UDATA_TYPEOF_DATA = 1;
/** nft 1.0.6's EXPR_CONCAT (its enum expr_types). */
const EXPR_CONCAT = 13;

/** nft's limit on set comments (NFTNL_UDATA_COMMENT_MAXLEN, with the NUL). */
export const SET_COMMENT_MAX = 127;

const tlv = (type: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([type, value.length]), value]);

/** libnftnl writes its u32 TLVs in host byte order. */
function hostU32(n: number): Buffer {
  const b = Buffer.alloc(4);
  if (endianness() === 'LE') b.writeUInt32LE(n);
  else b.writeUInt32BE(n);
  return b;
}

// A `type a . b` key or value: nft records it as a concatenation with no typeof fields, and
// falls back on NFTA_SET_KEY_TYPE when it reads the set back.
const CONCAT_TYPEOF = Buffer.concat([tlv(UDATA_TYPEOF_EXPR, hostU32(EXPR_CONCAT)), tlv(UDATA_TYPEOF_DATA, Buffer.alloc(0))]);

/** NFTA_SET_USERDATA for a set of `key` (a map to `map`), as `nft add set|map` writes it. */
export function setUserdata(key: readonly KeyType[], map?: readonly KeyType[] | 'verdict', comment?: string): Buffer {
  const data = map === 'verdict' ? [] : map;
  const out = [tlv(UDATA_SET_KEYBYTEORDER, hostU32(byteorderOf(key)))];
  if (data) out.push(tlv(UDATA_SET_DATABYTEORDER, hostU32(data.length ? byteorderOf(data) : BYTEORDER.invalid)));
  if (key.length > 1) out.push(tlv(UDATA_SET_KEY_TYPEOF, CONCAT_TYPEOF));
  if (data && data.length > 1) out.push(tlv(UDATA_SET_DATA_TYPEOF, CONCAT_TYPEOF));
  if (data) out.push(tlv(UDATA_SET_DATA_INTERVAL, hostU32(0)));
  if (comment !== undefined) out.push(tlv(UDATA_SET_COMMENT, Buffer.from(`${comment}\0`)));
  return Buffer.concat(out);
}

/** One key field of a rule's anonymous set, as nft records it: its expression and byte order. */
export interface TypeofField {
  /** nft's enum expr_types value of the expression (EXPR_PAYLOAD, EXPR_META…). */
  expr: number;
  /** The expression's own TLVs (payload: protocol and field; meta: key…). */
  data: Buffer;
  byteorder: 'big' | 'host';
}

const UDATA_SET_MERGE_ELEMENTS = 2;
/** nft 1.0.6's EXPR_VERDICT. */
const EXPR_VERDICT = 1;

const typeofOf = (f: Pick<TypeofField, 'expr' | 'data'>): Buffer => Buffer.concat([tlv(UDATA_TYPEOF_EXPR, hostU32(f.expr)), tlv(UDATA_TYPEOF_DATA, f.data)]);

/** A u32 TLV of libnftnl's user data (host byte order), for the typeof records of expressions. */
export const udataU32 = (type: number, n: number): Buffer => tlv(type, hostU32(n >>> 0));

/**
 * NFTA_SET_USERDATA of a rule's anonymous set or map, as nft 1.0.6 writes it: the key's byte
 * order and, for a set, whether it merges ranges and what expression its key comes from. A map
 * records its key's expression only for a concatenation, and its data's type only for verdicts.
 */
export function inlineSetUserdata(key: readonly TypeofField[], interval: boolean, map?: 'verdict' | { byteorder: 'big' | 'host' | 'none' }): Buffer {
  const order = (o: 'big' | 'host' | 'none') => (o === 'big' ? BYTEORDER.big : o === 'host' ? BYTEORDER.host : BYTEORDER.invalid);
  const out = [tlv(UDATA_SET_KEYBYTEORDER, hostU32(key.length === 1 ? order(key[0]!.byteorder) : BYTEORDER.invalid))];
  const keyTypeof =
    key.length === 1
      ? typeofOf(key[0]!)
      : typeofOf({ expr: EXPR_CONCAT, data: Buffer.concat(key.map((f, i) => tlv(i, typeofOf(f)))) });
  if (map === undefined) {
    if (interval) out.push(tlv(UDATA_SET_MERGE_ELEMENTS, hostU32(1)));
    out.push(tlv(UDATA_SET_KEY_TYPEOF, keyTypeof));
    return Buffer.concat(out);
  }
  out.push(tlv(UDATA_SET_DATABYTEORDER, hostU32(map === 'verdict' ? BYTEORDER.invalid : order(map.byteorder))));
  if (key.length > 1) out.push(tlv(UDATA_SET_KEY_TYPEOF, keyTypeof));
  if (map === 'verdict') out.push(tlv(UDATA_SET_DATA_TYPEOF, typeofOf({ expr: EXPR_VERDICT, data: Buffer.alloc(0) })));
  out.push(tlv(UDATA_SET_DATA_INTERVAL, hostU32(0)));
  return Buffer.concat(out);
}

/** The comment in a set's user data, if any. */
export function setComment(userdata: unknown): string | undefined {
  if (!Buffer.isBuffer(userdata)) return undefined;
  for (let at = 0; at + 2 <= userdata.length; ) {
    const type = userdata[at]!;
    const len = userdata[at + 1]!;
    if (at + 2 + len > userdata.length) return undefined;
    if (type === UDATA_SET_COMMENT && len > 0) return userdata.toString('utf8', at + 2, at + 2 + len - 1);
    at += 2 + len;
  }
  return undefined;
}

// ---- keys in interval sets -------------------------------------------------------------------

/**
 * A key's bytes in an interval set, where the kernel orders keys with memcmp: nft writes
 * host-endian numbers (marks) big-endian there, so that ranges of them sort as numbers.
 */
export function encodeOrdered(field: string, type: KeyType, v: unknown): Buffer {
  const b = TYPES[type].encode(field, v);
  return type === 'mark' ? Buffer.from(b).reverse() : b;
}

export function decodeOrdered(type: KeyType, b: Buffer): Value {
  return TYPES[type].decode(type === 'mark' ? Buffer.from(b).reverse() : b);
}
