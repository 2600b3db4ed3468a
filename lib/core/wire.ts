// Reading netlink messages in JS, straight from the bytes the kernel sent (a dump's replies, as
// the executor hands them over with `raw`). The same rules as native/core/attr.{h,cc} and the
// table decoder (codec_decode.cc), so that the families' JS decoders (lib/rtnl/wire/) return what
// the tables would: every length is checked against its enclosing buffer; an attribute stream
// that breaks (a length below the header or past the end, trailing bytes that are not padding)
// makes the whole message, or the whole nest, unreadable; an attribute of the wrong size is
// ignored, as if it were not there.
//
//   |<- NLMSG_HDRLEN ->|<- family header ->|<------------ attributes ------------>|
//   +------------------+-------------------+--------+----------+-----+--------+---+
//   |     nlmsghdr     | ifinfomsg, rtmsg… | nla_len| nla_type | data| padding|...|
//   +------------------+-------------------+--------+----------+-----+--------+---+

// <linux/netlink.h>
const NLMSG_HDRLEN = 16;
const NLA_HDRLEN = 4;
const NLA_F_NESTED = 1 << 15;
const NLA_F_NET_BYTEORDER = 1 << 14;
const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

const align4 = (n: number): number => (n + 3) & ~3;

export const u16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
export const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
export const s32 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
export const be16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;

/**
 * Calls `each` with the payload of every message of type `type` in `bytes` (offsets into it:
 * [at, end)), in order. A message whose payload is shorter than `headerLen` is skipped; framing
 * that breaks ends the walk, as MsgReader does (the executor checked the framing already).
 */
export function forEachMessage(bytes: Uint8Array, type: number, headerLen: number, each: (at: number, end: number) => void): void {
  const end = bytes.length;
  let p = 0;
  while (end - p >= NLMSG_HDRLEN) {
    const len = u32(bytes, p);
    if (len < NLMSG_HDRLEN || len > end - p) return;
    if (u16(bytes, p + 4) === type && len - NLMSG_HDRLEN >= headerLen) each(p + NLMSG_HDRLEN, p + len);
    p += align4(len);
  }
}

/** Walks the attributes in [at, end) as AttrReader does: `type` (flags masked), `data`, `len`. */
export class AttrReader {
  type = 0;
  data = 0;
  len = 0;
  malformed = false;
  #p: number;

  constructor(
    private readonly b: Uint8Array,
    at: number,
    private readonly end: number,
  ) {
    this.#p = at;
  }

  next(): boolean {
    const p = this.#p;
    const left = this.end - p;
    if (left <= 0 || this.malformed) return false;
    if (left < NLA_HDRLEN) {
      // Trailing bytes shorter than a header can only be padding; anything else is garbage.
      for (let i = p; i < this.end; i++) if (this.b[i] !== 0) this.malformed = true;
      this.#p = this.end;
      return false;
    }
    const len = u16(this.b, p);
    if (len < NLA_HDRLEN || len > left) {
      this.malformed = true;
      return false;
    }
    this.type = u16(this.b, p + 2) & NLA_TYPE_MASK;
    this.data = p + NLA_HDRLEN;
    this.len = len - NLA_HDRLEN;
    const step = align4(len);
    this.#p = step >= left ? this.end : p + step;
    return true;
  }
}

/**
 * A NUL-terminated string attribute, without trusting the terminator: up to the first NUL or the
 * end. UTF-8, with the same replacement of bad sequences as the addon's strings (both are V8's
 * String::NewFromUtf8); short ASCII names, nearly all of them, without a call into C++.
 */
