// `nlnet container …` and `nlnet port`, run as a user runs them, in a throwaway host namespace
// wired to an `outside` namespace. Oracles: `ip -j` in the host and the sandboxes, the
// namespaces under /run/netns, `nft -j`, and real TCP through published ports.
import { statSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { netns } from '../../../lib/index.js';
import { sandboxNetnsName } from '../../../lib/network/model/sandbox.js';
import { useCli, type CliResult } from '../../helpers/cli.js';
import { UPLINK } from '../../helpers/hostnet.js';
import { nftj, startAddressServer, tcpAsk, useTcpServers } from '../../helpers/nft.js';
import { ipj, isRoot, nsExec, ROOT_SKIP_REASON } from '../../helpers/ns.js';

interface IpLink {
  ifname: string;
  address: string;
  flags: string[];
}
interface IpAddr {
  addr_info: { family: string; local: string; prefixlen: number }[];
}
interface ContainerInspect {
  Id: string;
  Name: string;
  HostConfig: { NetworkMode: string };
  NetworkSettings: { SandboxKey: string; Ports: Record<string, { HostIp: string; HostPort: string }[]>; Networks: Record<string, { IPAddress: string; MacAddress: string; Aliases: string[] }> };
}

describe.skipIf(!isRoot)(`nlnet container (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const cli = useCli('nlcc', { outside: true });
  useTcpServers();

  const ok = (...args: string[]): string => {
    const r = cli.run(...args);
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.status, args.join(' ')).toBe(0);
    return r.stdout;
  };
  const fails = (code: number, ...args: string[]): CliResult => {
    const r = cli.run(...args);
    expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(code);
    expect(r.stderr, args.join(' ')).toMatch(/^nlnet: [^\n]+\n$/);
    return r;
  };
  const inspect = (name: string): ContainerInspect => (JSON.parse(ok('container', 'inspect', name)) as ContainerInspect[])[0]!;
  const nsOf = (name: string): string => inspect(name).NetworkSettings.SandboxKey.replace('/run/netns/', '');
  const links = (ns: string): IpLink[] => ipj<IpLink[]>(ns, 'link', 'show');
  const v4 = (ns: string, dev: string): string[] =>
    ipj<IpAddr[]>(ns, 'addr', 'show', 'dev', dev).flatMap((a) => a.addr_info.filter((i) => i.family === 'inet').map((i) => `${i.local}/${i.prefixlen}`));
  const inode = (path: string): number => statSync(path).ino;

  it('modes: none, host, container:NAME, and the default bridge network made on first use', () => {
    const id = ok('container', 'create', '--name', 'lonely', '--network', 'none').trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(links(nsOf('lonely')).map((l) => [l.ifname, l.flags.includes('UP')])).toEqual([['lo', true]]);

    ok('container', 'create', '--name', 'h', '--network', 'host');
    expect(inspect('h')).toMatchObject({ HostConfig: { NetworkMode: 'host' }, NetworkSettings: { SandboxKey: `/run/netns/${cli.host}`, Networks: {} } });

    ok('container', 'create', '--name', 'b1');
    expect(inspect('b1').HostConfig.NetworkMode).toBe('bridge');
    expect(links(cli.host).map((l) => l.ifname)).toContain('nlnet0');
    ok('container', 'create', '--name', 'side', '--network', 'container:b1');
    expect(inode(inspect('side').NetworkSettings.SandboxKey)).toBe(inode(inspect('b1').NetworkSettings.SandboxKey));
    // Removing the one that owns the namespace is refused while another shares it.
    expect(fails(1, 'container', 'rm', 'b1').stderr).toMatch(/shared by side/);
    expect(ok('container', 'rm', 'side', 'b1', 'h', 'lonely')).toBe('side\nb1\nh\nlonely\n');
    expect(ok('container', 'ls', '-q')).toBe('');
  });

  it('--ip, --mac-address and --alias land on eth0 and in inspect', async () => {
    ok('network', 'create', '--subnet', '10.71.0.0/24', 'front');
    ok('container', 'create', '--name', 'web', '--network', 'front', '--ip', '10.71.0.10', '--mac-address', '02:42:aa:bb:cc:dd', '--alias', 'www', '--network-alias', 'site');
    const ns = nsOf('web');
    expect(v4(ns, 'eth0')).toEqual(['10.71.0.10/24']);
    expect(links(ns).find((l) => l.ifname === 'eth0')?.address).toBe('02:42:aa:bb:cc:dd');
    expect(inspect('web').NetworkSettings.Networks.front).toMatchObject({ IPAddress: '10.71.0.10', MacAddress: '02:42:aa:bb:cc:dd', Aliases: ['www', 'site'] });
    // The other sandbox on the network reaches it.
    ok('container', 'create', '--name', 'peer', '--network', 'front');
    expect(nsExec(nsOf('peer'), 'ping', '-c1', '-W2', '10.71.0.10').status).toBe(0);
    expect(await netns.list()).toContain(ns);
    ok('container', 'rm', 'web');
    expect(await netns.list()).not.toContain(ns);
    expect(links(cli.host).filter((l) => l.ifname.startsWith('veth'))).toHaveLength(1);
  });

  it('-p publishes to the outside (real TCP); -P publishes --expose ports; port and ls show them', async () => {
    ok('network', 'create', '--subnet', '10.72.0.0/24', 'pub');
    ok('container', 'create', '--name', 'srv', '--network', 'pub', '-p', '8080:80', '-p', '127.0.0.1:5353:53/udp');
    await startAddressServer(nsOf('srv'), 80);
    expect(tcpAsk(cli.outside, UPLINK.host, 8080)).toBe(UPLINK.outside);
    expect(ok('port', 'srv')).toBe('80/tcp -> 0.0.0.0:8080\n53/udp -> 127.0.0.1:5353\n');
    expect(ok('port', 'srv', '53/udp')).toBe('127.0.0.1:5353\n');
    expect(fails(1, 'port', 'srv', '81').stderr).toBe("nlnet: published port '81/tcp of srv' not found\n");
    expect(JSON.stringify(nftj(cli.host, 'list', 'table', 'ip', 'nlnet'))).toContain('8080');

    ok('container', 'create', '--name', 'auto', '--network', 'pub', '-P', '--expose', '80', '--expose', '90-91');
    const ports = ok('port', 'auto').trim().split('\n');
    expect(ports.map((l) => l.split(' -> ')[0])).toEqual(['80/tcp', '90/tcp', '91/tcp']);
    const [low, high] = nsExec(cli.host, 'cat', '/proc/sys/net/ipv4/ip_local_port_range').stdout.trim().split(/\s+/).map(Number);
    for (const l of ports) {
      const hostPort = Number(l.split(':').at(-1));
      expect(hostPort).toBeGreaterThanOrEqual(low!);
      expect(hostPort).toBeLessThanOrEqual(high!);
    }
    await startAddressServer(nsOf('auto'), 80);
    expect(tcpAsk(cli.outside, UPLINK.host, Number(ports[0]!.split(':').at(-1)))).toBe(UPLINK.outside);

    const table = ok('container', 'ls').split('\n');
    expect(table[0]).toMatch(/^CONTAINER ID {3}NETWORK {3,}IP ADDRESS {3,}PORTS {3,}CREATED {3,}NAMES$/);
    expect(table.find((l) => l.endsWith(' srv'))).toContain('0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp');
    const lines = ok('container', 'ls', '--format', 'json').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines.map((l) => l.Names).sort()).toEqual(['auto', 'srv']);
    expect(ok('container', 'ls', '--format', '{{.Names}} {{.IPAddresses}}').trim().split('\n').sort()).toEqual(['auto 10.72.0.3', 'srv 10.72.0.2']);
    const srvId = inspect('srv').Id;
    expect(ok('container', 'ls', '-q', '--no-trunc').split('\n')).toContain(srvId);
    // A container can be named by a unique prefix of its id.
    expect(inspect(srvId.slice(0, 10)).Name).toBe('/srv');
  });

  it('every error: one line, a non-zero exit, and nothing changed', async () => {
    ok('network', 'create', '--subnet', '10.73.0.0/24', 'n1');
    ok('container', 'create', '--name', 'c1', '--network', 'n1', '-p', '8080:80');
    const state = async () => ({ links: links(cli.host).map(({ ifname, address }) => ({ ifname, address })), netns: (await netns.list()).filter((n) => n.startsWith(sandboxNetnsName(cli.host, ''))), sandboxes: ok('container', 'inspect', 'c1'), nets: ok('network', 'inspect', 'n1'), nft: nftj(cli.host, 'list', 'table', 'ip', 'nlnet') });
    const before = await state();
    const cases: [number, string[], RegExp][] = [
      [1, ['container', 'create', '--name', 'c1', '--network', 'n1'], /^nlnet: sandbox 'c1': the container name c1 is already in use$/],
      [1, ['container', 'create', '--name', 'x', '--network', 'nope'], /^nlnet: network 'nope' not found$/],
      [1, ['container', 'create', '--name', 'x', '--network', 'n1', '--ip', '10.74.0.5'], /^nlnet: --ip: /],
      [1, ['container', 'create', '--name', 'x', '--network', 'n1', '--ip', '10.73.0.2'], /10\.73\.0\.2/],
      [1, ['container', 'create', '--name', 'x', '--network', 'n1', '--mac-address', '03:00:00:00:00:01'], /^nlnet: --mac-address: /],
      [1, ['container', 'create', '--name', 'x', '--network', 'n1', '--alias', '-bad-'], /^nlnet: --alias: /],
      [1, ['container', 'create', '--name', 'x', '--network', 'n1', '-p', '8080:81'], /8080/],
      [1, ['container', 'create', '--name', 'x', '--network', 'n1', '-p', 'eighty'], /^nlnet: --publish: |^nlnet: publish/],
      [1, ['container', 'create', '--name', 'x', '--network', 'container:nope'], /^nlnet: sandbox 'nope' not found$/],
      [1, ['container', 'create', '--name', 'x', '--network', 'container:c1', '-p', '80'], /^nlnet: --publish: conflicting options/],
      [1, ['container', 'create', '--name', 'x', '--network', 'none', '--ip', '10.73.0.9'], /^nlnet: --ip: a static address needs a network/],
      [1, ['container', 'create', '--name', 'bad name'], /^nlnet: name: /],
      [2, ['container', 'create', '--name', 'x', '--bogus'], /^nlnet: unknown flag: --bogus$/],
      [1, ['container', 'rm', 'nope'], /^nlnet: sandbox 'nope' not found$/],
      [1, ['container', 'inspect', 'nope'], /^nlnet: sandbox 'nope' not found$/],
      [1, ['port', 'nope'], /^nlnet: sandbox 'nope' not found$/],
    ];
    for (const [code, args, line] of cases) expect(fails(code, ...args).stderr.trimEnd(), args.join(' ')).toMatch(line);
    expect(await state()).toEqual(before);
    // inspect of several names prints what it found and one line per missing name.
    const mixed = cli.run('container', 'inspect', 'c1', 'nope');
    expect(mixed.status).toBe(1);
    expect((JSON.parse(mixed.stdout) as ContainerInspect[]).map((c) => c.Name)).toEqual(['/c1']);
    expect(mixed.stderr).toBe("nlnet: sandbox 'nope' not found\n");
  });
});
