// Large dumps, and dumps that concurrent changes interrupt (NLM_F_DUMP_INTR): read again until
// consistent, or fail with what was read when the retries run out.
import { describe, expect, it } from 'vitest';

import { native } from '../../../lib/core/binding.js';
import { DumpInterruptedError, Netlink } from '../../../lib/index.js';
import { ipj, isRoot, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

async function addVethPairs(nl: Netlink, pairs: number): Promise<void> {
  for (let c = 0; c < pairs; c += 500)
    await nl.batch((b) => {
      for (let i = c; i < Math.min(pairs, c + 500); i++) b.link.add({ name: `a${i}`, kind: 'veth', peer: { name: `b${i}` } });
    });
}

/** Adds and removes links and addresses until stopped: what makes the kernel flag dumps. */
function churn(nl: Netlink): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      await nl.link.add({ name: `ch${i}`, kind: 'bridge' });
      await nl.addr.add({ dev: `ch${i}`, address: '10.255.0.1/32' });
      await nl.link.del(`ch${i}`);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

describe.skipIf(!isRoot)(`dumps (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const ns = useNetns(1);

  it('dumps 5,000 links exactly as ip reads them', async () => {
    const [{ name, nl }] = ns as [(typeof ns)[0]];
    await addVethPairs(nl, 2500);
    const ours = await nl.link.list();
    const theirs = ipj<{ ifindex: number; ifname: string; mtu: number; address: string }[]>(name, 'link', 'show');
    expect(ours).toHaveLength(5001);
    expect(ours.map((l) => [l.index, l.name, l.mtu, l.address])).toEqual(theirs.map((l) => [l.ifindex, l.ifname, l.mtu, l.address]));
    // The kernel filters by kind when asked to (strict checking), so only the veths come back.
    expect(await nl.link.list({ kind: 'veth' })).toHaveLength(5000);
  });

  it('keeps a dump correct while links and addresses change under it', async () => {
    const [{ name, nl }] = ns as [(typeof ns)[0]];
    await addVethPairs(nl, 1000);
    const other = await Netlink.open({ netns: name });
    // On a loaded machine the churn can interrupt one dump more often than the default 10
    // retries allow; what this checks is that a retried dump is whole, not how many it takes.
    const reader = await Netlink.open({ netns: name, dumpRetries: 100 });
    const before = native.counters().dumpRetries;
    const changes = churn(other);
    try {
      // At least 30 rounds, and on until the churn has interrupted some dumps (how soon depends
      // on the machine's load).
      for (let round = 0; round < 30 || (native.counters().dumpRetries - before < 3 && round < 1000); round++) {
        const links = await reader.link.list();
        const names = links.map((l) => l.name);
        // Every stable link exactly once, whatever came and went meanwhile.
        expect(new Set(names).size).toBe(names.length);
        for (let i = 0; i < 1000; i += 97) expect(names).toContain(`a${i}`);
        expect(names.filter((n) => /^[ab]\d+$/.test(n))).toHaveLength(2000);
        await reader.addr.list();
      }
    } finally {
      await changes.stop();
      other.close();
      reader.close();
    }
    // The churn did interrupt dumps, and they were read again.
    expect(native.counters().dumpRetries).toBeGreaterThan(before);
  });

  it('fails with DumpInterruptedError and the partial result when retries run out', async () => {
    const [{ name, nl }] = ns as [(typeof ns)[0]];
    await addVethPairs(nl, 1000);
    const strict = await Netlink.open({ netns: name, dumpRetries: 0 });
    const other = await Netlink.open({ netns: name });
    const changes = churn(other);
    let caught: unknown;
    try {
      for (let i = 0; i < 300 && !caught; i++) {
        await strict.link.list().catch((e: unknown) => (caught = e));
        await strict.addr.list().catch((e: unknown) => (caught = e));
      }
    } finally {
      await changes.stop();
      other.close();
      strict.close();
    }
    expect(caught).toBeInstanceOf(DumpInterruptedError);
    const e = caught as DumpInterruptedError;
    expect(e.code).toBe('EINTR');
    expect(['link.list', 'addr.list']).toContain(e.op);
    expect(e.partial.length).toBeGreaterThan(0);
  });
});
