// Inline sets and maps in rules (`tcp dport { 22, 80 }`, `ip saddr { 10.0.0.0/8 }`,
// `ip daddr vmap { 10.0.0.1 : drop }`, `dnat to tcp dport map { 80 : 172.17.0.2 }`): the
// anonymous set nft creates for each, with the key type, user data and elements nft 1.0.6 sends
// (src/evaluate.c, src/intervals.c, src/mnl.c). The rule carries the set (see lib/nft/inline.ts).
import { isIP } from 'node:net';

import { ValidationError } from '../../core/errors.js';
import { prefix as parsePrefix } from '../../core/validate.js';
import { verdictOf } from '../elements.js';
import type { Verdict } from '../expr.js';
import type { InlineSet } from '../inline.js';
import { pipapoElements, prefixRange, rbtreeElements, sortRanges, type ByteRange, type ElementBytes, type RangeItem } from '../intervals.js';
import { encodeKey, inlineSetUserdata, keyLayout, udataU32, type KeyType, type TypeofField } from '../values.js';
import { FIELDS, PROTO_DESC, type FieldDef, type FieldName } from './fields.js';
import { DATATYPE_IDS, VALUE_TYPES, type TypeName } from './types.js';

/**
 * An element of an inline set: a value, or an inclusive range `{ from, to }` of an ordered field
 * (addresses, ports, protocols). An address may also be a prefix ('10.0.0.0/8'), an interface
 * name a wildcard ('veth*').
 */
export type SetItem<V> = V | { readonly from: V; readonly to: V };

/** A key field of an inline set: its nft text, its data type, and what nft records about it. */
export interface KeyField {
  text: string;
  type: TypeName;
  typeof: TypeofField;
}

// nft 1.0.6's enum expr_types, and the keys its typeof records use (NFT_META_*, NFT_CT_*).
const EXPR = { payload: 7, meta: 9, ct: 12, fib: 26 } as const;
const META_KEYS: Record<string, number> = { protocol: 1, mark: 3, iif: 4, oif: 5, iifname: 6, oifname: 7, nfproto: 15, l4proto: 16, pkttype: 19 };
const CT_KEYS: Record<string, number> = { state: 0, status: 2, mark: 3 };
const CT_DIR_NONE = 0xffffffff;
/** nft's TYPE_INTEGER: a payload field of plain integers records its length too. */
const TYPE_INTEGER = 4;

/** What nft records about a field as a set key (payload_expr_build_udata and friends). */
export function fieldTypeof(name: FieldName): TypeofField {
  const def: FieldDef = FIELDS[name];
  if (def.payload) {
    const p = def.payload;
    const parts = [udataU32(0, PROTO_DESC[p.proto]), udataU32(1, p.tmpl)];
    if (DATATYPE_IDS[def.type] === TYPE_INTEGER) parts.push(udataU32(4, p.len * 8));
    return { expr: EXPR.payload, data: Buffer.concat(parts), byteorder: 'big' };
  }
  if (def.meta) return { expr: EXPR.meta, data: udataU32(0, META_KEYS[def.meta]!), byteorder: def.meta === 'protocol' ? 'big' : 'host' };
  return { expr: EXPR.ct, data: Buffer.concat([udataU32(0, CT_KEYS[def.ct!]!), udataU32(1, CT_DIR_NONE)]), byteorder: 'host' };
}

const FIB_RESULTS = { oif: 1, oifname: 2, addrtype: 3 } as const;

/** The same for a route lookup (`fib daddr type { … }`). */
export function fibTypeof(result: keyof typeof FIB_RESULTS, flags: number): TypeofField {
  return { expr: EXPR.fib, data: Buffer.concat([udataU32(0, FIB_RESULTS[result]), udataU32(1, flags)]), byteorder: 'host' };
}

interface Parsed {
  range: ByteRange;
  /** Written as a range, prefix or wildcard: the set needs the interval flag. */
  ranged: boolean;
  text: string;
}

export const isRangeItem = (v: unknown): v is { from: unknown; to: unknown } => typeof v === 'object' && v !== null && !Array.isArray(v) && 'from' in v;

/** One field's value in an element. */
function parseItem(field: string, k: KeyField, v: unknown): Parsed {
  const t = VALUE_TYPES[k.type];
  if (isRangeItem(v)) {
    if (t.order !== 'big' || 'flags' in t) throw new ValidationError(field, v, `${k.text} takes no ranges (its value is ${'flags' in t ? 'a bitmask' : 'in host byte order'})`);
    const range = { from: t.encode(`${field}.from`, v.from), to: t.encode(`${field}.to`, v.to) };
    if (Buffer.compare(range.from, range.to) > 0) throw new ValidationError(field, v, 'the range ends before it starts');
    return { range, ranged: true, text: `${t.text(v.from)}-${t.text(v.to)}` };
  }
  if ((k.type === 'ipv4_addr' || k.type === 'ipv6_addr') && typeof v === 'string' && v.includes('/')) {
    const p = parsePrefix(field, v, k.type === 'ipv4_addr' ? 'inet' : 'inet6');
    return { range: prefixRange(t.encode(field, p.address), p.prefixlen), ranged: true, text: v };
  }
  if (k.type === 'ifname' && typeof v === 'string' && v.length > 1 && v.endsWith('*')) {
    const stem = t.encode(field, v);
    return { range: prefixRange(Buffer.concat([stem, Buffer.alloc(t.len - stem.length)]), stem.length * 8), ranged: true, text: t.text(v) };
  }
  const b = t.encode(field, v);
  return { range: { from: b, to: b }, ranged: false, text: t.text(v) };
}

