// Internal networks give their endpoints no default route (Docker sets no gateway on them), and a
// sandbox's default route comes from its first endpoint on a network that is not internal: at
// create, at connect, when that endpoint leaves, and after reconcile. Oracle: `ip -j route`
// inside the sandbox (and `ip route get` for what a connect to an outside address would do).
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { Engine } from '../../../lib/network/engine.js';
import { containerInspect } from '../../../lib/cli/container-view.js';
import { removeEngineLeftovers } from '../../helpers/engine.js';
import { ipj, ipRun, isRoot, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
}

/** The sandbox's routes as `dst [via GW] dev DEV`, for one family. */
const routes = (ns: string, family: '-4' | '-6' = '-4'): string[] =>
  ipj<IpRoute[]>(ns, family, 'route', 'show')
    .filter((r) => !r.dst.startsWith('fe80'))
    .map((r) => `${r.dst}${r.gateway === undefined ? '' : ` via ${r.gateway}`} dev ${r.dev}`);
const defaults = (ns: string, family: '-4' | '-6' = '-4'): string[] => routes(ns, family).filter((r) => r.startsWith('default'));

describe.skipIf(!isRoot)(`engine: internal networks and the default route (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(1, 'nlint');
  let engine: Engine;
  let stateDir: string;
  let host: string;

  beforeEach(async () => {
    host = spaces[0]!.name;
    stateDir = await mkdtemp(join(tmpdir(), 'nlnet-engine-internal-'));
    engine = await Engine.open({ hostNetns: host, stateDir });
    await engine.createNetwork({ name: 'inet1', internal: true, subnet: '10.79.0.0/24', ipv6: true, subnet6: 'fd00:79::/64' });
    await engine.createNetwork({ name: 'out1', subnet: '10.78.0.0/24', ipv6: true, subnet6: 'fd00:78::/64' });
    await engine.createNetwork({ name: 'out2', subnet: '10.77.0.0/24' });
  });

  afterEach(async () => {
    await removeEngineLeftovers(host);
    await engine.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('an endpoint of an internal network has only its subnet routes: no default, IPv4 or IPv6', async () => {
    const sb = await engine.createSandbox({ name: 'in1', network: 'inet1' });
    expect(routes(sb.netns)).toEqual(['10.79.0.0/24 dev eth0']);
    expect(routes(sb.netns, '-6')).toEqual(['fd00:79::/64 dev eth0']);
    // A connect to an outside address fails at once ("Network is unreachable"), not after a timeout.
    const get = spawnSync('ip', ['-n', sb.netns, 'route', 'get', '192.0.2.1'], { encoding: 'utf8' });
    expect(get.status).not.toBe(0);
    expect(get.stderr).toContain('Network is unreachable');
    // The network itself still works: the gateway is on-link.
    expect(spawnSync('ip', ['-n', sb.netns, 'route', 'get', '10.79.0.1'], { encoding: 'utf8' }).status).toBe(0);
  });

  it('internal first, then a network that is not: the default route comes from the second', async () => {
    const sb = await engine.createSandbox({ name: 'in2', network: 'inet1' });
    await engine.connect('out1', 'in2');
    expect(defaults(sb.netns)).toEqual(['default via 10.78.0.1 dev eth1']);
    expect(defaults(sb.netns, '-6')).toEqual(['default via fd00:78::1 dev eth1']);
    // A third network adds no second default route.
    await engine.connect('out2', 'in2');
    expect(defaults(sb.netns)).toEqual(['default via 10.78.0.1 dev eth1']);
  });

  it('a network that is not internal first, then an internal one: the default route stays', async () => {
    const sb = await engine.createSandbox({ name: 'in3', network: 'out2' });
    await engine.connect('inet1', 'in3');
    expect(defaults(sb.netns)).toEqual(['default via 10.77.0.1 dev eth0']);
    expect(defaults(sb.netns, '-6')).toEqual([]);
  });

  it('when the gateway endpoint leaves, the next one that is not internal takes the default route over', async () => {
    const sb = await engine.createSandbox({ name: 'in4', network: 'inet1' });
    await engine.connect('out1', 'in4');
    await engine.connect('out2', 'in4');
    await engine.disconnect('out1', 'in4');
    expect(defaults(sb.netns)).toEqual(['default via 10.77.0.1 dev eth2']);
    await engine.disconnect('out2', 'in4');
    // Only the internal endpoint is left: no default route at all.
    expect(routes(sb.netns)).toEqual(['10.79.0.0/24 dev eth0']);
    // Leaving a non-gateway endpoint changes nothing.
    await engine.connect('out2', 'in4');
    await engine.connect('out1', 'in4');
    await engine.disconnect('out1', 'in4');
    expect(defaults(sb.netns)).toEqual(['default via 10.77.0.1 dev eth1']);
  });

  it('reconcile rebuilds an internal endpoint without a default route and gives it to the right one', async () => {
    const sb = await engine.createSandbox({ name: 'in5', network: 'inet1' });
    await engine.connect('out2', 'in5');
    for (const ep of sb.endpoints.concat((await engine.inspectSandbox('in5')).endpoints.slice(1))) ipRun(host, 'link', 'del', ep.hostIf);
    expect(routes(sb.netns)).toEqual([]);
    const report = await engine.reconcile();
    expect(report.recreated).toHaveLength(2);
    expect(routes(sb.netns)).toEqual(['default via 10.77.0.1 dev eth1', '10.77.0.0/24 dev eth1', '10.79.0.0/24 dev eth0']);
  });

  it('inspect shows no Gateway for an endpoint of an internal network, as docker inspect does', async () => {
    await engine.createSandbox({ name: 'in6', network: 'inet1' });
    await engine.connect('out1', 'in6');
    const view = containerInspect(await engine.inspectSandbox('in6'), await engine.listNetworks()) as { NetworkSettings: { Networks: Record<string, { Gateway: string; IPv6Gateway: string }> } };
    expect(view.NetworkSettings.Networks.inet1).toMatchObject({ Gateway: '', IPv6Gateway: '' });
    expect(view.NetworkSettings.Networks.out1).toMatchObject({ Gateway: '10.78.0.1', IPv6Gateway: 'fd00:78::1' });
  });
});
