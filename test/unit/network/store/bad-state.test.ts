// Bad state on disk: a state file that is empty, cut short, garbage or not the store's format, one
// that disappears under a running store, a missing or unwritable state directory, leftovers of
// crashes. Each gives a StoreError (or NotFoundError) naming the path and what is wrong, or a
// recovery that loses nothing; never an empty state, which the engine's reconcile would take as
// "nothing is ours" and answer by removing the user's networks. Read-only and full file systems
// (mounts, so root): test/integration/network/store/bad-state.test.ts.
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { NotFoundError } from '../../../../lib/core/errors.js';
import { serialize } from '../../../../lib/network/store/disk.js';
import { StoreError, type StoreProblem } from '../../../../lib/network/store/errors.js';
import { FileStore } from '../../../../lib/network/store/file.js';
import type { Json } from '../../../../lib/network/store/types.js';
import { buildStore, STORE_WORKER, type StoreBuild } from '../../../helpers/store-build.js';

const isRoot = process.getuid?.() === 0;

let dir: string;
let state: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nlnet-bad-'));
  state = join(dir, 'store.json');
});
afterEach(async () => {
  await chmod(dir, 0o700).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** The single-file state of earlier versions (format version 1), which the store reads and migrates. */
const legacy = (data: Map<string, Json>): string => `${JSON.stringify({ format: 'nlnet-store', version: 1, data: Object.fromEntries(data) })}\n`;

const DOCS = new Map<string, Json>([
  ['networks/a', { name: 'a', driver: 'bridge', subnet: '172.18.0.0/16', labels: { team: 'x' } }],
  ['endpoints/e1', { network: 'a', ip: '172.18.0.2', aliases: ['web'] }],
  ['sandboxes/web', { name: 'web', netns: '/run/netns/web', ok: true, n: null }],
]);
const GOOD = legacy(DOCS);
/** What a state directory holds between transactions: the snapshot and the journal. */
const FILES = ['store.journal', 'store.json'];

/** Opening fails with a StoreError of `problem` naming the file, and the file is left as it was. */
async function expectRefused(content: string | Buffer, problem: StoreProblem, says: string | RegExp): Promise<StoreError> {
  await writeFile(state, content);
  const err = await FileStore.open({ dir }).catch((e: unknown) => e);
  expect(err, String(err)).toBeInstanceOf(StoreError);
  const e = err as StoreError;
  expect({ problem: e.problem, path: e.path }).toEqual({ problem, path: state });
  expect(e.message).toContain(state);
  expect(e.message).toMatch(says);
  expect(await readFile(state)).toEqual(Buffer.from(content));
  return e;
}

const ADVICE = /not reading it as an empty state .*: restore it, or move it away to start afresh$/;

describe('a damaged state file is refused, named and left alone', () => {
  it('an empty file', async () => {
    const e = await expectRefused('', 'empty', `state file ${state} is empty (nlnet never writes an empty one)`);
    expect(e.message).toMatch(ADVICE);
  });

  it('a file cut short at any of 40 points of its JSON', async () => {
    const cuts = Array.from({ length: 40 }, (_, i) => 1 + Math.floor((i * (GOOD.length - 3)) / 40));
    for (const cut of cuts) {
      const e = await expectRefused(GOOD.slice(0, cut), 'truncated', `state file ${state} ends part-way through its JSON, after ${cut} bytes`);
      expect(e.message).toMatch(ADVICE);
    }
  });

  it('without its final newline it is whole, and reads', async () => {
    await writeFile(state, GOOD.trimEnd());
    expect(await (await FileStore.open({ dir })).get('sandboxes/web')).toMatchObject({ name: 'web' });
  });

  it('garbage: text, binary, invalid UTF-8, zeros (a power loss on some file systems)', async () => {
    await expectRefused('hello world\n', 'garbage', `state file ${state} is not JSON (it starts with "hello world\\n"); not reading`);
    await expectRefused(Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x81, 0x7d]), 'garbage', /is not JSON/);
    let seed = 7;
    const noise = Buffer.from(Array.from({ length: 512 }, () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff));
    await expectRefused(noise, 'garbage', /is not JSON/);
    await expectRefused(Buffer.alloc(4096), 'garbage', `holds 4096 zero bytes and no JSON`);
    await expectRefused(`${GOOD}garbage after the end`, 'garbage', `is not JSON (invalid at character ${GOOD.length}; it starts with "{\\"format\\":\\"nlnet-store\\",")`);
  });

  it('JSON, but not the store format', async () => {
    for (const text of ['[]', '{}', '"store"', '42', 'null', 'true', '{"networks":{"a":{}}}', '[{"format":"nlnet-store","version":1,"data":{}}]', '{"format":"other","version":1,"data":{}}']) {
      await expectRefused(text, 'wrong-format', `state file ${state} is JSON but not an nlnet state file (no "format": "nlnet-store")`);
    }
    for (const text of ['{"format":"nlnet-store","version":1}', '{"format":"nlnet-store","version":1,"data":[]}', '{"format":"nlnet-store","version":1,"data":"x"}', '{"format":"nlnet-store","version":1,"data":null}']) {
      await expectRefused(text, 'wrong-format', `state file ${state} has no "data" object of documents`);
    }
  });

  it('a version it cannot read: newer, or not a version at all', async () => {
    await expectRefused('{"format":"nlnet-store","version":3,"seq":0,"data":{}}', 'wrong-version', `state file ${state} was written by a newer nlnet (state format version 3); this nlnet reads versions 1 and 2 and leaves it untouched`);
    await expectRefused('{"format":"nlnet-store","version":"1","data":{}}', 'wrong-version', 'has an unknown state format version ("1")');
    await expectRefused('{"format":"nlnet-store","data":{}}', 'wrong-version', 'has an unknown state format version (undefined)');
  });

  it('damaged under an open store: reads and transactions fail, and nothing overwrites it', async () => {
    await writeFile(state, GOOD);
    const store = await FileStore.open({ dir });
    expect(await store.get('networks/a')).toMatchObject({ name: 'a' });
    const torn = GOOD.slice(0, 50);
    await writeFile(join(dir, 'torn'), torn);
    await rename(join(dir, 'torn'), state); // a new inode, as any replacement would be
    await expect(store.get('networks/a')).rejects.toMatchObject({ name: 'StoreError', problem: 'truncated' });
    await expect(store.list('')).rejects.toBeInstanceOf(StoreError);
    await expect(store.snapshot()).rejects.toBeInstanceOf(StoreError);
    await expect(store.update((tx) => tx.put('networks/b', {}))).rejects.toMatchObject({ problem: 'truncated' });
    expect(await readFile(state, 'utf8')).toBe(torn);
    expect((await readdir(dir)).sort()).toEqual(FILES); // lock released, no temp file
  });
});