const pad4 = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc(((b.length + 3) & ~3) - b.length)]);

/** An element's key: each field of a concatenation padded to 4 bytes, as in a register. */
function parseKey(field: string, key: readonly KeyField[], v: unknown): Parsed {
  if (key.length === 1) return parseItem(field, key[0]!, v);
  if (!Array.isArray(v) || v.length !== key.length) throw new ValidationError(field, v, `expected ${key.length} values (${key.map((k) => k.text).join(' . ')})`);
  const parts = key.map((k, i) => parseItem(`${field}[${i}]`, k, v[i]));
  return {
    range: { from: Buffer.concat(parts.map((p) => pad4(p.range.from))), to: Buffer.concat(parts.map((p) => pad4(p.range.to))) },
    ranged: parts.some((p) => p.ranged),
    text: parts.map((p) => p.text).join(' . '),
  };
}

/** What a map's values are: verdicts, or NAT addresses (with ports). */
export type MapData = { kind: 'verdict' } | { kind: 'nat'; types: KeyType[] };

/** The NAT data type of a literal value: an address, or [address, port]. */
export function natDataOf(field: string, v: unknown): KeyType[] {
  const addr = Array.isArray(v) ? v[0] : v;
  const version = typeof addr === 'string' ? isIP(addr) : 0;
  if (version === 0 || (Array.isArray(v) && v.length !== 2)) throw new ValidationError(field, v, 'expected an address, or an address and a port: ["172.17.0.2", 80]');
  const a: KeyType = version === 4 ? 'ipv4_addr' : 'ipv6_addr';
  return Array.isArray(v) ? [a, 'inet_service'] : [a];
}

function dataOf(field: string, data: MapData, v: unknown): { value: Buffer | Verdict; text: string } {
  if (data.kind === 'verdict') {
    const verdict = verdictOf(field, v);
    return { value: verdict, text: 'chain' in verdict ? `${verdict.code} ${verdict.chain}` : verdict.code };
  }
  return { value: encodeKey(field, data.types, v), text: Array.isArray(v) ? v.join(' . ') : String(v) };
}

/**
 * The anonymous set (or map, with `data`) of literal elements for a key of these fields, and its
 * text (`{ 22, 80 }`). For a map, each item is a [key, value] pair.
 */
export function literalSet(field: string, key: readonly KeyField[], items: readonly unknown[], data?: MapData): { set: Omit<InlineSet, 'id'>; text: string } {
  if (!Array.isArray(items) || items.length === 0) throw new ValidationError(field, items, data ? 'expected at least one [key, value] pair' : 'expected at least one element');
  const parsed = items.map((item, i) => {
    const f = `${field}[${i}]`;
    if (!data) return { ...parseKey(f, key, item), value: undefined };
    if (!Array.isArray(item) || item.length !== 2) throw new ValidationError(f, item, 'expected a [key, value] pair');
    const d = dataOf(`${f}[1]`, data, item[1]);
    const k = parseKey(`${f}[0]`, key, item[0]);
    return { ...k, text: `${k.text} : ${d.text}`, value: d.value };
  });
  const interval = parsed.some((p) => p.ranged);
  // A concatenation's type: the ids shifted in, 6 bits each; its length: each field padded to 4.
  const keyType = key.reduce((id, k) => ((id << 6) | DATATYPE_IDS[k.type]) >>> 0, 0);
  const keyLen = key.length === 1 ? VALUE_TYPES[key[0]!.type].len : key.reduce((n, k) => n + ((VALUE_TYPES[k.type].len + 3) & ~3), 0);
  let elements: ElementBytes[];
  let size = parsed.length;
  if (!interval) {
    elements = parsed.map((p) => (p.value === undefined ? { key: p.range.from } : { key: p.range.from, value: p.value }));
  } else {
    const ranges = parsed.map((p): RangeItem => (p.value === undefined ? { ...p.range, shown: p.text } : { ...p.range, value: p.value, shown: p.text }));
    if (key.length > 1) elements = pipapoElements(ranges);
    else ({ elements, size } = rbtreeElements(sortRanges(field, ranges, true)));
  }
  const set: Omit<InlineSet, 'id'> = { keyType, keyLen, interval, userdata: Buffer.alloc(0), size, elements };
  if (interval && key.length > 1) set.fields = key.map((k) => VALUE_TYPES[k.type].len);
  let map: Parameters<typeof inlineSetUserdata>[2];
  if (data?.kind === 'verdict') {
    set.data = 'verdict';
    map = 'verdict';
  } else if (data) {
    const d = keyLayout(data.types);
    set.data = { type: d.id, len: d.len };
    map = { byteorder: data.types.length === 1 ? 'big' : 'none' };
  }
  set.userdata = inlineSetUserdata(key.map((k) => k.typeof), interval, map);
  return { set, text: `{ ${parsed.map((p) => p.text).join(', ')} }` };
}
