// Intervals as nf_tables stores them, at the level of key bytes. Keys are compared as the kernel
// compares them (memcmp), so every value here is in big-endian order.
//
// A single-field interval set (the rbtree backend) has no notion of a range: it holds start
// elements and end elements (NFT_SET_ELEM_INTERVAL_END), and a key matches when the closest
// element at or below it is a start. nft 1.0.6 (src/intervals.c set_to_intervals) sends, sorted:
//
//   [end 0]  start A  end B+1  start C  end D+1 …      for A-B, C-D
//
// The leading end element at 0 is there unless the first range starts at 0; a range that runs
// to the largest key has no end element but a start flagged "open" in the element's user data
// (NFTNL_UDATA_SET_ELEM_FLAGS = NFTNL_SET_ELEM_F_INTERVAL_OPEN). Deleting sends the start and end
// of each range, without the leading element. Concatenated interval sets (pipapo) instead take
// one element per range with NFTA_SET_ELEM_KEY and NFTA_SET_ELEM_KEY_END.
import { endianness } from 'node:os';

import { ValidationError } from '../core/errors.js';
import { SET_ELEM_INTERVAL_END } from './constants.js';
import type { Verdict } from './expr.js';
import { udataU32 } from './values.js';

/** An inclusive range of keys, as bytes. */
export interface ByteRange {
  from: Buffer;
  to: Buffer;
}

/** One element as the kernel takes it, its key already encoded. */
export interface ElementBytes {
  key: Buffer;
  /** NFTA_SET_ELEM_KEY_END: the last key of a concatenated interval. */
  keyEnd?: Buffer;
  /** NFT_SET_ELEM_INTERVAL_END: this element closes the range before it. */
  end?: boolean;
  /** A range that runs to the largest key, so has no end element. */
  open?: boolean;
  /** A map's value. */
  value?: Buffer | Verdict;
  /** Milliseconds. */
  timeout?: number;
}

/** A range with what it carries (a map's value, a timeout) and, for errors, what the caller wrote. */
export type RangeItem = ByteRange & Pick<ElementBytes, 'value' | 'timeout'> & { shown?: unknown };

const NFTNL_UDATA_SET_ELEM_FLAGS = 1;
const NFTNL_SET_ELEM_F_INTERVAL_OPEN = 1;

const OPEN_USERDATA = udataU32(NFTNL_UDATA_SET_ELEM_FLAGS, NFTNL_SET_ELEM_F_INTERVAL_OPEN);

/** Whether an element's user data flags it as the start of a range with no end. */
export function isOpen(userdata: Buffer | undefined): boolean {
  for (let at = 0; userdata && at + 2 <= userdata.length; at += 2 + userdata[at + 1]!) {
    if (userdata[at] !== NFTNL_UDATA_SET_ELEM_FLAGS || userdata[at + 1] !== 4 || at + 6 > userdata.length) continue;
    // libnftnl writes its u32s in host byte order.
    const flags = endianness() === 'LE' ? userdata.readUInt32LE(at + 2) : userdata.readUInt32BE(at + 2);
    return (flags & NFTNL_SET_ELEM_F_INTERVAL_OPEN) !== 0;
  }
  return false;
}

/** b + 1, or undefined when b is the largest key (all ones). */
export function plusOne(b: Buffer): Buffer | undefined {
  const out = Buffer.from(b);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i]!++;
      return out;
    }
    out[i] = 0;
  }
  return undefined;
}

/** b - 1 (b is never 0 here: an end element always follows a start below it). */
export function minusOne(b: Buffer): Buffer {
  const out = Buffer.from(b);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0) {
      out[i]!--;
      return out;
    }
    out[i] = 0xff;
  }
  return out;
}

const isZero = (b: Buffer): boolean => b.every((x) => x === 0);

/** The keys a prefix of `bits` bits covers: `10.0.0.0/8` is 10.0.0.0-10.255.255.255. */
export function prefixRange(bytes: Buffer, bits: number): ByteRange {
  const from = Buffer.from(bytes);
  const to = Buffer.from(bytes);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    const mask = (0xff << (8 - keep)) & 0xff;
    from[i] = bytes[i]! & mask;
    to[i] = (bytes[i]! & mask) | (~mask & 0xff);
  }
  return { from, to };
}

/** The prefix length of a range that is exactly a prefix (from's low bits 0, to's 1), if it is one. */
export function prefixLength(r: ByteRange): number | undefined {
  const bits = r.from.length * 8;
  let len = 0;
  while (len < bits && bitAt(r.from, len) === bitAt(r.to, len)) len++;
  for (let i = len; i < bits; i++) if (bitAt(r.from, i) !== 0 || bitAt(r.to, i) !== 1) return undefined;
  return len;
}

