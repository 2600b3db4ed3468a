// Bridge port options against `bridge link`: what nlnet sets, `bridge -j -d link show` reads the
// same; what `bridge link set` sets, nlnet reads the same. Isolation is also checked with traffic.
import { spawnSync } from 'node:child_process';
import { beforeEach, describe, expect, it } from 'vitest';

import { NetlinkError, NotFoundError, ValidationError } from '../../../lib/index.js';
import type { BridgePort } from '../../../lib/rtnl/bridge.js';
import { bridgej, ipRun, isRoot, nsExec, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

/** The options this file checks, under `bridge -j -d link show`'s names and nlnet's. */
const OPTIONS = [
  ['learning', 'learning'],
  ['flood', 'flood'],
  ['mcast_flood', 'mcastFlood'],
  ['hairpin', 'hairpin'],
  ['isolated', 'isolated'],
  ['neigh_suppress', 'neighSuppress'],
] as const;
type Option = (typeof OPTIONS)[number][1];

function bridgeRun(ns: string, ...args: string[]): { status: number | null; stderr: string } {
  return spawnSync('bridge', ['-n', ns, ...args], { encoding: 'utf8' });
}

/** The checked options of a port as `bridge -j -d link show dev DEV` prints them. */
function toolPort(ns: string, dev: string): Record<Option, boolean> {
  const [port] = bridgej<Record<string, unknown>[]>(ns, '-d', 'link', 'show', 'dev', dev);
  return Object.fromEntries(OPTIONS.map(([tool, ours]) => [ours, port![tool]])) as Record<Option, boolean>;
}

function pick(p: BridgePort): Record<Option, boolean | undefined> {
  return Object.fromEntries(OPTIONS.map(([, ours]) => [ours, p[ours]])) as Record<Option, boolean | undefined>;
}

describe.skipIf(!isRoot)(`bridge ports (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(1, 'nlb');
  let ns: string;

  beforeEach(() => {
    ns = spaces[0]!.name;
    ipRun(ns, 'link', 'add', 'br0', 'type', 'bridge');
    ipRun(ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    ipRun(ns, 'link', 'set', 'v0', 'master', 'br0');
  });

  it('reads the defaults of a new port as bridge does', async () => {
    const port = await spaces[0]!.nl.bridge.getPort('v0');
    expect(pick(port)).toEqual(toolPort(ns, 'v0'));
    expect(pick(port)).toEqual({ learning: true, flood: true, mcastFlood: true, hairpin: false, isolated: false, neighSuppress: false });
  });

  it.each(OPTIONS)('sets %s off and on again, as bridge reads it', async (_tool, option) => {
    const { nl } = spaces[0]!;
    for (const value of [true, false, true, false]) {
      await nl.bridge.setPort('v0', { [option]: value });
      expect(toolPort(ns, 'v0')[option]).toBe(value);
      expect((await nl.bridge.getPort('v0'))[option]).toBe(value);
    }
  });

  it('sets several options in one request, by ifindex too', async () => {
    const { nl } = spaces[0]!;
    const wanted = { learning: false, flood: false, mcastFlood: false, hairpin: true, isolated: true, neighSuppress: true };
    const [{ ifindex }] = bridgej<{ ifindex: number }[]>(ns, 'link', 'show', 'dev', 'v0') as [{ ifindex: number }];
    await nl.bridge.setPort(ifindex, wanted);
    expect(toolPort(ns, 'v0')).toEqual(wanted);
    expect(pick(await nl.bridge.getPort(ifindex))).toEqual(wanted);
  });

  it('reads what bridge link set sets', async () => {
    const args = ['learning', 'off', 'flood', 'off', 'mcast_flood', 'off', 'hairpin', 'on', 'isolated', 'on', 'neigh_suppress', 'on'];
    expect(bridgeRun(ns, 'link', 'set', 'dev', 'v0', ...args).status).toBe(0);
    const port = await spaces[0]!.nl.bridge.getPort('v0');
    expect(pick(port)).toEqual(toolPort(ns, 'v0'));
    expect(pick(port)).toEqual({ learning: false, flood: false, mcastFlood: false, hairpin: true, isolated: true, neighSuppress: true });
    // The numbers `bridge -d link show` prints (cost, priority, STP state) read the same too.
    expect(bridgeRun(ns, 'link', 'set', 'dev', 'v0', 'cost', '7', 'priority', '5').status).toBe(0);
    const [tool] = bridgej<{ cost: number; priority: number; state: string }[]>(ns, '-d', 'link', 'show', 'dev', 'v0');
    expect(await spaces[0]!.nl.bridge.getPort('v0')).toMatchObject({ cost: tool!.cost, priority: tool!.priority, state: 0 });
    expect(tool!.state).toBe('disabled');
  });

  it('fails with EOPNOTSUPP setting a link that is not a bridge port, as bridge does', async () => {
    expect(bridgeRun(ns, 'link', 'set', 'dev', 'v1', 'learning', 'off').stderr).toMatch(/Operation not supported/);
    const err = await spaces[0]!.nl.bridge.setPort('v1', { learning: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    // errno 95; Node (libuv) names it ENOTSUP, which Linux defines as the same number.
    expect(err).toMatchObject({ errno: 95, code: 'ENOTSUP', op: 'bridge.setPort' });
    // The bridge itself is no port of anything either.
    await expect(spaces[0]!.nl.bridge.setPort('br0', { learning: false })).rejects.toMatchObject({ errno: 95 });
  });

  it('says NotFoundError reading a link that is not a bridge port', async () => {
    const err = await spaces[0]!.nl.bridge.getPort('v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ kind: 'bridge port', id: 'v1' });
  });

  it('fails with ENODEV for a link that does not exist', async () => {
    const { nl } = spaces[0]!;
    await expect(nl.bridge.setPort('nosuch0', { learning: false })).rejects.toMatchObject({ code: 'ENODEV' });
    await expect(nl.bridge.setPort(99999, { learning: false })).rejects.toMatchObject({ code: 'ENODEV' });
    await expect(nl.bridge.getPort('nosuch0')).rejects.toMatchObject({ code: 'ENODEV' });
  });

  it('refuses bad input before anything reaches the kernel', async () => {
    const { nl } = spaces[0]!;
    await expect(nl.bridge.setPort('v0', { learning: 'off' as never })).rejects.toThrow(ValidationError);
    await expect(nl.bridge.setPort('v0', { neigh_suppress: true } as never)).rejects.toThrow(expect.objectContaining({ field: 'options.neigh_suppress' }));
    await expect(nl.bridge.setPort('v0', { cost: 0 })).rejects.toThrow(expect.objectContaining({ field: 'options.cost' }));
    expect(toolPort(ns, 'v0').learning).toBe(true);
  });
});

/**
 * Whether `from` gets an answer from `address`: a TCP connection to a closed port. A reset
 * (ECONNREFUSED) means frames crossed the bridge both ways; anything else (no ARP answer, no
 * reset within two seconds) means they did not. `ping` is not installed here; node is.
 */
function reaches(from: string, address: string): boolean {
  const probe = `const s=require('net').connect({host:'${address}',port:9});s.setTimeout(2000,()=>{console.log('TIMEOUT');process.exit(0)});` +
    `s.on('connect',()=>{console.log('OPEN');process.exit(0)});s.on('error',(e)=>{console.log(e.code);process.exit(0)});`;
  const r = nsExec(from, process.execPath, '-e', probe);
  if (r.status !== 0) throw new Error(`probe from ${from} failed: ${r.stderr}`);
  return r.stdout.trim() === 'ECONNREFUSED';
}

describe.skipIf(!isRoot)(`bridge port isolation with traffic (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  // A "host" namespace with the bridge and two ports, and one namespace behind each port.
  const spaces = useNetns(3, 'nli');

  beforeEach(() => {
    const [host, a, b] = spaces.map((s) => s.name) as [string, string, string];
    ipRun(host, 'link', 'add', 'br0', 'type', 'bridge');
    ipRun(host, 'link', 'set', 'br0', 'up');
    for (const [port, peer, address] of [['pa', a, '10.99.0.1/24'], ['pb', b, '10.99.0.2/24']] as const) {
      ipRun(host, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer);
      ipRun(host, 'link', 'set', port, 'master', 'br0', 'up');
      ipRun(peer, 'addr', 'add', address, 'dev', 'eth0');
      ipRun(peer, 'link', 'set', 'eth0', 'up');
    }
  });

  it('stops traffic between two isolated ports, and only between isolated ports', async () => {
    const [host, a] = spaces as [(typeof spaces)[0], (typeof spaces)[0]];
    expect(reaches(a.name, '10.99.0.2')).toBe(true);

    // An isolated port still talks to ports that are not.
    await host.nl.bridge.setPort('pa', { isolated: true });
    expect(reaches(a.name, '10.99.0.2')).toBe(true);

    await host.nl.bridge.setPort('pb', { isolated: true });
    expect(reaches(a.name, '10.99.0.2')).toBe(false);

    await host.nl.bridge.setPort('pa', { isolated: false });
    expect(reaches(a.name, '10.99.0.2')).toBe(true);
  });
});
