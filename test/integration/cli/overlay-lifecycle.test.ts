// Overlay networks across hosts, their life (test/helpers/hosts.ts: hosts as namespaces on one
// underlay bridge, a real etcd in the underlay namespace): a host joining late gets every peer and
// is programmed everywhere, a removed container leaves every host's vxlan0 within 2 s, twenty
// containers on three hosts get unique addresses, `network ls`/`inspect`/`rm` agree on every host,
// VNIs are allocated and honoured, and after the last container and the network nothing is left
// on any host or in etcd. Checked with `ip -j`, `bridge -j`, `ip netns list` and `etcdctl`.
import { existsSync } from 'node:fs';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ETCD, ETCD_SKIP_REASON } from '../../helpers/etcd.js';
import { startCluster, type TestHost } from '../../helpers/hosts.js';
import { ipj, isRoot, ROOT_SKIP_REASON } from '../../helpers/ns.js';
import { Hosts, inSubnet, waitFor, type Placed } from '../../helpers/overlay.js';

const SKIP = !isRoot ? ROOT_SKIP_REASON : ETCD === undefined ? ETCD_SKIP_REASON : '';
if (SKIP !== '') console.warn(`skipped: ${SKIP}`);

const VXLANID_LIST = 'com.docker.network.driver.overlay.vxlanid_list';

