// IPv6 on bridge networks (`docker network create --ipv6`): the gateway on the bridge, nodad
// addresses and a default route in sandboxes, masquerade, isolation between networks and
// published ports, all over IPv6, in the `ip6 nlnet` table. A second namespace on an uplink
// (2001:db8::/64, the documentation prefix) plays the outside world.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ConflictError, ValidationError } from '../../../lib/index.js';
import { Engine } from '../../../lib/network/engine.js';
import type { NetworkRecord } from '../../../lib/network/model/sandbox.js';
import { startAddressServer, tcpAsk, useTcpServers } from '../../helpers/nft.js';
import { removeEngineLeftovers } from '../../helpers/engine.js';
import { ipj, ipRun, isRoot, nsExec, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

interface IpAddr {
  addr_info: { family: string; local: string; prefixlen: number; scope: string; nodad?: boolean }[];
}

const UPLINK = { host: '2001:db8::1', outside: '2001:db8::2' };
const v6 = (ns: string, dev: string) => ipj<IpAddr[]>(ns, '-6', 'addr', 'show', 'dev', dev).flatMap((a) => a.addr_info.filter((i) => i.scope === 'global'));
const ping6 = (ns: string, addr: string): boolean => nsExec(ns, 'ping', '-6', '-c1', '-W2', addr).status === 0;
const nft6 = (ns: string): string => execFileSync('nsenter', [`--net=/run/netns/${ns}`, 'nft', 'list', 'table', 'ip6', 'nlnet'], { encoding: 'utf8' });

describe.skipIf(!isRoot)(`engine: IPv6 (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(2, 'nlv6');
  useTcpServers();
  let engine: Engine;
  let stateDir: string;
  let host: string;
  let outside: string;

  beforeEach(async () => {
    host = spaces[0]!.name;
    outside = spaces[1]!.name;
    ipRun(host, 'link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'uplink0', 'netns', outside);
    ipRun(host, 'addr', 'add', `${UPLINK.host}/64`, 'dev', 'uplink0', 'nodad');
    ipRun(host, 'link', 'set', 'uplink0', 'up');
    ipRun(outside, 'addr', 'add', `${UPLINK.outside}/64`, 'dev', 'uplink0', 'nodad');
    ipRun(outside, 'link', 'set', 'uplink0', 'up');
    ipRun(outside, 'link', 'set', 'lo', 'up');
    stateDir = await mkdtemp(join(tmpdir(), 'nlnet-ipv6-'));
    engine = await Engine.open({ hostNetns: host, stateDir });
  });

  afterEach(async () => {
    await removeEngineLeftovers(host);
    await engine.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('gives the bridge and each sandbox an IPv6 address (nodad) and route; sandboxes reach each other and the outside (masqueraded)', async () => {
    const net = await engine.createNetwork({ name: 'v6', ipv6: true, subnet: '10.60.0.0/24', subnet6: 'fd00:60::/64' });
    expect(net).toMatchObject({ subnet6: 'fd00:60::/64', gateway6: 'fd00:60::1' });
    expect(v6(host, net.bridge)).toMatchObject([{ local: 'fd00:60::1', prefixlen: 64 }]);
    const a = await engine.createSandbox({ name: 'a', network: 'v6' });
    const b = await engine.createSandbox({ name: 'b', network: 'v6', ip6: 'fd00:60::99' });
    expect(a.endpoints[0]).toMatchObject({ ip: '10.60.0.2', ip6: 'fd00:60::2' });
    expect(v6(a.netns, 'eth0')).toMatchObject([{ local: 'fd00:60::2', prefixlen: 64, nodad: true }]);
    expect(ipj<{ gateway: string }[]>(a.netns, '-6', 'route', 'show', 'default')).toMatchObject([{ gateway: 'fd00:60::1' }]);
    expect(ping6(a.netns, 'fd00:60::99')).toBe(true);
    expect(ping6(b.netns, 'fd00:60::1')).toBe(true);
    // The outside has no route to fd00:60::/64: an answer proves the masquerade.
    expect(nft6(host)).toMatch(/ip6 saddr fd00:60::\/64 oifname != "br-[0-9a-f]{12}" masquerade/);
    expect(ping6(a.netns, UPLINK.outside)).toBe(true);
    const inspect = await engine.inspectNetwork('v6');
    expect(inspect.EnableIPv6).toBe(true);
    expect(inspect.IPAM.Config).toEqual([{ Subnet: '10.60.0.0/24', Gateway: '10.60.0.1' }, { Subnet: 'fd00:60::/64', Gateway: 'fd00:60::1' }]);
    expect(inspect.Containers[a.id]!.IPv6Address).toBe('fd00:60::2/64');
  });

  it('publishes a port on [::] too: the outside reaches it over IPv6 and is seen with its own address', async () => {
    await engine.createNetwork({ name: 'v6', ipv6: true, subnet6: 'fd00:61::/64' });
    const a = await engine.createSandbox({ name: 'a', network: 'v6', publish: ['8080:80'] });
    await startAddressServer(a.netns, 80, '::');
    expect(tcpAsk(outside, UPLINK.host, 8080)).toBe(UPLINK.outside);
    await engine.removeSandbox('a');
    expect(nft6(host)).not.toContain('fd00:61::2');
  });

  it('isolates IPv6 networks from each other', async () => {
    await engine.createNetwork({ name: 'one', ipv6: true, subnet6: 'fd00:62::/64' });
    await engine.createNetwork({ name: 'two', ipv6: true, subnet6: 'fd00:63::/64' });
    const a = await engine.createSandbox({ name: 'a', network: 'one' });
    const c = await engine.createSandbox({ name: 'c', network: 'two' });
    expect(ping6(c.netns, 'fd00:63::1')).toBe(true);
    expect(ping6(c.netns, a.endpoints[0]!.ip6!)).toBe(false);
  });

  it('takes a random ULA /64 without --subnet; releases addresses; removes its rules with the network', async () => {
    const net = await engine.createNetwork({ name: 'auto', ipv6: true });
    expect(net.subnet6).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64$/);
    await engine.createSandbox({ name: 'a', network: 'auto' });
    await engine.removeSandbox('a');
    expect(((await engine.store.get('networks/auto')) as unknown as NetworkRecord).pool6!.allocated).toEqual([]);
    expect(nft6(host)).toContain(net.bridge);
    await engine.removeNetwork('auto');
    expect(nft6(host)).not.toContain(net.bridge);
  });

  it('refuses an IPv6 subnet without --ipv6, an overlapping one, --ip6 on an IPv4-only network, IPv6 on macvlan', async () => {
    await expect(engine.createNetwork({ name: 'x', subnet6: 'fd00:64::/64' })).rejects.toBeInstanceOf(ValidationError);
    await expect(engine.createNetwork({ name: 'x', ipv6: true, subnet6: '10.0.0.0/24' })).rejects.toBeInstanceOf(ValidationError);
    await expect(engine.createNetwork({ name: 'x', driver: 'macvlan', ipv6: true, options: { parent: 'uplink0' } })).rejects.toBeInstanceOf(ValidationError);
    await engine.createNetwork({ name: 'v6', ipv6: true, subnet6: 'fd00:64::/64' });
    await expect(engine.createNetwork({ name: 'y', ipv6: true, subnet6: 'fd00:64::/48' })).rejects.toBeInstanceOf(ConflictError);
    await engine.createNetwork({ name: 'v4', subnet: '10.64.0.0/24' });
    await expect(engine.createSandbox({ name: 's', network: 'v4', ip6: 'fd00:64::5' })).rejects.toBeInstanceOf(ConflictError);
    expect((await engine.listNetworks()).map((n) => n.name).sort()).toEqual(['v4', 'v6']);
  });
});
