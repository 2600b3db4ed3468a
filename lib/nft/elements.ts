// Set and map elements (`nft add|delete element`, `nft list set`): typed keys and values, and in
// interval sets prefixes and ranges, turned into the elements nft sends (see intervals.ts) and
// back. Follows NFTA_SET_ELEM_* in <linux/netfilter/nf_tables.h>.
import type { Body } from '../core/binding.js';
import { ValidationError } from '../core/errors.js';
import { knownKeys, object, oneOf, prefix, uint } from '../core/validate.js';
import { SET_ELEM_INTERVAL_END } from './constants.js';
import type { Verdict } from './expr.js';
import { elementBody, isOpen, pipapoElements, prefixLength, prefixRange, rbtreeElements, rbtreeRanges, sortRanges, type ByteRange, type ElementBytes, type ElementReply, type RangeItem } from './intervals.js';
import { family, name, types, type SetSpec } from './sets.js';
import { decodeKey, decodeOrdered, encodeKey, encodeOrdered, TYPES, type KeyType, type Value } from './values.js';

/**
 * What element calls need of a set: where it is, how its keys and values read, and for an
 * interval set its flags (pass the SetSpec it was made with: without 'interval', keys are single
 * values).
 */
export type SetRef = Pick<SetSpec, 'family' | 'table' | 'name' | 'key' | 'map' | 'flags'>;

/**
 * A set or map element. In a set with the 'interval' flag an element may stand for many keys:
 *
 * - a prefix of an address key: `{ key: '10.0.0.0/8' }`, `{ key: 'fd00::/64' }`;
 * - a name prefix of an interface-name key: `{ key: 'veth*' }`;
 * - an inclusive range: `{ key: 1000, keyEnd: 2000 }` (`1000-2000`),
 *   `{ key: '10.0.0.1', keyEnd: '10.0.0.9' }`.
 *
 * In a concatenation (`ipv4_addr . inet_service` with 'interval') each field of `key` may be a
 * prefix (`{ key: ['10.0.0.0/8', 80] }`), or `keyEnd` gives the last value of every field
 * (`{ key: ['10.0.0.0', 80], keyEnd: ['10.255.255.255', 90] }` is `10.0.0.0/8 . 80-90`).
 *
 * Listing gives intervals back in the same form: a single key when the range holds one, an
 * address prefix when the range is one, else `key` and `keyEnd`.
 */
export interface Element {
  key: Value | Value[];
  /** In an interval set: the range's last key, inclusive. */
  keyEnd?: Value | Value[];
  /** A map's value. */
  value?: Value | Value[] | Verdict;
  /** Milliseconds, for sets with the timeout flag. */
  timeout?: number;
}

export function verdictOf(field: string, v: unknown): Verdict {
  const o = object(field, v) as Partial<Verdict> & Record<string, unknown>;
  const code = oneOf(`${field}.code`, o.code, ['accept', 'drop', 'continue', 'break', 'return', 'jump', 'goto']);
  if (code === 'jump' || code === 'goto') return { code, chain: name(`${field}.chain`, o.chain) };
  return { code };
}

const isAddr = (t: KeyType): t is 'ipv4_addr' | 'ipv6_addr' => t === 'ipv4_addr' || t === 'ipv6_addr';

/** The keys one field's value covers: itself, or all of an address prefix or a name prefix. */
function fieldRange(field: string, t: KeyType, v: unknown): ByteRange {
  if (isAddr(t) && typeof v === 'string' && v.includes('/')) {
    const p = prefix(field, v, t === 'ipv4_addr' ? 'inet' : 'inet6');
    return prefixRange(TYPES[t].encode(field, p.address), p.prefixlen);
  }
  if (t === 'ifname' && typeof v === 'string' && v.length > 1 && v.endsWith('*')) {
    const stem = TYPES.ifname.encode(field, v.slice(0, -1));
    return prefixRange(stem, Buffer.byteLength(v) * 8 - 8);
  }
  const b = encodeOrdered(field, t, v);
  return { from: b, to: b };
}