describe.skipIf(SKIP !== '')(`overlay networks across hosts: lifecycle (${SKIP || 'root, etcd'})`, () => {
  let h: Hosts;
  beforeEach(async () => {
    h = new Hosts(await startCluster(3, 'nlol'));
  });
  afterEach(async () => {
    await h.cluster.remove();
  });

  it('a host joining late gets every peer and is programmed on the others; a removed container leaves them within 2 s', async () => {
    const [a, b, c] = h.all as [TestHost, TestHost, TestHost];
    await h.daemon(a);
    await h.daemon(b);
    h.run(a, 'network', 'create', '-d', 'overlay', 'ov');
    const id = h.inspect(a, 'ov').Id;
    const c1 = h.place(a, 'c1', 'ov');
    const c2 = h.place(b, 'c2', 'ov');
    await h.programmed(a, id, [c1, c2]);
    await h.programmed(b, id, [c1, c2]);

    await h.daemon(c);
    const c3 = h.place(c, 'c3', 'ov');
    const all = [c1, c2, c3];
    // The host that makes its part of the network programs what was there before, at once.
    expect(Hosts.peers(h.overlayNetns(c, id))).toEqual(Hosts.expectedPeers([c1, c2]));
    for (const host of [a, b, c]) await h.programmed(host, id, all);
    await waitFor('c3 pings c1 and c2', 10_000, () => h.ping(c, 'c3', c1.ip) && h.ping(c, 'c3', c2.ip));
    await waitFor('c3 resolves c1 by name', 10_000, () => h.dig(c, 'c3', '10.0.0.1', 'c1').join() === c1.ip);

    h.run(a, 'container', 'rm', 'c1');
    const gone = Date.now();
    for (const host of [b, c]) {
      const ns = h.overlayNetns(host, id);
      await waitFor(`c1 gone from ${host.address}`, 2_000 - (Date.now() - gone), () => !Hosts.peers(ns).some((p) => p.includes(c1.mac)), () => Hosts.peers(ns));
    }
    expect(Date.now() - gone, 'both hosts within 2 s').toBeLessThanOrEqual(2_000);
    for (const host of [b, c]) await h.programmed(host, id, [c2, c3]);
    // c1 was a's last endpoint on ov: a's part of it is gone.
    expect(h.overlayNamespaces(a)).toEqual([]);
  }, 90_000);

  it('twenty containers created at once on three hosts: unique addresses, all in the subnet, every peer programmed', async () => {
    await Promise.all(h.all.map((host) => h.daemon(host)));
    h.run(h.all[0]!, 'network', 'create', '-d', 'overlay', '--subnet', '10.42.0.0/24', 'ov');
    const id = h.inspect(h.all[0]!, 'ov').Id;
    const names = Array.from({ length: 20 }, (_, i) => ({ host: h.all[i % 3]!, name: `w${i}` }));
    const results = await Promise.all(names.map(({ host, name }) => h.cluster.nlnetAsync(host, '--cluster-advertise', 'eth0', 'container', 'create', '--name', name, '--network', 'ov')));
    for (const [i, r] of results.entries()) {
      expect(r.stderr, names[i]!.name).toBe('');
      expect(r.status, names[i]!.name).toBe(0);
    }
    const placed: Placed[] = names.map(({ host, name }) => ({ ...h.containerInfo(host, name, 'ov'), vtep: host.address }));
    const ips = placed.map((p) => p.ip);
    expect(new Set(ips).size).toBe(20);
    for (const ip of ips) expect(inSubnet(ip, '10.42.0.0/24'), ip).toBe(true);
    expect(ips).not.toContain('10.42.0.1');
    // What the kernel has on each eth0 is what was recorded.
    for (const p of placed) expect(ipj<{ addr_info: { local: string }[] }[]>(p.netns, '-4', 'addr', 'show', 'eth0')[0]!.addr_info.map((x) => x.local)).toEqual([p.ip]);
    expect(h.etcdKeys('endpoints/ov/')).toHaveLength(20);
    for (const host of h.all) await h.programmed(host, id, placed, 20_000);
  }, 120_000);

  it('network ls and inspect agree on every host; rm with endpoints elsewhere is refused naming the host; VNIs', async () => {
    const [a, b, c] = h.all as [TestHost, TestHost, TestHost];
    await Promise.all(h.all.map((host) => h.daemon(host)));
    h.run(a, 'network', 'create', '-d', 'overlay', 'ov1');
    h.place(a, 'c1', 'ov1');
    h.place(b, 'c2', 'ov1');
    const seen = h.all.map((host) => h.inspect(host, 'ov1'));
    const id = seen[0]!.Id;
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    for (const [i, host] of h.all.entries()) {
      const net = seen[i]!;
      expect(net).toMatchObject({ Name: 'ov1', Id: id, Scope: 'global', Driver: 'overlay' });
      expect(net.Options[VXLANID_LIST]).toBe('256');
      expect(net.IPAM.Config[0]).toEqual({ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' });
      expect(net.Peers!.map((p) => p.IP).sort()).toEqual([a.address, b.address]);
      // Containers are this host's own.
      expect(Object.values(net.Containers).map((x) => x.Name)).toEqual(host === a ? ['c1'] : host === b ? ['c2'] : []);
      const ls = h.run(host, 'network', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Name}} {{.Driver}} {{.Scope}}').split('\n');
      expect(ls).toContain(`${id} ov1 overlay global`);
    }
    // A host that has made nothing yet (no state directory) sees the cluster's networks too.
    const fresh = ['--state-dir', `/tmp/nlnet-no-state-${process.pid}`];
    expect(h.run(c, ...fresh, 'network', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Name}} {{.Scope}}').split('\n')).toContain(`${id} ov1 global`);
    expect(JSON.parse(h.run(c, ...fresh, 'network', 'inspect', 'ov1'))[0]).toMatchObject({ Id: id, Scope: 'global', Containers: {} });
    expect(existsSync(fresh[1]!)).toBe(false);

    // b's container keeps the network, whichever host asks.
    for (const host of [a, c]) {
      const line = h.fail(host, 'network', 'rm', 'ov1');
      expect(line).toContain(b.address);
      expect(line).toContain('c2');
    }
    h.run(a, 'container', 'rm', 'c1');
    expect(h.fail(c, 'network', 'rm', 'ov1')).not.toContain(a.address);
    expect(h.inspect(c, 'ov1').Peers!.map((p) => p.IP)).toEqual([b.address]);

    h.run(c, 'network', 'create', '-d', 'overlay', 'ov2');
    h.run(b, 'network', 'create', '-d', 'overlay', '-o', `${VXLANID_LIST}=4242`, 'ov3');
    expect(h.inspect(a, 'ov2').Options[VXLANID_LIST]).toBe('257');
    expect(h.inspect(a, 'ov3').Options[VXLANID_LIST]).toBe('4242');
    expect(h.fail(a, 'network', 'create', '-d', 'overlay', '-o', `${VXLANID_LIST}=4242`, 'ov4')).toMatch(/4242.*ov3/);
    expect(h.fail(c, 'network', 'create', '-d', 'overlay', '-o', `${VXLANID_LIST}=256`, 'ov4')).toMatch(/256.*ov1/);
    expect(h.etcdGet('networks/ov4')).toBeUndefined();
    // The kernel's vxlan0 carries the VNI asked for.
    h.place(a, 'c3', 'ov3');
    const [vx] = ipj<{ linkinfo: { info_data: { id: number } } }[]>(h.overlayNetns(a, h.inspect(a, 'ov3').Id), '-d', 'link', 'show', 'vxlan0');
    expect(vx!.linkinfo.info_data.id).toBe(4242);
  }, 90_000);

  it('after every container and the network are removed, no host has an overlay namespace and etcd holds nothing of them', async () => {
    const [a, b, c] = h.all as [TestHost, TestHost, TestHost];
    await Promise.all(h.all.map((host) => h.daemon(host)));
    h.run(a, 'network', 'create', '-d', 'overlay', 'ov1');
    h.run(b, 'network', 'create', '-d', 'overlay', '--internal', 'ov2');
    h.place(a, 'c1', 'ov1');
    h.place(b, 'c2', 'ov1');
    h.place(c, 'c3', 'ov1', '-p', '8080:80');
    h.place(c, 'c4', 'ov2');
    h.run(b, 'network', 'connect', 'ov2', 'c2');
    for (const host of h.all) expect(h.overlayNamespaces(host).length).toBeGreaterThan(0);
    expect(h.etcdKeys('endpoints/')).toHaveLength(5);

    h.run(a, 'container', 'rm', 'c1');
    h.run(b, 'network', 'disconnect', 'ov2', 'c2');
    h.run(b, 'container', 'rm', 'c2');
    h.run(c, 'container', 'rm', 'c3', 'c4');
    h.run(a, 'network', 'rm', 'ov1');
    h.run(c, 'network', 'rm', 'ov2');

    for (const host of h.all) {
      expect(h.overlayNamespaces(host), host.address).toEqual([]);
      expect(h.run(host, 'network', 'ls', '--format', '{{.Name}}').split('\n')).not.toContain('ov1');
    }
    expect(Hosts.netnsList().filter((n) => h.all.some((host) => n.startsWith(h.cluster.prefixOf(host))))).toEqual([]);
    expect(h.etcdKeys('endpoints/')).toEqual([]);
    expect(h.etcdKeys('networks/')).toEqual([]);
  }, 90_000);
});
