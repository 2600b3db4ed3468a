// The batch executor: one native call runs steps in order, later steps use links made by earlier
// ones, and a failure names its step and stops the rest.
import { describe, expect, it } from 'vitest';

import { NetlinkError } from '../../../lib/index.js';
import { ipj, isRoot, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

describe.skipIf(!isRoot)(`batch (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const ns = useNetns(2);

  it('builds a container-style attachment in one call, refs standing for new links', async () => {
    const [host, ctr] = ns as [(typeof ns)[0], (typeof ns)[0]];
    const results = await host.nl.batch((b) => {
      const br = b.link.add({ name: 'br0', kind: 'bridge', up: true });
      b.addr.add({ dev: br, address: '172.30.0.1/24' });
      const v = b.link.add({ name: 'vhost', kind: 'veth', master: br, peer: { name: 'eth0', netns: ctr.name } });
      b.link.set(v, { up: true });
    });
    expect(results).toHaveLength(4);
    // A step's result is the kernel's echo of the new link, made before it joined its master.
    const [br, , veth] = results as [{ name: string; index: number }, undefined, { name: string; index: number }];
    expect(br.name).toBe('br0');
    expect(veth.name).toBe('vhost');
    expect(veth.index).toBeGreaterThan(br.index);

    const links = ipj<{ ifname: string; master?: string; operstate: string }[]>(host.name, 'link', 'show');
    expect(links.find((l) => l.ifname === 'vhost')?.master).toBe('br0');
    expect(ipj<{ addr_info: { local: string }[] }[]>(host.name, 'addr', 'show', 'br0')[0]!.addr_info.map((a) => a.local)).toContain('172.30.0.1');
    expect(ipj<{ ifname: string }[]>(ctr.name, 'link', 'show', 'eth0')[0]!.ifname).toBe('eth0');
  });

  it('resolves interface names on the worker, once per batch', async () => {
    const [host] = ns;
    await host!.nl.link.add({ name: 'v0', kind: 'veth', peer: { name: 'v1' } });
    await host!.nl.batch((b) => {
      for (let i = 1; i <= 20; i++) b.addr.add({ dev: 'v0', address: `10.20.0.${i}/32` });
    });
    expect(ipj<{ addr_info: unknown[] }[]>(host!.name, 'addr', 'show', 'v0')[0]!.addr_info.length).toBeGreaterThanOrEqual(20);
  });

  it('stops at the first failing step and says which, earlier steps staying done', async () => {
    const [host] = ns;
    const e = await host!.nl
      .batch((b) => {
        b.link.add({ name: 'a0', kind: 'bridge' });
        b.link.add({ name: 'a1', kind: 'bridge' });
        b.link.add({ name: 'a0', kind: 'bridge' }); // EEXIST
        b.link.add({ name: 'a2', kind: 'bridge' });
      })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetlinkError);
    const err = e as NetlinkError & { completed: unknown[] };
    expect(err.code).toBe('EEXIST');
    expect(err.step).toBe(2);
    expect(err.op).toBe('link.add');
    expect(err.completed).toHaveLength(2);
    const names = ipj<{ ifname: string }[]>(host!.name, 'link', 'show').map((l) => l.ifname);
    expect(names).toContain('a1');
    expect(names).not.toContain('a2');
  });

  it('reports an unknown interface name as ENODEV with the name', async () => {
    const [host] = ns;
    const e = await host!.nl.addr.add({ dev: 'nosuch0', address: '10.0.0.1/24' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetlinkError);
    expect((e as NetlinkError).code).toBe('ENODEV');
    expect((e as NetlinkError).message).toContain('nosuch0');
  });

  it('carries the kernel’s extended-ack message', async () => {
    const [host] = ns;
    await host!.nl.link.add({ name: 'v0', kind: 'veth', peer: { name: 'v1' }, up: true });
    // A gateway that is not on any connected subnet: the kernel says why in its extended ack.
    const e = (await host!.nl.route.add({ dst: '10.99.0.0/16', via: '192.0.2.1', dev: 'v0' }).catch((x: unknown) => x)) as NetlinkError;
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e.code).toBe('ENETUNREACH');
    expect(e.extack).toMatch(/gateway/i);
    expect(e.message).toContain(e.extack);
  });

  it('runs concurrent calls on one handle on separate sockets', async () => {
    const [host] = ns;
    await Promise.all(Array.from({ length: 40 }, (_, i) => host!.nl.link.add({ name: `c${i}`, kind: 'bridge' })));
    const names = new Set(ipj<{ ifname: string }[]>(host!.name, 'link', 'show').map((l) => l.ifname));
    for (let i = 0; i < 40; i++) expect(names.has(`c${i}`)).toBe(true);
  });
});
