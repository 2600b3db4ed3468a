// The engine's pure parts: --network values, names, ids, interface numbering, inspect JSON.
import { describe, expect, it } from 'vitest';

import { ValidationError } from '../../../lib/core/errors.js';
import { inspectJson } from '../../../lib/network/model/inspect.js';
import { expectValidationError } from '../../helpers/validation.js';
import { checkAliases, checkMac, checkName, hostIfName, nextIfname, parseMode, randomId, sandboxNetnsName, type EndpointRecord, type NetworkRecord } from '../../../lib/network/model/sandbox.js';

const ep = (ifname: string, network = 'n'): EndpointRecord => ({ network, endpointId: 'e'.repeat(64), ifname, hostIf: 'veth0000000', ip: '10.0.0.2', mac: '02:42:0a:00:00:02' });

describe('parseMode', () => {
  it("reads Docker's --network values", () => {
    expect(parseMode(undefined)).toEqual({ kind: 'network', network: 'bridge' });
    expect(parseMode('none')).toEqual({ kind: 'none' });
    expect(parseMode('host')).toEqual({ kind: 'host' });
    expect(parseMode('container:web')).toEqual({ kind: 'container', target: 'web' });
    expect(parseMode('mynet')).toEqual({ kind: 'network', network: 'mynet' });
  });

  it('refuses empty values', () => {
    expect(() => parseMode('')).toThrow(ValidationError);
    expect(() => parseMode('container:')).toThrow(ValidationError);
  });
});

describe('names', () => {
  it("checks Docker's name rule", () => {
    expect(checkName('name', 'web-1.a_b')).toBe('web-1.a_b');
    for (const bad of ['', '-x', 'a/b', 'a b', 'x'.repeat(129), 7]) expect(() => checkName('name', bad)).toThrow(ValidationError);
  });

  it('checks aliases as DNS names and drops repeats', () => {
    expect(checkAliases('aliases', undefined)).toEqual([]);
    expect(checkAliases('aliases', ['db', 'db', 'cache.local', 'a_b-1'])).toEqual(['db', 'cache.local', 'a_b-1']);
    for (const bad of [[''], ['-x'], ['a..b'], ['x'.repeat(64)], ['a b'], [7], 'db']) expectValidationError(() => checkAliases('aliases', bad), 'aliases');
  });

  it('takes unicast MAC addresses, lower-cased', () => {
    expect(checkMac('mac', '02:42:AC:11:00:09')).toBe('02:42:ac:11:00:09');
    expect(checkMac('mac', 'random')).toBe('random');
    for (const bad of ['01:00:5e:00:00:01', '02:42:ac:11:00', '02-42-ac-11-00-09', 'zz:42:ac:11:00:09', 42]) expectValidationError(() => checkMac('mac', bad), 'mac');
  });

  it('gives each host namespace its own sandbox namespace names', () => {
    const a = sandboxNetnsName('hostA', 'web');
    expect(a).toMatch(/^nlnet-[0-9a-f]{8}-web$/);
    expect(sandboxNetnsName('hostA', 'web')).toBe(a);
    expect(sandboxNetnsName('hostB', 'web')).not.toBe(a);
  });

  it('makes 64-hex ids and veth + 7 hex host interfaces', () => {
    expect(randomId()).toMatch(/^[0-9a-f]{64}$/);
    expect(randomId()).not.toBe(randomId());
    expect(hostIfName()).toMatch(/^veth[0-9a-f]{7}$/);
  });

  it('numbers interfaces from eth0, filling gaps', () => {
    expect(nextIfname([])).toBe('eth0');
    expect(nextIfname([ep('eth0')])).toBe('eth1');
    expect(nextIfname([ep('eth0'), ep('eth2')])).toBe('eth1');
  });
});

describe('inspectJson', () => {
  const net: NetworkRecord = {
    name: 'n',
    id: 'a'.repeat(64),
    driver: 'bridge',
    subnet: '10.0.0.0/24',
    gateway: '10.0.0.1',
    internal: true,
    bridge: 'br-aaaaaaaaaaaa',
    created: '2024-01-01T00:00:00.000Z',
    labels: { l: '1' },
    options: {},
    pool: { subnet: '10.0.0.0/24', gateway: '10.0.0.1', allocated: ['10.0.0.2'] },
  };

  it('lists only the endpoints on this network, keyed by sandbox id', () => {
    const j = inspectJson(net, [
      { name: 's', id: 'c'.repeat(64), created: net.created, mode: 'n', netns: 'x', ownsNetns: true, endpoints: [ep('eth0'), { ...ep('eth1', 'other'), endpointId: 'f'.repeat(64) }] },
    ]);
    expect(j.Containers).toEqual({ ['c'.repeat(64)]: { Name: 's', EndpointID: 'e'.repeat(64), MacAddress: '02:42:0a:00:00:02', IPv4Address: '10.0.0.2/24', IPv6Address: '' } });
    expect(j.IPAM.Config).toEqual([{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }]);
    expect(j).toMatchObject({ Name: 'n', Id: net.id, Scope: 'local', Driver: 'bridge', EnableIPv6: false, Internal: true, Labels: { l: '1' } });
  });
});
