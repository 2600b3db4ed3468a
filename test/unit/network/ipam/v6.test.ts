// lib/network/ipam/v6.ts: IPv6 subnets for --ipv6 networks and their address pools. Pure.
import { describe, expect, it } from 'vitest';

import { ConflictError, ValidationError } from '../../../../lib/core/errors.js';
import { ExhaustedError } from '../../../../lib/network/ipam/v4.js';
import { AddressPool6, allocateSubnet6, claimSubnet6 } from '../../../../lib/network/ipam/v6.js';

describe('IPv6 subnets', () => {
  it('takes random unique local /64s that overlap nothing taken', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const s = allocateSubnet6([...seen]);
      expect(s).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64$/);
      expect(seen.has(s)).toBe(false);
      seen.add(s);
    }
  });

  it('claims a --subnet of /48 to /120 that overlaps no other network', () => {
    expect(claimSubnet6('fd00:1:0:0::/64', [])).toBe('fd00:1::/64');
    expect(() => claimSubnet6('10.0.0.0/24', [])).toThrow(ValidationError);
    expect(() => claimSubnet6('fd00::/32', [])).toThrow(ValidationError);
    expect(() => claimSubnet6('fd00::/124', [])).toThrow(ValidationError);
    expect(() => claimSubnet6('fd00::1/64', [])).toThrow(ValidationError);
    expect(() => claimSubnet6('fd00:1::/64', [{ name: 'a', subnet6: 'fd00:1::/48' }])).toThrow(ConflictError);
    expect(claimSubnet6('fd00:1::/64', [{ name: 'a', subnet6: 'fd00:2::/64' }, { name: 'b' }])).toBe('fd00:1::/64');
  });
});

describe('AddressPool6', () => {
  it('hands out the lowest free address after the gateway, reuses released ones, round-trips through JSON', () => {
    const p = new AddressPool6({ subnet: 'fd00:9::/64' });
    expect(p.gateway).toBe('fd00:9::1');
    expect([p.allocate(), p.allocate(), p.allocateStatic('fd00:9::ff'), p.allocate()]).toEqual(['fd00:9::2', 'fd00:9::3', 'fd00:9::ff', 'fd00:9::4']);
    expect(p.release('fd00:9::3')).toBe(true);
    expect(p.release('fd00:9::3')).toBe(false);
    const q = AddressPool6.fromJSON(JSON.parse(JSON.stringify(p)));
    expect(q.toJSON()).toEqual({ subnet: 'fd00:9::/64', gateway: 'fd00:9::1', allocated: ['fd00:9::2', 'fd00:9::4', 'fd00:9::ff'] });
    expect(q.allocate()).toBe('fd00:9::3');
  });

  it('takes a gateway and refuses addresses outside, the anycast address, the gateway, duplicates', () => {
    const p = new AddressPool6({ subnet: 'fd00:9::/120', gateway: 'fd00:9::fe' });
    expect(p.allocate()).toBe('fd00:9::1');
    expect(() => p.allocateStatic('fd00:a::5')).toThrow(ValidationError);
    expect(() => p.allocateStatic('fd00:9::')).toThrow(ValidationError);
    expect(() => p.allocateStatic('fd00:9::fe')).toThrow(ConflictError);
    expect(() => p.allocateStatic('fd00:9::1')).toThrow(ConflictError);
    expect(() => p.allocateStatic('10.0.0.1')).toThrow(ValidationError);
  });

  it('says when it is exhausted', () => {
    const p = new AddressPool6({ subnet: 'fd00:9::/126' });
    expect([p.allocate(), p.allocate()]).toEqual(['fd00:9::2', 'fd00:9::3']);
    expect(() => p.allocate()).toThrow(ExhaustedError);
  });
});
