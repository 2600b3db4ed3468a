// Published ports: spec parsing (docker run -p), random host ports, conflicts. Pure, no root.
import { describe, expect, it } from 'vitest';

import { ConflictError, ValidationError } from '../../../../lib/core/errors.js';
import { PortsExhaustedError, conflicts, parsePortSpec, pickHostPort, type HostBinding } from '../../../../lib/network/ports/spec.js';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('parsePortSpec (docker run -p)', () => {
  it.each([
    ['80', [{ containerPort: 80, protocol: 'tcp' }]],
    ['53/udp', [{ containerPort: 53, protocol: 'udp' }]],
    ['80/TCP', [{ containerPort: 80, protocol: 'tcp' }]],
    ['8080:80', [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    [':80', [{ containerPort: 80, protocol: 'tcp' }]],
    ['5353:53/udp', [{ hostPort: 5353, containerPort: 53, protocol: 'udp' }]],
    ['127.0.0.1:8080:80', [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['127.0.0.1::80', [{ hostIp: '127.0.0.1', containerPort: 80, protocol: 'tcp' }]],
    ['0.0.0.0:53:53/udp', [{ hostIp: '0.0.0.0', hostPort: 53, containerPort: 53, protocol: 'udp' }]],
    ['[::1]:8080:80', [{ hostIp: '::1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['[2001:db8::1]::80/udp', [{ hostIp: '2001:db8::1', containerPort: 80, protocol: 'udp' }]],
    ['1:65535', [{ hostPort: 1, containerPort: 65535, protocol: 'tcp' }]],
  ])('parses %s', (spec, want) => {
    expect(parsePortSpec(spec)).toEqual(want);
  });

  it('expands equal ranges port by port', () => {
    expect(parsePortSpec('8000-8002:9000-9002/udp')).toEqual([
      { hostPort: 8000, containerPort: 9000, protocol: 'udp' },
      { hostPort: 8001, containerPort: 9001, protocol: 'udp' },
      { hostPort: 8002, containerPort: 9002, protocol: 'udp' },
    ]);
    expect(parsePortSpec('10.0.0.1:7000-7001:7000-7001').map((p) => [p.hostIp, p.hostPort, p.containerPort])).toEqual([
      ['10.0.0.1', 7000, 7000],
      ['10.0.0.1', 7001, 7001],
    ]);
  });

  it('gives random host ports for a bare container range', () => {
    expect(parsePortSpec('3000-3002')).toEqual([3000, 3001, 3002].map((containerPort) => ({ containerPort, protocol: 'tcp' })));
  });

  it('turns a host range with one container port into "pick one from the range"', () => {
    expect(parsePortSpec('127.0.0.1:8000-8010:80')).toEqual([{ hostIp: '127.0.0.1', hostPortRange: [8000, 8010], containerPort: 80, protocol: 'tcp' }]);
  });

  it.each([
    ['', /expected a port spec/],
    ['80/sctp', /protocol 'sctp'/],
    ['80/', /protocol ''/],
    ['0', /out of range/],
    ['65536', /out of range/],
    ['8080:0', /out of range/],
    ['http', /not a port number/],
    ['8080:', /container port is missing/],
    ['80-70', /ends before it starts/],
    ['8080:80-81', /same length/],
    ['8000-8002:80-81', /same length/],
    ['localhost:8080:80', /not an IPv4 address/],
    ['300.0.0.1:8080:80', /not an IPv4 address/],
    ['::1:8080:80', /brackets/],
    ['[::1:8080:80', /closing/],
    ['[10.0.0.1]:8080:80', /not an IPv6 address/],
    ['[::1]8080:80', /after the bracketed/],
    ['[::1]:80', /hostPort:containerPort/],
    ['127.0.0.1:80', /host port '127.0.0.1'/],
    ['+80', /not a port number/],
  ])('refuses %j', (spec, why) => {
    const e = caught(() => parsePortSpec(spec));
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).field).toBe('publish');
    expect((e as ValidationError).value).toBe(spec);
    expect((e as Error).message).toMatch(why);
  });
});

describe('pickHostPort (docker run -p CONTAINERPORT, -P)', () => {
  const range = [32768, 32777] as const;

  it('starts where the random source points', () => {
    expect(pickHostPort({ range, taken: new Set(), protocol: 'tcp', random: () => 0 })).toBe(32768);
    expect(pickHostPort({ range, taken: new Set(), protocol: 'tcp', random: () => 0.5 })).toBe(32773);
    expect(pickHostPort({ range, taken: new Set(), protocol: 'tcp', random: () => 0.9999999 })).toBe(32777);
    expect(pickHostPort({ range, taken: new Set(), protocol: 'tcp', random: () => 1 })).toBe(32777);
  });

  it('walks past taken ports of the same protocol and wraps around', () => {
    const taken = new Set(['tcp/32776', 'tcp/32777', 'udp/32768']);
    expect(pickHostPort({ range, taken, protocol: 'tcp', random: () => 0.8 })).toBe(32768);
    expect(pickHostPort({ range, taken, protocol: 'udp', random: () => 0.8 })).toBe(32776);
  });

  it('is deterministic for the same inputs', () => {
    const taken = new Set(['tcp/32770']);
    const a = pickHostPort({ range, taken, protocol: 'tcp', random: () => 0.25 });
    expect(pickHostPort({ range, taken, protocol: 'tcp', random: () => 0.25 })).toBe(a);
    const r = pickHostPort({ range, taken, protocol: 'tcp' });
    expect(r).toBeGreaterThanOrEqual(32768);
    expect(r).toBeLessThanOrEqual(32777);
  });

  it('throws PortsExhaustedError (a ConflictError) when the range is full', () => {
    const taken = new Set(Array.from({ length: 10 }, (_, i) => `udp/${32768 + i}`));
    const e = caught(() => pickHostPort({ range, taken, protocol: 'udp', random: () => 0 }));
    expect(e).toBeInstanceOf(PortsExhaustedError);
    expect(e).toBeInstanceOf(ConflictError);
    expect((e as Error).name).toBe('PortsExhaustedError');
    expect((e as Error).message).toMatch(/32768-32777.*udp/);
    expect(pickHostPort({ range, taken, protocol: 'tcp', random: () => 0 })).toBe(32768);
  });

  it.each([[[0, 10]], [[10, 5]], [[1, 65536]], [[1.5, 2]]] as const)('refuses the range %j', (bad) => {
    expect(() => pickHostPort({ range: bad, taken: new Set(), protocol: 'tcp' })).toThrow(ValidationError);
  });
});

describe('conflicts (docker run -p against published ports)', () => {
  const existing: HostBinding[] = [
    { hostPort: 8080, protocol: 'tcp', containerPort: 80 },
    { hostIp: '127.0.0.1', hostPort: 9000, protocol: 'tcp' },
    { hostIp: '::1', hostPort: 9001, protocol: 'tcp' },
    { hostIp: '0.0.0.0', hostPort: 53, protocol: 'udp' },
  ];

  it('allows different ports, protocols or addresses', () => {
    expect(() =>
      conflicts(existing, [
        { hostPort: 8081, protocol: 'tcp' },
        { hostPort: 8080, protocol: 'udp' },
        { hostIp: '127.0.0.2', hostPort: 9000, protocol: 'tcp' },
        { hostIp: '::2', hostPort: 9001, protocol: 'tcp' },
        { hostPort: 53, protocol: 'tcp' },
      ]),
    ).not.toThrow();
    expect(() => conflicts([], [])).not.toThrow();
  });

  it("refuses a port held on a wildcard address, worded like dockerd's", () => {
    const e = caught(() => conflicts(existing, [{ hostIp: '10.0.0.1', hostPort: 8080, protocol: 'tcp' }]));
    expect(e).toBeInstanceOf(ConflictError);
    expect((e as ConflictError).id).toBe('tcp/8080');
    expect((e as Error).message).toContain('Bind for 10.0.0.1:8080 failed: port is already allocated');
    expect(() => conflicts(existing, [{ hostPort: 8080, protocol: 'tcp' }])).toThrow('Bind for 0.0.0.0:8080 failed: port is already allocated');
    expect(() => conflicts(existing, [{ hostIp: '::1', hostPort: 53, protocol: 'udp' }])).toThrow('Bind for [::1]:53 failed');
  });

  it('refuses a wildcard bind over a port held on one address', () => {
    expect(() => conflicts(existing, [{ hostIp: '0.0.0.0', hostPort: 9000, protocol: 'tcp' }])).toThrow(ConflictError);
    expect(() => conflicts(existing, [{ hostIp: '::', hostPort: 9000, protocol: 'tcp' }])).toThrow(ConflictError);
  });

  it('compares IPv6 addresses by value', () => {
    expect(() => conflicts(existing, [{ hostIp: '0:0::1', hostPort: 9001, protocol: 'tcp' }])).toThrow(/\[0:0::1\]:9001/);
  });

  it('checks wanted bindings against each other', () => {
    expect(() =>
      conflicts([], [
        { hostIp: '127.0.0.1', hostPort: 7000, protocol: 'tcp' },
        { hostPort: 7000, protocol: 'tcp' },
      ]),
    ).toThrow('Bind for 0.0.0.0:7000 failed: port is already allocated');
  });
});
