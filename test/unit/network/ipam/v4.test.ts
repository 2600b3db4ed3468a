// IPAM: Docker's default pools, user subnets, per-network address pools and MACs. Pure, no root.
import { describe, expect, it } from 'vitest';

import { ConflictError, ValidationError } from '../../../../lib/core/errors.js';
import {
  AddressPool,
  DEFAULT_POOLS,
  ExhaustedError,
  allocateSubnet,
  bigIntToIp,
  claimSubnet,
  contains,
  formatSubnet,
  ipToBigInt,
  macFor,
  overlaps,
  randomMac,
  validateSubnet,
} from '../../../../lib/network/ipam/v4.js';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('address helpers', () => {
  it.each(['0.0.0.0', '10.1.2.3', '255.255.255.255'])('round-trips %s', (a) => {
    expect(bigIntToIp(ipToBigInt(a), 'inet')).toBe(a);
  });

  it.each([
    ['::', '::'],
    ['::1', '::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:1:0:0:0:0', '2001:db8:0:1::'],
    ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
    ['::ffff:1.2.3.4', '::ffff:102:304'],
  ])('canonicalises %s to %s', (a, want) => {
    expect(bigIntToIp(ipToBigInt(a), 'inet6')).toBe(want);
  });

  it('tells overlap and containment apart', () => {
    const a = validateSubnet('10.0.0.0/8');
    const b = validateSubnet('10.1.0.0/16');
    const c = validateSubnet('11.0.0.0/8');
    expect(overlaps(a, b) && overlaps(b, a)).toBe(true);
    expect(overlaps(a, c)).toBe(false);
    expect(contains(a, b)).toBe(true);
    expect(contains(b, a)).toBe(false);
    expect(overlaps(a, validateSubnet('::/0'))).toBe(false);
  });
});

describe('validateSubnet (--subnet)', () => {
  it('accepts network addresses, IPv4 and IPv6', () => {
    expect(formatSubnet(validateSubnet('10.0.0.0/24'))).toBe('10.0.0.0/24');
    expect(formatSubnet(validateSubnet('2001:db8:1::/64'))).toBe('2001:db8:1::/64');
  });

  it('refuses host bits and suggests the network address', () => {
    const e = caught(() => validateSubnet('10.0.0.1/24'));
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).field).toBe('subnet');
    expect((e as Error).message).toContain('10.0.0.0/24');
    expect(() => validateSubnet('2001:db8::1/64')).toThrow(/2001:db8::\/64/);
  });

  it.each([undefined, 42, '10.0.0.0', 'nope/24', '10.0.0.0/33', '10.0.0.0/x'])('refuses %j', (v) => {
    expect(() => validateSubnet(v)).toThrow(ValidationError);
  });
});

describe('claimSubnet (--subnet against existing networks)', () => {
  const existing = [
    { name: 'bridge', subnet: '172.17.0.0/16' },
    { name: 'backend', subnet: '10.10.0.0/16' },
  ];

  it('returns the canonical subnet when it is free', () => {
    expect(claimSubnet('10.20.0.0/16', existing)).toBe('10.20.0.0/16');
  });

  it('names the network it overlaps', () => {
    const e = caught(() => claimSubnet('10.10.5.0/24', existing));
    expect(e).toBeInstanceOf(ConflictError);
    expect((e as ConflictError).id).toBe('backend');
    expect((e as Error).message).toMatch(/overlaps/);
    expect(() => claimSubnet('10.0.0.0/8', existing)).toThrow(/backend/);
  });

  it('validates before checking', () => {
    expect(() => claimSubnet('10.20.0.1/16', existing)).toThrow(ValidationError);
  });
});