const bitAt = (b: Buffer, i: number): number => (b[i >> 3]! >> (7 - (i & 7))) & 1;

/**
 * Sorts ranges and, for an anonymous set, merges those that overlap or touch, as nft's automerge
 * does (`{ 10.0.0.0/24, 10.0.1.0/24 }` is one range). A named set keeps them apart and an
 * overlap is an error, as it is for nft. Map ranges never merge: their values may differ.
 * Each range must already run forwards.
 */
export function sortRanges<T extends RangeItem>(field: string, items: readonly T[], merge: boolean): T[] {
  const sorted = [...items].sort((a, b) => Buffer.compare(a.from, b.from));
  const out: T[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last) {
      const overlaps = Buffer.compare(r.from, last.to) <= 0;
      const touches = !overlaps && plusOne(last.to)?.equals(r.from) === true;
      if (merge && last.value === undefined && r.value === undefined && (overlaps || touches)) {
        if (Buffer.compare(r.to, last.to) > 0) last.to = r.to;
        continue;
      }
      if (overlaps) throw new ValidationError(field, [last.shown, r.shown], 'these ranges overlap');
    }
    out.push({ ...r });
  }
  return out;
}

/**
 * The elements of single-field ranges, as nft sends them (see the top of this file). `ranges`
 * must be sorted (sortRanges). Returns them with the size nft declares for an anonymous set: one
 * per start and end plus the leading element, counted before open ranges drop their end.
 */
export function rbtreeElements(ranges: readonly RangeItem[], forDelete = false): { elements: ElementBytes[]; size: number } {
  const elements: ElementBytes[] = [];
  let size = 2 * ranges.length;
  const first = ranges[0];
  if (!forDelete && first && !isZero(first.from)) {
    elements.push({ key: Buffer.alloc(first.from.length), end: true });
    size++;
  }
  for (const r of ranges) {
    const start: ElementBytes = { key: r.from };
    if (r.value !== undefined) start.value = r.value;
    if (r.timeout !== undefined) start.timeout = r.timeout;
    const next = plusOne(r.to);
    if (next === undefined) start.open = true;
    elements.push(start);
    if (next !== undefined) elements.push({ key: next, end: true });
  }
  return { elements, size };
}

/** Concatenated ranges (pipapo): one element each, with its last key. */
export function pipapoElements(ranges: readonly RangeItem[]): ElementBytes[] {
  return ranges.map((r) => {
    const e: ElementBytes = { key: r.from, keyEnd: r.to };
    if (r.value !== undefined) e.value = r.value;
    if (r.timeout !== undefined) e.timeout = r.timeout;
    return e;
  });
}

/** What the kernel lists for an element, as the codec decodes it. */
export interface ElementReply {
  flags?: number;
  key?: { value: Buffer };
  keyEnd?: { value: Buffer };
  data?: { value?: Buffer; verdict?: Verdict };
  timeout?: number;
  userdata?: Buffer;
}

/**
 * Pairs the start and end elements of an rbtree set back into ranges (nft's
 * interval_map_decompose): by key, an end element before a start of the same key (`10.0.0.0/24,
 * 10.0.1.0/24` share 10.0.1.0); a start with nothing after it runs to the largest key; an end
 * with no start before it (the leading element at 0, or one left by a deletion) closes nothing.
 */
export function rbtreeRanges(elements: readonly ElementReply[]): { range: ByteRange; start: ElementReply }[] {
  const isEnd = (e: ElementReply) => ((e.flags ?? 0) & SET_ELEM_INTERVAL_END) !== 0;
  const sorted = elements.filter((e) => e.key).sort((a, b) => Buffer.compare(a.key!.value, b.key!.value) || Number(isEnd(b)) - Number(isEnd(a)));
  const out: { range: ByteRange; start: ElementReply }[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    if (isEnd(e)) continue;
    const next = sorted[i + 1];
    const from = e.key!.value;
    // A start followed by another start (no set nft writes has one) matches up to that one.
    out.push({ range: { from, to: next ? minusOne(next.key!.value) : Buffer.alloc(from.length, 0xff) }, start: e });
    if (next && isEnd(next)) i++;
  }
  return out;
}

/** The native body of an element. */
export function elementBody(e: ElementBytes): Record<string, unknown> {
  const out: Record<string, unknown> = { key: { value: e.key } };
  if (e.end) out.flags = SET_ELEM_INTERVAL_END;
  if (e.keyEnd) out.keyEnd = { value: e.keyEnd };
  if (e.value !== undefined) out.data = Buffer.isBuffer(e.value) ? { value: e.value } : { verdict: e.value };
  if (e.timeout !== undefined) out.timeout = e.timeout;
  if (e.open) out.userdata = OPEN_USERDATA;
  return out;
}
