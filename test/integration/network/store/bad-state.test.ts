// Bad state on disk that takes root to make: a state directory on a read-only mount (a read-only
// bind mount, and a tmpfs remounted read-only) and on a full file system (a 64 KiB tmpfs). Each
// must give a StoreError naming the path and the errno, with the previous state intact and
// readable, or keep working where nothing needs writing. Mounts are undone after each test, also
// when it fails. The cases without mounts: test/unit/network/store/bad-state.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { openSync, closeSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { StoreError } from '../../../../lib/network/store/errors.js';
import { FileStore } from '../../../../lib/network/store/file.js';
import { register } from '../../../../lib/network/store/presence.js';
import type { Json } from '../../../../lib/network/store/types.js';

const isRoot = process.getuid?.() === 0;
const SKIP = 'these tests need root: they mount a tmpfs and read-only bind mounts';
if (!isRoot) console.warn(`skipped: ${SKIP}`);

const mount = (...args: string[]): void => void execFileSync('mount', args, { stdio: ['ignore', 'ignore', 'pipe'] });

describe.skipIf(!isRoot)(`FileStore on read-only and full file systems (${isRoot ? 'root' : SKIP})`, () => {
  let base: string;
  /** Mount points, undone in reverse order. */
  let mounted: string[];
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'nlnet-store-mnt-'));
    mounted = [];
  });
  afterEach(async () => {
    for (const m of mounted.reverse()) {
      try {
        execFileSync('umount', [m], { stdio: 'ignore' });
      } catch {
        execFileSync('umount', ['-l', m], { stdio: 'ignore' });
      }
    }
    await rm(base, { recursive: true, force: true });
  });

  const STATE = new Map<string, Json>([
    ['networks/a', { name: 'a', driver: 'bridge', subnet: '172.18.0.0/16' }],
    ['endpoints/e1', { network: 'a', ip: '172.18.0.2' }],
  ]);

  /** Both files of a state directory, to compare before and after. */
  const files = async (dir: string): Promise<string> => `${await readFile(join(dir, 'store.json'), 'utf8')}${await readFile(join(dir, 'store.journal'), 'utf8')}`;

  /** A state directory holding STATE, and a dead writer's temp file left from a crash. */
  async function populate(dir: string): Promise<string> {
    const store = await FileStore.open({ dir });
    await store.update((tx) => {
      for (const [k, v] of STATE) tx.put(k, v);
    });
    await writeFile(join(dir, 'store.json.999999999.0123456789ab.tmp'), '{"torn');
    return files(dir);
  }

  /** On a read-only directory: reads work, a transaction fails with EROFS, nothing changes. */
  async function expectReadOnly(dir: string, before: string): Promise<void> {
    const names = (await readdir(dir)).sort();
    for (const options of [{ dir }, { dir, readonly: true }, { dir, create: false }]) {
      const store = await FileStore.open(options); // the temp file it cannot remove does not stop it
      expect(await store.get('networks/a')).toEqual(STATE.get('networks/a'));
      expect((await (await store.snapshot()).list('')).length).toBe(2);
    }
    const store = await FileStore.open({ dir });
    const err = await store.update((tx) => tx.put('networks/b', { name: 'b' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ problem: 'io', code: 'EROFS', message: `cannot take the state lock ${join(dir, 'store.lock')}: read-only file system (EROFS)` });
    await expect(FileStore.open({ dir: join(dir, 'sub') })).rejects.toMatchObject({ name: 'StoreError', code: 'EROFS', message: `cannot create the state directory ${join(dir, 'sub')}: read-only file system (EROFS)` });
    // An engine registering itself (presence.ts) fails the same way, naming its file.
    expect(() => register(dir)).toThrow(StoreError);
    expect(() => register(dir)).toThrow(/^cannot register this engine as .*\/engines\/\d+-.*: read-only file system \(EROFS\)$/);
    expect(await files(dir)).toBe(before);
    expect((await readdir(dir)).sort()).toEqual(names);
  }

  it('a read-only bind mount of the state directory', async () => {
    const dir = join(base, 'state');
    await mkdir(dir);
    const before = await populate(dir);
    mount('--bind', dir, dir);
    mounted.push(dir);
    mount('-o', 'remount,bind,ro', dir);
    await expectReadOnly(dir, before);
  });

  it('a tmpfs remounted read-only', async () => {
    const dir = join(base, 'state');
    await mkdir(dir);
    mount('-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', dir);
    mounted.push(dir);
    const before = await populate(dir);
    mount('-o', 'remount,ro', dir);
    await expectReadOnly(dir, before);
  });

  describe('a full file system (a 64 KiB tmpfs)', () => {
    let dir: string;
    let before: string;
    let filler: string;
    beforeEach(async () => {
      dir = join(base, 'state');
      await mkdir(dir);
      mount('-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir);
      mounted.push(dir);
      before = await populate(dir);
      await FileStore.open({ dir }); // removes the dead writer's temp file: it would free a page
      // Fill it to the last byte: writes go on until the kernel says ENOSPC.
      filler = join(dir, 'filler');
      const fd = openSync(filler, 'w');
      try {
        const chunk = Buffer.alloc(4096, 0x61);
        for (;;) writeSync(fd, chunk);
      } catch (e) {
        expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        closeSync(fd);
      }
    });

    /** The previous state, whole and readable by a fresh store; no lock or temp file left. */
    async function expectIntact(): Promise<void> {
      expect(await files(dir)).toBe(before);
      const fresh = await FileStore.open({ dir });
      expect((await fresh.list('')).map((e) => [e.key, e.value])).toEqual([...STATE].sort());
      expect((await readdir(dir)).sort()).toEqual(['filler', 'store.journal', 'store.json']);
    }

    it('no room even for the lock: a StoreError naming ENOSPC, the state intact', async () => {
      const store = await FileStore.open({ dir });
      const err = await store.update((tx) => tx.put('networks/b', { name: 'b' })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect(err).toMatchObject({ code: 'ENOSPC', message: `cannot take the state lock ${join(dir, 'store.lock')}: no space left on device (ENOSPC)` });
      await expectIntact();
    });

    it('room for the lock, not for the new state: the commit fails, the previous state intact; it works once there is room', async () => {
      await truncate(filler, (await readFile(filler)).length - 16 * 1024); // 16 KiB free
      const store = await FileStore.open({ dir });
      const big = { blob: 'x'.repeat(40 * 1024) };
      const err = await store.update((tx) => {
        tx.put('networks/b', { name: 'b' });
        tx.put('sandboxes/big', big);
        tx.delete('endpoints/e1');
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      const journal = join(dir, 'store.journal');
      expect(err).toMatchObject({ problem: 'io', code: 'ENOSPC', path: journal, message: `cannot write the state ${journal}: no space left on device (ENOSPC); the previous state is unchanged` });
      // The store that failed reads the previous state too, not what it tried to write.
      expect(await store.get('sandboxes/big')).toBeUndefined();
      expect(await store.get('endpoints/e1')).toEqual(STATE.get('endpoints/e1'));
      await expectIntact();

      await rm(filler);
      await store.update((tx) => tx.put('sandboxes/big', big));
      expect(await store.get('sandboxes/big')).toEqual(big);
      expect(Object.fromEntries((await (await FileStore.open({ dir })).list('')).map((e) => [e.key, e.value]))).toEqual(Object.fromEntries([...STATE, ['sandboxes/big', big]]));
    });
  });
});
