// The etcd store against a real etcd (Debian's etcd-server, started per file on free ports by
// test/helpers/etcd.ts): the Store contract, then what only etcd has: other processes writing,
// list guards, bounded retries, host leases, watches across restarts and compaction, etcd down.
import { spawn } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ConflictError } from '../../../../lib/core/errors.js';
import { EtcdError } from '../../../../lib/network/store/etcd-client.js';
import { EtcdStore, type EtcdStoreOptions } from '../../../../lib/network/store/etcd.js';
import type { WatchEvent } from '../../../../lib/network/store/etcd-watch.js';
import { ETCD, ETCD_SKIP_REASON, freePort, startEtcd, type TestEtcd } from '../../../helpers/etcd.js';
import { storeContract } from '../../../helpers/store-contract.js';

const root = join(import.meta.dirname, '..', '..', '..', '..');
const CHILD = join(root, 'test', 'helpers', 'etcd-child.mjs');
const skip = ETCD === undefined ? ETCD_SKIP_REASON : undefined;

let etcd: TestEtcd;
let n = 0;
const prefix = (): string => `/nlnet-test/${process.pid}-${n++}/`;
const opened: EtcdStore[] = [];
const prefixes = new WeakMap<EtcdStore, string>();
async function open(opts: Partial<EtcdStoreOptions> = {}): Promise<EtcdStore> {
  const p = opts.prefix ?? prefix();
  const store = await EtcdStore.open({ endpoints: [etcd.endpoint], timeoutMs: 3_000, ...opts, prefix: p });
  opened.push(store);
  prefixes.set(store, p);
  return store;
}
/** The prefix a store was opened with. */
const prefixOf = (store: EtcdStore): string => prefixes.get(store)!;
/** A store and a second one on the same prefix: another writer, with its own connection. */
async function pair(opts: Partial<EtcdStoreOptions> = {}): Promise<[EtcdStore, EtcdStore]> {
  const store = await open(opts);
  return [store, await open({ prefix: prefixOf(store) })];
}

