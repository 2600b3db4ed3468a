// `nlnet demo`, the project's main job, run as a user runs it: to the end, every step proven with
// traffic, and nothing left behind (its namespaces, the engine's sandbox namespaces, /etc/netns,
// its state directory). It also goes when the demo is interrupted with SIGINT half-way.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

import { describe, expect, it } from 'vitest';

import { netns } from '../../../lib/index.js';
import { sandboxNetnsName } from '../../../lib/network/model/sandbox.js';
import { BIN, collectChild } from '../../helpers/cli.js';
import { isRoot, ROOT_SKIP_REASON } from '../../helpers/ns.js';

/** What a demo run with this pid could leave: its namespaces, its sandboxes', their files. */
async function leftovers(pid: number): Promise<string[]> {
  const host = `nlnet-demo-${pid}-host`;
  const sandboxPrefix = sandboxNetnsName(host, '');
  const ns = (await netns.list()).filter((n) => n.startsWith(`nlnet-demo-${pid}-`) || n.startsWith(sandboxPrefix));
  const etc = safeList('/etc/netns').filter((d) => d.startsWith(sandboxPrefix));
  return [...ns, ...etc];
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

describe.skipIf(!isRoot)(`nlnet demo (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  it('runs to the end, every step ok, and leaves nothing behind', async () => {
    const tmpBefore = safeList(tmpdir()).filter((d) => d.startsWith('nlnet-demo-'));
    const child = spawn(process.execPath, [BIN, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const r = await collectChild(child);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const step of ['web2 (172.17.0.3) -> web1 (172.17.0.2):80: web1 sees 172.17.0.3', 'app resolves "db"', 'app resolves "database"', "(the client's real address)", 'lonely (none): links: lo up', 'sidecar (container:web1)', 'the networks are isolated', '"Name": "demo-net"', 'All good'])
      expect(r.stdout).toContain(step);
    expect(r.stdout).not.toMatch(/^\s*FAIL/m);
    expect(await leftovers(child.pid!)).toEqual([]);
    expect(safeList(tmpdir()).filter((d) => d.startsWith('nlnet-demo-'))).toEqual(tmpBefore);
  }, 60_000);

  it('cleans up when interrupted with SIGINT half-way', async () => {
    const child = spawn(process.execPath, [BIN, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = collectChild(child);
    await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('2. A user-defined network') && resolve()));
    child.kill('SIGINT');
    const r = await done;
    expect(r.status).toBe(130);
    expect(await leftovers(child.pid!)).toEqual([]);
  }, 60_000);
});
