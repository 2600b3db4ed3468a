// The embedded file store: transactions, atomic commits, and the lock across processes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { ConflictError, NotFoundError, ValidationError } from '../../../../lib/core/errors.js';
import { LockTimeoutError, StoreError, type LockHolder } from '../../../../lib/network/store/errors.js';
import { FileStore } from '../../../../lib/network/store/file.js';
import { commandOf } from '../../../../lib/network/store/lock.js';
import type { Json } from '../../../../lib/network/store/types.js';
import { buildStore, STORE_WORKER, type StoreBuild } from '../../../helpers/store-build.js';
import { storeContract } from '../../../helpers/store-contract.js';

// Switches to make rename(2) fail (the moment between "temp file written" and "renamed over"),
// and a journal append fail half-way (a write at a position: only appends give one).
const faults = vi.hoisted(() => ({ failRename: false, failAppend: false }));
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return {
    ...real,
    renameSync: (from: string, to: string) => {
      if (faults.failRename) throw Object.assign(new Error('simulated crash before rename'), { code: 'EIO' });
      return real.renameSync(from, to);
    },
    writeSync: (...args: Parameters<typeof real.writeSync>) => {
      const [fd, buffer, offset, length, position] = args as unknown as [number, Buffer, number, number, number | undefined];
      if (faults.failAppend && typeof position === 'number') {
        real.writeSync(fd, buffer, offset, Math.floor(length / 2), position);
        throw Object.assign(new Error('simulated I/O error'), { code: 'EIO' });
      }
      return (real.writeSync as (...a: unknown[]) => number)(...args);
    },
  };
});

/** What a state directory holds between transactions: the snapshot and the journal. */
const FILES = ['store.journal', 'store.json'];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nlnet-store-'));
  faults.failRename = false;
  faults.failAppend = false;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited: nothing answers kill(pid, 0) for it. */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', '']).pid;
  if (pid === undefined) throw new Error('could not start node');
  return pid;
}

/** A lock file as an older nlnet wrote it (no command line), or with `extra` fields. */
async function writeLock(pid: number, token: string, extra: Record<string, Json> = {}): Promise<void> {
  await writeFile(join(dir, 'store.lock'), JSON.stringify({ pid, boot: '', token, time: new Date().toISOString(), ...extra }));
}

