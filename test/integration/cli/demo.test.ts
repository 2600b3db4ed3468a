// `nlnet demo`, the project's main job, run as a user runs it: to the end, every step proven with
// traffic, and nothing left behind (its namespaces, the engines' sandbox and overlay namespaces,
// their markers and /etc/netns files, its state directories, the etcd it started). It also goes
// when the demo is interrupted with SIGINT half-way, in the single-host part or the overlay one.
// It runs with nothing but node (and etcd, for the overlay part) on PATH: no ip, nft or ping.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { netns } from '../../../lib/index.js';
import { sandboxNetnsName } from '../../../lib/network/model/sandbox.js';
import { NETNS_MARKS } from '../../../lib/network/owner.js';
import { BIN, collectChild } from '../../helpers/cli.js';
import { ETCD } from '../../helpers/etcd.js';
import { isRoot, ROOT_SKIP_REASON } from '../../helpers/ns.js';

const SKIP_LINE = '8. overlay across two hosts: skipped (etcd is not installed: apt-get install etcd-server)';

/** What a demo run with this pid could leave: its namespaces, its engines' (one per host namespace), their markers and files. */
async function leftovers(pid: number): Promise<string[]> {
  const own = `nlnet-demo-${pid}-`;
  const prefixes = ['host', 'h1', 'h2'].map((h) => sandboxNetnsName(`${own}${h}`, ''));
  const mine = (n: string): boolean => n.startsWith(own) || prefixes.some((p) => n.startsWith(p));
  const ns = (await netns.list()).filter(mine);
  const etc = safeList('/etc/netns').filter(mine);
  const marks = safeList(NETNS_MARKS).filter(mine);
  return [...ns, ...etc, ...marks];
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

const demoDirs = (): string[] => safeList(tmpdir()).filter((d) => d.startsWith('nlnet-demo-'));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A PATH holding only node and, if given, etcd: the demo must need nothing else. */
const bins = mkdtempSync(join(tmpdir(), 'nlnet-test-path-'));
function pathWith(...tools: [string, string][]): string {
  const dir = mkdtempSync(join(bins, 'bin-'));
  for (const [name, target] of tools) symlinkSync(target, join(dir, name));
  return dir;
}
const NODE_ONLY = pathWith(['node', process.execPath]);
const WITH_ETCD = ETCD === undefined ? NODE_ONLY : pathWith(['node', process.execPath], ['etcd', ETCD]);
afterAll(() => rmSync(bins, { recursive: true, force: true }));

const startDemo = (path: string) => spawn(process.execPath, [BIN, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: path } });

describe.skipIf(!isRoot)(`nlnet demo (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  it('runs to the end, every step ok, and leaves nothing behind', async () => {
    const tmpBefore = demoDirs();
    const child = startDemo(WITH_ETCD);
    const r = await collectChild(child);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const step of ['web2 (172.17.0.3) -> web1 (172.17.0.2):80: web1 sees 172.17.0.3', 'app resolves "db"', 'app resolves "database"', "(the client's real address)", 'lonely (none): links: lo up', 'sidecar (container:web1)', 'the networks are isolated', '"Name": "demo-net"', 'All good'])
      expect(r.stdout).toContain(step);
    expect(r.stdout).not.toMatch(/^\s*FAIL/m);
    if (ETCD === undefined) {
      expect(r.stdout).toContain(SKIP_LINE);
    } else {
      for (const step of [
        '8. An overlay network across two hosts',
        'eth0 198.51.100.10/24 on the underlay bridge; registered as nlnet:',
        'eth0 198.51.100.11/24 on the underlay bridge; registered as nlnet:',
        'demo-ov (made on host-1, kept in etcd): subnet 10.0.0.0/24, gateway 10.0.0.1, VNI 256',
        'alpha on host-1: eth0 10.0.0.2 (mtu 1450',
        'beta on host-2: eth0 10.0.0.4 (mtu 1450',
        "host-1's vxlan0: beta 10.0.0.4 (02:42:0a:00:00:04) -> VTEP 198.51.100.11, from the etcd watch",
        "host-2's vxlan0: 10.0.0.2 -> VTEP 198.51.100.10, 10.0.0.3 -> VTEP 198.51.100.10",
        'beta resolves "alpha" at 10.0.0.1:53 -> 10.0.0.2, connects over VXLAN: alpha sees 10.0.0.4',
        'alpha resolves "beta" at 10.0.0.1:53 -> 10.0.0.4, connects over VXLAN: beta sees 10.0.0.2',
        'gamma -> alpha on the same host (through br0, no VXLAN): alpha sees 10.0.0.3',
        'Peers 198.51.100.10 and 198.51.100.11, Containers here: alpha, gamma',
        "host-1's vxlan0 withdrew its entries",
      ])
        expect(r.stdout).toContain(step);
      expect(r.stdout).toMatch(/^ +\d+\.\d\d ms {2}beta on demo-ov, host-2/m);
      const etcdPid = Number(/ok {4}etcd: pid (\d+)/.exec(r.stdout)?.[1]);
      expect(etcdPid).toBeGreaterThan(0);
      expect(alive(etcdPid)).toBe(false);
    }
    expect(await leftovers(child.pid!)).toEqual([]);
    expect(demoDirs()).toEqual(tmpBefore);
  }, 90_000);

  it('skips the overlay part with one line when etcd is not on PATH', async () => {
    const child = startDemo(NODE_ONLY);
    const r = await collectChild(child);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`\n${SKIP_LINE}\n`);
    expect(r.stdout).not.toContain('8. An overlay network');
    expect(r.stdout).toContain('All good');
    expect(await leftovers(child.pid!)).toEqual([]);
  }, 60_000);

  it('cleans up when interrupted with SIGINT half-way', async () => {
    const child = startDemo(WITH_ETCD);
    const done = collectChild(child);
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('2. A user-defined network') && resolve()));
    child.kill('SIGINT');
    const r = await done;
    expect(r.status).toBe(130);
    expect(await leftovers(child.pid!)).toEqual([]);
  }, 60_000);

  it.skipIf(ETCD === undefined)('cleans up the overlay part (its hosts, containers and etcd) when interrupted in it', async () => {
    const tmpBefore = demoDirs();
    const child = startDemo(WITH_ETCD);
    const done = collectChild(child);
    let seen = '';
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('alpha on host-1')) resolve();
      }),
    );
    child.kill('SIGINT');
    const r = await done;
    expect(r.status).toBe(130);
    expect(r.stdout).not.toContain('All good');
    const etcdPid = Number(/ok {4}etcd: pid (\d+)/.exec(r.stdout)?.[1]);
    expect(alive(etcdPid)).toBe(false);
    expect(await leftovers(child.pid!)).toEqual([]);
    expect(demoDirs()).toEqual(tmpBefore);
  }, 60_000);
});
