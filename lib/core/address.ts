// IP addresses as text, bytes and numbers, in one place. ipaddr.js parses and formats; node:net's
// isIP decides what counts as an address, because ipaddr.js's parser is more lenient than what
// nlnet has always accepted (it reads '127.1', '0x7f.0.0.1' and octal octets, also after an IPv6
// prefix as in '::ffff:0x7f.0.0.1'), and isIP refuses those. isIP takes dotted-decimal IPv4
// without leading zeros and IPv6 with an optional zone id ('fe80::1%eth0'): the zone is not part
// of the address and is dropped before parsing, as the bytes the kernel gets cannot carry it.
import { isIP } from 'node:net';

import ipaddr from 'ipaddr.js';

export type Family = 'inet' | 'inet6';

/** 'inet' or 'inet6', or undefined when `text` is not an address. */
export function addressFamily(text: string): Family | undefined {
  const kind = isIP(text);
  return kind === 4 ? 'inet' : kind === 6 ? 'inet6' : undefined;
}

function parse(text: string): ipaddr.IPv4 | ipaddr.IPv6 {
  const family = addressFamily(text);
  if (family === undefined) throw new TypeError(`not an IP address: ${JSON.stringify(text)}`);
  if (family === 'inet') return ipaddr.IPv4.parse(text);
  const zone = text.indexOf('%');
  let v6 = zone < 0 ? text : text.slice(0, zone);
  // A dotted tail becomes its two hex groups before ipaddr.js sees it: ipaddr.js reads
  // '::1.2.3.4' as '::ffff:1.2.3.4', where inet_pton (RFC 4291's IPv4-compatible form) and
  // nlnet read '::102:304'.
  const last = v6.lastIndexOf(':') + 1;
  if (v6.includes('.', last)) {
    const [a = 0, b = 0, c = 0, d = 0] = ipaddr.IPv4.parse(v6.slice(last)).octets;
    v6 = `${v6.slice(0, last)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  return ipaddr.IPv6.parse(v6);
}

/** An address's bytes in network order: 4 for IPv4, 16 for IPv6 (a dotted IPv4 tail included). */
export function addressBytes(text: string): Buffer {
  return Buffer.from(parse(text).toByteArray());
}

/**
 * The text of 4 or 16 bytes: dotted decimal, or IPv6 in RFC 5952's canonical form (lower case,
 * the longest run of two or more zero groups, the first of equals, as '::'). IPv4-mapped
 * addresses stay in hex ('::ffff:a00:1'), as nlnet has always printed them and the store keeps.
 */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length !== 4 && bytes.length !== 16) throw new RangeError(`an address is 4 or 16 bytes, not ${bytes.length}`);
  return ipaddr.fromByteArray(Array.from(bytes)).toString();
}

const bits = (family: Family): number => (family === 'inet' ? 32 : 128);

/** An address as a number, 32 bits for IPv4 and 128 for IPv6, for the pools' arithmetic. */
export function addressToBigInt(text: string): bigint {
  return BigInt(`0x${addressBytes(text).toString('hex')}`);
}

/** The address of the low 32 (IPv4) or 128 (IPv6) bits of `n`. */
export function bigIntToAddress(n: bigint, family: Family): string {
  const width = bits(family);
  const hex = (n & ((1n << BigInt(width)) - 1n)).toString(16).padStart(width / 4, '0');
  return formatAddress(Buffer.from(hex, 'hex'));
}

/** The usual IPv4 broadcast address of a prefix: its host bits all set (`ip addr add … brd +`). */
export function broadcastOf(address: string, prefixlen: number): string {
  return ipaddr.IPv4.broadcastAddressFromCIDR(`${address}/${prefixlen}`).toString();
}
