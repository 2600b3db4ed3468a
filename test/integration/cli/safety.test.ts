// The CLI as a careless or hostile user drives it: a mistyped --state-dir, a command that fails
// half-way, inputs Docker refuses, a user without privileges. Each case checks that nothing
// changed where it must not: the host namespace's links (`ip -j`), nf_tables (`nft -j`), the
// named namespaces, and what `nlnet` itself lists.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { netns } from '../../../lib/index.js';
import { FileStore } from '../../../lib/network/store/file.js';
import { sandboxNetnsName } from '../../../lib/network/model/sandbox.js';
import { BIN, nlnetRaw, useCli, type CliResult } from '../../helpers/cli.js';
import { nft } from '../../helpers/nft.js';
import { ipj, ipRun, isRoot, ROOT_SKIP_REASON } from '../../helpers/ns.js';

interface IpLink {
  ifname: string;
}

describe.skipIf(!isRoot)(`nlnet: mistakes change nothing (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const cli = useCli('nlsafe');

  const ok = (...args: string[]): string => {
    const r = cli.run(...args);
    expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const fails = (code: number, args: string[], message: RegExp): CliResult => {
    const r = cli.run(...args);
    expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(code);
    expect(r.stderr, args.join(' ')).toMatch(/^nlnet: [^\n]+\n$/);
    expect(r.stderr, args.join(' ')).toMatch(message);
    return r;
  };
  /** The host namespace and the sandboxes as the oracles see them, and the state as nlnet lists it. */
  const snapshot = async (): Promise<string> =>
    JSON.stringify({
      links: ipj<IpLink[]>(cli.host, 'link', 'show').map((l) => l.ifname).sort(),
      ruleset: nft(cli.host, 'list', 'ruleset'),
      netns: (await netns.list()).filter((n) => n === cli.host || n.startsWith(sandboxNetnsName(cli.host, ''))).sort(),
      networks: ok('network', 'ls', '--format', '{{.Name}} {{.ID}}'),
      containers: ok('container', 'ls', '--format', '{{.Names}} {{.ID}}'),
    });
  const sandboxNs = (name: string): string => (JSON.parse(ok('container', 'inspect', name)) as { NetworkSettings: { SandboxKey: string } }[])[0]!.NetworkSettings.SandboxKey;

  it('a mistyped --state-dir: read-only and changing commands fail with "no state at", create nothing, tear nothing down', async () => {
    ok('network', 'create', '--subnet', '10.91.0.0/24', 'n1');
    ok('container', 'create', '--name', 'c1', '-p', '18091:80');
    ok('container', 'create', '--name', 'c2', '--network', 'n1', '-p', '18092:80');
    const key = sandboxNs('c1');
    const inode = statSync(key).ino;
    const before = await snapshot();
    const typo = `${cli.stateDir}-typo`;
    const raw = (...args: string[]): CliResult => nlnetRaw(['--host-netns', cli.host, '--state-dir', typo, ...args]);
    for (const args of [['network', 'ls'], ['network', 'inspect', 'n1'], ['container', 'ls'], ['container', 'inspect', 'c1'], ['port', 'c1'], ['network', 'rm', 'n1'], ['container', 'rm', 'c1'], ['network', 'disconnect', 'n1', 'c2'], ['network', 'prune', '-f'], ['exec', 'c1', '--', 'true']]) {
      const r = raw(...args);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toBe(`nlnet: no state at ${typo} (nothing was made with this --state-dir)\n`);
      expect(existsSync(typo), args.join(' ')).toBe(false);
    }
    // A command that creates may start a new state there; what the other state made stays.
    expect(raw('container', 'create', '--name', 'z', '--network', 'none').status).toBe(0);
    expect(raw('container', 'rm', 'z').status).toBe(0);
    expect(JSON.parse(await snapshot())).toEqual(JSON.parse(before));
    expect(statSync(key).ino).toBe(inode);
    spawnSync('rm', ['-rf', typo]);
  });

  it('read-only commands never reconcile: a veth deleted behind nlnet stays deleted until a command that changes things', async () => {
    ok('container', 'create', '--name', 'r1');
    const hostIf = (JSON.parse(ok('container', 'inspect', 'r1')) as { NetworkSettings: { Networks: { bridge: { HostInterfaceName: string } } } }[])[0]!.NetworkSettings.Networks.bridge.HostInterfaceName;
    ipRun(cli.host, 'link', 'del', hostIf);
    for (const args of [['network', 'ls'], ['network', 'inspect', 'bridge'], ['container', 'ls'], ['container', 'inspect', 'r1'], ['port', 'r1']]) {
      ok(...args);
      expect(ipj<IpLink[]>(cli.host, 'link', 'show').map((l) => l.ifname), args.join(' ')).not.toContain(hostIf);
    }
    ok('network', 'create', 'other');
    expect(ipj<IpLink[]>(cli.host, 'link', 'show').map((l) => l.ifname)).toContain(hostIf);
  });

  it('a create refused for a taken port leaves no default network behind', async () => {
    ok('network', 'create', '--subnet', '10.92.0.0/24', 'n2');
    ok('container', 'create', '--name', 'holder', '--network', 'n2', '-p', '18093:80');
    const before = await snapshot();
    fails(1, ['container', 'create', '--name', 'x', '-p', '18093:80'], /port is already allocated/);
    expect(JSON.parse(await snapshot())).toEqual(JSON.parse(before));
    expect(ipj<IpLink[]>(cli.host, 'link', 'show').map((l) => l.ifname)).not.toContain('nlnet0');
  });

  it('refuses what Docker refuses, before changing anything', async () => {
    ok('network', 'create', '--subnet', '10.93.0.0/24', 'n3');
    ok('container', 'create', '--name', 'm1', '--network', 'n3', '--mac-address', '02:42:0a:5d:00:99');
    const before = await snapshot();
    fails(1, ['container', 'create', '--name', 'm2', '--network', 'n3', '--mac-address', '02:42:0a:5d:00:99'], /MAC address 02:42:0a:5d:00:99 is already in use on network n3 \(by m1\)/);
    fails(1, ['container', 'create', '--name', 'd1', '--ip', '172.17.0.50'], /--ip: user specified IP address is supported on user defined networks only/);
    fails(1, ['container', 'create', '--name', 'd2', '--alias', 'web'], /network-scoped alias is supported only for containers in user defined networks/);
    fails(1, ['network', 'connect', '--ip', '172.17.0.51', 'bridge', 'm1'], /user specified IP address is supported on user defined networks only/);
    fails(1, ['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=maybe', 'n4'], /enable_icc: expected true or false/);
    fails(1, ['network', 'ls', '--format', '{{.Nope}}'], /template: .*can't evaluate field Nope/);
    fails(1, ['container', 'create', '--name', 'v6', '--network', 'n3', '-p', '[::1]:18094:80'], /an IPv6 host address needs a network with IPv6; n3 has none \(create it with --ipv6\)/);
    fails(1, ['container', 'rm', ''], /expected a container name or id/);
    fails(1, ['network', 'rm', ''], /expected a network name or id/);
    expect(JSON.parse(await snapshot())).toEqual(JSON.parse(before));
    expect(ipj<IpLink[]>(cli.host, 'link', 'show').map((l) => l.ifname)).not.toContain('nlnet0');
  });

  it('an option the driver does not read: made, with one warning line', () => {
    const r = cli.run('network', 'create', '-o', 'com.example.nope=1', '-o', 'com.docker.network.bridge.enable_icc=False', 'n5');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('nlnet: warning: -o com.example.nope is not an option of the bridge driver: ignored\n');
    expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
  });

  it('another nlnet holding the state lock: named with its pid and command after a second, waited for, and the wait is --lock-timeout', async () => {
    ok('network', 'create', '--subnet', '10.95.0.0/24', 'n8');
    const store = await FileStore.open({ dir: cli.stateDir });
    let release = (): void => undefined;
    let locked = (): void => undefined;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holding = store.update(() => {
      locked();
      return new Promise<void>((r) => (release = r));
    });
    await isLocked;
    try {
      // A read takes no lock: it answers at once.
      expect(ok('network', 'ls', '--format', '{{.Name}}')).toBe('n8\n');
      const t0 = Date.now();
      const none = cli.run('--lock-timeout', '0', 'network', 'rm', 'n8');
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(none.status).toBe(1);
      expect(none.stderr).toMatch(new RegExp(`^nlnet: state lock '.*': held by another nlnet, pid ${process.pid} \\(.*\\) since \\S+; not waiting \\(lock timeout 0\\)\n$`));
      const short = cli.run('--lock-timeout', '2', 'network', 'rm', 'n8');
      expect(short.status).toBe(1);
      const lines = short.stderr.trim().split('\n');
      expect(lines[0]).toMatch(new RegExp(`^nlnet: waiting for the state lock held by pid ${process.pid} \\(.*\\) since \\S+ \\(at most 2 s: --lock-timeout\\)$`));
      expect(lines[1]).toMatch(/gave up after waiting \d+ ms$/);
      // Released while a command waits: it goes on and succeeds.
      const waiting = cli.start('network', 'rm', 'n8');
      setTimeout(() => release(), 2_000);
      const r = await waiting;
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/^nlnet: waiting for the state lock held by pid \d+/);
    } finally {
      release();
      await holding;
      await store.close();
    }
    expect(ok('network', 'ls', '--format', '{{.Name}}')).toBe('');
  });

  it('without privileges: a change says what it needs; a read works for a user who can read the state', async () => {
    ok('network', 'create', '--subnet', '10.94.0.0/24', 'n6');
    const before = await snapshot();
    const asNobody = (...args: string[]): CliResult => {
      const r = spawnSync(process.execPath, [BIN, '--state-dir', cli.stateDir, ...args], { encoding: 'utf8', uid: 65534, gid: 65534, timeout: 60_000 });
      return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
    };
    for (const args of [['network', 'create', 'n7'], ['container', 'create', '--name', 'u1'], ['network', 'rm', 'n6'], ['network', 'prune', '-f']]) {
      const r = asNobody(...args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toBe('nlnet: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)\n');
    }
    // The state directory is root's alone (0700): reading it is refused, saying so.
    const denied = asNobody('network', 'ls');
    expect(denied.status).toBe(1);
    expect(denied.stderr).toBe(`nlnet: cannot read the state at ${cli.stateDir}: permission denied (needs root, or read access to ${cli.stateDir})\n`);
    // Made readable, it lists what root made.
    const readable = (dir: string): void => {
      chmodSync(dir, 0o755);
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) readable(join(dir, e.name));
        else chmodSync(join(dir, e.name), 0o644);
      }
    };
    readable(cli.stateDir);
    const listed = asNobody('network', 'ls', '--format', '{{.Name}}');
    expect(listed.stderr).toBe('');
    expect(listed.stdout).toBe('n6\n');
    expect(JSON.parse(await snapshot())).toEqual(JSON.parse(before));
  });
});
