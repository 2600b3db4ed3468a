// nf_tables transactions and their failures: a batch applies entirely or not at all, a stale
// generation id refuses the whole batch, the kernel's errors arrive typed and name the failing
// message, and bad input is refused before anything reaches the kernel.
import { describe, expect, it } from 'vitest';

import { NetlinkError, ValidationError, type ChainSpec, type NftFamily, type TableSpec } from '../../../lib/index.js';
import { nft, nftApply, nftj, x } from '../../helpers/nft.js';
import { isRoot, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

/** The rejection of `p`, which must reject. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e,
  );
}

async function netlinkError(p: Promise<unknown>, code: string): Promise<NetlinkError> {
  const e = await failure(p);
  expect(e).toBeInstanceOf(NetlinkError);
  expect((e as NetlinkError).code).toBe(code);
  return e as NetlinkError;
}

describe.skipIf(!isRoot)(`nf_tables transactions and errors (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(1, 'nfe');
  const ns = () => spaces[0]!;

  it('refuses a commit made against a stale generation id, changing nothing', async () => {
    const { nl, name } = ns();
    const stale = await nl.nft.genid();
    nft(name, 'add', 'table', 'ip', 'meanwhile');
    const now = await nl.nft.genid();
    expect(now).not.toBe(stale);

    await netlinkError(nl.nft.commit((b) => b.addTable({ family: 'ip', name: 'late' }), { genid: stale }), 'ERESTART');
    expect(nftj(name).tables.map((t) => t.name)).toEqual(['meanwhile']);
    expect(await nl.nft.genid()).toBe(now);

    await nl.nft.commit((b) => b.addTable({ family: 'ip', name: 'late' }), { genid: now });
    expect(nftj(name).tables.map((t) => t.name)).toEqual(['meanwhile', 'late']);
  });

  it('applies nothing of a batch with a jump to a missing chain, and names that message', async () => {
    const { nl, name } = ns();
    nftApply(name, 'table ip old {\n  chain c { tcp dport 1 accept; }\n}');
    const before = nft(name, 'list', 'ruleset');

    const e = await netlinkError(
      nl.nft.commit((b) => {
        b.addTable({ family: 'ip', name: 'new' });
        b.addChain({ family: 'ip', table: 'new', name: 'a' });
        b.addRule({ family: 'ip', table: 'old', chain: 'c', exprs: [...x.dport(2), x.accept()] });
        b.addRule({ family: 'ip', table: 'new', chain: 'a', exprs: [x.jump('missing')] });
        b.addChain({ family: 'ip', table: 'new', name: 'b' });
      }),
      'ENOENT',
    );
    expect(e.step).toBe(3);
    expect(e.op).toBe('nft.addRule');
    expect(nft(name, 'list', 'ruleset')).toBe(before);
  });

  it('applies nothing of a batch with a rule in a missing chain', async () => {
    const { nl, name } = ns();
    const e = await netlinkError(
      nl.nft.commit((b) => {
        b.addTable({ family: 'inet', name: 't' });
        b.addChain({ family: 'inet', table: 't', name: 'in', type: 'filter', hook: 'input', priority: 0 });
        b.addRule({ family: 'inet', table: 't', chain: 'in', exprs: [x.accept()] });
        b.addRule({ family: 'inet', table: 't', chain: 'nosuch', exprs: [x.accept()] });
      }),
      'ENOENT',
    );
    expect(e.step).toBe(3);
    expect(nftj(name)).toEqual({ tables: [], chains: [], rules: [], sets: [] });
    expect(await nl.nft.listTables()).toEqual([]);
  });

  it('fails with EEXIST only for an exclusive add of what exists', async () => {
    const { nl } = ns();
    const table: TableSpec = { family: 'ip', name: 't' };
    const chain: ChainSpec = { family: 'ip', table: 't', name: 'c' };
    await nl.nft.addTable(table, true);
    await nl.nft.addChain(chain, true);
    // `nft add` of what exists is fine; `nft create` is not.
    await nl.nft.addTable(table);
    await nl.nft.addChain(chain);
    await netlinkError(nl.nft.addTable(table, true), 'EEXIST');
    await netlinkError(nl.nft.addChain(chain, true), 'EEXIST');
  });

  it('fails with ENOENT to delete what is not there', async () => {
    const { nl } = ns();
    await netlinkError(nl.nft.delTable({ family: 'ip', name: 'nosuch' }), 'ENOENT');
    await nl.nft.commit((b) => {
      b.addTable({ family: 'ip', name: 't' });
      b.addChain({ family: 'ip', table: 't', name: 'c' });
      b.addSet({ family: 'ip', table: 't', name: 's', key: 'ipv4_addr' });
    });
    await netlinkError(nl.nft.delTable({ family: 'ip6', name: 't' }), 'ENOENT');
    await netlinkError(nl.nft.delChain({ family: 'ip', table: 't', name: 'nosuch' }), 'ENOENT');
    await netlinkError(nl.nft.delRule({ family: 'ip', table: 't', chain: 'c', handle: 999 }), 'ENOENT');
    await netlinkError(nl.nft.delSet({ family: 'ip', table: 't', name: 'nosuch' }), 'ENOENT');
    await netlinkError(nl.nft.delElements({ family: 'ip', table: 't', name: 's', key: 'ipv4_addr' }, [{ key: '10.9.9.9' }]), 'ENOENT');
  });

  it('fails with EBUSY to delete a chain jumped to or a set in use; a chain with rules goes with them', async () => {
    const { nl, name } = ns();
    nftApply(name, `
table ip t {
  set s { type ipv4_addr; }
  chain target { }
  chain full { tcp dport 1 accept; }
  chain from { jump target; ip saddr @s drop; }
}`);
    await netlinkError(nl.nft.delChain({ family: 'ip', table: 't', name: 'target' }), 'EBUSY');
    await netlinkError(nl.nft.delSet({ family: 'ip', table: 't', name: 's' }), 'EBUSY');
    expect(nftj(name).chains.map((c) => c.name).sort()).toEqual(['from', 'full', 'target']);

    // The kernel deletes an unreferenced chain together with its rules (`nft delete chain` relies on it).
    await nl.nft.delChain({ family: 'ip', table: 't', name: 'full' });
    // Once nothing refers to them any more (in the same batch), they go too.
    await nl.nft.commit((b) => {
      b.flushChain({ family: 'ip', table: 't', name: 'from' });
      b.delChain({ family: 'ip', table: 't', name: 'target' });
      b.delSet({ family: 'ip', table: 't', name: 's' });
    });
    const left = nftj(name);
    expect(left.chains.map((c) => c.name)).toEqual(['from']);
    expect([left.rules, left.sets]).toEqual([[], []]);
  });

  it('refuses bad input with a ValidationError before anything reaches the kernel', async () => {
    const { nl, name } = ns();
    const genid = await nl.nft.genid();
    const invalid: [string, () => Promise<unknown>][] = [
      ['table.family', () => nl.nft.addTable({ family: 'ipx' as NftFamily, name: 't' })],
      ['table.name', () => nl.nft.addTable({ family: 'ip', name: '' })],
      ['table.name', () => nl.nft.addTable({ family: 'ip', name: 'n'.repeat(256) })],
      ['chain.name', () => nl.nft.addChain({ family: 'ip', table: 't', name: 42 as unknown as string })],
      ['chain.hook', () => nl.nft.addChain({ family: 'ip', table: 't', name: 'c', type: 'filter' })],
      ['chain.hook', () => nl.nft.addChain({ family: 'ip', table: 't', name: 'c', policy: 'drop' })],
      ['chain.hook', () => nl.nft.addChain({ family: 'ip', table: 't', name: 'c', type: 'filter', hook: 'sideways' as 'input' })],
      ['rule.exprs', () => nl.nft.addRule({ family: 'ip', table: 't', chain: 'c', exprs: 'accept' as unknown as [] })],
      // A batch whose last step is bad sends none of its steps.
      ['set.key', () => nl.nft.commit((b) => {
        b.addTable({ family: 'ip', name: 't' });
        b.addSet({ family: 'ip', table: 't', name: 's', key: 'ipv5_addr' as 'ipv4_addr' });
      })],
    ];
    for (const [field, call] of invalid) {
      const e = await failure(call());
      expect(e, field).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field, field).toBe(field);
    }
    expect(nftj(name).tables).toEqual([]);
    expect(await nl.nft.genid()).toBe(genid);
  });
});