beforeAll(async () => {
  if (skip === undefined) etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.remove();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

storeContract(
  'EtcdStore',
  async () => {
    const p = prefix();
    return { open: () => EtcdStore.open({ endpoints: [etcd.endpoint], prefix: p }) };
  },
  skip === undefined ? {} : { skip },
);

/** A raw etcd3 client on the test's etcd, for what the store must not do itself (compact, revoke). */
function raw(): Etcd3 {
  return new Etcd3({ hosts: `http://${etcd.endpoint}` });
}

function child(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`etcd-child ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

const until = async (what: () => Promise<boolean> | boolean, ms: number): Promise<number> => {
  const start = Date.now();
  while (!(await what())) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return Date.now() - start;
};

describe.skipIf(skip !== undefined)('EtcdStore across processes', () => {
  beforeAll(() => {
    // The children import dist/: it must be built from the current sources.
    const built = join(root, 'dist', 'network', 'store', 'etcd.js');
    if (!existsSync(built)) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json` first');
    const src = join(root, 'lib', 'network', 'store');
    const newest = Math.max(...readdirSync(src).map((f) => statSync(join(src, f)).mtimeMs));
    if (statSync(built).mtimeMs < newest) throw new Error('dist/ is older than lib/network/store: run `npx tsc -p tsconfig.json` first');
  });

  it('loses no update when 4 processes each increment one counter 100 times', async () => {
    const p = prefix();
    const attempts = await Promise.all([1, 2, 3, 4].map(() => child([etcd.endpoint, p, 'count', '100', 'counters/c'])));
    const store = await EtcdStore.open({ endpoints: [etcd.endpoint], prefix: p });
    opened.push(store);
    expect(await store.get('counters/c')).toBe(400);
    // They did contend: more attempts than updates.
    expect(attempts.reduce((sum, a) => sum + Number(a), 0)).toBeGreaterThanOrEqual(400);
  });

  it('a host whose process is killed disappears when its lease expires', async () => {
    const p = prefix();
    const store = await EtcdStore.open({ endpoints: [etcd.endpoint], prefix: p });
    opened.push(store);
    const host = spawn(process.execPath, [CHILD, etcd.endpoint, p, 'host', 'h1', '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => host.stdout.once('data', resolve));
    expect((await store.hosts()).map((h) => h.id)).toEqual(['h1']);
    // Kept alive past its ttl while the process lives.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await store.hosts()).map((h) => h.id)).toEqual(['h1']);
    const exited = new Promise((resolve) => host.once('exit', resolve));
    host.kill('SIGKILL');
    await exited;
    const gone = await until(async () => (await store.hosts()).length === 0, 2_000 + 3_000);
    expect(gone).toBeGreaterThan(500); // by expiry, not by a revoke
  });

  it('close() releases everything: the process exits by itself', async () => {
    const started = Date.now();
    await expect(child([etcd.endpoint, prefix(), 'exit'])).resolves.toBe('closed\n');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe.skipIf(skip !== undefined)('EtcdStore transactions', () => {
  it('list guard: a delete under a listed prefix forces a retry; one elsewhere does not', async () => {
    const [store, other] = await pair();
    await store.update((tx) => ['items/a', 'items/b', 'items/c', 'other/x'].forEach((k) => tx.put(k, 1)));
    let runs = 0;
    await store.update(async (tx) => {
      runs++;
      const items = await tx.list('items/');
      if (runs === 1) await other.update((t) => t.delete('items/b'));
      tx.put('summary/count', items.length);
    });
    expect(runs).toBe(2);
    expect(await store.get('summary/count')).toBe(2);

    runs = 0;
    await store.update(async (tx) => {
      runs++;
      const items = await tx.list('items/');
      if (runs === 1) await other.update((t) => t.delete('other/x'));
      tx.put('summary/count', items.length);
    });
    expect(runs).toBe(1);
    // The guard keys are there in etcd, and never in a listing.
    expect((await store.list('')).map((e) => e.key)).toEqual(['items/a', 'items/c', 'summary/count']);
    const client = raw();
    const keys = (await client.getAll().prefix(prefixOf(store)).keys()).map((k) => k.slice(prefixOf(store).length));
    client.close();
    expect(keys).toContain('\0guard/items');
  });

  it('a concurrent create under a listed prefix forces a retry too', async () => {
    const [store, other] = await pair();
    let runs = 0;
    await store.update(async (tx) => {
      runs++;
      const items = await tx.list('items/');
      if (runs === 1) await other.update((t) => t.put('items/new', 1));
      tx.put('summary/count', items.length);
    });
    expect(runs).toBe(2);
    expect(await store.get('summary/count')).toBe(1);
  });

  it('retries a conflict, then gives up after maxAttempts with a ConflictError that says so', async () => {
    const [store, other] = await pair({ maxAttempts: 3 });
    let runs = 0;
    await store.update(async (tx) => {
      const v = (await tx.get<number>('c/1')) ?? 0;
      if (++runs < 3) await other.update((t) => t.put('c/1', 100 + runs));
      tx.put('c/1', v + 1);
    });
    expect([runs, await store.get('c/1')]).toEqual([3, 103]);

    runs = 0;
    const err = await store
      .update(async (tx) => {
        runs++;
        const v = (await tx.get<number>('c/1')) ?? 0;
        await other.update((t) => t.put('c/1', 1000 + runs));
        tx.put('c/1', v + 1);
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toBe(`transaction '${etcd.endpoint}': gave up after 3 attempts: other writers kept changing what it read`);
    expect([runs, await store.get('c/1')]).toEqual([3, 1003]);
  });

  it('a tx that listed a leased key retries when the lease expires under it', async () => {
    const store = await open();
    const host = await store.registerHost({ id: 'h1', address: '192.0.2.1', ttlSeconds: 30 });
    let runs = 0;
    await store.update(async (tx) => {
      runs++;
      const hosts = await tx.list('hosts/');
      if (runs === 1) {
        const client = raw();
        await client.leaseClient.leaseRevoke({ ID: host.leaseId });
        client.close();
      }
      tx.put('summary/hosts', hosts.length);
    });
    expect([runs, await store.get('summary/hosts')]).toEqual([2, 0]);
    await host.close();
  });

  it('registers hosts, re-registers after its lease is lost, and close() removes it at once', async () => {
    const store = await open();
    const host = await store.registerHost({ id: 'h2', address: '192.0.2.7', ttlSeconds: 3 });
    const [info] = await store.hosts();
    expect(info).toMatchObject({ id: 'h2', address: '192.0.2.7' });
    const first = host.leaseId;
    const client = raw();
    await client.leaseClient.leaseRevoke({ ID: first });
    client.close();
    expect(await store.hosts()).toEqual([]);
    await until(async () => (await store.hosts()).length === 1, 3_000);
    expect(host.leaseId).not.toBe(first);
    expect(host.reregistrations).toBe(1);
    expect(await store.hosts()).toEqual([info]); // the same `since`
    await host.close();
    expect(await store.hosts()).toEqual([]);
  });

  it("refuses a transaction over etcd's operations limit before sending it, writing nothing", async () => {
    const store = await open({ maxTxnOps: 4 });
    const err = await store.update((tx) => ['a', 'b', 'c', 'd', 'e'].forEach((k) => tx.put(`big/${k}`, 1))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdError);
    expect(err).toMatchObject({ code: 'too-large' });
    expect((err as Error).message).toContain('etcd takes at most 4 of each per transaction (--max-txn-ops)');
    expect(await store.list('')).toEqual([]);
  });

  it('measures a one-key read-modify-write and a get (medians over 200)', async () => {
    const store = await open();
    const times = async (fn: () => Promise<unknown>): Promise<number> => {
      const t: number[] = [];
      for (let i = 0; i < 200; i++) {
        const s = process.hrtime.bigint();
        await fn();
        t.push(Number(process.hrtime.bigint() - s) / 1e6);
      }
      return t.sort((a, b) => a - b)[100]!;
    };
    const update = await times(() => store.update(async (tx) => tx.put('bench/c', ((await tx.get<number>('bench/c')) ?? 0) + 1)));
    const get = await times(() => store.get('bench/c'));
    console.log(`etcd store: update (one-key read-modify-write) median ${update.toFixed(2)} ms, get median ${get.toFixed(2)} ms`);
    expect(await store.get('bench/c')).toBe(200);
    expect(update).toBeLessThan(100);
  });
});


describe.skipIf(skip !== undefined)('EtcdStore watches', () => {
  /** Collects a watch's events. */
  const collector = (): { events: WatchEvent[]; handler: (e: WatchEvent) => void } => {
    const events: WatchEvent[] = [];
    return { events, handler: (e) => void events.push(e) };
  };
  const puts = (events: WatchEvent[]): string[] => events.flatMap((e) => (e.type === 'put' ? [e.key] : []));

  it('delivers puts and deletes in order, from now or from a revision, without internal keys', async () => {
    const [store, other] = await pair();
    await store.update((tx) => tx.put('w/0', 0));
    const { events, handler } = collector();
    const watch = await store.watch('w/', {}, handler);
    await other.update((tx) => tx.put('w/1', { v: 1 }));
    await other.update((tx) => {
      tx.put('w/2', 2);
      tx.delete('w/0');
    });
    await until(() => events.length === 3, 3_000);
    expect(events.map((e) => [e.type, e.type === 'resync' ? '' : e.key])).toEqual([['put', 'w/1'], ['put', 'w/2'], ['delete', 'w/0']]);
    expect(events[0]).toMatchObject({ value: { v: 1 } });
    expect(events[1]!.revision).toBe(events[2]!.revision); // one transaction, one revision
    expect(events[0]!.revision).toBeLessThan(events[1]!.revision);
    await watch.close();

    // From a revision: the same history again.
    const again = collector();
    const replay = await store.watch('w/', { fromRevision: events[0]!.revision }, again.handler);
    await until(() => again.events.length === 3, 3_000);
    expect(again.events).toEqual(events);
    await replay.close();
  });

  it('resumes across an etcd restart from the last revision seen: nothing lost, nothing twice', async () => {
    const [store, other] = await pair();
    const { events, handler } = collector();
    const watch = await store.watch('r/', {}, handler);
    for (let i = 0; i < 5; i++) await other.update((tx) => tx.put(`r/${i}`, i));
    await until(() => events.length === 5, 3_000);
    await etcd.restart();
    // Written right after the restart, while the watch is still reconnecting.
    for (let i = 5; i < 10; i++) await other.update((tx) => tx.put(`r/${i}`, i));
    await until(() => events.length >= 10, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a duplicate would arrive by now
    expect(puts(events)).toEqual(Array.from({ length: 10 }, (_, i) => `r/${i}`));
    const revs = events.map((e) => e.revision);
    expect([...revs].sort((a, b) => a - b)).toEqual(revs);
    expect(new Set(revs).size).toBe(10);
    expect(watch.restarts).toBeGreaterThanOrEqual(1);
    await watch.close();
  });

  it('re-creates a stalled stream (etcd frozen by SIGSTOP) and misses nothing', async () => {
    const [store, other] = await pair();
    const { events, handler } = collector();
    const watch = await store.watch('s/', { checkMs: 300 }, handler);
    await other.update((tx) => tx.put('s/1', 1));
    await until(() => events.length === 1, 3_000);
    process.kill(etcd.pid!, 'SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    process.kill(etcd.pid!, 'SIGCONT');
    await other.update((tx) => tx.put('s/2', 2));
    await until(() => events.length === 2, 10_000);
    expect(puts(events)).toEqual(['s/1', 's/2']);
    expect(watch.restarts).toBeGreaterThanOrEqual(1);
    await watch.close();
  });

  it('after compaction past its revision, sends one resync with the whole prefix and goes on', async () => {
    const [store, other] = await pair();
    await store.update((tx) => tx.put('c/1', 1));
    const from = (await store.watch('c/', {}, () => {}).then(async (w) => (await w.close(), w.next)));
    await store.update((tx) => tx.put('c/2', 2));
    await store.update((tx) => tx.delete('c/1'));
    const client = raw();
    const { header } = await client.kv.range({ key: Buffer.from('x') });
    await client.kv.compact({ revision: header.revision, physical: true });
    client.close();

    const { events, handler } = collector();
    const watch = await store.watch('c/', { fromRevision: from }, handler);
    await until(() => events.length === 1, 3_000);
    expect(events[0]).toEqual({ type: 'resync', entries: [{ key: 'c/2', value: 2 }], revision: Number(header.revision) });
    await other.update((tx) => tx.put('c/3', 3));
    await until(() => events.length === 2, 3_000);
    expect(events[1]).toMatchObject({ type: 'put', key: 'c/3' });
    await watch.close();
  });
});

describe.skipIf(skip !== undefined)('EtcdStore with etcd down', () => {
  it('fails every operation within timeoutMs with one line, and changes nothing', async () => {
    const store = await open({ timeoutMs: 1_000 });
    await store.update((tx) => tx.put('k/1', 'before'));
    await etcd.stop();
    try {
      const message = `etcd at ${etcd.endpoint}: unreachable after 1 s`;
      const ops: [string, () => Promise<unknown>][] = [
        ['get', () => store.get('k/1')],
        ['list', () => store.list('k/')],
        ['snapshot', () => store.snapshot()],
        ['update', () => store.update(async (tx) => tx.put('k/1', `${await tx.get('k/1')} after`))],
        ['blind update', () => store.update((tx) => tx.put('k/2', 'after'))],
        ['decide', () => store.decide((tx) => tx.delete('k/1'))],
        ['register', () => store.registerHost({ id: 'h', address: '192.0.2.1', ttlSeconds: 5 })],
      ];
      for (const [what, op] of ops) {
        const started = Date.now();
        const err = await op().catch((e: unknown) => e);
        const took = Date.now() - started;
        expect(err, what).toBeInstanceOf(EtcdError);
        expect((err as EtcdError).message, `${what}: ${String((err as Error).cause)}`).toBe(message);
        expect((err as EtcdError).code, what).toBe('unreachable');
        expect(took, what).toBeGreaterThanOrEqual(900);
        expect(took, what).toBeLessThan(2_000);
      }
    } finally {
      await etcd.restart();
    }
    expect(await store.list('')).toEqual([{ key: 'k/1', value: 'before' }]);
    expect(await store.hosts()).toEqual([]);
  });

  it('open() of an etcd that is not there: the default 5 s, in a process that then exits', async () => {
    const port = await freePort();
    const out = JSON.parse(await child([`127.0.0.1:${port}`, prefix(), 'down', '5000']));
    expect(out).toMatchObject({ name: 'EtcdError', code: 'unreachable', message: `etcd at 127.0.0.1:${port}: unreachable after 5 s` });
    expect(out.ms).toBeGreaterThanOrEqual(4_900);
    expect(out.ms).toBeLessThan(6_000);
  });
});
