// The engine's name resolution: each sandbox's /etc/netns files, and Engine.serveDns answering
// from the store on user-defined networks. Oracle: glibc's own resolver, `ip netns exec NS getent
// hosts NAME`, which reads the resolv.conf the engine wrote (run without blocking the event loop:
// the server answers from this process).
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { Engine } from '../../../lib/network/engine.js';
import { removeEngineLeftovers } from '../../helpers/engine.js';
import { isRoot, nsExecAsync, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

const getent = async (ns: string, name: string): Promise<string> => (await nsExecAsync(ns, 'getent', 'hosts', name)).stdout.trim().split(/\s+/)[0] ?? '';
const etc = (ns: string, file: string): string => readFileSync(join('/etc/netns', ns, file), 'utf8');

describe.skipIf(!isRoot)(`engine: names (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(1, 'nldns');
  let engine: Engine;
  let stateDir: string;
  let host: string;

  beforeEach(async () => {
    host = spaces[0]!.name;
    stateDir = await mkdtemp(join(tmpdir(), 'nlnet-engine-dns-'));
    engine = await Engine.open({ hostNetns: host, stateDir });
  });

  afterEach(async () => {
    await engine.close();
    await removeEngineLeftovers(host);
    await rm(stateDir, { recursive: true, force: true });
  });

  it('writes each sandbox its resolv.conf and hosts, and removes them with it', async () => {
    const net = await engine.createNetwork({ name: 'u', subnet: '10.70.0.0/24' });
    const a = await engine.createSandbox({ name: 'a', network: 'u' });
    const b = await engine.createSandbox({ name: 'b' });
    const n = await engine.createSandbox({ name: 'n', network: 'none' });
    // A user-defined network: its gateway is the name server (dockerd's 127.0.0.11).
    expect(etc(a.netns, 'resolv.conf').split('\n')[0]).toBe(`nameserver ${net.gateway}`);
    expect(etc(a.netns, 'hosts')).toContain('10.70.0.2\ta\n');
    // The default network and none: the host's resolvers, as Docker copies them.
    for (const s of [b, n]) expect(etc(s.netns, 'resolv.conf')).not.toContain(net.gateway);
    expect(etc(n.netns, 'hosts')).toContain('127.0.0.1\tlocalhost');
    await engine.removeSandbox('a');
    expect(existsSync(join('/etc/netns', a.netns))).toBe(false);
  });

  it('resolves names and aliases on the networks a sandbox shares, and stops at once when one goes', async () => {
    await engine.createNetwork({ name: 'u', subnet: '10.71.0.0/24' });
    await engine.createNetwork({ name: 'w', subnet: '10.72.0.0/24' });
    const dns = await engine.serveDns({ upstream: [] });
    expect(dns.listening().map((l) => l.address).sort()).toEqual(['10.71.0.1', '10.72.0.1']);
    const app = await engine.createSandbox({ name: 'app', network: 'u' });
    await engine.createSandbox({ name: 'db', network: 'u', aliases: ['database'] });
    await engine.createSandbox({ name: 'other', network: 'w' });
    expect(await getent(app.netns, 'db')).toBe('10.71.0.3');
    expect(await getent(app.netns, 'DATABASE')).toBe('10.71.0.3');
    expect(await getent(app.netns, 'app')).toBe('10.71.0.2');
    // Not on a network app is on; unknown names get NXDOMAIN (no upstream here).
    expect(await getent(app.netns, 'other')).toBe('');
    expect((await nsExecAsync(app.netns, 'getent', 'hosts', 'nosuch')).status).toBe(2);
    // connect --alias: the name on that network only.
    await engine.connect('u', 'other', { aliases: ['cache'] });
    expect(await getent(app.netns, 'cache')).toBe('10.71.0.4');
    await engine.disconnect('u', 'other');
    expect(await getent(app.netns, 'cache')).toBe('');
    await engine.removeSandbox('db');
    expect(await getent(app.netns, 'db')).toBe('');
    await dns.close();
  });

  it('answers AAAA with the IPv6 address on a network with IPv6', async () => {
    await engine.createNetwork({ name: 'v6', ipv6: true, subnet: '10.74.0.0/24', subnet6: 'fd00:74::/64' });
    const dns = await engine.serveDns({ upstream: [] });
    const a = await engine.createSandbox({ name: 'a', network: 'v6' });
    await engine.createSandbox({ name: 'b', network: 'v6' });
    expect((await nsExecAsync(a.netns, 'getent', 'ahostsv6', 'b')).stdout).toContain('fd00:74::3');
    expect(await getent(a.netns, 'b')).toBe('fd00:74::3');
    await dns.close();
  });

  it('follows networks made and removed by another process, and closes with the engine', async () => {
    const dns = await engine.serveDns({ upstream: [] });
    expect(dns.listening()).toEqual([]);
    const other = await Engine.open({ hostNetns: host, stateDir });
    try {
      await other.createNetwork({ name: 'late', subnet: '10.73.0.0/24' });
      const s = await other.createSandbox({ name: 's', network: 'late' });
      await waitFor(() => dns.listening().length === 1);
      expect(await getent(s.netns, 's')).toBe('10.73.0.2');
      await other.removeSandbox('s');
      await other.removeNetwork('late');
      await waitFor(() => dns.listening().length === 0);
    } finally {
      await other.close();
    }
    // Not on the default network: Docker gives it no embedded DNS.
    await engine.createSandbox({ name: 'd' });
    await new Promise((r) => setTimeout(r, 100));
    expect(dns.listening()).toEqual([]);
  });
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
