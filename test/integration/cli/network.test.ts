// `nlnet network …` run as a user runs it (node bin/nlnet.js, needs dist/), in a throwaway host
// namespace and state directory. Oracles: `ip -j` and `nft -j` in the host namespace, the
// sandboxes' own links, and each command's output in docker's shapes.
import { describe, expect, it } from 'vitest';

import { useCli, type CliResult } from '../../helpers/cli.js';
import { nftj } from '../../helpers/nft.js';
import { ipj, isRoot, ROOT_SKIP_REASON } from '../../helpers/ns.js';

interface IpLink {
  ifname: string;
  mtu: number;
  master?: string;
  address: string;
}
interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}
interface Inspect {
  Name: string;
  Id: string;
  Driver: string;
  Internal: boolean;
  IPAM: { Config: { Subnet: string; Gateway: string; IPRange?: string }[] };
  Options: Record<string, string>;
  Labels: Record<string, string>;
  Containers: Record<string, { Name: string; IPv4Address: string; IPv6Address: string; MacAddress: string }>;
}

describe.skipIf(!isRoot)(`nlnet network (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const cli = useCli('nlcn');

  const ok = (...args: string[]): string => {
    const r = cli.run(...args);
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.status, args.join(' ')).toBe(0);
    return r.stdout;
  };
  /** A failure: exactly one `nlnet: …` line on stderr and the exit code. */
  const fails = (code: number, ...args: string[]): CliResult => {
    const r = cli.run(...args);
    expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(code);
    expect(r.stderr, args.join(' ')).toMatch(/^nlnet: [^\n]+\n$/);
    return r;
  };
  const inspect = (...names: string[]): Inspect[] => JSON.parse(ok('network', 'inspect', ...names)) as Inspect[];
  const links = (ns: string): IpLink[] => ipj<IpLink[]>(ns, 'link', 'show');
  const v4 = (ns: string, dev: string): string[] =>
    ipj<IpAddr[]>(ns, 'addr', 'show', 'dev', dev).flatMap((a) => a.addr_info.filter((i) => i.family === 'inet').map((i) => `${i.local}/${i.prefixlen}`));
  const setElements = (name: string): string[] => {
    const set = nftj(cli.host, 'list', 'set', 'ip', 'nlnet', name).sets[0];
    return ((set?.elem ?? []) as unknown[]).map((e) => (typeof e === 'string' ? e : JSON.stringify(e)));
  };

  it('create with every flag: the bridge, its gateway and MTU in `ip -j`, internal in `nft -j`, all in inspect', () => {
    const id = ok('network', 'create', '-d', 'bridge', '--subnet', '10.61.0.0/24', '--gateway', '10.61.0.254', '--ip-range', '10.61.0.128/25', '--internal', '--label', 'team=net', '--label', 'empty', '-o', 'com.docker.network.bridge.enable_icc=false', '--mtu', '1400', 'n1').trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const bridge = `br-${id.slice(0, 12)}`;
    const br = links(cli.host).find((l) => l.ifname === bridge);
    expect(br?.mtu).toBe(1400);
    expect(v4(cli.host, bridge)).toEqual(['10.61.0.254/24']);
    expect(setElements('internal')).toContain(bridge);
    const [n] = inspect('n1');
    expect(n).toMatchObject({
      Name: 'n1',
      Id: id,
      Driver: 'bridge',
      Internal: true,
      IPAM: { Config: [{ Subnet: '10.61.0.0/24', Gateway: '10.61.0.254', IPRange: '10.61.0.128/25' }] },
      Labels: { team: 'net', empty: '' },
      Options: { 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.driver.mtu': '1400' },
    });
    // The ip range is where sandboxes get their addresses.
    ok('container', 'create', '--name', 'c1', '--network', 'n1');
    expect(Object.values(inspect('n1')[0]!.Containers)[0]!.IPv4Address).toBe('10.61.0.128/24');
  });

  it('create with defaults takes the next free pool; ls as a table, json, -q and a template', () => {
    const a = ok('network', 'create', 'alpha').trim();
    const b = ok('network', 'create', 'beta').trim();
    const [na, nb] = inspect('alpha', 'beta');
    expect(na!.IPAM.Config[0]!.Subnet).not.toBe(nb!.IPAM.Config[0]!.Subnet);
    expect(links(cli.host).map((l) => l.ifname)).toEqual(expect.arrayContaining([`br-${a.slice(0, 12)}`, `br-${b.slice(0, 12)}`]));

    expect(ok('network', 'ls')).toBe(`NETWORK ID     NAME      DRIVER    SCOPE\n${a.slice(0, 12)}   alpha     bridge    local\n${b.slice(0, 12)}   beta      bridge    local\n`);
    const lines = ok('network', 'ls', '--format', 'json').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines.map((l) => [l.Name, l.ID, l.Driver, l.Scope, l.Internal, l.IPv6])).toEqual([
      ['alpha', a.slice(0, 12), 'bridge', 'local', 'false', 'false'],
      ['beta', b.slice(0, 12), 'bridge', 'local', 'false', 'false'],
    ]);
    expect(ok('network', 'ls', '-q')).toBe(`${a.slice(0, 12)}\n${b.slice(0, 12)}\n`);
    expect(ok('network', 'ls', '-q', '--no-trunc')).toBe(`${a}\n${b}\n`);
    expect(ok('network', 'list', '--format', '{{.Name}}:{{.Driver}}')).toBe('alpha:bridge\nbeta:bridge\n');
    // inspect takes names, full ids and unique id prefixes, and templates.
    expect(inspect(b, a.slice(0, 8)).map((n) => n.Name)).toEqual(['beta', 'alpha']);
    expect(ok('network', 'inspect', '-f', '{{.Name}} {{json .IPAM.Config}}', 'alpha')).toBe(`alpha ${JSON.stringify(na!.IPAM.Config)}\n`);
  });

  it('--ipv6: the bridge gets the IPv6 gateway, sandboxes an IPv6 address (--ip6 too), inspect shows both', () => {
    const id = ok('network', 'create', '--ipv6', '--subnet', '10.60.0.0/24', '--subnet', 'fd00:60::/64', '--gateway', 'fd00:60::1', 'six').trim();
    const bridge = `br-${id.slice(0, 12)}`;
    const v6 = (ns: string, dev: string): string[] =>
      ipj<IpAddr[]>(ns, '-6', 'addr', 'show', 'dev', dev, 'scope', 'global').flatMap((a) => a.addr_info.filter((i) => i.local !== undefined).map((i) => `${i.local}/${i.prefixlen}`));
    expect(v6(cli.host, bridge)).toEqual(['fd00:60::1/64']);
    ok('container', 'create', '--name', 'c6', '--network', 'six', '--ip6', 'fd00:60::50');
    const ns = (JSON.parse(ok('container', 'inspect', 'c6')) as { NetworkSettings: { SandboxKey: string } }[])[0]!.NetworkSettings.SandboxKey.replace('/run/netns/', '');
    expect(v6(ns, 'eth0')).toEqual(['fd00:60::50/64']);
    const [n] = inspect('six');
    expect(n!.IPAM.Config).toEqual([{ Subnet: '10.60.0.0/24', Gateway: '10.60.0.1' }, { Subnet: 'fd00:60::/64', Gateway: 'fd00:60::1' }]);
    expect(Object.values(n!.Containers)[0]).toMatchObject({ IPv6Address: 'fd00:60::50/64' });
    expect(JSON.parse(ok('network', 'ls', '--format', 'json')) as { IPv6: string }).toMatchObject({ IPv6: 'true' });
  });

  it('connect with --ip and --alias adds eth1 to the sandbox; disconnect takes it away', () => {
    ok('network', 'create', '--subnet', '10.62.0.0/24', 'one');
    ok('network', 'create', '--subnet', '10.63.0.0/24', 'two');
    ok('container', 'create', '--name', 'c1', '--network', 'one');
    const ns = (JSON.parse(ok('container', 'inspect', 'c1')) as { NetworkSettings: { SandboxKey: string } }[])[0]!.NetworkSettings.SandboxKey.replace('/run/netns/', '');
    expect(ok('network', 'connect', '--ip', '10.63.0.50', '--alias', 'db', '--alias', 'db2', 'two', 'c1')).toBe('');
    expect(v4(ns, 'eth1')).toEqual(['10.63.0.50/24']);
    const c = Object.values(inspect('two')[0]!.Containers);
    expect(c).toEqual([expect.objectContaining({ Name: 'c1', IPv4Address: '10.63.0.50/24' })]);
    const settings = (JSON.parse(ok('container', 'inspect', 'c1')) as { NetworkSettings: { Networks: Record<string, { Aliases: string[] }> } }[])[0]!.NetworkSettings;
    expect(settings.Networks.two!.Aliases).toEqual(['db', 'db2']);

    expect(ok('network', 'disconnect', 'two', 'c1')).toBe('');
    expect(links(ns).map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
    expect(inspect('two')[0]!.Containers).toEqual({});
  });

  it('rm removes by name or id and prints what it was given; a busy network stays', () => {
    const a = ok('network', 'create', 'ra').trim();
    ok('network', 'create', 'rb');
    ok('network', 'create', 'busy');
    ok('container', 'create', '--name', 'c1', '--network', 'busy');
    expect(ok('network', 'rm', a.slice(0, 12), 'rb')).toBe(`${a.slice(0, 12)}\nrb\n`);
    expect(links(cli.host).some((l) => l.ifname === `br-${a.slice(0, 12)}`)).toBe(false);
    const r = fails(1, 'network', 'remove', 'busy');
    expect(r.stderr).toBe("nlnet: network 'busy': error while removing network: network busy has active endpoints (c1)\n");
    expect(ok('network', 'ls', '--format', '{{.Name}}')).toBe('busy\n');
    // Several names: each failure has its line, the others are still removed.
    ok('network', 'create', 'rc');
    const several = cli.run('network', 'rm', 'nope', 'rc');
    expect(several).toMatchObject({ status: 1, stdout: 'rc\n', stderr: "nlnet: network 'nope' not found\n" });
  });

  it('prune removes every unused network but "bridge"; without -f it asks first', () => {
    ok('network', 'create', 'p1');
    ok('network', 'create', 'p2');
    ok('network', 'create', 'used');
    ok('container', 'create', '--name', 'c1', '--network', 'used');
    ok('container', 'create', '--name', 'c2');
    const asked = cli.runInput('n\n', 'network', 'prune');
    expect(asked).toMatchObject({ status: 0, stdout: '' });
    expect(asked.stderr).toContain('Are you sure you want to continue? [y/N]');
    expect(ok('network', 'ls', '--format', '{{.Name}}')).toBe('bridge\np1\np2\nused\n');
    expect(cli.runInput('y\n', 'network', 'prune')).toMatchObject({ status: 0, stdout: 'Deleted Networks:\np1\np2\n' });
    expect(ok('network', 'ls', '--format', '{{.Name}}')).toBe('bridge\nused\n');
    expect(ok('network', 'prune', '-f')).toBe('');
  });

  it('every error: one line, a non-zero exit, and nothing changed (ls, ip -j link, nft -j)', () => {
    ok('network', 'create', '--subnet', '10.64.0.0/24', 'n1');
    ok('container', 'create', '--name', 'c1', '--network', 'n1');
    // Links by name, address, MTU and master: operstate may still move (a bridge's carrier).
    const state = () => ({
      nets: ok('network', 'ls', '--format', 'json'),
      links: links(cli.host).map(({ ifname, address, mtu, master }) => ({ ifname, address, mtu, master })),
      nft: nftj(cli.host, 'list', 'table', 'ip', 'nlnet'),
      sandboxes: ok('container', 'inspect', 'c1'),
    });
    const before = state();
    const cases: [number, string[], RegExp][] = [
      [1, ['network', 'create', 'n1'], /^nlnet: network 'n1': network with name n1 already exists$/],
      [1, ['network', 'create', '--subnet', '10.64.0.0/33', 'x'], /^nlnet: --subnet: /],
      [1, ['network', 'create', '--subnet', '10.64.0.0/25', 'x'], /overlap/],
      [1, ['network', 'create', '--subnet', '10.65.0.0/24', '--gateway', '10.66.0.1', 'x'], /^nlnet: --gateway: /],
      [1, ['network', 'create', '--subnet', '10.65.0.0/24', '--ip-range', '10.66.0.0/25', 'x'], /^nlnet: --ip-range: /],
      [1, ['network', 'create', '-d', 'overlay', 'x'], /^nlnet: --driver: /],
      [1, ['network', 'create', '--mtu', '20', 'x'], /^nlnet: --opt com.docker.network.driver.mtu: /],
      [1, ['network', 'create', 'bad/name'], /^nlnet: name: /],
      [1, ['network', 'create', '--subnet', 'fd00:9::/64', 'x'], /^nlnet: --subnet: an IPv6 subnet or gateway needs --ipv6/],
      [2, ['network', 'create', '--subnet'], /^nlnet: flag needs an argument: --subnet$/],
      [2, ['network', 'create', '--frob', 'x'], /^nlnet: unknown flag: --frob$/],
      [1, ['network', 'rm', 'nope'], /^nlnet: network 'nope' not found$/],
      [1, ['network', 'inspect', 'nope'], /^nlnet: network 'nope' not found$/],
      [1, ['network', 'connect', 'nope', 'c1'], /^nlnet: network 'nope' not found$/],
      [1, ['network', 'connect', 'n1', 'nope'], /^nlnet: sandbox 'nope' not found$/],
      [1, ['network', 'connect', 'n1', 'c1'], /already exists in network n1/],
      [1, ['network', 'connect', '--ip', '10.99.9.9', 'n1', 'c2'], /not found|--ip/],
      [1, ['network', 'connect', '--alias', 'bad alias', 'bridge', 'c1'], /^nlnet: --alias: /],
      [1, ['network', 'disconnect', 'bridge', 'c1'], /not found/],
      [1, ['--host-netns', 'no-such-ns', 'network', 'ls'], /^nlnet: network namespace 'no-such-ns' not found$/],
      [2, ['network', 'ls', '--format', '{{range .}}'], /^nlnet: --format: only/],
    ];
    for (const [code, args, line] of cases) expect(fails(code, ...args).stderr.trimEnd(), args.join(' ')).toMatch(line);
    expect(state()).toEqual(before);
  });
});