/** One field of a range as a value, when a single value or a prefix says it all. */
function fieldValue(t: KeyType, r: ByteRange): Value | undefined {
  if (r.from.equals(r.to)) return decodeOrdered(t, r.from);
  const len = prefixLength(r);
  if (len === undefined) return undefined;
  if (isAddr(t)) return `${TYPES[t].decode(r.from)}/${len}`;
  if (t === 'ifname' && len % 8 === 0 && len > 0 && !r.from.subarray(0, len / 8).includes(0)) return `${r.from.toString('utf8', 0, len / 8)}*`;
  return undefined;
}

const pad4 = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc(((b.length + 3) & ~3) - b.length)]);

/** The range of keys an element stands for, each field of a concatenation padded to 4 bytes. */
function elementRange(f: string, key: readonly KeyType[], e: Element): ByteRange {
  const concat = key.length > 1;
  const keys: unknown[] = concat ? (e.key as unknown[]) : [e.key];
  const ends: unknown[] | undefined = e.keyEnd === undefined ? undefined : concat ? (e.keyEnd as unknown[]) : [e.keyEnd];
  for (const [what, list] of [['key', keys], ['keyEnd', ends]] as const)
    if (concat && list !== undefined && (!Array.isArray(list) || list.length !== key.length))
      throw new ValidationError(`${f}.${what}`, what === 'key' ? e.key : e.keyEnd, `expected ${key.length} values (${key.join(' . ')})`);
  const fields = key.map((t, i) => {
    const at = (what: string) => (concat ? `${f}.${what}[${i}]` : `${f}.${what}`);
    if (ends === undefined) return fieldRange(at('key'), t, keys[i]);
    const r = { from: encodeOrdered(at('key'), t, keys[i]), to: encodeOrdered(at('keyEnd'), t, ends[i]) };
    if (Buffer.compare(r.from, r.to) > 0) throw new ValidationError(at('keyEnd'), ends[i], `the range ends before it starts (at ${String(keys[i])})`);
    return r;
  });
  if (!concat) return fields[0]!;
  return { from: Buffer.concat(fields.map((r) => pad4(r.from))), to: Buffer.concat(fields.map((r) => pad4(r.to))) };
}

/** An interval back in Element form (see Element). */
function rangeElement(key: readonly KeyType[], r: ByteRange): Pick<Element, 'key' | 'keyEnd'> {
  if (key.length === 1) {
    const v = fieldValue(key[0]!, r);
    return v !== undefined ? { key: v } : { key: decodeOrdered(key[0]!, r.from), keyEnd: decodeOrdered(key[0]!, r.to) };
  }
  const parts: ByteRange[] = [];
  let at = 0;
  for (const t of key) {
    const len = TYPES[t].len;
    parts.push({ from: r.from.subarray(at, at + len), to: r.to.subarray(at, at + len) });
    at += (len + 3) & ~3;
  }
  const values = parts.map((p, i) => fieldValue(key[i]!, p));
  if (values.every((v) => v !== undefined)) return { key: values as Value[] };
  return { key: parts.map((p, i) => decodeOrdered(key[i]!, p.from)), keyEnd: parts.map((p, i) => decodeOrdered(key[i]!, p.to)) };
}

function valueBytes(f: string, map: KeyType[] | 'verdict', v: unknown): Buffer | Verdict {
  if (v === undefined) throw new ValidationError(`${f}.value`, v, 'a map element needs a value');
  return map === 'verdict' ? verdictOf(`${f}.value`, v) : encodeKey(`${f}.value`, map, v);
}

const mapOf = (set: Pick<SetRef, 'map'>): KeyType[] | 'verdict' | undefined => (set.map === undefined || set.map === 'verdict' ? set.map : types('set.map', set.map));
const isInterval = (set: Pick<SetRef, 'flags'>): boolean => Array.isArray(set.flags) && set.flags.includes('interval');

/**
 * The elements nft sends for `nft add|delete element SET { … }`: one per key, or for an interval
 * set the start and end elements of each range (see intervals.ts). Deleting needs the keys only.
 */