describe('a state that disappears is an error, not an empty state', () => {
  it('store.json removed under a running store', async () => {
    const store = await FileStore.open({ dir });
    await store.update((tx) => tx.put('networks/a', { name: 'a' }));
    await rm(state);
    const err = await store.list('networks/').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ problem: 'vanished', path: state, message: `state file ${state} was removed while nlnet was using it; not reading it as an empty state` });
    await expect(store.update((tx) => tx.put('networks/b', {}))).rejects.toMatchObject({ problem: 'vanished' });
    expect(await readdir(dir)).toEqual(['store.journal']); // no new, empty store.json written over the loss
  });

  it('the state directory removed under a running store', async () => {
    const sub = join(dir, 'state');
    const store = await FileStore.open({ dir: sub });
    await rm(sub, { recursive: true });
    await expect(store.get('networks/a')).rejects.toMatchObject({ name: 'StoreError', problem: 'vanished', path: sub, message: `state directory ${sub} was removed while nlnet was using it` });
  });

  it('a fresh directory with no store.json yet is an empty state (nothing was ever committed)', async () => {
    const store = await FileStore.open({ dir, create: false });
    expect(await store.list('')).toEqual([]);
  });
});

describe('the state directory', () => {
  it('missing, with create: false: NotFoundError "no state at <dir>", nothing created', async () => {
    const missing = join(dir, 'nope');
    await expect(FileStore.open({ dir: missing, create: false })).rejects.toThrow(new NotFoundError('state', missing, `no state at ${missing}`));
    await expect(FileStore.open({ dir: missing, readonly: true })).rejects.toBeInstanceOf(NotFoundError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('missing, by default: created, mode 0700 (compatible with earlier versions)', async () => {
    const made = join(dir, 'a', 'state');
    await (await FileStore.open({ dir: made })).update((tx) => tx.put('k/1', 1));
    expect((await readdir(made)).sort()).toEqual(FILES);
  });

  it('a file where the directory should be, or under its path', async () => {
    const file = join(dir, 'file');
    await writeFile(file, 'x');
    await expect(FileStore.open({ dir: file })).rejects.toMatchObject({ name: 'StoreError', path: file, message: `the state directory ${file} is not a directory` });
    await expect(FileStore.open({ dir: join(file, 'sub') })).rejects.toMatchObject({
      name: 'StoreError',
      code: 'ENOTDIR',
      message: `cannot create the state directory ${join(file, 'sub')}: not a directory (ENOTDIR)`,
    });
  });

  it('store.json is a directory', async () => {
    await mkdir(state);
    await expect(FileStore.open({ dir })).rejects.toMatchObject({ name: 'StoreError', problem: 'io', code: 'EISDIR', message: `cannot read the state ${state}: is a directory (EISDIR)` });
  });

  describe.skipIf(isRoot)('without write permission (chmod 0555; as root: the child as nobody below)', () => {
    it('reads, and a transaction fails naming the lock and EACCES, the state intact', async () => {
      await writeFile(state, GOOD);
      await chmod(dir, 0o555);
      const store = await FileStore.open({ dir });
      expect(await store.get('networks/a')).toMatchObject({ name: 'a' });
      await expect(store.update((tx) => tx.put('networks/b', {}))).rejects.toMatchObject({
        name: 'StoreError',
        code: 'EACCES',
        message: `cannot take the state lock ${join(dir, 'store.lock')}: permission denied (EACCES)`,
      });
      expect(await readFile(state, 'utf8')).toBe(GOOD);
    });

    it('an unreadable state file: EACCES naming it', async () => {
      await writeFile(state, GOOD, { mode: 0o000 });
      await expect(FileStore.open({ dir })).rejects.toMatchObject({ name: 'StoreError', code: 'EACCES', message: `cannot read the state ${state}: permission denied (EACCES)` });
    });
  });

  describe.skipIf(!isRoot)('without write permission, as root through a child running as nobody (root bypasses chmod)', () => {
    let build: StoreBuild;
    beforeAll(async () => {
      build = await buildStore();
    });
    afterAll(async () => {
      await build.remove();
    });

    function probe(options: object): Promise<{ ok: boolean; error?: { name: string; message: string; code?: string; problem?: string } }> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [STORE_WORKER, build.file, 'probe', dir, JSON.stringify(options)], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('exit', () => resolve(JSON.parse(out)));
      });
    }

    it('a transaction fails naming the lock and EACCES; the state intact; readonly reads work', async () => {
      await writeFile(state, GOOD, { mode: 0o644 });
      await chmod(dir, 0o555);
      expect(await probe({})).toEqual({
        ok: false,
        error: { name: 'StoreError', problem: 'io', code: 'EACCES', message: `cannot take the state lock ${join(dir, 'store.lock')}: permission denied (EACCES)` },
      });
      expect(await readFile(state, 'utf8')).toBe(GOOD);
      expect(await readdir(dir)).toEqual(['store.json']); // not migrated either: that needs the lock
      // A readonly store needs no write permission: its probe fails only at the update it refuses.
      expect((await probe({ readonly: true })).error).toMatchObject({ name: 'ConflictError', message: `store '${dir}': opened read-only: it cannot change anything` });
    });

    it('a state file only root may read: EACCES naming it (the CLI turns EACCES into its permission hint)', async () => {
      await writeFile(state, GOOD, { mode: 0o600 });
      await chmod(dir, 0o755);
      expect(await probe({ readonly: true })).toEqual({
        ok: false,
        error: { name: 'StoreError', problem: 'io', code: 'EACCES', message: `cannot read the state ${state}: permission denied (EACCES)` },
      });
    });
  });
});