// The cases every back end shares (etcd's: test/integration/network/store/etcd.test.ts); the
// file store's own follow.
storeContract('FileStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'nlnet-contract-'));
  return { open: () => FileStore.open({ dir: root }), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('FileStore documents and transactions', () => {
  it('puts, gets, lists by prefix and deletes', async () => {
    const store = await FileStore.open({ dir });
    expect(await store.get('networks/a')).toBeUndefined();
    await store.update((tx) => {
      tx.put('networks/b', { name: 'b', subnets: ['172.18.0.0/16'] });
      tx.put('networks/a', { name: 'a', internal: true });
      tx.put('endpoints/e1', { network: 'a' });
    });
    expect(await store.get('networks/a')).toEqual({ name: 'a', internal: true });
    expect((await store.list('networks/')).map((e) => e.key)).toEqual(['networks/a', 'networks/b']);
    expect(await store.list('sandboxes/')).toEqual([]);
    expect(await store.list('')).toHaveLength(3);

    await store.update((tx) => tx.delete('networks/b'));
    expect(await store.get('networks/b')).toBeUndefined();
    // A second instance reads the same committed file.
    const other = await FileStore.open({ dir });
    expect(await other.list('networks/')).toEqual([{ key: 'networks/a', value: { name: 'a', internal: true } }]);
    // The first commit made an empty snapshot and the journal; each commit since is one line of it.
    const file = JSON.parse(await readFile(join(dir, 'store.json'), 'utf8'));
    expect(file).toEqual({ format: 'nlnet-store', version: 2, seq: 0, data: {} });
    const journal = (await readFile(join(dir, 'store.journal'), 'utf8')).split('\n');
    expect(journal).toHaveLength(4);
    expect(JSON.parse(journal[0]!)).toEqual({ format: 'nlnet-journal', version: 2, base: 0 });
    expect(JSON.parse(journal[2]!.slice(9))).toEqual({ seq: 2, put: {}, del: ['networks/b'] });
  });

  it('leaves both files byte for byte as they were when the transaction throws', async () => {
    const store = await FileStore.open({ dir });
    await store.update((tx) => tx.put('networks/a', { v: 1 }));
    const before = [await readFile(join(dir, 'store.json')), await readFile(join(dir, 'store.journal'))];
    const boom = new Error('boom');
    await expect(
      store.update(async (tx) => {
        tx.put('networks/a', { v: 2 });
        tx.put('networks/b', { v: 1 });
        tx.delete('networks/a');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect([await readFile(join(dir, 'store.json')), await readFile(join(dir, 'store.journal'))]).toEqual(before);
    // The lock was released: the next transaction runs.
    await store.update((tx) => tx.put('networks/c', 3));
    expect((await store.list('networks/')).map((e) => e.key)).toEqual(['networks/a', 'networks/c']);
  });

  it('rejects keys and values that are not plain JSON documents, writing nothing', async () => {
    const store = await FileStore.open({ dir });
    for (const key of ['', '/a', 'a//b', 'a/', 'a\nb']) {
      await expect(store.update((tx) => tx.put(key, 1))).rejects.toBeInstanceOf(ValidationError);
    }
    for (const value of [NaN, Infinity, undefined, new Date(0), { a: () => 1 }, [1n]]) {
      await expect(store.update((tx) => tx.put('k/1', value as Json))).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a damaged store file instead of starting empty (the cases: store-bad-state.test.ts)', async () => {
    await writeFile(join(dir, 'store.json'), '{"format":"nlnet-store","vers');
    await expect(FileStore.open({ dir })).rejects.toBeInstanceOf(StoreError);
  });

});

describe('FileStore atomic commits', () => {
  it('keeps the old state when an append fails half-way, cutting off what it wrote', async () => {
    const store = await FileStore.open({ dir });
    await store.update((tx) => tx.put('networks/a', { v: 1 }));
    const journal = await readFile(join(dir, 'store.journal'));
    faults.failAppend = true;
    const err = await store.update((tx) => tx.put('networks/a', { v: 2 })).catch((e: unknown) => e);
    faults.failAppend = false;
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ code: 'EIO', problem: 'io', path: join(dir, 'store.journal') });
    expect(String(err)).toContain('the previous state is unchanged');
    expect(await store.get('networks/a')).toEqual({ v: 1 });
    expect(await readFile(join(dir, 'store.journal'))).toEqual(journal);
    expect((await readdir(dir)).sort()).toEqual(FILES); // lock released
    await store.update((tx) => tx.put('networks/a', { v: 3 }));
    expect(await (await FileStore.open({ dir })).get('networks/a')).toEqual({ v: 3 });
  });

  it('keeps the old state when the first commit cannot make the files', async () => {
    const store = await FileStore.open({ dir });
    faults.failRename = true;
    const err = await store.update((tx) => tx.put('networks/a', { v: 1 })).catch((e: unknown) => e);
    faults.failRename = false;
    expect(err).toMatchObject({ code: 'EIO', problem: 'io', path: join(dir, 'store.journal') });
    expect(await readdir(dir)).toEqual([]); // temps removed, lock released
    await store.update((tx) => tx.put('networks/a', { v: 2 }));
    expect(await store.get('networks/a')).toEqual({ v: 2 });
  });

  it('compacts: the snapshot takes the journal in once it has grown past compactBytes', async () => {
    const store = await FileStore.open({ dir, compactBytes: 600 });
    const reader = await FileStore.open({ dir, readonly: true });
    const sizes: number[] = [];
    for (let i = 0; i < 40; i++) {
      await store.update((tx) => tx.put(`sandboxes/c${i}`, { name: `c${i}`, pad: 'x'.repeat(40) }));
      sizes.push((await readFile(join(dir, 'store.journal'))).length);
      // A reader that keeps its view sees every commit, across compactions.
      expect((await reader.list('sandboxes/')).length).toBe(i + 1);
    }
    expect(Math.max(...sizes)).toBeLessThan(600 + 200); // the limit, the header and one record
    const snapshot = JSON.parse(await readFile(join(dir, 'store.json'), 'utf8'));
    expect(snapshot.seq).toBeGreaterThan(30);
    expect(Object.keys(snapshot.data).length).toBe(snapshot.seq);
    expect((await (await FileStore.open({ dir })).list('sandboxes/')).length).toBe(40);
    expect((await readdir(dir)).sort()).toEqual(FILES);
  });

  it('keeps the commit when a compaction fails, and compacts later', async () => {
    const store = await FileStore.open({ dir, compactBytes: 1 });
    await store.update((tx) => tx.put('k/1', 1));
    await store.update(() => undefined);
    faults.failRename = true;
    await store.update((tx) => tx.put('k/2', 2));
    await store.update(() => undefined); // the compaction runs after the commit returned: wait for it
    faults.failRename = false;
    expect((await readdir(dir)).sort()).toEqual(FILES);
    expect(JSON.parse(await readFile(join(dir, 'store.json'), 'utf8')).seq).toBe(1);
    expect(await (await FileStore.open({ dir })).list('k/')).toEqual([{ key: 'k/1', value: 1 }, { key: 'k/2', value: 2 }]);
    await store.update((tx) => tx.put('k/3', 3));
    await store.update(() => undefined);
    expect(JSON.parse(await readFile(join(dir, 'store.json'), 'utf8')).seq).toBe(3);
  });

  it('ignores a temp file left by a crash and removes it on open when its writer is dead', async () => {
    const first = await FileStore.open({ dir });
    await first.update((tx) => tx.put('networks/a', { v: 1 }));
    const torn = '{"format":"nlnet-store","version":1,"data":{"networks/a":{"v":';
    const deadTemp = `store.json.${deadPid()}.0123456789ab.tmp`;
    const liveTemp = `store.json.${process.pid}.0123456789ab.tmp`;
    await writeFile(join(dir, deadTemp), torn);
    await writeFile(join(dir, liveTemp), torn);

    const store = await FileStore.open({ dir });
    expect(await store.get('networks/a')).toEqual({ v: 1 });
    const names = await readdir(dir);
    expect(names).not.toContain(deadTemp);
    expect(names).toContain(liveTemp); // a live writer's temp file is its own business
  });
});

describe('FileStore locking', () => {
  let build: StoreBuild;
  beforeAll(async () => {
    build = await buildStore();
  });
  afterAll(async () => {
    await build.remove();
  });

  function runWorker(count: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [STORE_WORKER, build.file, 'count', dir, String(count), 'counters/c'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited ${code}: ${stderr}`))));
    });
  }

  it('loses no update when 4 processes each increment the same counter 100 times', async () => {
    await Promise.all([runWorker(100), runWorker(100), runWorker(100), runWorker(100)]);
    const store = await FileStore.open({ dir });
    expect(await store.get('counters/c')).toBe(400);
    expect((await readdir(dir)).sort()).toEqual(FILES);
  });

  it('takes over a lock left by a dead process', async () => {
    await writeLock(deadPid(), 'dead-1');
    const store = await FileStore.open({ dir, lockTimeoutMs: 2_000 });
    await store.update((tx) => tx.put('k/1', 1));
    expect(await store.get('k/1')).toBe(1);
    expect((await readdir(dir)).sort()).toEqual(FILES);
  });

  it('loses no update when 3 processes find the same stale lock at once', async () => {
    await writeLock(deadPid(), 'dead-2');
    await Promise.all([runWorker(50), runWorker(50), runWorker(50)]);
    const store = await FileStore.open({ dir });
    expect(await store.get('counters/c')).toBe(150);
    expect((await readdir(dir)).sort()).toEqual(FILES);
  });

  describe('with a live holder', () => {
    // A process that is alive but holds no lock: a lock file naming it, as an older nlnet wrote it.
    let sleeper: ChildProcess;
    beforeEach(() => {
      sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    });
    afterEach(() => {
      sleeper.kill('SIGKILL');
    });

    it('waits for a live lock, and proceeds once its owner is gone', async () => {
      await writeLock(sleeper.pid!, 'live-1');
      const store = await FileStore.open({ dir });
      let done = false;
      const update = store.update((tx) => tx.put('k/1', 1)).then(() => (done = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(done).toBe(false);
      const exited = new Promise((resolve) => sleeper.once('exit', resolve));
      sleeper.kill('SIGKILL');
      await exited;
      await update;
      expect(await store.get('k/1')).toBe(1);
    });

    it("names an older lock file's holder without a command line", async () => {
      await writeLock(sleeper.pid!, 'live-2');
      const store = await FileStore.open({ dir, lockTimeoutMs: 200 });
      const err = await store.update((tx) => tx.put('k/1', 1)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockTimeoutError);
      expect(err).toBeInstanceOf(ConflictError);
      expect(String(err)).toMatch(new RegExp(`held by another nlnet, pid ${sleeper.pid} since \\S+; gave up after waiting 200 ms`));
      expect(await store.get('k/1')).toBeUndefined();
    });

    it('counts an unreadable lock file as held while it is young, and takes it over once a minute old', async () => {
      await writeFile(join(dir, 'store.lock'), '\0\0\0');
      const onLockWait = vi.fn();
      const store = await FileStore.open({ dir, lockTimeoutMs: 200, onLockWait });
      const err = await store.update((tx) => tx.put('k/1', 1)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockTimeoutError);
      expect(String(err)).toContain('held by another nlnet, an unreadable lock file modified at');
      expect(onLockWait).toHaveBeenCalledTimes(1);
      expect(onLockWait.mock.calls[0]![0]).toMatchObject({ pid: 0, command: '' });
      const old = new Date(Date.now() - 120_000);
      await utimes(join(dir, 'store.lock'), old, old);
      await store.update((tx) => tx.put('k/1', 1));
      expect((await readdir(dir)).sort()).toEqual(FILES);
    });
  });

  describe('held by another nlnet process', () => {
    // store-worker.mjs `hold`: a real lock, taken by the store in another process, with its argv.
    let holder: ChildProcess;
    beforeEach(async () => {
      holder = spawn(process.execPath, [STORE_WORKER, build.file, 'hold', dir], { stdio: ['pipe', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.once('data', () => resolve());
        holder.once('exit', (code) => reject(new Error(`holder exited ${code} before taking the lock`)));
      });
    });
    afterEach(() => {
      holder.kill('SIGKILL');
    });

    /** What the holder's lock file must say about it. */
    const expectHolder = (h: LockHolder): void => {
      expect(h.pid).toBe(holder.pid);
      expect(h.path).toBe(join(dir, 'store.lock'));
      expect(h.argv).toEqual([process.execPath, STORE_WORKER, build.file, 'hold', dir]);
      expect(h.command).toBe(`store-worker ${build.file} hold ${dir}`);
      expect(Date.now() - Date.parse(h.since)).toBeGreaterThanOrEqual(0);
      expect(Date.now() - Date.parse(h.since)).toBeLessThan(30_000);
      expect(h.boot).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    };

    it('tells onLockWait at once who holds the lock, once, then goes on when the holder lets go', async () => {
      const calls: { holder: LockHolder; after: number }[] = [];
      const started = Date.now();
      const store = await FileStore.open({ dir, onLockWait: (h) => calls.push({ holder: h, after: Date.now() - started }) });
      const update = store.update((tx) => tx.put('k/1', 1));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(calls).toHaveLength(1);
      expect(calls[0]!.after).toBeLessThan(1_000); // at once, not after the 30 s lockTimeoutMs
      expectHolder(calls[0]!.holder);
      holder.stdin!.end();
      await update;
      expect(calls).toHaveLength(1);
      expect(await store.get('k/1')).toBe(1);
    });

    it('gives up after lockTimeoutMs with a LockTimeoutError naming the holder and its command', async () => {
      const onLockWait = vi.fn();
      const store = await FileStore.open({ dir, lockTimeoutMs: 400, onLockWait });
      const started = Date.now();
      const err = await store.update((tx) => tx.put('k/1', 1)).catch((e: unknown) => e);
      const waited = Date.now() - started;
      expect(err).toBeInstanceOf(LockTimeoutError);
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as Error).name).toBe('LockTimeoutError');
      const held = (err as LockTimeoutError).holder;
      expectHolder(held);
      expect((err as Error).message).toBe(
        `state lock '${join(dir, 'store.lock')}': held by another nlnet, pid ${holder.pid} (store-worker ${build.file} hold ${dir}) since ${held.since}; gave up after waiting 400 ms`,
      );
      expect(waited).toBeGreaterThanOrEqual(400);
      expect(waited).toBeLessThan(3_000);
      expect(onLockWait).toHaveBeenCalledTimes(1);
      expect(await store.get('k/1')).toBeUndefined();
    });

    it('with lockTimeoutMs 0 fails at once, without a waiting notice', async () => {
      const onLockWait = vi.fn();
      const store = await FileStore.open({ dir, lockTimeoutMs: 0, onLockWait });
      const started = Date.now();
      const err = await store.update((tx) => tx.put('k/1', 1)).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(500);
      expect(err).toBeInstanceOf(LockTimeoutError);
      expect(String(err)).toContain(`pid ${holder.pid} (store-worker `);
      expect(String(err)).toContain('not waiting (lock timeout 0)');
      expect(onLockWait).not.toHaveBeenCalled();
    });

    it('says nothing about a wait shorter than lockNoticeMs', async () => {
      const onLockWait = vi.fn();
      const store = await FileStore.open({ dir, lockNoticeMs: 5_000, onLockWait });
      const update = store.update((tx) => tx.put('k/1', 1));
      setTimeout(() => holder.stdin!.end(), 200);
      await update;
      expect(onLockWait).not.toHaveBeenCalled();
    });

    it('ends the wait with the error onLockWait throws', async () => {
      const stop = new Error('interrupted');
      const store = await FileStore.open({
        dir,
        onLockWait: () => {
          throw stop;
        },
      });
      await expect(store.update((tx) => tx.put('k/1', 1))).rejects.toBe(stop);
      // The store goes on: its next transaction waits again, and gets the lock once it is free.
      setTimeout(() => holder.stdin!.end(), 100);
      const next = await FileStore.open({ dir });
      await next.update((tx) => tx.put('k/1', 2));
      expect(await next.get('k/1')).toBe(2);
    });
  });

  it('takes over at once, without a notice, a lock of a process that died holding it', async () => {
    const child = spawn(process.execPath, [STORE_WORKER, build.file, 'hold', dir], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout!.once('data', resolve));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(JSON.parse(await readFile(join(dir, 'store.lock'), 'utf8'))).toMatchObject({ pid: child.pid });
    const onLockWait = vi.fn();
    const store = await FileStore.open({ dir, lockTimeoutMs: 0, onLockWait });
    await store.update((tx) => tx.put('k/1', 1));
    expect(onLockWait).not.toHaveBeenCalled();
    expect((await readdir(dir)).sort()).toEqual(FILES);
  });

  it('takes over a lock taken in an earlier boot, even if its pid is alive now', async () => {
    await writeLock(process.pid, 'other-boot-1', { boot: '00000000-0000-0000-0000-000000000000' });
    const store = await FileStore.open({ dir, lockTimeoutMs: 0 });
    await store.update((tx) => tx.put('k/1', 1));
    expect((await readdir(dir)).sort()).toEqual(FILES);
  });

  it('records the command line readable as typed', () => {
    expect(commandOf(['/usr/bin/node', '/usr/lib/node_modules/nlnet/bin/nlnet.js', 'container', 'create', '--name', 'web'])).toBe('nlnet container create --name web');
    expect(commandOf(['/usr/bin/node', '/x/bin/nlnet.js', 'exec', 'web', '--', 'sh', '-c', "echo 'hi there'"])).toBe(String.raw`nlnet exec web -- sh -c 'echo '\''hi there'\'''`);
    expect(commandOf(['/usr/bin/node'])).toBe('node');
    expect(commandOf([])).toBe('');
  });
});

describe('FileStore options', () => {
  it('creates a missing directory by default, and with create: false says there is no state', async () => {
    const made = join(dir, 'a', 'b');
    await FileStore.open({ dir: made });
    expect(await readdir(join(dir, 'a'))).toEqual(['b']);
    const missing = join(dir, 'typo');
    const err = await FileStore.open({ dir: missing, create: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe(`no state at ${missing}`);
    await expect(readdir(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('readonly: reads the state, writes nothing (no lock, no temp cleanup), refuses transactions', async () => {
    const writer = await FileStore.open({ dir });
    await writer.update((tx) => tx.put('networks/a', { v: 1 }));
    const deadTemp = `store.json.${deadPid()}.0123456789ab.tmp`;
    await writeFile(join(dir, deadTemp), '{"torn');
    const before = (await readdir(dir)).sort();

    const reader = await FileStore.open({ dir, readonly: true });
    expect(reader.readonly).toBe(true);
    expect(await reader.get('networks/a')).toEqual({ v: 1 });
    const err = await reader.update((tx) => tx.put('networks/a', { v: 2 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(String(err)).toContain('opened read-only');
    // It follows the writer's commits, each one whole.
    await writer.update((tx) => tx.put('networks/b', { v: 1 }));
    expect((await (await reader.snapshot()).list('networks/')).map((e) => e.key)).toEqual(['networks/a', 'networks/b']);
    expect((await readdir(dir)).sort()).toEqual(before);

    await expect(FileStore.open({ dir: join(dir, 'nothing'), readonly: true })).rejects.toBeInstanceOf(NotFoundError);
    await expect(FileStore.open({ dir, readonly: true, create: true })).rejects.toBeInstanceOf(ValidationError);
  });

  it('rejects bad option values with a ValidationError', async () => {
    for (const bad of [{ lockTimeoutMs: -1 }, { lockTimeoutMs: NaN }, { lockNoticeMs: -5 }, { create: 'yes' }, { readonly: 1 }, { onLockWait: 'print' }, { fault: { step: 'nope' } }, { fault: { bytes: -1 } }]) {
      await expect(FileStore.open({ dir, ...(bad as object) })).rejects.toBeInstanceOf(ValidationError);
    }
  });
});