describe('allocateSubnet (network create without --subnet)', () => {
  it("lists Docker's pools in order", () => {
    expect(DEFAULT_POOLS).toHaveLength(31);
    expect(DEFAULT_POOLS.slice(0, 2)).toEqual(['172.17.0.0/16', '172.18.0.0/16']);
    expect(DEFAULT_POOLS[14]).toBe('172.31.0.0/16');
    expect(DEFAULT_POOLS.slice(15, 18)).toEqual(['192.168.0.0/20', '192.168.16.0/20', '192.168.32.0/20']);
    expect(DEFAULT_POOLS[30]).toBe('192.168.240.0/20');
  });

  it('hands out the first pool, then the next', () => {
    expect(allocateSubnet({ taken: [], hostRoutes: [] })).toBe('172.17.0.0/16');
    expect(allocateSubnet({ taken: ['172.17.0.0/16'], hostRoutes: [] })).toBe('172.18.0.0/16');
  });

  it('skips pools that overlap host routes, ignoring the default route and IPv6', () => {
    const hostRoutes = ['default', '0.0.0.0/0', '172.17.5.0/24', '172.18.0.0/15', 'fe80::/64', '10.0.0.0/8'];
    expect(allocateSubnet({ taken: [], hostRoutes })).toBe('172.20.0.0/16');
  });

  it('skips pools that overlap a wider taken subnet, then reaches 192.168.x/20', () => {
    expect(allocateSubnet({ taken: ['172.16.0.0/12'], hostRoutes: ['192.168.1.0/24'] })).toBe('192.168.16.0/20');
  });

  it('throws ExhaustedError (a ConflictError) when every pool is used', () => {
    const e = caught(() => allocateSubnet({ taken: ['172.16.0.0/12'], hostRoutes: ['192.168.0.0/16'] }));
    expect(e).toBeInstanceOf(ExhaustedError);
    expect(e).toBeInstanceOf(ConflictError);
    expect((e as Error).name).toBe('ExhaustedError');
    expect((e as Error).message).toMatch(/non-overlapping IPv4 address pool/);
  });
});

