// The CLI fed what a careless or hostile user types: one table of bad inputs across every command
// and flag, run one by one against one realistic state (a user network with a published port, a
// container on the default bridge, one on `none`, one sharing another's namespace). Each must
// exit 1 (refused) or 2 (bad command line; exec/run: the 125 and 127 the README documents) with
// exactly one short, printable `nlnet: …` line on stderr, and change nothing: the host namespace
// (`ip -j`, `nft list ruleset`), the sandboxes' namespaces and their /etc/netns files, and the
// store as nlnet itself lists it. A case that changes the state fails alone: the next ones
// compare with what it left.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Output } from '../../../lib/cli/command.js';
import { main } from '../../../lib/cli/main.js';
import { netns } from '../../../lib/index.js';
import { NETNS_MARKS } from '../../../lib/network/owner.js';
import { sandboxNetnsName } from '../../../lib/network/model/sandbox.js';
import { nlnetRaw, type CliResult } from '../../helpers/cli.js';
import { removeEngineLeftovers } from '../../helpers/engine.js';
import { nft } from '../../helpers/nft.js';
import { ipj, isRoot, ROOT_SKIP_REASON, unique } from '../../helpers/ns.js';

interface Case {
  args: string[];
  /** 1: refused; 2: bad command line; exec/run: 125 and 127 as the README documents. */
  code: number;
  /** What the one stderr line must say. */
  stderr: RegExp;
  /** What it must not say, where a message was once unclear. */
  not?: RegExp;
  /** The command prints what it found before failing on the rest (`inspect A MISSING`). */
  stdout?: boolean;
}

/**
 * Linux refuses an argv string of 128 KiB or more (MAX_ARG_STRLEN, E2BIG), so a 1 MB input
 * is eight of these.
 */
const HUGE = 128 * 1024 - 1;
const huge = (c: string): string => c.repeat(HUGE);

