// The embedded file store: transactions, atomic commits, and the lock across processes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { ConflictError, ValidationError } from '../../lib/errors.js';
import { FileStore } from '../../lib/network/store/file.js';
import type { Json } from '../../lib/network/store/types.js';

// A switch to make rename(2) fail: the moment between "temp file written" and "renamed over".
const faults = vi.hoisted(() => ({ failRename: false }));
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return {
    ...real,
    renameSync: (from: string, to: string) => {
      if (faults.failRename) throw Object.assign(new Error('simulated crash before rename'), { code: 'EIO' });
      return real.renameSync(from, to);
    },
  };
});

const root = join(import.meta.dirname, '..', '..');
const WORKER = join(root, 'test', 'helpers', 'store-worker.mjs');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nlnet-store-'));
  faults.failRename = false;
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

async function writeLock(pid: number, token: string): Promise<void> {
  await writeFile(join(dir, 'store.lock'), JSON.stringify({ pid, boot: '', token, time: new Date().toISOString() }));
}

async function counterUpdates(store: FileStore, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, () =>
      store.update(async (tx) => {
        const v = (await tx.get<number>('counters/c')) ?? 0;
        await new Promise((resolve) => setImmediate(resolve));
        tx.put('counters/c', v + 1);
      }),
    ),
  );
}

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
    const file = JSON.parse(await readFile(join(dir, 'store.json'), 'utf8'));
    expect(file).toMatchObject({ format: 'nlnet-store', version: 1 });
  });

  it('returns copies, so changing a value read changes nothing stored', async () => {
    const store = await FileStore.open({ dir });
    const value = { list: [1, 2] };
    await store.update((tx) => tx.put('k/1', value));
    value.list.push(3);
    const read = await store.get<{ list: number[] }>('k/1');
    read!.list.push(4);
    expect(await store.get('k/1')).toEqual({ list: [1, 2] });
  });

  it('lets a transaction see its own writes and returns its result', async () => {
    const store = await FileStore.open({ dir });
    await store.update((tx) => tx.put('n/x', 1));
    const seen = await store.update(async (tx) => {
      tx.put('n/y', 2);
      tx.delete('n/x');
      return { y: await tx.get('n/y'), x: await tx.get('n/x'), keys: (await tx.list('n/')).map((e) => e.key) };
    });
    expect(seen).toEqual({ y: 2, x: undefined, keys: ['n/y'] });
  });

  it('changes nothing when the transaction throws', async () => {
    const store = await FileStore.open({ dir });
    await store.update((tx) => tx.put('networks/a', { v: 1 }));
    const before = await readFile(join(dir, 'store.json'));
    const boom = new Error('boom');
    await expect(
      store.update(async (tx) => {
        tx.put('networks/a', { v: 2 });
        tx.put('networks/b', { v: 1 });
        tx.delete('networks/a');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await readFile(join(dir, 'store.json'))).toEqual(before);
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

  it('refuses a transaction object used after its transaction ended', async () => {
    const store = await FileStore.open({ dir });
    const kept = await store.update((tx) => tx);
    expect(() => kept.put('k/1', 1)).toThrow(ConflictError);
  });

  it('refuses a damaged store file instead of starting empty', async () => {
    await writeFile(join(dir, 'store.json'), '{"format":"nlnet-store","vers');
    await expect(FileStore.open({ dir })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('FileStore atomic commits', () => {
  it('keeps the old state when the commit fails between temp write and rename', async () => {
    const store = await FileStore.open({ dir });
    await store.update((tx) => tx.put('networks/a', { v: 1 }));
    faults.failRename = true;
    await expect(store.update((tx) => tx.put('networks/a', { v: 2 }))).rejects.toThrow('simulated crash');
    faults.failRename = false;
    expect(await store.get('networks/a')).toEqual({ v: 1 });
    expect(await readdir(dir)).toEqual(['store.json']); // temp removed, lock released
    await store.update((tx) => tx.put('networks/a', { v: 3 }));
    expect(await store.get('networks/a')).toEqual({ v: 3 });
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
  // Node 20 cannot run .ts, so the children import the store compiled into a temp directory.
  let build: string;
  let compiled: string;
  beforeAll(async () => {
    build = await mkdtemp(join(tmpdir(), 'nlnet-store-build-'));
    await writeFile(join(build, 'package.json'), '{"type":"module"}');
    for (const file of ['lib/errors.ts', 'lib/network/store/types.ts', 'lib/network/store/lock.ts', 'lib/network/store/file.ts']) {
      const source = await readFile(join(root, file), 'utf8');
      const out = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      });
      const dest = join(build, file.replace(/\.ts$/, '.js'));
      await mkdir(dirname(dest), { recursive: true });
      await writeFile(dest, out.outputText);
    }
    compiled = join(build, 'lib/network/store/file.js');
  });
  afterAll(async () => {
    await rm(build, { recursive: true, force: true });
  });

  function runWorker(count: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [WORKER, compiled, dir, String(count), 'counters/c'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited ${code}: ${stderr}`))));
    });
  }

  it('serializes concurrent updates within one process, also across two instances', async () => {
    const a = await FileStore.open({ dir });
    const b = await FileStore.open({ dir });
    await Promise.all([counterUpdates(a, 30), counterUpdates(b, 30)]);
    expect(await a.get('counters/c')).toBe(60);
  });

  it('loses no update when 4 processes each increment the same counter 100 times', async () => {
    await Promise.all([runWorker(100), runWorker(100), runWorker(100), runWorker(100)]);
    const store = await FileStore.open({ dir });
    expect(await store.get('counters/c')).toBe(400);
    expect(await readdir(dir)).toEqual(['store.json']);
  });

  it('takes over a lock left by a dead process', async () => {
    await writeLock(deadPid(), 'dead-1');
    const store = await FileStore.open({ dir, lockTimeoutMs: 2_000 });
    await store.update((tx) => tx.put('k/1', 1));
    expect(await store.get('k/1')).toBe(1);
    expect(await readdir(dir)).toEqual(['store.json']);
  });

  it('loses no update when 3 processes find the same stale lock at once', async () => {
    await writeLock(deadPid(), 'dead-2');
    await Promise.all([runWorker(50), runWorker(50), runWorker(50)]);
    const store = await FileStore.open({ dir });
    expect(await store.get('counters/c')).toBe(150);
    expect(await readdir(dir)).toEqual(['store.json']);
  });

  describe('with a live holder', () => {
    let holder: ChildProcess;
    beforeEach(() => {
      holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    });
    afterEach(() => {
      holder.kill('SIGKILL');
    });

    it('waits for a live lock, and proceeds once its owner is gone', async () => {
      await writeLock(holder.pid!, 'live-1');
      const store = await FileStore.open({ dir });
      let done = false;
      const update = store.update((tx) => tx.put('k/1', 1)).then(() => (done = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(done).toBe(false);
      const exited = new Promise((resolve) => holder.once('exit', resolve));
      holder.kill('SIGKILL');
      await exited;
      await update;
      expect(await store.get('k/1')).toBe(1);
    });

    it('gives up with a ConflictError naming the holder after lockTimeoutMs', async () => {
      await writeLock(holder.pid!, 'live-2');
      const store = await FileStore.open({ dir, lockTimeoutMs: 200 });
      const err = await store.update((tx) => tx.put('k/1', 1)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect(String(err)).toContain(`pid ${holder.pid}`);
      expect(await store.get('k/1')).toBeUndefined();
    });
  });
});
