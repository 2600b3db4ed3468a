// Named namespaces against `ip netns` and `ip -n`: what nlnet creates, ip sees, and the other
// way round; bad names and paths are refused before anything changes.
import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { Netlink, netns, NetlinkError, NotFoundError, ValidationError } from '../../../lib/index.js';
import { ipj, isRoot, ROOT_SKIP_REASON, unique } from '../../helpers/ns.js';

const made: string[] = [];
afterEach(async () => {
  for (const n of made.splice(0)) await netns.delete(n).catch(() => undefined);
});

async function fresh(): Promise<string> {
  const n = unique('nsx');
  await netns.create(n);
  made.push(n);
  return n;
}

describe.skipIf(!isRoot)(`netns (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  it('creates a namespace that ip netns lists and that holds only lo, down', async () => {
    const n = await fresh();
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(n);
    expect(await netns.list()).toContain(n);
    const links = ipj<{ ifname: string; operstate: string }[]>(n, 'link', 'show');
    expect(links.map((l) => l.ifname)).toEqual(['lo']);
    expect(links[0]!.operstate).toBe('DOWN');
  });

  it('createOpen makes the namespace and hands it back open, usable at once', async () => {
    const n = unique('nsx');
    const ns = await netns.createOpen(n);
    made.push(n);
    try {
      expect(ns).toMatchObject({ name: n, path: `/run/netns/${n}` });
      expect(ns.inode).toBe(statSync(`/run/netns/${n}`).ino);
      const nl = await Netlink.open({ netns: ns });
      await nl.link.set('lo', { up: true });
      nl.close();
      expect(ipj<{ operstate: string }[]>(n, 'link', 'show', 'lo')[0]!.operstate).toBe('UNKNOWN');
    } finally {
      ns.close();
    }
    await expect(netns.createOpen(n)).rejects.toBeInstanceOf(NetlinkError);
    await expect(netns.createOpen('a/b')).rejects.toBeInstanceOf(ValidationError);
  });

  it('is a namespace of its own, not the caller’s', async () => {
    const n = await fresh();
    const ns = await netns.open(n);
    try {
      expect(ns.inode).not.toBe(statSync('/proc/self/ns/net').ino);
      expect(ns.inode).toBe(statSync(`/run/netns/${n}`).ino);
    } finally {
      ns.close();
    }
  });

  it('opens by name, by path and by pid', async () => {
    const n = await fresh();
    const byName = await netns.open(n);
    const byPath = await netns.open({ path: `/run/netns/${n}` });
    const self = await netns.open({ pid: process.pid });
    try {
      expect(byPath.inode).toBe(byName.inode);
      expect(self.inode).toBe(statSync('/proc/self/ns/net').ino);
      expect(byName.name).toBe(n);
    } finally {
      byName.close();
      byPath.close();
      self.close();
    }
    expect(byName.fd).toBe(-1);
  });

  it('sees a namespace ip created, and ip sees links nlnet makes in it', async () => {
    const n = unique('nsip');
    execFileSync('ip', ['netns', 'add', n]);
    made.push(n);
    const nl = await Netlink.open({ netns: n });
    try {
      await nl.link.add({ name: 'br0', kind: 'bridge' });
      expect(ipj<{ ifname: string }[]>(n, 'link', 'show', 'br0')[0]!.ifname).toBe('br0');
    } finally {
      nl.close();
    }
  });

  it('deletes a namespace, and its links with it', async () => {
    const n = await fresh();
    const nl = await Netlink.open({ netns: n });
    await nl.link.add({ name: 'v0', kind: 'veth', peer: { name: 'v1' } });
    nl.close();
    await netns.delete(n);
    made.splice(made.indexOf(n), 1);
    expect(await netns.list()).not.toContain(n);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(n);
  });

  it('refuses a second namespace of the same name with EEXIST', async () => {
    const n = await fresh();
    const e = await netns.create(n).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetlinkError);
    expect((e as NetlinkError).code).toBe('EEXIST');
    expect((e as NetlinkError).op).toBe('netns.create');
  });

  it('reports a missing namespace as NotFoundError', async () => {
    const n = unique('nsmiss');
    await expect(netns.open(n)).rejects.toBeInstanceOf(NotFoundError);
    await expect(netns.delete(n)).rejects.toBeInstanceOf(NotFoundError);
    await expect(Netlink.open({ netns: n })).rejects.toBeInstanceOf(NotFoundError);
    await expect(netns.open({ pid: 0x3fffffff })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a path that is not a network namespace', async () => {
    const file = join(tmpdir(), unique('notns'));
    writeFileSync(file, '');
    try {
      await expect(netns.open({ path: file })).rejects.toBeInstanceOf(ValidationError);
      // A namespace of another type is refused too.
      await expect(netns.open({ path: '/proc/self/ns/uts' })).rejects.toBeInstanceOf(ValidationError);
    } finally {
      rmSync(file);
    }
  });
});

describe('netns input checks (no root needed)', () => {
  it.each([['', 'empty'], ['a/b', 'slash'], ['.', 'dot'], ['..', 'dotdot'], ['x'.repeat(256), 'too long']])(
    'refuses the name %j (%s) before touching the system',
    async (name) => {
      await expect(netns.create(name)).rejects.toBeInstanceOf(ValidationError);
      await expect(netns.delete(name)).rejects.toBeInstanceOf(ValidationError);
      await expect(netns.open(name)).rejects.toBeInstanceOf(ValidationError);
    },
  );

  it('refuses targets that are neither name, path, pid nor Netns', async () => {
    await expect(netns.open({ pid: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(netns.open(42 as unknown as string)).rejects.toBeInstanceOf(ValidationError);
  });
});