export function elementBytes(set: SetRef, elements: readonly Element[], forDelete: boolean): ElementBytes[] {
  object('set', set);
  const key = types('set.key', set.key);
  const map = forDelete ? undefined : mapOf(set);
  if (!Array.isArray(elements)) throw new ValidationError('elements', elements, 'expected an array');
  const checked = elements.map((e, i) => {
    const f = `elements[${i}]`;
    object(f, e);
    knownKeys(f, e, ['key', 'keyEnd', 'value', 'timeout']);
    const timeout = e.timeout === undefined ? undefined : uint(`${f}.timeout`, e.timeout, 1, Number.MAX_SAFE_INTEGER);
    const value = map === undefined ? undefined : valueBytes(f, map, e.value);
    return { f, e, timeout, value };
  });
  if (!isInterval(set)) {
    return checked.map(({ f, e, timeout, value }) => {
      if (e.keyEnd !== undefined) throw new ValidationError(`${f}.keyEnd`, e.keyEnd, "ranges need a set with the 'interval' flag (pass the set's flags)");
      const out: ElementBytes = { key: encodeKey(`${f}.key`, key, e.key) };
      if (value !== undefined) out.value = value;
      if (timeout !== undefined) out.timeout = timeout;
      return out;
    });
  }
  const ranges = checked.map(({ f, e, timeout, value }): RangeItem => {
    const r: RangeItem = { ...elementRange(f, key, e), shown: e.key };
    if (value !== undefined) r.value = value;
    if (timeout !== undefined) r.timeout = timeout;
    return r;
  });
  // Concatenated ranges go as given: the kernel's pipapo backend judges their overlaps.
  if (key.length > 1) return pipapoElements(ranges);
  return rbtreeElements(sortRanges('elements', ranges, false), forDelete).elements;
}

/** The NEWSETELEM/DELSETELEM body for elements of a named set. */
export function elementsBody(set: Pick<SetRef, 'family' | 'table' | 'name'>, elements: readonly ElementBytes[]): Body {
  return { family: family('set.family', set.family), table: name('set.table', set.table), set: name('set.name', set.name), elements: elements.map(elementBody) };
}

/** Listed elements, typed; an interval set's start and end elements merged back into ranges. */
export function elementsFromNative(set: Pick<SetRef, 'key' | 'map' | 'flags'>, replies: readonly Body[]): Element[] {
  const key = Array.isArray(set.key) ? set.key : [set.key];
  const map = set.map === undefined || set.map === 'verdict' ? set.map : Array.isArray(set.map) ? set.map : [set.map];
  // A catch-all element (NFT_SET_ELEM_CATCHALL) has no key, and no place in this form.
  const all = replies.flatMap((b) => (b.elements as ElementReply[] | undefined) ?? []).filter((e) => e.key);
  const withData = (out: Element, e: ElementReply): Element => {
    if (e.data?.verdict) out.value = e.data.verdict;
    else if (e.data?.value && map !== undefined && map !== 'verdict') out.value = decodeKey(map, e.data.value);
    if (typeof e.timeout === 'number') out.timeout = e.timeout;
    return out;
  };
  // Without the set's flags, an interval set shows in its elements: end flags, key ends, open starts.
  const interval = isInterval(set) || all.some((e) => ((e.flags ?? 0) & SET_ELEM_INTERVAL_END) !== 0 || e.keyEnd || isOpen(e.userdata));
  if (!interval) return all.map((e) => withData({ key: decodeKey(key, e.key!.value) }, e));
  if (all.some((e) => e.keyEnd)) return all.map((e) => withData(rangeElement(key, { from: e.key!.value, to: e.keyEnd?.value ?? e.key!.value }), e));
  return rbtreeRanges(all).map(({ range, start }) => withData(rangeElement(key, range), start));
}

// Elements per message: even a concatenated map element with a timeout stays far below the
// 64 KiB an attribute can hold at this count.
const ELEMENTS_PER_MESSAGE = 256;

/** A long element list in parts of one message each. */
export function* chunks<T>(items: readonly T[]): Generator<readonly T[]> {
  if (items.length === 0) yield items;
  for (let i = 0; i < items.length; i += ELEMENTS_PER_MESSAGE) yield items.slice(i, i + ELEMENTS_PER_MESSAGE);
}
