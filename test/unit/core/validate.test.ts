// The shared validators: each refuses with a ValidationError naming the field.
import { describe, expect, it } from 'vitest';

import { ValidationError } from '../../../lib/core/errors.js';
import { ifname, ifref, ip, mac, prefix, uint } from '../../../lib/core/validate.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.field;
    throw e;
  }
  return undefined;
}

describe('validators', () => {
  it('accepts interface names of 1 to 15 bytes', () => {
    expect(ifname('dev', 'eth0')).toBe('eth0');
    expect(ifname('dev', 'x'.repeat(15))).toHaveLength(15);
    expect(ifname('dev', 'vlan.10')).toBe('vlan.10');
  });

  it.each(['', 'x'.repeat(16), 'a/b', 'a b', 'a:b', '.', '..', 'é'.repeat(8), 'tab\t'])('refuses the interface name %j', (v) => {
    expect(fieldOf(() => ifname('link.name', v))).toBe('link.name');
  });

  it('counts bytes, not characters', () => {
    expect(() => ifname('dev', 'é'.repeat(7))).not.toThrow(); // 14 bytes
    expect(() => ifname('dev', 'é'.repeat(8))).toThrow(/16/);
  });

  it('takes interfaces by name, index or batch reference', () => {
    expect(ifref('dev', 3)).toBe(3);
    expect(ifref('dev', { ref: 0 })).toEqual({ ref: 0 });
    expect(fieldOf(() => ifref('dev', 0))).toBe('dev');
    expect(fieldOf(() => ifref('dev', { ref: -1 }))).toBe('dev.ref');
    expect(fieldOf(() => ifref('dev', null))).toBe('dev');
  });

  it('parses prefixes', () => {
    expect(prefix('a', '10.0.0.1/24')).toEqual({ address: '10.0.0.1', prefixlen: 24, family: 'inet' });
    expect(prefix('a', '2001:db8::1')).toEqual({ address: '2001:db8::1', prefixlen: 128, family: 'inet6' });
    for (const bad of ['10.0.0.1/33', '10.0.0/24', '2001:db8::/129', '10.0.0.1/', '10.0.0.1/2x', 'x'])
      expect(fieldOf(() => prefix('a', bad))).toBe('a');
    expect(fieldOf(() => prefix('a', '10.0.0.1/8', 'inet6'))).toBe('a');
  });

  it('checks addresses, MACs and ranges', () => {
    expect(ip('a', '::1')).toBe('::1');
    expect(fieldOf(() => ip('a', '256.0.0.1'))).toBe('a');
    expect(fieldOf(() => ip('a', '10.0.0.1', 'inet6'))).toBe('a');
    expect(mac('m', '02:42:AC:11:00:02')).toBe('02:42:ac:11:00:02');
    for (const bad of ['02:42:ac:11:00', '0242ac110002', '02:42:ac:11:00:0g']) expect(fieldOf(() => mac('m', bad))).toBe('m');
    expect(fieldOf(() => uint('n', 1.5, 0, 10))).toBe('n');
    expect(fieldOf(() => uint('n', 11, 0, 10))).toBe('n');
  });
});
