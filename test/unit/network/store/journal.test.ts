// The journal on disk: its line format, a torn tail (a writer that died part-way through an
// append, or a power loss) skipped by readers and cut off by the next writer, damage refused, an
// unfinished compaction recovered from, and the migration of the single-file state of earlier
// versions (test/fixtures/store-v1, written by nlnet before the journal for a bridge network,
// two containers with published ports and aliases, and one with none).
import { cp, mkdtemp, readdir, readFile, rm, writeFile, appendFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { serialize } from '../../../../lib/network/store/disk.js';
import { FileStore } from '../../../../lib/network/store/file.js';
import { encodeRecord, journalHeader, parseRecords } from '../../../../lib/network/store/journal.js';
import type { Json } from '../../../../lib/network/store/types.js';

const FIXTURE = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'store-v1');
const FILES = ['store.journal', 'store.json'];

let dir: string;
let journal: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nlnet-journal-'));
  journal = join(dir, 'store.journal');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A store with three commits of one key each: k/1, k/2, k/3. */
async function threeCommits(): Promise<FileStore> {
  const store = await FileStore.open({ dir });
  for (const n of [1, 2, 3]) await store.update((tx) => tx.put(`k/${n}`, n));
  return store;
}

const keys = async (store: FileStore): Promise<string[]> => (await store.list('k/')).map((e) => e.key);

describe('the journal line', () => {
  it('is the crc32 of its JSON, a space, the JSON and a newline (golden bytes)', () => {
    // The checksum from Python's zlib.crc32 of the UTF-8 JSON, not from the code under test.
    const line = encodeRecord({ seq: 1, put: { 'k/1': { a: 'é' } }, del: ['k/0'] }).toString('utf8');
    expect(line).toBe('1ce41513 {"seq":1,"put":{"k/1":{"a":"é"}},"del":["k/0"]}\n');
    expect(journalHeader(41)).toBe('{"format":"nlnet-journal","version":2,"base":41}\n');
  });

  it('counts only whole lines: a prefix of any length is not a record yet', () => {
    const bytes = Buffer.concat([encodeRecord({ seq: 5, put: { a: 1 }, del: [] }), encodeRecord({ seq: 6, put: {}, del: ['a'] })]);
    const first = encodeRecord({ seq: 5, put: { a: 1 }, del: [] }).length;
    for (let n = 0; n <= bytes.length; n++) {
      const { records, end, tail } = parseRecords(bytes.subarray(0, n), 100, 4, 'j');
      const whole = n === bytes.length ? 2 : n >= first ? 1 : 0;
      expect({ n, seqs: records.map((r) => r.seq), end, tail }).toEqual({ n, seqs: [5, 6].slice(0, whole), end: 100 + (whole === 0 ? 0 : whole === 1 ? first : bytes.length), tail: n - (whole === 0 ? 0 : whole === 1 ? first : bytes.length) });
    }
  });
});

describe('a torn tail', () => {
  it('left by a writer that died mid-append: readers skip it, the next writer cuts it off', async () => {
    const store = await threeCommits();
    const whole = (await readFile(journal)).length;
    const torn = encodeRecord({ seq: 4, put: { 'k/4': 4 }, del: [] }).subarray(0, 20);
    await appendFile(journal, torn);
    const reader = await FileStore.open({ dir, readonly: true });
    expect(await keys(reader)).toEqual(['k/1', 'k/2', 'k/3']);
    await store.update((tx) => tx.put('k/5', 5));
    expect(await keys(reader)).toEqual(['k/1', 'k/2', 'k/3', 'k/5']);
    const text = await readFile(journal, 'utf8');
    expect(text.length).toBe(whole + encodeRecord({ seq: 4, put: { 'k/5': 5 }, del: [] }).length);
    expect(text.split('\n').at(-2)).toContain('"seq":4');
  });

  it('a whole line with a wrong checksum at the end (a power loss) is a torn tail too', async () => {
    const store = await threeCommits();
    const bad = encodeRecord({ seq: 4, put: { 'k/4': 4 }, del: [] });
    bad[0] = bad[0] === 0x30 ? 0x31 : 0x30;
    await appendFile(journal, bad);
    expect(await keys(await FileStore.open({ dir }))).toEqual(['k/1', 'k/2', 'k/3']);
    await store.update((tx) => tx.put('k/4', 4));
    expect(await keys(await FileStore.open({ dir }))).toEqual(['k/1', 'k/2', 'k/3', 'k/4']);
  });

  it('zeros at the end (a file extended, its data never written) are a torn tail', async () => {
    await threeCommits();
    await appendFile(journal, Buffer.alloc(4096));
    expect(await keys(await FileStore.open({ dir }))).toEqual(['k/1', 'k/2', 'k/3']);
  });
});

