// lib/network/ports/allocate.ts: -p/-P specs to host ports, against what the store already holds. Pure, no root.
import { describe, expect, it } from 'vitest';

import { ConflictError, ValidationError } from '../../../../lib/core/errors.js';
import { PortsExhaustedError } from '../../../../lib/network/ports/spec.js';
import { parsePortRange, portSpecs, resolvePorts } from '../../../../lib/network/ports/allocate.js';

const first = () => 0;

describe('portSpecs (docker run -p … -P --expose)', () => {
  it('parses every -p and adds -P ports from expose, -p winning', () => {
    expect(portSpecs(['8080:80', '53/udp'], true, [80, 443, 443])).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { containerPort: 53, protocol: 'udp' },
      { containerPort: 443, protocol: 'tcp' },
    ]);
  });
  it('ignores expose without -P', () => {
    expect(portSpecs(undefined, false, [80])).toEqual([]);
    expect(portSpecs(undefined, undefined, undefined)).toEqual([]);
  });
  it('refuses bad input before anything happens', () => {
    expect(() => portSpecs(['80:x'], false, undefined)).toThrow(ValidationError);
    expect(() => portSpecs('80' as unknown as string[], false, undefined)).toThrow(ValidationError);
    expect(() => portSpecs([], true, [0])).toThrow(ValidationError);
    expect(() => portSpecs([], 'yes' as unknown as boolean, [80])).toThrow(ValidationError);
  });
});

describe('resolvePorts', () => {
  const range = [40000, 40003] as const;

  it('keeps explicit host ports and picks missing ones from the range, skipping taken ones', () => {
    const got = resolvePorts(portSpecs(['8080:80', '81', '82'], false, undefined), [{ hostPort: 40000, protocol: 'tcp' }], { range, alsoTaken: new Set(['tcp/40001']), random: first });
    expect(got).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 40002, containerPort: 81, protocol: 'tcp' },
      { hostPort: 40003, containerPort: 82, protocol: 'tcp' },
    ]);
  });

  it('fails with PortsExhaustedError when the range is full', () => {
    expect(() => resolvePorts(portSpecs(['81', '82'], false, undefined), [], { range: [40000, 40000], random: first })).toThrow(PortsExhaustedError);
  });

  it('picks from a -p host range, and a taken UDP port does not block TCP', () => {
    const got = resolvePorts(portSpecs(['9000-9001:80'], false, undefined), [{ hostPort: 9000, protocol: 'udp' }], { range, random: first });
    expect(got).toEqual([{ hostPort: 9000, containerPort: 80, protocol: 'tcp' }]);
  });

  it('refuses an explicit port another endpoint holds, or asked for twice, as dockerd does', () => {
    expect(() => resolvePorts(portSpecs(['8080:80'], false, undefined), [{ hostPort: 8080, protocol: 'tcp' }], { range })).toThrow(/port is already allocated/);
    expect(() => resolvePorts(portSpecs(['8080:80', '8080:81'], false, undefined), [], { range })).toThrow(ConflictError);
    expect(resolvePorts(portSpecs(['127.0.0.1:8080:80'], false, undefined), [{ hostIp: '10.0.0.1', hostPort: 8080, protocol: 'tcp' }], { range })).toEqual([
      { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
    ]);
  });
});

describe('parsePortRange', () => {
  it('reads what /proc/sys/net/ipv4/ip_local_port_range holds', () => {
    expect(parsePortRange('32768\t60999\n')).toEqual([32768, 60999]);
    expect(() => parsePortRange('32768')).toThrow(ValidationError);
  });
});
