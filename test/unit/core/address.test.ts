// lib/core/address.ts: what counts as an address, its bytes, its number and its canonical text. Pure, no root.
import { describe, expect, it } from 'vitest';

import { addressBytes, addressFamily, addressToBigInt, bigIntToAddress, broadcastOf, formatAddress } from '../../../lib/core/address.js';
import { TYPES } from '../../../lib/nft/values.js';

describe('addressFamily', () => {
  it.each([
    ['192.0.2.1', 'inet'],
    ['0.0.0.0', 'inet'],
    ['::', 'inet6'],
    ['::ffff:10.0.0.1', 'inet6'],
    ['fe80::1%eth0', 'inet6'],
    ['1:2:3:4:5:6:7::', 'inet6'],
  ])('%s is %s', (text, family) => {
    expect(addressFamily(text)).toBe(family);
  });

  // ipaddr.js alone would read these (short, hex and octal IPv4); nlnet never has.
  it.each(['127.1', '0x7f.0.0.1', '010.0.0.1', '1.2.3.256', '::ffff:0x7f.0.0.1', '::ffff:127.1', '1:2:3:4:5:6:7:8:9', '', ' ::1', 'fe80::1%'])('refuses %j', (text) => {
    expect(addressFamily(text)).toBeUndefined();
    expect(() => addressBytes(text)).toThrow(TypeError);
  });
});

describe('parsing', () => {
  it.each([
    ['10.1.2.3', '0a010203'],
    ['::1', '00000000000000000000000000000001'],
    ['2001:DB8::1', '20010db8000000000000000000000001'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
    // RFC 4291's IPv4-compatible form: not IPv4-mapped, whatever ipaddr.js would make of it.
    ['::1.2.3.4', '00000000000000000000000001020304'],
    ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221'],
    // The zone names an interface; it is not part of the address.
    ['fe80::1%eth0.100', 'fe800000000000000000000000000001'],
  ])('%s is %s', (text, hex) => {
    expect(addressBytes(text).toString('hex')).toBe(hex);
    expect(addressToBigInt(text)).toBe(BigInt(`0x${hex}`));
  });
});

describe('formatting', () => {
  it.each([
    ['00000000000000000000000000000000', '::'],
    ['20010db8000000000000000000000001', '2001:db8::1'],
    // One zero group is not compressed; of two equal runs the first is.
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['00010000000000010000000000010001', '1::1:0:0:1:1'],
    ['00000000000100000000000100010001', '::1:0:0:1:1:1'],
    ['00000000000000000000ffff0a000001', '::ffff:a00:1'],
    ['c0000201', '192.0.2.1'],
  ])('%s is %s', (hex, text) => {
    expect(formatAddress(Buffer.from(hex, 'hex'))).toBe(text);
  });

  it('takes the low 32 or 128 bits of a number', () => {
    expect(bigIntToAddress(-1n, 'inet')).toBe('255.255.255.255');
    expect(bigIntToAddress((1n << 128n) + 1n, 'inet6')).toBe('::1');
  });

  it('refuses bytes that are no address', () => {
    expect(() => formatAddress(Buffer.alloc(5))).toThrow(RangeError);
  });

  it.each([
    ['10.1.2.3', 24, '10.1.2.255'],
    ['10.1.2.3', 32, '10.1.2.3'],
    ['10.1.2.2', 31, '10.1.2.3'],
    ['10.1.2.3', 0, '255.255.255.255'],
  ])('the broadcast address of %s/%d is %s', (a, len, want) => {
    expect(broadcastOf(a, len)).toBe(want);
  });
});

describe('nft address values', () => {
  it('encodes a dotted IPv6 tail as its bytes', () => {
    expect(TYPES.ipv6_addr.encode('addr', '::ffff:10.0.0.1').toString('hex')).toBe('00000000000000000000ffff0a000001');
  });

  it('round-trips through the canonical form', () => {
    const b = TYPES.ipv6_addr.encode('addr', 'FD00:1:0:0:0:0:0:2');
    expect(TYPES.ipv6_addr.decode(b)).toBe('fd00:1::2');
  });
});