describe('a damaged journal is refused, never read as fewer commits', () => {
  it('a damaged record with whole records after it', async () => {
    await threeCommits();
    const text = await readFile(journal, 'utf8');
    const lines = text.split('\n');
    const at = lines[0]!.length + 1 + lines[1]!.length + 1;
    lines[2] = lines[2]!.replace('"k/2"', '"k/X"');
    await writeFile(journal, lines.join('\n'));
    await expect(FileStore.open({ dir })).rejects.toMatchObject({ name: 'StoreError', problem: 'garbage', path: journal, message: expect.stringContaining(`has a damaged record at byte ${at} with whole records after it`) });
  });

  it('a commit out of sequence', async () => {
    await threeCommits();
    const lines = (await readFile(journal, 'utf8')).split('\n');
    lines.splice(2, 1);
    await writeFile(journal, lines.join('\n'));
    await expect(FileStore.open({ dir })).rejects.toMatchObject({ problem: 'garbage', message: expect.stringContaining('has commit 3 at byte') });
  });

  it('missing next to its snapshot', async () => {
    await threeCommits();
    await rm(journal);
    await expect(FileStore.open({ dir })).rejects.toMatchObject({ problem: 'vanished', path: journal, message: expect.stringContaining('is missing next to the snapshot') });
  });

  it('a header that is not one, or of a newer version', async () => {
    await threeCommits();
    const body = (await readFile(journal, 'utf8')).split('\n').slice(1).join('\n');
    await writeFile(journal, `not a header\n${body}`);
    await expect(FileStore.open({ dir })).rejects.toMatchObject({ problem: 'garbage', message: expect.stringContaining('does not start with a journal header') });
    await writeFile(journal, `{"format":"nlnet-journal","version":3,"base":0}\n${body}`);
    await expect(FileStore.open({ dir })).rejects.toMatchObject({ problem: 'wrong-version' });
    await truncate(journal, 10);
    await expect(FileStore.open({ dir })).rejects.toMatchObject({ problem: 'garbage', message: expect.stringContaining('has no whole header line') });
  });
});

describe('a compaction that died between its two renames', () => {
  it('new snapshot, old journal: the records are in the snapshot; the next writer starts a new journal', async () => {
    await threeCommits();
    const docs = new Map<string, Json>([['k/1', 1], ['k/2', 2], ['k/3', 3]]);
    await writeFile(join(dir, 'store.json'), serialize(docs, 3));
    const store = await FileStore.open({ dir });
    expect(await keys(store)).toEqual(['k/1', 'k/2', 'k/3']);
    await store.update((tx) => tx.put('k/4', 4));
    const lines = (await readFile(journal, 'utf8')).split('\n');
    expect(lines[0]).toBe(journalHeader(3).trim());
    expect(lines).toHaveLength(3);
    expect(await keys(await FileStore.open({ dir }))).toEqual(['k/1', 'k/2', 'k/3', 'k/4']);
  });
});

describe('the single-file state of earlier versions', () => {
  const fixture = async (): Promise<Record<string, Json>> => JSON.parse(await readFile(join(FIXTURE, 'store.json'), 'utf8')).data;

  it('is migrated on the first open that may write: the same documents, as snapshot and journal', async () => {
    await cp(FIXTURE, dir, { recursive: true });
    const before = await fixture();
    const store = await FileStore.open({ dir });
    expect((await readdir(dir)).sort()).toEqual(FILES);
    expect(JSON.parse(await readFile(join(dir, 'store.json'), 'utf8'))).toEqual({ format: 'nlnet-store', version: 2, seq: 0, data: before });
    expect(Object.fromEntries((await store.list('')).map((e) => [e.key, e.value]))).toEqual(before);
    await store.update((tx) => tx.delete('sandboxes/solo'));
    const after = await FileStore.open({ dir });
    expect((await after.list('sandboxes/')).map((e) => e.key)).toEqual(['sandboxes/api', 'sandboxes/db']);
  });

  it('is read as it is by a readonly open, which writes nothing', async () => {
    await cp(FIXTURE, dir, { recursive: true });
    const store = await FileStore.open({ dir, readonly: true });
    expect(Object.fromEntries((await store.list('')).map((e) => [e.key, e.value]))).toEqual(await fixture());
    expect(await readdir(dir)).toEqual(['store.json']);
    expect(await readFile(join(dir, 'store.json'))).toEqual(await readFile(join(FIXTURE, 'store.json')));
  });

  it('a migration that died before its snapshot rename leaves the old state, migrated again next time', async () => {
    await cp(FIXTURE, dir, { recursive: true });
    await writeFile(journal, journalHeader(0)); // the journal is renamed in first
    const store = await FileStore.open({ dir });
    expect(Object.fromEntries((await store.list('')).map((e) => [e.key, e.value]))).toEqual(await fixture());
    expect(JSON.parse(await readFile(join(dir, 'store.json'), 'utf8')).version).toBe(2);
  });
});

describe('group commit: transactions waiting together', () => {
  it('run one after the other on what the ones before them left, one line each', async () => {
    const store = await FileStore.open({ dir });
    await store.update((tx) => tx.put('count', 0));
    // 40 increments at once: each must see the one before it, or the count comes out short.
    const bumps = Array.from({ length: 40 }, () =>
      store.update(async (tx) => {
        const n = (await tx.get<number>('count'))!;
        tx.put('count', n + 1);
        return n;
      }),
    );
    // One that throws among them changes nothing and fails alone.
    const bad = store
      .update(async (tx) => {
        tx.put('never', true);
        throw new Error('refused');
      })
      .catch((e: unknown) => e);
    const seen = await Promise.all(bumps);
    expect(((await bad) as Error).message).toBe('refused');
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(await store.get('count')).toBe(40);
    expect(await store.get('never')).toBeUndefined();
    // Each transaction is its own whole line: a crash between two of them loses only the later.
    const lines = (await readFile(journal, 'utf8')).split('\n').filter((l) => l.includes('"count"'));
    expect(lines).toHaveLength(41);
    // And what the next process reads is the same.
    expect(await (await FileStore.open({ dir, readonly: true })).get('count')).toBe(40);
    await store.close();
  });

  it('decides each as soon as its line is written; written settles with the group', async () => {
    const store = await FileStore.open({ dir });
    const a = store.decide((tx) => tx.put('a', 1));
    const b = store.decide((tx) => tx.put('b', 2));
    const [da, db] = await Promise.all([a, b]);
    await Promise.all([da.written, db.written]);
    expect([await store.get('a'), await store.get('b')]).toEqual([1, 2]);
    await store.close();
  });
});