describe('AddressPool', () => {
  it('takes the first usable address as gateway and hands out from the next', () => {
    const pool = new AddressPool({ subnet: '172.17.0.0/16' });
    expect(pool.gateway).toBe('172.17.0.1');
    expect(pool.allocate()).toBe('172.17.0.2');
    expect(pool.allocate()).toBe('172.17.0.3');
    expect(pool.isAllocated('172.17.0.1')).toBe(true);
  });

  it('skips a given gateway (--gateway)', () => {
    const pool = new AddressPool({ subnet: '10.0.0.0/29', gateway: '10.0.0.2' });
    expect(pool.gateway).toBe('10.0.0.2');
    expect([pool.allocate(), pool.allocate(), pool.allocate()]).toEqual(['10.0.0.1', '10.0.0.3', '10.0.0.4']);
  });

  it.each([
    ['10.1.0.1', /inside the subnet/],
    ['10.0.0.0', /network address/],
    ['10.0.0.255', /broadcast address/],
    ['::1', /IPv4/],
  ])('refuses the gateway %s', (gateway, why) => {
    const e = caught(() => new AddressPool({ subnet: '10.0.0.0/24', gateway }));
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as Error).message).toMatch(why);
  });

  it('refuses subnets it cannot serve', () => {
    expect(() => new AddressPool({ subnet: '2001:db8::/64' })).toThrow(/IPv4 only/);
    expect(() => new AddressPool({ subnet: '10.0.0.0/31' })).toThrow(/8 to 30/);
    expect(() => new AddressPool({ subnet: '10.0.0.0/7' })).toThrow(/8 to 30/);
    expect(() => new AddressPool({ subnet: '10.0.0.5/24' })).toThrow(/10\.0\.0\.0\/24/);
  });

  it('limits dynamic allocation to --ip-range but allows static addresses outside it', () => {
    const pool = new AddressPool({ subnet: '172.28.0.0/16', ipRange: '172.28.5.0/30' });
    expect(pool.gateway).toBe('172.28.0.1');
    expect(pool.allocateStatic('172.28.9.9')).toBe('172.28.9.9');
    expect([pool.allocate(), pool.allocate(), pool.allocate(), pool.allocate()]).toEqual(['172.28.5.0', '172.28.5.1', '172.28.5.2', '172.28.5.3']);
    const e = caught(() => pool.allocate());
    expect(e).toBeInstanceOf(ExhaustedError);
    expect((e as Error).message).toContain('172.28.5.0/30');
  });

  it('keeps the broadcast address out of an ip-range at the end of the subnet', () => {
    const pool = new AddressPool({ subnet: '10.0.0.0/24', ipRange: '10.0.0.254/31' });
    expect(pool.allocate()).toBe('10.0.0.254');
    expect(() => pool.allocate()).toThrow(ExhaustedError);
  });

  it('refuses an ip-range outside the subnet or with host bits', () => {
    expect(() => new AddressPool({ subnet: '10.0.0.0/24', ipRange: '10.0.1.0/28' })).toThrow(/inside the subnet/);
    expect(() => new AddressPool({ subnet: '10.0.0.0/24', ipRange: '10.0.0.0/16' })).toThrow(/inside the subnet/);
    expect(() => new AddressPool({ subnet: '10.0.0.0/24', ipRange: '10.0.0.1/28' })).toThrow(ValidationError);
  });

  it('refuses static addresses that are taken, the gateway, or not usable (--ip)', () => {
    const pool = new AddressPool({ subnet: '10.0.0.0/24' });
    expect(pool.allocateStatic('10.0.0.7')).toBe('10.0.0.7');
    expect(() => pool.allocateStatic('10.0.0.7')).toThrow(ConflictError);
    expect(() => pool.allocateStatic('10.0.0.1')).toThrow(/gateway/);
    expect(() => pool.allocateStatic('10.0.0.0')).toThrow(ValidationError);
    expect(() => pool.allocateStatic('10.0.0.255')).toThrow(ValidationError);
    expect(() => pool.allocateStatic('10.0.1.2')).toThrow(/inside the subnet/);
    expect(() => pool.allocateStatic('bogus')).toThrow(ValidationError);
  });

  it('releases and reuses the lowest address', () => {
    const pool = new AddressPool({ subnet: '10.0.0.0/24' });
    const got = Array.from({ length: 5 }, () => pool.allocate());
    expect(got).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    expect(pool.release('10.0.0.5')).toBe(true);
    expect(pool.release('10.0.0.3')).toBe(true);
    expect(pool.release('10.0.0.3')).toBe(false);
    expect(pool.allocate()).toBe('10.0.0.3');
    expect(pool.allocate()).toBe('10.0.0.5');
    expect(pool.allocate()).toBe('10.0.0.7');
    expect(() => pool.release('10.0.0.1')).toThrow(/gateway/);
    expect(() => pool.release('10.9.0.1')).toThrow(ValidationError);
  });

  it('skips statically taken addresses when allocating', () => {
    const pool = new AddressPool({ subnet: '10.0.0.0/24' });
    pool.allocateStatic('10.0.0.2');
    pool.allocateStatic('10.0.0.3');
    expect(pool.allocate()).toBe('10.0.0.4');
  });

  it('fills a /16 (65,533 addresses) quickly, then reports exhaustion', () => {
    const pool = new AddressPool({ subnet: '172.17.0.0/16' });
    const t0 = performance.now();
    let last = '';
    for (let i = 0; i < 65533; i++) last = pool.allocate();
    expect(last).toBe('172.17.255.254');
    const e = caught(() => pool.allocate());
    expect(e).toBeInstanceOf(ExhaustedError);
    expect((e as Error).message).toMatch(/no available IPv4 addresses/);
    expect(performance.now() - t0).toBeLessThan(2000);
    pool.release('172.17.128.0');
    expect(pool.allocate()).toBe('172.17.128.0');
  });

  it('round-trips through JSON', () => {
    const pool = new AddressPool({ subnet: '10.0.0.0/24', gateway: '10.0.0.254', ipRange: '10.0.0.128/25' });
    pool.allocate();
    pool.allocateStatic('10.0.0.9');
    const state = JSON.parse(JSON.stringify(pool));
    expect(state).toEqual({ subnet: '10.0.0.0/24', gateway: '10.0.0.254', ipRange: '10.0.0.128/25', allocated: ['10.0.0.9', '10.0.0.128'] });
    const back = AddressPool.fromJSON(state);
    expect(back.allocate()).toBe('10.0.0.129');
    expect(back.isAllocated('10.0.0.9')).toBe(true);
    expect(JSON.parse(JSON.stringify(new AddressPool({ subnet: '10.0.0.0/30' })))).toEqual({ subnet: '10.0.0.0/30', gateway: '10.0.0.1', allocated: [] });
  });

  it('keeps a run of consecutive addresses as one entry, around the gateway and across bitmap bytes', () => {
    const pool = new AddressPool({ subnet: '10.1.0.0/16', gateway: '10.1.0.20' });
    for (let i = 0; i < 500; i++) pool.allocate();
    pool.release('10.1.0.100');
    pool.allocateStatic('10.1.200.1');
    const state = JSON.parse(JSON.stringify(pool));
    // .1–.19, then the gateway .20 breaks the run, .21–.99, a hole at .100, on to the 501st address.
    expect(state.allocated).toEqual(['10.1.0.1-10.1.0.19', '10.1.0.21-10.1.0.99', '10.1.0.101-10.1.1.245', '10.1.200.1']);
    const back = AddressPool.fromJSON(state);
    expect(back.allocate()).toBe('10.1.0.100');
    expect(back.allocate()).toBe('10.1.1.246');
    expect(JSON.parse(JSON.stringify(AddressPool.fromJSON(state)))).toEqual(state);
  });

  it('reads the one-entry-per-address form of earlier versions, and refuses bad ranges', () => {
    const base = { subnet: '10.2.0.0/24', gateway: '10.2.0.1' };
    const old = AddressPool.fromJSON({ ...base, allocated: ['10.2.0.2', '10.2.0.3', '10.2.0.4'] });
    expect(JSON.parse(JSON.stringify(old)).allocated).toEqual(['10.2.0.2-10.2.0.4']);
    expect(caught(() => AddressPool.fromJSON({ ...base, allocated: ['10.2.0.9-10.2.0.5'] }))).toBeInstanceOf(ValidationError);
    expect(caught(() => AddressPool.fromJSON({ ...base, allocated: ['10.2.0.1-10.2.0.5'] }))).toBeInstanceOf(ConflictError);
    expect(caught(() => AddressPool.fromJSON({ ...base, allocated: ['10.2.0.2-10.2.0.5', '10.2.0.4'] }))).toBeInstanceOf(ConflictError);
    expect(caught(() => AddressPool.fromJSON({ ...base, allocated: ['10.2.0.2-10.2.1.5'] }))).toBeInstanceOf(ValidationError);
  });
});

describe('macFor (docker run without --mac-address)', () => {
  it.each([
    ['172.17.0.2', '02:42:ac:11:00:02'],
    ['10.0.0.255', '02:42:0a:00:00:ff'],
  ])('%s → %s', (ip, mac) => {
    expect(macFor(ip)).toBe(mac);
  });

  it('refuses non-IPv4 input', () => {
    expect(() => macFor('::1')).toThrow(ValidationError);
    expect(() => macFor('1.2.3')).toThrow(ValidationError);
  });
});

describe('randomMac (--mac-address random)', () => {
  it('is locally administered and unicast, and differs each time', () => {
    const macs = Array.from({ length: 200 }, () => randomMac());
    for (const m of macs) {
      expect(m).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      expect(parseInt(m.slice(0, 2), 16) & 0x03).toBe(0x02);
    }
    expect(new Set(macs).size).toBe(200);
  });
});