describe('leftovers of a crash are recovered from, losing nothing', () => {
  /** The pid of a process that has exited. */
  const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;

  it('a whole but never renamed temp file is not a commit: ignored, and removed', async () => {
    await writeFile(state, GOOD);
    const pid = deadPid();
    const uncommitted = serialize(new Map<string, Json>([['networks/z', { name: 'z' }]]), 7);
    const leftovers = [`store.json.${pid}.0123456789ab.tmp`, `store.journal.${pid}.0123456789ab.tmp`, `store.lock.${pid}.0123456789ab.tmp`, `store.lock.break-${pid}-aa.${pid}.0123456789ab.tmp`];
    for (const name of leftovers) await writeFile(join(dir, name), uncommitted);
    const store = await FileStore.open({ dir });
    expect((await store.list('networks/')).map((e) => e.key)).toEqual(['networks/a']);
    expect((await readdir(dir)).sort()).toEqual(FILES);
    await store.update((tx) => tx.put('networks/b', { name: 'b' }));
    expect((await store.list('networks/')).map((e) => e.key)).toEqual(['networks/a', 'networks/b']);
  });

  it('a stale lock and a stale break marker are taken over (the lock cases: store.test.ts)', async () => {
    await writeFile(state, GOOD);
    const pid = deadPid();
    const lock = (token: string): string => JSON.stringify({ pid, boot: '', token, time: new Date().toISOString() });
    await writeFile(join(dir, 'store.lock'), lock('dead-1'));
    await writeFile(join(dir, 'store.lock.break-dead-1'), lock('dead-2'));
    const store = await FileStore.open({ dir, lockTimeoutMs: 0 });
    await store.update((tx) => tx.put('networks/b', { name: 'b' }));
    expect((await readdir(dir)).sort()).toEqual(FILES);
    expect((await store.list('networks/')).length).toBe(2);
  });
});
