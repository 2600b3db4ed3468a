// lib/network/drivers/bridge/firewall.ts: input checks, which run before any kernel call (the handle given
// here has nothing behind it), and the rules a network gets.
import { describe, expect, it } from 'vitest';

import { ValidationError, type Netlink } from '../../../../../lib/index.js';
import { addNetwork, networkRules, publish, removeNetwork, staticRules, unpublish, type FirewallPort } from '../../../../../lib/network/drivers/bridge/firewall.js';

// Any use of it would throw a TypeError that is not a ValidationError.
const nl = {} as Netlink;

const port: FirewallPort = { protocol: 'tcp', hostPort: 8080, containerIp: '172.18.0.2', containerPort: 80 };

async function invalid(p: Promise<unknown>, field: string): Promise<void> {
  const e = await p.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(ValidationError);
  expect((e as ValidationError).field).toBe(field);
}

describe('firewall input checks', () => {
  it.each([
    [{ bridge: '', subnet: '172.18.0.0/16' }, 'network.bridge'],
    [{ bridge: 'a-bridge-name-too-long', subnet: '172.18.0.0/16' }, 'network.bridge'],
    [{ bridge: 'br 0', subnet: '172.18.0.0/16' }, 'network.bridge'],
    [{ bridge: 'br0', subnet: 'fd00::/64' }, 'network.subnet'],
    [{ bridge: 'br0', subnet: '172.18.0.0/33' }, 'network.subnet'],
    [{ bridge: 'br0', subnet: '172.18.0.1' }, 'network.subnet'],
    [{ bridge: 'br0' }, 'network.subnet'],
    [{ bridge: 'br0', subnet: '172.18.0.0/16', internal: 'yes' }, 'network.internal'],
    [{ bridge: 'br0', subnet: '172.18.0.0/16', masquerade: 1 }, 'network.masquerade'],
    [{ bridge: 'br0', subnet: '172.18.0.0/16', icc: false }, 'network.icc'],
  ])('addNetwork refuses %j', async (network, field) => {
    await invalid(addNetwork(nl, network as never), field);
  });

  it('addNetwork refuses a missing network', async () => {
    await invalid(addNetwork(nl, undefined as never), 'network');
  });

  it.each([[''], ['br/0'], [42]])('removeNetwork refuses the bridge %j', async (bridge) => {
    await invalid(removeNetwork(nl, bridge as never), 'bridge');
  });

  it.each([
    [[], 'ports'],
    [port, 'ports'],
    [[{ ...port, protocol: 'sctp' }], 'ports[0].protocol'],
    [[{ ...port, protocol: undefined }], 'ports[0].protocol'],
    [[{ ...port, hostIp: '::1' }], 'ports[0].hostIp'],
    [[{ ...port, hostIp: 'localhost' }], 'ports[0].hostIp'],
    [[{ ...port, hostPort: 0 }], 'ports[0].hostPort'],
    [[{ ...port, hostPort: 65536 }], 'ports[0].hostPort'],
    [[{ ...port, hostPort: '8080' }], 'ports[0].hostPort'],
    [[port, { ...port, containerIp: 'fd00::2', hostIp: '10.0.0.1' }], 'ports[1].hostIp'],
    [[{ ...port, containerIp: '::' }], 'ports[0].containerIp'],
    [[{ ...port, containerIp: '0.0.0.0' }], 'ports[0].containerIp'],
    [[{ ...port, containerPort: 1.5 }], 'ports[0].containerPort'],
    [[{ ...port, hostport: 8080 }], 'ports[0].hostport'],
  ])('publish and unpublish refuse %j', async (ports, field) => {
    await invalid(publish(nl, ports as never), field);
    await invalid(unpublish(nl, ports as never), field);
  });
});

describe('firewall rules', () => {
  const comments = (rules: { comment?: string }[]) => rules.map((r) => r.comment);

  it('gives a network masquerade and hairpin rules, commented with its bridge', () => {
    expect(comments(networkRules({ bridge: 'br-x', subnet: '172.18.0.0/16' }))).toEqual(['nlnet:br-x', 'nlnet:br-x']);
  });

  it('gives a network without masquerade only the hairpin rule, an internal one none', () => {
    expect(networkRules({ bridge: 'br-x', subnet: '172.18.0.0/16', masquerade: false })).toHaveLength(1);
    expect(networkRules({ bridge: 'br-x', subnet: '172.18.0.0/16', internal: true })).toEqual([]);
  });

  it('marks every static rule so that ensure() can tell them from a network rule', () => {
    for (const rules of Object.values(staticRules())) for (const r of rules) expect(r.comment).toMatch(/^nlnet static /);
  });
});
