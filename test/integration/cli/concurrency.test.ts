// Many `nlnet` processes changing the same state at once: each address, subnet and name is given
// once, the store stays readable, and the kernel matches it. Oracles: `ip -j` in the host and in
// every sandbox, and the store file parsed as JSON.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { useCli, type CliResult } from '../../helpers/cli.js';
import { ipj, isRoot, ROOT_SKIP_REASON } from '../../helpers/ns.js';

interface IpLink {
  ifname: string;
  master?: string;
}
interface IpAddr {
  addr_info: { family: string; local: string }[];
}
interface ContainerInspect {
  Name: string;
  NetworkSettings: { SandboxKey: string; Networks: Record<string, { IPAddress: string }> };
}

describe.skipIf(!isRoot)(`nlnet, many processes at once (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const cli = useCli('nlcp');

  // Taking turns on the state lock may say "waiting for the state lock held by …": that is news, not an error.
  const expectAllOk = (results: CliResult[]): void => {
    for (const r of results) expect({ status: r.status, stderr: r.stderr.replace(/^nlnet: waiting for the state lock held by .*\n/gm, '') }).toEqual({ status: 0, stderr: '' });
  };

  it('2 × 10 concurrent `container create` on one network: 20 unique addresses, store and kernel agree', async () => {
    expectAllOk([cli.run('network', 'create', '--subnet', '10.91.0.0/24', 'shared')]);
    // Two batches of ten processes, the second started while the first is still running.
    const batch = (tag: string): Promise<CliResult>[] => Array.from({ length: 10 }, (_, i) => cli.start('container', 'create', '--name', `${tag}${i}`, '--network', 'shared'));
    const first = batch('a');
    const second = batch('b');
    expectAllOk(await Promise.all([...first, ...second]));

    const names = cli.run('container', 'ls', '--format', '{{.Names}}').stdout.trim().split('\n').sort();
    expect(names).toHaveLength(20);
    const all = JSON.parse(cli.run('container', 'inspect', ...names).stdout) as ContainerInspect[];
    const addresses = all.map((c) => c.NetworkSettings.Networks.shared!.IPAddress);
    expect(new Set(addresses).size).toBe(20);
    for (const c of all) {
      const ns = c.NetworkSettings.SandboxKey.replace('/run/netns/', '');
      const inKernel = ipj<IpAddr[]>(ns, 'addr', 'show', 'dev', 'eth0').flatMap((a) => a.addr_info.filter((i) => i.family === 'inet').map((i) => i.local));
      expect(inKernel, c.Name).toEqual([c.NetworkSettings.Networks.shared!.IPAddress]);
    }
    const hostVeths = ipj<IpLink[]>(cli.host, 'link', 'show').filter((l) => l.ifname.startsWith('veth'));
    expect(hostVeths).toHaveLength(20);
    const net = JSON.parse(cli.run('network', 'inspect', 'shared').stdout) as { Containers: object }[];
    expect(Object.keys(net[0]!.Containers)).toHaveLength(20);
    expect(() => JSON.parse(readFileSync(join(cli.stateDir, 'store.json'), 'utf8'))).not.toThrow();

    // And all removed at once: nothing left in the host.
    expectAllOk(await Promise.all(names.map((n) => cli.start('container', 'rm', n))));
    expect(cli.run('container', 'ls', '-q').stdout).toBe('');
    expect(ipj<IpLink[]>(cli.host, 'link', 'show').filter((l) => l.ifname.startsWith('veth'))).toEqual([]);
  });

  it('10 concurrent `network create`: 10 distinct subnets and bridges; a name raced twice is taken once', async () => {
    const results = await Promise.all([...Array.from({ length: 10 }, (_, i) => cli.start('network', 'create', `net${i}`)), cli.start('network', 'create', 'twice'), cli.start('network', 'create', 'twice')]);
    expectAllOk(results.slice(0, 10));
    const twice = results.slice(10);
    expect(twice.map((r) => r.status).sort()).toEqual([0, 1]);
    expect(twice.find((r) => r.status === 1)!.stderr).toBe("nlnet: network 'twice': network with name twice already exists\n");
    const nets = JSON.parse(cli.run('network', 'inspect', ...Array.from({ length: 10 }, (_, i) => `net${i}`), 'twice').stdout) as { IPAM: { Config: { Subnet: string }[] } }[];
    expect(new Set(nets.map((n) => n.IPAM.Config[0]!.Subnet)).size).toBe(11);
    expect(ipj<IpLink[]>(cli.host, 'link', 'show').filter((l) => l.ifname.startsWith('br-'))).toHaveLength(11);
  });
});
