// Subscriptions: changes made in a namespace arrive as events; a reader that falls behind gets
// a 'resync' event instead of a dead stream.
import { describe, expect, it } from 'vitest';

import type { EventStream, NetlinkEvent } from '../../../lib/index.js';
import { ipRun, isRoot, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

/** Reads events until `want` matches one, or fails after `ms`. (Not `for await`: leaving that
 *  loop would close the stream.) */
async function waitFor(ev: EventStream, want: (e: NetlinkEvent) => boolean, ms = 5000): Promise<NetlinkEvent> {
  const deadline = Date.now() + ms;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), Math.max(0, deadline - Date.now()))));
    const r = await Promise.race([ev.next(), timeout]);
    clearTimeout(timer);
    if (r === 'timeout' || r.done) throw new Error('no matching event before the timeout');
    if (want(r.value)) return r.value;
  }
}

describe.skipIf(!isRoot)(`events (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const ns = useNetns(1);

  it('delivers link, address, route and neighbour changes made by ip', async () => {
    const [{ name, nl }] = ns as [(typeof ns)[0]];
    const ev = await nl.events();
    try {
      ipRun(name, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
      const link = await waitFor(ev, (e) => e.type === 'link' && e.action === 'new' && e.link.name === 'v0');
      expect(link.type === 'link' && link.link.kind).toBe('veth');
      ipRun(name, 'link', 'set', 'v0', 'up');
      ipRun(name, 'addr', 'add', '10.1.0.1/24', 'dev', 'v0');
      const addr = await waitFor(ev, (e) => e.type === 'addr' && e.action === 'new');
      expect(addr.type === 'addr' && addr.addr.address).toBe('10.1.0.1/24');
      ipRun(name, 'route', 'add', '10.2.0.0/16', 'via', '10.1.0.2');
      const route = await waitFor(ev, (e) => e.type === 'route' && e.route.dst === '10.2.0.0/16');
      expect(route.type === 'route' && route.route.via).toBe('10.1.0.2');
      ipRun(name, 'neigh', 'add', '10.1.0.9', 'lladdr', '02:00:00:00:00:09', 'dev', 'v0');
      const neigh = await waitFor(ev, (e) => e.type === 'neigh' && e.neigh.address === '10.1.0.9');
      expect(neigh.type === 'neigh' && neigh.neigh.lladdr).toBe('02:00:00:00:00:09');
      ipRun(name, 'link', 'del', 'v0');
      await waitFor(ev, (e) => e.type === 'link' && e.action === 'del' && e.link.name === 'v0');
    } finally {
      ev.close();
    }
  });

  it('subscribes to the groups asked for only', async () => {
    const [{ name, nl }] = ns as [(typeof ns)[0]];
    const ev = await nl.events({ groups: ['addr'] });
    try {
      ipRun(name, 'link', 'add', 'br0', 'type', 'bridge');
      ipRun(name, 'addr', 'add', '10.3.0.1/24', 'dev', 'br0');
      const first = await waitFor(ev, () => true);
      expect(first.type).toBe('addr');
    } finally {
      ev.close();
    }
  });

  it('turns a receive-buffer overflow into a resync event and keeps going', async () => {
    const [{ nl }] = ns as [(typeof ns)[0]];
    await nl.link.add({ name: 'v0', kind: 'veth', peer: { name: 'v1' }, up: true });
    const ev = await nl.events({ groups: ['route'], receiveBuffer: 64 * 1024 });
    try {
      // Keep the JS thread busy (so nothing reads) while a worker adds 30,000 routes: far more
      // notifications than a 64 KiB buffer holds.
      const pending = nl.batch((b) => {
        for (let i = 0; i < 30_000; i++) b.route.add({ dst: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, dev: 'v0', table: 100 });
      });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
      await pending;
      await waitFor(ev, (e) => e.type === 'resync', 10_000);
      // The stream still works after the overflow.
      await nl.route.add({ dst: '10.250.0.0/16', dev: 'v0' });
      await waitFor(ev, (e) => e.type === 'route' && e.route.dst === '10.250.0.0/16', 10_000);
    } finally {
      ev.close();
    }
  });

  it('ends the iteration when closed', async () => {
    const [{ nl }] = ns as [(typeof ns)[0]];
    const ev = await nl.events();
    setTimeout(() => ev.close(), 50);
    const seen: NetlinkEvent[] = [];
    for await (const e of ev) seen.push(e);
    expect(seen).toEqual([]);
  });
});
