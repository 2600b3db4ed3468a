// `nlnet exec`, `nlnet run` and `nlnet daemon` run as a user runs them, and lib/netns/spawn.ts under
// them: the command sees only the sandbox's links and its own resolv.conf, its exit status and
// signals pass through, `run` cleans up after itself, and names resolve through the embedded
// DNS while `run` or `daemon` serves it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Netlink, ValidationError, netns } from '../../../lib/index.js';
import { sandboxNetnsName } from '../../../lib/network/model/sandbox.js';
import { spawnInNetns, SpawnError, shellStatus } from '../../../lib/netns/spawn.js';
import { useCli } from '../../helpers/cli.js';
import { isRoot, ROOT_SKIP_REASON } from '../../helpers/ns.js';

interface IpLink {
  ifname: string;
}

/** Waits until `text` shows on the process's stderr. */
function waitFor(child: ReturnType<typeof spawn>, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes(text)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`exited (${code}) before "${text}": ${err}`)));
  });
}

function exitOf(child: ReturnType<typeof spawn>): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

describe.skipIf(!isRoot)(`nlnet exec, run, daemon (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const cli = useCli('nlce');

  const ok = (...args: string[]): string => {
    const r = cli.run(...args);
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.status, args.join(' ')).toBe(0);
    return r.stdout;
  };
  const nsOf = (name: string): string =>
    (JSON.parse(ok('container', 'inspect', name)) as { NetworkSettings: { SandboxKey: string } }[])[0]!.NetworkSettings.SandboxKey.replace('/run/netns/', '');

  it("exec sees only the sandbox's links, in ip and in /sys, and its own resolv.conf and hosts", () => {
    ok('network', 'create', '--subnet', '10.81.0.0/24', 'n1');
    ok('container', 'create', '--name', 'c1', '--network', 'n1');
    const links = JSON.parse(ok('exec', 'c1', '--', 'ip', '-j', 'link', 'show')) as IpLink[];
    expect(links.map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
    expect(ok('exec', 'c1', '--', 'ls', '/sys/class/net').split(/\s+/).filter(Boolean).sort()).toEqual(['eth0', 'lo']);
    const etc = `/etc/netns/${nsOf('c1')}`;
    const hostResolv = readFileSync('/etc/resolv.conf', 'utf8');
    expect(ok('exec', 'c1', '--', 'cat', '/etc/resolv.conf')).toBe(readFileSync(`${etc}/resolv.conf`, 'utf8'));
    expect(ok('exec', 'c1', '--', 'cat', '/etc/hosts')).toBe(readFileSync(`${etc}/hosts`, 'utf8'));
    // The binds live in the command's own mount namespace only.
    expect(readFileSync('/etc/resolv.conf', 'utf8')).toBe(hostResolv);
    // Ping the gateway from inside: the namespace is really the sandbox's.
    expect(cli.run('exec', 'c1', '--', 'ping', '-c1', '-W2', '10.81.0.1').status).toBe(0);
  });

  it('exec: the exit status, -e, -w, and the failures of starting the command', () => {
    ok('container', 'create', '--name', 'c1', '--network', 'none');
    expect(cli.run('exec', 'c1', '--', 'sh', '-c', 'exit 7').status).toBe(7);
    expect(cli.run('exec', 'c1', 'sh', '-c', 'kill -KILL $$').status).toBe(137);
    // stdio as we got it: a pipe stays blocking (O_NONBLOCK is 04000 in fdinfo's octal flags).
    const flags = ok('exec', 'c1', '--', 'sh', '-c', 'grep flags /proc/self/fdinfo/1').trim().split(/\s+/)[1]!;
    expect(parseInt(flags, 8) & 0o4000).toBe(0);
    expect(ok('exec', '-e', 'GREETING=hi', '-e', 'PATH', '-w', '/tmp', 'c1', '--', 'sh', '-c', 'echo $GREETING; pwd')).toBe('hi\n/tmp\n');
    expect(cli.run('exec', 'c1', '--', 'no-such-command-here')).toMatchObject({ status: 127, stdout: '', stderr: 'nlnet: execvp no-such-command-here: command not found in PATH (ENOENT)\n' });
    const dir = mkdtempSync(join(tmpdir(), 'nlnet-exec-'));
    try {
      writeFileSync(join(dir, 'plain'), 'not a program\n', { mode: 0o644 });
      writeFileSync(join(dir, 'garbage'), '\x7fELF but not really', { mode: 0o755 });
      expect(cli.run('exec', 'c1', '--', `${dir}/plain`)).toMatchObject({ status: 126, stderr: `nlnet: execve ${dir}/plain: Permission denied (EACCES)\n` });
      expect(cli.run('exec', 'c1', '--', `${dir}/garbage`)).toMatchObject({ status: 126, stderr: `nlnet: execve ${dir}/garbage: Exec format error (ENOEXEC)\n` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(cli.run('exec', '-w', '/no/such/dir', 'c1', '--', 'true')).toMatchObject({ status: 125, stderr: 'nlnet: chdir /no/such/dir: No such file or directory (ENOENT)\n' });
    expect(cli.run('exec', 'nope', '--', 'true')).toMatchObject({ status: 1, stderr: "nlnet: sandbox 'nope' not found\n" });
  });

  it('exec in host mode runs in the host namespace', () => {
    ok('container', 'create', '--name', 'h', '--network', 'host');
    const inHost = JSON.parse(ok('exec', 'h', '--', 'ip', '-j', 'link', 'show')) as IpLink[];
    expect(inHost.map((l) => l.ifname)).toEqual(['lo']);
  });

  it('exec passes SIGTERM, SIGINT and SIGHUP on to the command and exits with its status', async () => {
    ok('container', 'create', '--name', 'c1', '--network', 'none');
    for (const [sig, code] of [['SIGTERM', 42], ['SIGINT', 43], ['SIGHUP', 44]] as const) {
      const script = `trap 'exit ${code}' ${sig.slice(3)}; echo ready >&2; while :; do sleep 0.05; done`;
      const [node, ...args] = cli.argv('exec', 'c1', '--', 'sh', '-c', script);
      const child = spawn(node!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const done = exitOf(child);
      await waitFor(child, 'ready');
      child.kill(sig);
      expect((await done).code, sig).toBe(code);
    }
    // A command that does not catch the signal dies of it: 128 + its number.
    const [node, ...args] = cli.argv('exec', 'c1', '--', 'sh', '-c', 'echo ready >&2; exec sleep 30');
    const child = spawn(node!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = exitOf(child);
    await waitFor(child, 'ready');
    child.kill('SIGTERM');
    expect((await done).code).toBe(143);
  });

  it('run creates a sandbox, runs the command in it, removes it, and exits with its status', async () => {
    ok('network', 'create', '--subnet', '10.82.0.0/24', 'n1');
    const r = cli.run('run', '--network', 'n1', '--ip', '10.82.0.9', '--', 'sh', '-c', 'ip -j addr show dev eth0; exit 3');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    expect(r.stdout).toContain('"local":"10.82.0.9"');
    expect(ok('container', 'ls', '-q')).toBe('');
    expect((await netns.list()).filter((n) => n.startsWith(sandboxNetnsName(cli.host, '')))).toEqual([]);

    // --rm=false keeps it; without --name it gets a random one.
    expect(cli.run('run', '--rm=false', '--network', 'n1', 'true').status).toBe(0);
    expect(ok('container', 'ls', '--format', '{{.Names}}')).toMatch(/^run-[0-9a-f]{8}\n$/);
    // A command that cannot start: 127, and still no sandbox left behind.
    expect(cli.run('run', '--name', 'gone', '--network', 'n1', 'no-such-command-here')).toMatchObject({ status: 127, stderr: 'nlnet: execvp no-such-command-here: command not found in PATH (ENOENT)\n' });
    expect(cli.run('container', 'inspect', 'gone').status).toBe(1);
    // A sandbox that cannot be made: 1, nothing run.
    expect(cli.run('run', '--network', 'nope', 'true')).toMatchObject({ status: 1, stdout: '', stderr: "nlnet: network 'nope' not found\n" });
  });

  it('run serves DNS: the command resolves the names on its network', () => {
    ok('network', 'create', '--subnet', '10.83.0.0/24', 'n1');
    ok('container', 'create', '--name', 'db', '--network', 'n1', '--ip', '10.83.0.20', '--alias', 'database');
    const r = cli.run('run', '--network', 'n1', '--', 'sh', '-c', 'getent hosts db; getent hosts database');
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0])).toEqual(['10.83.0.20', '10.83.0.20']);
  });

  it('daemon serves DNS until SIGTERM, following changes made meanwhile, then exits 0', async () => {
    ok('network', 'create', '--subnet', '10.84.0.0/24', 'n1');
    ok('container', 'create', '--name', 'a', '--network', 'n1');
    const [node, ...args] = cli.argv('daemon');
    const daemon = spawn(node!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = exitOf(daemon);
    await waitFor(daemon, 'nlnet daemon: ready');
    ok('container', 'create', '--name', 'b', '--network', 'n1', '--ip', '10.84.0.30');
    expect(ok('exec', 'a', '--', 'getent', 'hosts', 'b').split(/\s+/)[0]).toBe('10.84.0.30');
    daemon.kill('SIGTERM');
    const end = await done;
    expect(end.code).toBe(0);
    expect(end.stderr).toBe('nlnet daemon: ready\nnlnet daemon: SIGTERM, stopping\n');
  });
});

describe.skipIf(!isRoot)(`spawnInNetns (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  it('checks its input before forking', () => {
    expect(() => spawnInNetns({ argv: [] })).toThrow(ValidationError);
    expect(() => spawnInNetns({ argv: [''] })).toThrow(ValidationError);
    expect(() => spawnInNetns({ argv: ['true'], netns: '../x' })).toThrow(ValidationError);
    expect(() => spawnInNetns({ argv: ['true'], env: { 'A=B': 'c' } })).toThrow(ValidationError);
    const e = (() => {
      try {
        spawnInNetns({ argv: ['true'], netns: 'no-such-namespace-here' });
      } catch (x) {
        return x;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(SpawnError);
    expect(e).toMatchObject({ code: 'ENOENT', errno: 2, syscall: 'open', path: '/run/netns/no-such-namespace-here' });
  });

  it('resolves the exit code or the signal, and rejects when exec fails', async () => {
    expect(await spawnInNetns({ argv: ['sh', '-c', 'exit 5'] }).exited).toEqual({ code: 5, signal: null });
    const killed = await spawnInNetns({ argv: ['sh', '-c', 'kill -USR1 $$'] }).exited;
    expect(killed).toEqual({ code: null, signal: 'SIGUSR1' });
    expect(shellStatus(killed)).toBe(138);
    await expect(spawnInNetns({ argv: ['/no/such/file'] }).exited).rejects.toMatchObject({ name: 'SpawnError', code: 'ENOENT', syscall: 'execve', path: '/no/such/file' });
    expect(() => spawnInNetns({ argv: ['no-such-command-here'] })).toThrow(SpawnError);
  });

  it('waits for running commands without holding a thread: with 8 running (libuv has 4), netlink still answers first', async () => {
    const ended: number[] = [];
    const kids = Array.from({ length: 8 }, (_, i) => spawnInNetns({ argv: ['sleep', '1'] }).exited.then(() => ended.push(i)));
    const nl = await Netlink.open();
    try {
      // A batch runs on the libuv pool: had the waits taken its threads, it would come after them.
      expect((await nl.link.list()).length).toBeGreaterThan(0);
      expect(ended).toEqual([]);
    } finally {
      nl.close();
    }
    await Promise.all(kids);
    expect(ended).toHaveLength(8);
  });

  it('gives the command exactly the environment asked for, and binds etcDir over /etc privately', async () => {
    const env = spawnInNetns({ argv: ['sh', '-c', 'test "$A" = 1 && test "${HOME-unset}" = unset && test "$(pwd)" = /'], env: { A: '1', PATH: '/usr/bin:/bin' }, cwd: '/' });
    expect(await env.exited).toEqual({ code: 0, signal: null });
    const dir = mkdtempSync(join(tmpdir(), 'nlnet-etc-'));
    try {
      writeFileSync(join(dir, 'hostname'), 'bound-by-nlnet\n');
      const before = readFileSync('/etc/hostname', 'utf8');
      const r = spawnInNetns({ argv: ['sh', '-c', 'test "$(cat /etc/hostname)" = bound-by-nlnet'], etcDir: dir });
      expect(await r.exited).toEqual({ code: 0, signal: null });
      expect(readFileSync('/etc/hostname', 'utf8')).toBe(before);
      // A missing directory binds nothing.
      expect(await spawnInNetns({ argv: ['true'], etcDir: join(dir, 'missing') }).exited).toEqual({ code: 0, signal: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
