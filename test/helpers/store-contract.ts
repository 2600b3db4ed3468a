// What every Store back end must do (lib/network/store/types.ts), as one set of cases to run
// against each: the file store and etcd. `setup` makes a fresh, empty state before each case and
// hands back `open`, which opens one more instance on that state (some cases use two), and
// `cleanup`. Every store opened is closed after its case.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ConflictError, ValidationError } from '../../lib/core/errors.js';
import type { Json, Store } from '../../lib/network/store/types.js';

export interface ContractState {
  open(): Promise<Store>;
  cleanup?(): Promise<void>;
}

async function counterUpdates(store: Store, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, () =>
      store.update(async (tx) => {
        const v = (await tx.get<number>('counters/c')) ?? 0;
        // Yield between read and write so a missing serialization would lose updates.
        await new Promise((resolve) => setImmediate(resolve));
        tx.put('counters/c', v + 1);
      }),
    ),
  );
}

export function storeContract(name: string, setup: () => Promise<ContractState>, opts: { skip?: string } = {}): void {
  describe.skipIf(opts.skip !== undefined)(`${name}: the Store contract`, () => {
    let state: ContractState;
    const opened: Store[] = [];
    const open = async (): Promise<Store> => {
      const store = await state.open();
      opened.push(store);
      return store;
    };
    beforeEach(async () => {
      state = await setup();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
      await state.cleanup?.();
    });

    it('puts, gets, lists by prefix sorted by key, and deletes; a second instance sees it', async () => {
      const store = await open();
      expect(await store.get('networks/a')).toBeUndefined();
      await store.update((tx) => {
        tx.put('networks/b', { name: 'b', subnets: ['172.18.0.0/16'] });
        tx.put('networks/a', { name: 'a', internal: true });
        tx.put('networks/a-1', 1);
        tx.put('endpoints/e1', { network: 'a' });
      });
      expect(await store.get('networks/a')).toEqual({ name: 'a', internal: true });
      expect((await store.list('networks/')).map((e) => e.key)).toEqual(['networks/a', 'networks/a-1', 'networks/b']);
      expect((await store.list('networks/a')).map((e) => e.key)).toEqual(['networks/a', 'networks/a-1']);
      expect(await store.list('sandboxes/')).toEqual([]);
      expect((await store.list('')).map((e) => e.key)).toEqual(['endpoints/e1', 'networks/a', 'networks/a-1', 'networks/b']);
      expect(await store.list('networks/', { readonly: true })).toHaveLength(3);

      await store.update((tx) => tx.delete('networks/b'));
      expect(await store.get('networks/b')).toBeUndefined();
      const other = await open();
      expect(await other.list('networks/')).toEqual([
        { key: 'networks/a', value: { name: 'a', internal: true } },
        { key: 'networks/a-1', value: 1 },
      ]);
    });

    it('returns copies, so changing a value read changes nothing stored', async () => {
      const store = await open();
      const value = { list: [1, 2] };
      await store.update((tx) => tx.put('k/1', value));
      value.list.push(3);
      const read = await store.get<{ list: number[] }>('k/1');
      read!.list.push(4);
      expect(await store.get('k/1')).toEqual({ list: [1, 2] });
    });

    it('lets a transaction see its own writes and returns its result', async () => {
      const store = await open();
      await store.update((tx) => tx.put('n/x', 1));
      const seen = await store.update(async (tx) => {
        tx.put('n/y', 2);
        tx.delete('n/x');
        return { y: await tx.get('n/y'), x: await tx.get('n/x'), keys: (await tx.list('n/')).map((e) => e.key) };
      });
      expect(seen).toEqual({ y: 2, x: undefined, keys: ['n/y'] });
      expect((await store.list('n/')).map((e) => e.key)).toEqual(['n/y']);
    });

    it('changes nothing when the transaction throws, and goes on afterwards', async () => {
      const store = await open();
      await store.update((tx) => tx.put('networks/a', { v: 1 }));
      const boom = new Error('boom');
      await expect(
        store.update(async (tx) => {
          tx.put('networks/a', { v: 2 });
          tx.put('networks/b', { v: 1 });
          tx.delete('networks/a');
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await store.list('')).toEqual([{ key: 'networks/a', value: { v: 1 } }]);
      await store.update((tx) => tx.put('networks/c', 3));
      expect((await store.list('networks/')).map((e) => e.key)).toEqual(['networks/a', 'networks/c']);
    });

    it('rejects keys and values that are not plain JSON documents with a ValidationError, writing nothing', async () => {
      const store = await open();
      for (const key of ['', '/a', 'a//b', 'a/', 'a\nb', 'a\0b']) {
        await expect(store.update((tx) => tx.put(key, 1))).rejects.toBeInstanceOf(ValidationError);
        await expect(store.get(key)).rejects.toBeInstanceOf(ValidationError);
      }
      for (const value of [NaN, Infinity, undefined, new Date(0), { a: () => 1 }, [1n]]) {
        await expect(store.update((tx) => tx.put('k/1', value as Json))).rejects.toBeInstanceOf(ValidationError);
      }
      await expect(store.list(7 as unknown as string)).rejects.toBeInstanceOf(ValidationError);
      expect(await store.list('')).toEqual([]);
    });

    it('refuses a transaction object used after its transaction ended', async () => {
      const store = await open();
      const kept = await store.update((tx) => tx);
      expect(() => kept.put('k/1', 1)).toThrow(ConflictError);
      expect(() => kept.delete('k/1')).toThrow(ConflictError);
      await expect(kept.get('k/1')).rejects.toBeInstanceOf(ConflictError);
      expect(await store.get('k/1')).toBeUndefined();
    });

    it('snapshot: reads through one view see one commit, even after a later one', async () => {
      const store = await open();
      await store.update((tx) => {
        tx.put('networks/a', 1);
        tx.put('endpoints/a1', 1);
      });
      const view = await store.snapshot();
      await store.update((tx) => {
        tx.put('networks/a', 2);
        tx.delete('endpoints/a1');
      });
      expect([await view.get('networks/a'), (await view.list('endpoints/')).length]).toEqual([1, 1]);
      expect([await store.get('networks/a'), (await store.list('endpoints/')).length]).toEqual([2, 0]);
    });

    it('loses no update among concurrent updates in one process, also across two instances', async () => {
      const a = await open();
      const b = await open();
      await Promise.all([counterUpdates(a, 30), counterUpdates(b, 30)]);
      expect(await a.get('counters/c')).toBe(60);
    });

    it('decide: hands back the value once decided; `written` settles; a throw decides nothing', async () => {
      const store = await open();
      const { value, written } = await store.decide(async (tx) => {
        tx.put('d/1', { v: 1 });
        return 'done';
      });
      expect(value).toBe('done');
      await written;
      expect(await (await open()).get('d/1')).toEqual({ v: 1 });
      // Decisions are serialized: a second one sees the first.
      const next = await store.decide(async (tx) => ((await tx.get<{ v: number }>('d/1'))?.v ?? 0) + 1);
      expect(next.value).toBe(2);
      await next.written;
      const boom = new Error('no');
      await expect(store.decide(() => Promise.reject(boom))).rejects.toBe(boom);
      // A transaction that writes nothing is decided at once and changes nothing.
      const none = await store.decide(async (tx) => (await tx.list('d/')).length);
      expect(none.value).toBe(1);
      await none.written;
      expect(await store.list('')).toEqual([{ key: 'd/1', value: { v: 1 } }]);
    });
  });
}
