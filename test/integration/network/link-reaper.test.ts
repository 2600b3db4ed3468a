// lib/network/link-reaper.ts: host veth ends deleted together when many sandboxes go at once
// (one group delete), one alone as it comes, links already gone skipped. Oracle: `ip -j link`.
import { describe, expect, it } from 'vitest';

import { reapLink } from '../../../lib/network/link-reaper.js';
import { ipj, ipRun, isRoot, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

describe.skipIf(!isRoot)(`link reaper (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(2, 'nlreap');
  const names = (ns: string): string[] => ipj<{ ifname: string }[]>(ns, 'link', 'show').map((l) => l.ifname);

  async function pairs(n: number): Promise<string[]> {
    const [host, sb] = [spaces[0]!, spaces[1]!];
    await host.nl.batch((b) => {
      for (let i = 0; i < n; i++) b.link.add({ name: `vr${i}`, kind: 'veth', peer: { name: `pr${i}`, netns: sb.name } });
    });
    await host.nl.link.add({ name: 'other0', kind: 'veth', peer: { name: 'other1' } });
    return Array.from({ length: n }, (_, i) => `vr${i}`);
  }

  it('deletes 40 links asked for at once, their peers too, and nothing else', async () => {
    const made = await pairs(40);
    await Promise.all(made.map((n) => reapLink(spaces[0]!.nl, n)));
    expect(names(spaces[0]!.name).filter((n) => n.startsWith('vr'))).toEqual([]);
    expect(names(spaces[1]!.name).filter((n) => n.startsWith('pr'))).toEqual([]);
    expect(names(spaces[0]!.name)).toEqual(expect.arrayContaining(['other0', 'other1']));
    // No group left behind on the links that stay.
    expect(ipj<{ ifname: string; group: string }[]>(spaces[0]!.name, 'link', 'show', 'other0')[0]!.group).toBe('default');
  });

  it('skips links gone already, in the middle of a round and alone', async () => {
    const made = await pairs(10);
    ipRun(spaces[0]!.name, 'link', 'del', 'vr5');
    ipRun(spaces[0]!.name, 'link', 'del', 'vr9');
    await Promise.all(made.map((n) => reapLink(spaces[0]!.nl, n)));
    expect(names(spaces[0]!.name).filter((n) => n.startsWith('vr'))).toEqual([]);
    await reapLink(spaces[0]!.nl, 'vr0');
    expect(names(spaces[0]!.name)).toEqual(expect.arrayContaining(['other0', 'other1']));
  });

  it('fails every deletion of a round the kernel refuses, and goes on with the next', async () => {
    const made = await pairs(3);
    // lo cannot be deleted: its round fails; the links after it still go.
    const results = await Promise.allSettled([reapLink(spaces[0]!.nl, made[0]!), reapLink(spaces[0]!.nl, 'lo'), reapLink(spaces[0]!.nl, made[1]!)]);
    // The first goes alone; lo and the one queued with it share the refused round.
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    await Promise.all([reapLink(spaces[0]!.nl, made[1]!), reapLink(spaces[0]!.nl, made[2]!)]);
    expect(names(spaces[0]!.name)).toContain('lo');
    expect(names(spaces[0]!.name).filter((n) => n.startsWith('vr'))).toEqual([]);
  });
});