// The fixture (made once, in beforeAll): network `front` 10.97.0.0/24 with `web` (10.97.0.2,
// 02:42:0a:61:00:02, -p 18097:80, alias www); `dflt` on the default `bridge`; `lonely` on `none`;
// `side` in web's namespace (--network container:web).
const CASES: Case[] = [
  // ---- names ----------------------------------------------------------------------------
  { args: ['network', 'create', ''], code: 1, stderr: /^nlnet: name: expected \[a-zA-Z0-9\]/ },
  { args: ['network', 'create', 'n'.repeat(129)], code: 1, stderr: /at most 128 characters/ },
  { args: ['network', 'create', 'a/b'], code: 1, stderr: /name: .*\(got "a\/b"\)/ },
  { args: ['network', 'create', 'réseau'], code: 1, stderr: /name: .*\(got "réseau"\)/ },
  { args: ['network', 'create', 'front'], code: 1, stderr: /network with name front already exists/ },
  { args: ['container', 'create', '--name', 'web'], code: 1, stderr: /the container name web is already in use/ },
  // ---- network create: subnets, gateways, ranges -------------------------------------------
  { args: ['network', 'create', '--subnet', '10.98.0.1/24', 'n-hostbits'], code: 1, stderr: /--subnet: the address has host bits set; did you mean 10\.98\.0\.0\/24\?/ },
  { args: ['network', 'create', '--subnet', '10.98.0.0/33', 'n-33'], code: 1, stderr: /--subnet: the prefix length must be 0 to 32/ },
  { args: ['network', 'create', '--subnet', 'garbage', 'n-garbage'], code: 1, stderr: /--subnet: expected a subnet in CIDR form/ },
  { args: ['network', 'create', '--subnet', 'fd00:1::/64', 'n-v6'], code: 1, stderr: /--subnet: an IPv6 subnet or gateway needs --ipv6/ },
  { args: ['network', 'create', '--subnet', '10.97.0.128/25', 'n-overlap'], code: 1, stderr: /network 'front': subnet 10\.97\.0\.128\/25 overlaps with its subnet 10\.97\.0\.0\/24/ },
  { args: ['network', 'create', '--subnet', '10.98.0.0/24', '--gateway', '10.99.0.1', 'n-gw-out'], code: 1, stderr: /--gateway: must be inside the subnet 10\.98\.0\.0\/24/ },
  { args: ['network', 'create', '--subnet', '10.98.0.0/24', '--gateway', '10.98.0.1', '--gateway', '10.98.0.2', 'n-gw-two'], code: 2, stderr: /--gateway given twice for IPv4 .*one gateway per family/ },
  { args: ['network', 'create', '--subnet', '10.98.0.0/24', '--ip-range', '10.99.0.0/25', 'n-range-out'], code: 1, stderr: /--ip-range: must be inside the subnet 10\.98\.0\.0\/24/ },
  { args: ['network', 'create', '--ipv6', '--subnet', 'fd00:1::1/64', 'n6-hostbits'], code: 1, stderr: /--subnet: the address has host bits set; did you mean fd00:1::\/64\?/ },
  // A multicast prefix is no subnet for a bridge: today the kernel refuses the IPv6 gateway
  // (`addr.add: … IFA_F_MCAUTOJOIN`), and 224/4 is accepted (Docker accepts it too, and its
  // containers then fail: moby/moby#42709).
  { args: ['network', 'create', '--ipv6', '--subnet', 'ff02::/64', 'n6-multicast'], code: 1, stderr: /--subnet: .*multicast/ },
  { args: ['network', 'create', '--subnet', '224.0.0.0/24', 'n-multicast'], code: 1, stderr: /--subnet: .*multicast/ },
  // ---- network create: MTU, options, drivers ------------------------------------------------
  { args: ['network', 'create', '--mtu', '0', 'n-mtu0'], code: 1, stderr: /--opt com\.docker\.network\.driver\.mtu: expected an MTU from 68 to 65535 \(got "0"\)/ },
  { args: ['network', 'create', '--mtu', '67', 'n-mtu67'], code: 1, stderr: /expected an MTU from 68 to 65535 \(got "67"\)/ },
  { args: ['network', 'create', '--mtu', '70000', 'n-mtu70000'], code: 1, stderr: /expected an MTU from 68 to 65535 \(got "70000"\)/ },
  { args: ['network', 'create', '--mtu', 'abc', 'n-mtuabc'], code: 2, stderr: /invalid argument "abc" for "--mtu" flag: expected a number/ },
  { args: ['network', 'create', '-o', '=x', 'n-opt'], code: 2, stderr: /invalid argument "=x" for "--opt" flag: expected KEY=VALUE/ },
  { args: ['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=maybe', 'n-icc'], code: 1, stderr: /enable_icc: expected true or false \(got "maybe"\)/ },
  { args: ['network', 'create', '-d', 'overlay', 'n-overlay'], code: 1, stderr: /--driver: overlay networks need a cluster store \(--cluster-store etcd:\/\/HOST:2379\) \(got "overlay"\)/ },
  { args: ['network', 'create', '-d', 'vxlan', 'n-vxlan'], code: 1, stderr: /--driver: expected 'bridge', 'macvlan', 'ipvlan' or 'overlay' \(got "vxlan"\)/ },
  { args: ['network', 'create', '-d', 'macvlan', 'n-mv-noparent'], code: 1, stderr: /--opt parent: the macvlan driver needs -o parent=INTERFACE/ },
  { args: ['network', 'create', '-d', 'macvlan', '-o', 'parent=nosuch0', 'n-mv-missing'], code: 1, stderr: /parent interface 'nosuch0' not found/ },
  // `host` and `none` are modes that `--network` already means: Docker refuses these names.
  { args: ['network', 'create', 'host'], code: 1, stderr: /\bhost\b.*(already exists|reserved|pre-?defined)/ },
  { args: ['network', 'create', 'none'], code: 1, stderr: /\bnone\b.*(already exists|reserved|pre-?defined)/ },
  // ---- container create: modes and published ports ------------------------------------------
  { args: ['container', 'create'], code: 2, stderr: /"container create" requires --name NAME/ },
  { args: ['container', 'create', '--name', 'c-nonet', '--network', 'nosuch'], code: 1, stderr: /network 'nosuch' not found/ },
  { args: ['container', 'create', '--name', 'c-nojoin', '--network', 'container:nosuch'], code: 1, stderr: /sandbox 'nosuch' not found/ },
  { args: ['container', 'create', '--name', 'c-join-P', '--network', 'container:lonely', '-P', '--expose', '80'], code: 1, stderr: /conflicting options: port publishing and the container type network mode/, not: /\(got \[\]\)/ },
  { args: ['container', 'create', '--name', 'c-p0', '--network', 'front', '-p', '0:80'], code: 1, stderr: /--publish: the host port 0 is out of range: ports are 1 to 65535/ },
  { args: ['container', 'create', '--name', 'c-prange', '--network', 'front', '-p', '8000-8002:80-81'], code: 1, stderr: /--publish: the host range 8000-8002 and the container range 80-81 must have the same length/ },
  { args: ['container', 'create', '--name', 'c-preverse', '--network', 'front', '-p', '8002-8000:80-82'], code: 1, stderr: /--publish: the host port range 8002-8000 ends before it starts/ },
  { args: ['container', 'create', '--name', 'c-sctp', '--network', 'front', '-p', '8080:80/sctp'], code: 1, stderr: /--publish: the protocol 'sctp' is not supported: use tcp or udp/ },
  { args: ['container', 'create', '--name', 'c-p6', '--network', 'front', '-p', '[::1]:8080:80'], code: 1, stderr: /--publish: an IPv6 host address needs a network with IPv6; front has none/ },
  { args: ['container', 'create', '--name', 'c-ptaken', '--network', 'front', '-p', '18097:80'], code: 1, stderr: /Bind for 0\.0\.0\.0:18097 failed: port is already allocated/ },
  { args: ['container', 'create', '--name', 'c-ptaken-range', '-p', '18090-18099:80-89'], code: 1, stderr: /Bind for 0\.0\.0\.0:18097 failed: port is already allocated/ },
  // ---- container create: addresses, MACs, aliases --------------------------------------------
  { args: ['container', 'create', '--name', 'c-ip-out', '--network', 'front', '--ip', '10.98.0.5'], code: 1, stderr: /--ip: must be inside the subnet 10\.97\.0\.0\/24/ },
  { args: ['container', 'create', '--name', 'c-ip-gw', '--network', 'front', '--ip', '10.97.0.1'], code: 1, stderr: /10\.97\.0\.1.*is the gateway of 10\.97\.0\.0\/24/ },
  { args: ['container', 'create', '--name', 'c-ip-taken', '--network', 'front', '--ip', '10.97.0.2'], code: 1, stderr: /10\.97\.0\.2.*Address already in use/ },
  { args: ['container', 'create', '--name', 'c-ip-v6', '--network', 'front', '--ip', 'fd00::5'], code: 1, stderr: /--ip: expected an IPv4 address \(got "fd00::5"\)/ },
  { args: ['container', 'create', '--name', 'c-ip6', '--network', 'front', '--ip6', 'fd00::5'], code: 1, stderr: /network front has no IPv6: --ip6 needs a network made with --ipv6/ },
  { args: ['container', 'create', '--name', 'c-mac-mcast', '--network', 'front', '--mac-address', '01:00:5e:00:00:01'], code: 1, stderr: /--mac-address: expected a unicast MAC address/ },
  { args: ['container', 'create', '--name', 'c-mac-short', '--network', 'front', '--mac-address', '02:42:0a'], code: 1, stderr: /--mac-address: expected a MAC address such as 02:42:ac:11:00:02/ },
  { args: ['container', 'create', '--name', 'c-mac-taken', '--network', 'front', '--mac-address', '02:42:0a:61:00:02'], code: 1, stderr: /MAC address 02:42:0a:61:00:02 is already in use on network front \(by web\)/ },
  // The kernel refuses an all-zero MAC; nlnet passes it on and prints `link.add: Cannot assign…`.
  { args: ['container', 'create', '--name', 'c-mac-zero', '--network', 'front', '--mac-address', '00:00:00:00:00:00'], code: 1, stderr: /^nlnet: --mac-address: / },
  { args: ['container', 'create', '--name', 'c-alias-bad', '--network', 'front', '--alias', '-bad'], code: 1, stderr: /--alias: expected a DNS name/ },
  // ---- network connect / disconnect / rm / inspect / ls ---------------------------------------
  { args: ['network', 'connect', 'front', 'web'], code: 1, stderr: /endpoint with name web already exists in network front/ },
  { args: ['network', 'connect', 'nosuch', 'dflt'], code: 1, stderr: /network 'nosuch' not found/ },
  { args: ['network', 'connect', 'front', 'lonely'], code: 1, stderr: /a sandbox in network mode none cannot be connected to networks/ },
  { args: ['network', 'connect', '--ip', '10.97.0.2', 'front', 'dflt'], code: 1, stderr: /10\.97\.0\.2.*Address already in use/ },
  { args: ['network', 'connect', '--alias', 'bad alias', 'front', 'dflt'], code: 1, stderr: /--alias: expected a DNS name.*\(got "bad alias"\)/ },
  { args: ['network', 'disconnect', 'front', 'dflt'], code: 1, stderr: /endpoint 'dflt on front' not found/ },
  { args: ['network', 'disconnect', 'front', 'web', 'dflt'], code: 2, stderr: /"network disconnect" accepts at most 2 arguments .*got: dflt/ },
  { args: ['network', 'rm', 'bridge'], code: 1, stderr: /bridge is a pre-defined network and cannot be removed/ },
  { args: ['network', 'rm', 'front'], code: 1, stderr: /network front has active endpoints \(web\)/ },
  { args: ['network', 'rm', 'front', '--bogus'], code: 2, stderr: /unknown flag: --bogus/ },
  { args: ['network', 'rm'], code: 2, stderr: /"network rm" requires at least 1 argument/ },
  { args: ['network', 'inspect', 'front', 'nosuch'], code: 1, stderr: /network 'nosuch' not found/, stdout: true },
  { args: ['network', 'inspect', '-f', '{{.Nope}}', 'front'], code: 1, stderr: /template: executing "\{\{\.Nope\}\}" at <\.Nope>: can't evaluate field Nope/ },
  { args: ['network', 'inspect', '-f', '{{.Name}', 'front'], code: 2, stderr: /--format: only \{\{\.Field\}\}, \{\{\.A\.B\}\} and \{\{json \.Field\}\} are supported/ },
  // ---- containers: rm, inspect, ls, port ------------------------------------------------------
  { args: ['container', 'rm', 'web'], code: 1, stderr: /sandbox 'web': its namespace is shared by side/ },
  { args: ['container', 'rm', '--bogus', 'dflt'], code: 2, stderr: /unknown flag: --bogus/ },
  { args: ['port', 'nosuch'], code: 1, stderr: /sandbox 'nosuch' not found/ },
  { args: ['port', 'web', '70000'], code: 2, stderr: /invalid port "70000"/ },
  // ---- exec and run ---------------------------------------------------------------------------
  { args: ['exec', 'nosuch', '--', 'true'], code: 1, stderr: /sandbox 'nosuch' not found/ },
  { args: ['exec', '--', 'web', 'true'], code: 2, stderr: /"exec" requires exactly 1 argument \(CONTAINER\)/ },
  { args: ['exec', 'web', '--', '/nonexistent/cmd'], code: 127, stderr: /execve \/nonexistent\/cmd: No such file or directory/ },
  { args: ['run', '--name', 'web', '--', 'true'], code: 1, stderr: /the container name web is already in use/ },
  { args: ['run', '--network', 'front', '-p', '18097:80', '--', 'true'], code: 1, stderr: /port is already allocated/ },
  // The sandbox `run` made for a command that cannot start is removed all the same.
  { args: ['run', '--name', 'r-wd', '--network', 'front', '-p', '18099:80', '-w', '/nonexistent/dir', '--', 'true'], code: 125, stderr: /chdir \/nonexistent\/dir: No such file or directory/ },
  // ---- global flags, unknown commands, `--` ---------------------------------------------------
  { args: ['--host-netns', 'nosuchns', 'container', 'create', '--name', 'g-nons'], code: 1, stderr: /network namespace 'nosuchns' not found/ },
  { args: ['--host-netns', '../../etc', 'network', 'rm', 'front'], code: 1, stderr: /--host-netns: namespace names are .* without '\/'/ },
  // A read-only command checks only that /run/netns/NAME exists: `../../etc` does.
  { args: ['--host-netns', '../../etc', 'network', 'ls'], code: 1, stderr: /--host-netns: / },
  { args: ['--state-dir', '/proc/version', 'container', 'create', '--name', 'g-file'], code: 1, stderr: /the state directory \/proc\/version is not a directory/ },
  { args: ['--bogus', 'network', 'ls'], code: 2, stderr: /unknown flag: --bogus/ },
  { args: ['netwrok', 'ls'], code: 2, stderr: /unknown command "netwrok" for "nlnet"/ },
  { args: ['network', 'rm', '--', '-x'], code: 1, stderr: /name: .*\(got "-x"\)/ },
  // ---- odd characters and huge inputs ---------------------------------------------------------
  { args: ['network', 'inspect', 'a\u001b[31mred'], code: 1, stderr: /name: .*\(got "a\\u001b\[31mred"\)/ },
  { args: ['container', 'rm', '\u202eevil'], code: 1, stderr: /name: .*\(got "\\u202eevil"\)/ },
  { args: ['network', 'create', '--x\ry', 'o-flag'], code: 2, stderr: /unknown flag: --x\\ry/ },
  { args: ['x\u001b[2Jy'], code: 2, stderr: /unknown command "x\\u001b\[2Jy"/ },
  // A name the engine does not check before it builds a store key: `key: must be a non-empty path…`.
  { args: ['container', 'create', '--name', 'o-net', '--network', 'a\u001bb'], code: 1, stderr: /--network: /, not: /\bkey\b/ },
  { args: ['network', 'create', huge('x')], code: 1, stderr: /name: .*at most 128 characters \(got "x{63}…\[131074 characters\]\n$/ },
  { args: ['container', 'create', '--name', 'h-alias', '--network', 'front', ...Array.from({ length: 8 }, () => ['--alias', huge('a')]).flat()], code: 1, stderr: /--alias: expected a DNS name/ },
  // 131071 digits: today "the container port Infinity is out of range".
  { args: ['container', 'create', '--name', 'h-port', '--network', 'front', '-p', huge('1')], code: 1, stderr: /--publish: / },
];

describe.skipIf(!isRoot)(`nlnet: ${CASES.length} bad inputs change nothing (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  let host = '';
  let stateDir = '';
  /** The fixture's networks, inspected in every snapshot (a new one shows in `network ls`). */
  const networks = ['bridge', 'front'];
  let baseline: Record<string, unknown> = {};
  const argv = (...args: string[]): string[] => ['--host-netns', host, '--state-dir', stateDir, ...args];
  const run = (...args: string[]): CliResult => nlnetRaw(argv(...args));
  const ok = (...args: string[]): string => {
    const r = run(...args);
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.status, args.join(' ')).toBe(0);
    return r.stdout;
  };

  /**
   * A read for the snapshot through the CLI's own main() in this process (what `nlnet` prints,
   * without starting a process each time): its output, or its failure as text for the diff.
   */
  const read = async (...args: string[]): Promise<string> => {
    let out = '';
    let err = '';
    const io: Output = { out: (t) => void (out += t), err: (t) => void (err += t), prompt: async () => '' };
    const code = await main(argv(...args), io);
    return code === 0 && err === '' ? out : `exit ${code}: ${err}`;
  };
  const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');
  const files = (dir: string, prefix: string): string[] => {
    try {
      return readdirSync(dir).filter((n) => n.startsWith(prefix)).sort();
    } catch {
      return [];
    }
  };
  const kernel = (ns: string): { addrs: unknown[]; routes: unknown[] } => ({ addrs: ipj<unknown[]>(ns, 'addr', 'show'), routes: ipj(ns, 'route', 'show', 'table', 'all') });

  /**
   * Everything a bad input must not change: the host namespace's links, addresses, routes and
   * ruleset; the sandboxes' namespaces, their links, addresses and routes, /etc/netns files and
   * ownership marks; and the store as `nlnet` lists it.
   */
  const snapshot = async (): Promise<Record<string, unknown>> => {
    const prefix = sandboxNetnsName(host, '');
    const [networkLs, containerLs, inspect] = await Promise.all([
      read('network', 'ls', '--format', '{{.Name}} {{.ID}} {{.Driver}} {{.Internal}} {{.Labels}}'),
      read('container', 'ls', '--format', '{{.Names}} {{.ID}} {{.NetworkMode}} {{.Networks}} {{.IPAddresses}} {{.Ports}}'),
      read('network', 'inspect', ...networks),
    ]);
    const sandboxes = (await netns.list()).filter((n) => n.startsWith(prefix)).sort();
    return {
      host: { ...kernel(host), ruleset: lines(nft(host, 'list', 'ruleset')) },
      sandboxes: Object.fromEntries(sandboxes.map((n) => [n, kernel(n)])),
      etc: Object.fromEntries(files('/etc/netns', prefix).map((d) => [d, Object.fromEntries(files(join('/etc/netns', d), '').map((f) => [f, readFileSync(join('/etc/netns', d, f), 'utf8')]))])),
      marks: files(NETNS_MARKS, prefix),
      networks: lines(networkLs),
      containers: lines(containerLs),
      inspect: inspect.startsWith('exit ') ? inspect : JSON.parse(inspect),
    };
  };
  const tentative = (s: Record<string, unknown>): boolean => JSON.stringify(s).includes('"tentative":true');
  /**
   * The state once it stops moving: IPv6 link-local addresses stay tentative until DAD ends
   * (about a second) and a new, empty bridge loses its carrier a moment after it is made. Waits
   * for a snapshot without tentative addresses that the next one repeats.
   */
  const settle = async (first: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + 10_000;
    let last = first;
    for (;;) {
      await new Promise((r) => setTimeout(r, 250));
      const next = await snapshot();
      if (!tentative(next) && JSON.stringify(next) === JSON.stringify(last)) return next;
      if (Date.now() > deadline) throw new Error('the state did not settle in 10 s');
      last = next;
    }
  };

  beforeAll(async () => {
    host = unique('nlbad');
    await netns.create(host);
    stateDir = await mkdtemp(join(tmpdir(), 'nlnet-bad-'));
    ok('network', 'create', '--subnet', '10.97.0.0/24', 'front');
    ok('container', 'create', '--name', 'web', '--network', 'front', '-p', '18097:80', '--alias', 'www');
    ok('container', 'create', '--name', 'dflt');
    ok('container', 'create', '--name', 'lonely', '--network', 'none');
    ok('container', 'create', '--name', 'side', '--network', 'container:web');
    baseline = await settle(await snapshot());
    expect(baseline.networks).toEqual([expect.stringMatching(/^bridge /), expect.stringMatching(/^front /)]);
    expect((baseline.containers as string[]).map((l) => l.split(' ')[0]).sort()).toEqual(['dflt', 'lonely', 'side', 'web']);
    expect(Object.keys(baseline.sandboxes as object)).toHaveLength(3);
  }, 60_000);

  afterAll(async () => {
    if (host === '') return;
    await removeEngineLeftovers(host);
    if (stateDir !== '') await rm(stateDir, { recursive: true, force: true });
    await netns.delete(host).catch(() => undefined);
  });

  const title = (args: readonly string[]): string => JSON.stringify(args.map((a) => (a.length > 40 ? `${a.slice(0, 12)}…(${a.length} chars)` : a)));

  it('the table has no duplicate', () => {
    expect(new Set(CASES.map((c) => JSON.stringify(c.args))).size).toBe(CASES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(50);
  });

  it.each(CASES.map((c) => [title(c.args), c] as const))('%s', async (_, c) => {
    const r = run(...c.args);
    const before = baseline;
    const now = await snapshot();
    // A case that changed the state fails alone: the next ones compare with what it left, once
    // that has settled.
    baseline = JSON.stringify(now) === JSON.stringify(before) ? before : await settle(now);
    // Soft: a case shows every way it fails, its message and its state change both.
    const shown = `${title(c.args)} → ${r.status}: ${r.stderr.slice(0, 600)}`;
    expect.soft(r.status, shown).toBe(c.code);
    expect.soft(r.stderr, shown).toMatch(/^nlnet: [^\n]+\n$/);
    expect.soft(r.stderr, shown).toMatch(c.stderr);
    if (c.not !== undefined) expect.soft(r.stderr, shown).not.toMatch(c.not);
    // Clear: no stack, no value printed as JS prints it by mistake, nothing that drives the
    // terminal, not the user's whole 128 KiB back.
    expect.soft(r.stderr, shown).not.toMatch(/\bundefined\b|\[object Object\]|\bNaN\b|\bInfinity\b|\n\s+at /);
    expect.soft(r.stderr.slice(0, -1), shown).not.toMatch(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/u);
    expect.soft(r.stderr.length, shown).toBeLessThanOrEqual(400);
    if (c.stdout !== true) expect.soft(r.stdout, shown).toBe('');
    expect.soft(now, `${title(c.args)} changed the state`).toEqual(before);
  });
});
