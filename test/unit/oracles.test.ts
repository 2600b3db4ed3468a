// test/tools/oracles.mjs, which `npm test` runs first: a missing oracle is one clear line naming
// its package, before any test runs. Run with a PATH that hides the real tools (and apt-get, so
// that it never installs anything here).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A directory holding executables with these names (empty scripts): a PATH with only them. */
function pathWith(...cmds: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'nlnet-oracles-'));
  dirs.push(dir);
  for (const c of cmds) {
    writeFileSync(join(dir, c), '#!/bin/sh\n');
    chmodSync(join(dir, c), 0o755);
  }
  return dir;
}

function run(path: string, ...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['test/tools/oracles.mjs', ...args], { encoding: 'utf8', env: { PATH: path } });
  return { status: r.status, stderr: r.stderr };
}

describe('test oracles check', () => {
  it.skipIf(!isRoot)('as root, names every missing tool and its package in one line, and stops', () => {
    const r = run(pathWith('ip', 'bridge', 'apt-get'), '--check');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual(["nlnet tests: missing nft, ping, dig, etcd, etcdctl, which the integration tests use to check nlnet's work: apt-get install nftables iputils-ping bind9-dnsutils etcd-server etcd-client"]);
  });

  it.skipIf(!isRoot)('as root without apt-get, says so instead of trying to install', () => {
    const r = run(pathWith());
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('missing ip, bridge, nft, ping, dig, etcd, etcdctl');
    expect(r.stderr).toContain('apt-get install iproute2 nftables iputils-ping bind9-dnsutils etcd-server etcd-client (no apt-get here');
  });

  it.skipIf(!isRoot)('as root with every tool there, passes silently', () => {
    const r = run(pathWith('ip', 'bridge', 'nft', 'ping', 'dig', 'etcd', 'etcdctl'), '--check');
    expect(r).toEqual({ status: 0, stderr: '' });
  });

  it.skipIf(isRoot)('as another user, needs nothing: the integration tests skip', () => {
    const r = run(pathWith(), '--check');
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('not root');
  });
});