export function str(b: Uint8Array, at: number, len: number): string {
  let n = 0;
  let ascii = true;
  while (n < len && b[at + n] !== 0) {
    if (b[at + n]! >= 0x80) ascii = false;
    n++;
  }
  if (!ascii || n > 32) return Buffer.from(b.buffer, b.byteOffset + at, n).toString('utf8');
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(b[at + i]!);
  return s;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const DEC = Array.from({ length: 256 }, (_, i) => String(i));
// Fewer, longer pieces: joining short strings is most of what a route dump costs.
const DOT = DEC.map((d) => `${d}.`);
const SLASH = DEC.map((d) => `/${d}`);

/** A hardware address of any length as "aa:bb:cc:dd:ee:ff" (mac_to_string). */
export function mac(b: Uint8Array, at: number, len: number): string {
  if (len === 6) return `${HEX[b[at]!]}:${HEX[b[at + 1]!]}:${HEX[b[at + 2]!]}:${HEX[b[at + 3]!]}:${HEX[b[at + 4]!]}:${HEX[b[at + 5]!]}`;
  let s = '';
  for (let i = 0; i < len; i++) s += i ? `:${HEX[b[at + i]!]}` : HEX[b[at + i]!];
  return s;
}

export const ipv4 = (b: Uint8Array, at: number): string => DOT[b[at]!]! + DOT[b[at + 1]!]! + DOT[b[at + 2]!]! + DEC[b[at + 3]!]!;

/** `${ipv4(b, at)}/${len}`, for prefixes. */
export const ipv4Prefix = (b: Uint8Array, at: number, len: number): string => DOT[b[at]!]! + DOT[b[at + 1]!]! + DOT[b[at + 2]!]! + DEC[b[at + 3]!]! + SLASH[len]!;

/** glibc's inet_ntop(AF_INET6): the first longest run of two or more zero groups as "::", and
 * the embedded IPv4 forms ::a.b.c.d and ::ffff:a.b.c.d. */
export function ipv6(b: Uint8Array, at: number): string {
  const w = new Array<number>(8);
  for (let i = 0; i < 8; i++) w[i] = be16(b, at + 2 * i);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) (best = i), (bestLen = j - i);
    i = j;
  }
  if (bestLen < 2) best = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (best >= 0 && i >= best && i < best + bestLen) {
      if (i === best) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && best === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) return s + ipv4(b, at + 12);
    s += w[i]!.toString(16);
  }
  return best >= 0 && best + bestLen === 8 ? `${s}:` : s;
}

/** An address attribute: a string for 4 or 16 bytes, else a copy of the bytes (ip_to_tape). */
export function ip(b: Uint8Array, at: number, len: number): string | Buffer {
  if (len === 4) return ipv4(b, at);
  if (len === 16) return ipv6(b, at);
  return Buffer.from(b.subarray(at, at + len));
}

/** Reads one attribute's value, or undefined when it has the wrong size (then it is ignored). */
export type FieldReader = (b: Uint8Array, at: number, len: number) => unknown;

export const U8: FieldReader = (b, at, len) => (len === 1 ? b[at] : undefined);
export const U16: FieldReader = (b, at, len) => (len === 2 ? u16(b, at) : undefined);
export const U32: FieldReader = (b, at, len) => (len === 4 ? u32(b, at) : undefined);
export const BE16: FieldReader = (b, at, len) => (len === 2 ? be16(b, at) : undefined);
export const BOOL8: FieldReader = (b, at, len) => (len === 1 ? b[at] !== 0 : undefined);
export const IP: FieldReader = ip;
/** Every u8 to its name in `names` or to itself, as an enum table reads a header byte. */
export function names8(names: Record<number, string>): (string | number)[] {
  return Array.from({ length: 256 }, (_, i) => names[i] ?? i);
}

/** A number through a table of names, as the tables' ENUM8/16/32; unknown values stay numbers. */
export function enumOf(size: 1 | 2 | 4, names: Record<number, string>): FieldReader {
  const read = size === 1 ? U8 : size === 2 ? U16 : U32;
  return (b, at, len) => {
    const n = read(b, at, len) as number | undefined;
    return n === undefined ? undefined : (names[n] ?? n);
  };
}

/** [attribute type, key in the decoded body, reader]: one row of a native schema's table. */
export type WireField = readonly [type: number, key: string, read: FieldReader];

/**
 * Attributes in [at, end) as an object under the keys of `fields` (what decode_attrs makes of
 * them, for the rows given), or undefined when the attribute stream is malformed.
 */
export function decodeAttrs(b: Uint8Array, at: number, end: number, fields: readonly WireField[]): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  const r = new AttrReader(b, at, end);
  while (r.next()) {
    const f = fields.find((x) => x[0] === r.type);
    if (f === undefined) continue;
    const v = f[2](b, r.data, r.len);
    if (v !== undefined) out[f[1]] = v;
  }
  return r.malformed ? undefined : out;
}
