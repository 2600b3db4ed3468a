// Overlay networks across hosts, the data plane (test/helpers/hosts.ts: hosts as namespaces on
// one underlay bridge, a real etcd in the underlay namespace, nlnet run in each host's namespace
// through nsenter): the devices and the static FDB and neighbour entries as iproute2 shows them,
// ping, TCP and DNS between containers on different hosts, egress and published ports through
// docker_gwbridge, and what an overlay container cannot reach. Lifecycle and failures are in
// overlay-lifecycle.test.ts and overlay-failures.test.ts.
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ETCD, ETCD_SKIP_REASON } from '../../helpers/etcd.js';
import { startCluster, type TestHost } from '../../helpers/hosts.js';
import { isRoot, ipj, ROOT_SKIP_REASON } from '../../helpers/ns.js';
import { dockerMac, Hosts, waitFor } from '../../helpers/overlay.js';

const SKIP = !isRoot ? ROOT_SKIP_REASON : ETCD === undefined ? ETCD_SKIP_REASON : '';
if (SKIP !== '') console.warn(`skipped: ${SKIP}`);

interface LinkDetail {
  ifname: string;
  mtu: number;
  address: string;
  master?: string;
  operstate: string;
  linkinfo?: { info_kind: string; info_data?: { id?: number; port?: number; learning?: boolean; proxy?: boolean; local?: string; group?: string; link?: string } };
}
interface AddrInfo {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

describe.skipIf(SKIP !== '')(`overlay networks across hosts: the data plane (${SKIP || 'root, etcd'})`, () => {
  let h: Hosts;
  beforeEach(async () => {
    h = new Hosts(await startCluster(2, 'nlov'));
  });
  afterEach(async () => {
    await h.cluster.remove();
  });

  it('vxlan0, br0 and eth0 as Docker makes them; every remote endpoint a permanent FDB and neighbour entry', async () => {
    const [a, b] = h.all as [TestHost, TestHost];
    await h.daemon(a);
    await h.daemon(b);
    h.run(a, 'network', 'create', '-d', 'overlay', 'ov1');
    const c1 = h.container(a, 'c1', 'ov1');
    const c2 = h.container(b, 'c2', 'ov1');
    const net = h.inspect(a, 'ov1');
    const vni = Number(net.Options['com.docker.network.driver.overlay.vxlanid_list']);
    expect(vni).toBeGreaterThanOrEqual(256);

    for (const [host, own, other, otherHost] of [[a, c1, c2, b], [b, c2, c1, a]] as const) {
      const ns = h.overlayNetns(host, net.Id);
      const [vx] = ipj<LinkDetail[]>(ns, '-d', 'link', 'show', 'vxlan0');
      expect(vx!.linkinfo!.info_kind).toBe('vxlan');
      expect(vx!.linkinfo!.info_data).toMatchObject({ id: vni, port: 4789, learning: false, proxy: true });
      // No group, no local address, no underlay device: peers come from the FDB alone.
      expect(vx!.linkinfo!.info_data!.group).toBeUndefined();
      expect(vx!.linkinfo!.info_data!.local).toBeUndefined();
      expect(vx).toMatchObject({ mtu: 1450, master: 'br0' });
      const [br] = ipj<LinkDetail[]>(ns, '-d', 'link', 'show', 'br0');
      expect(br!.linkinfo!.info_kind).toBe('bridge');
      expect(br!.mtu).toBe(1450);
      const [brAddr] = ipj<AddrInfo[]>(ns, '-4', 'addr', 'show', 'br0');
      expect(brAddr!.addr_info.map((x) => `${x.local}/${x.prefixlen}`)).toEqual([`${net.IPAM.Config[0]!.Gateway}/24`]);
      expect(net.IPAM.Config[0]!.Gateway).toBe('10.0.0.1');

      // The vxlan device's UDP socket is in the host's namespace (it made the device).
      const ss = spawnSync('nsenter', [`--net=/run/netns/${host.netns}`, 'ss', '-H', '-uln', 'sport = :4789'], { encoding: 'utf8' });
      expect(ss.stdout).toContain(':4789');

      // The container's eth0: 1500 underlay − 50, Docker's MAC, the address on the subnet.
      const [eth0] = ipj<LinkDetail[]>(own.netns, 'link', 'show', 'eth0');
      expect(eth0).toMatchObject({ mtu: 1450, address: dockerMac(own.ip) });
      expect(own.mac).toBe(dockerMac(own.ip));
      const [eth0Addr] = ipj<AddrInfo[]>(own.netns, '-4', 'addr', 'show', 'eth0');
      expect(eth0Addr!.addr_info.map((x) => `${x.local}/${x.prefixlen}`)).toEqual([`${own.ip}/24`]);
      // Its veth's other end is a port of br0 in the network's namespace.
      const ports = ipj<LinkDetail[]>(ns, 'link', 'show', 'master', 'br0').map((l) => l.ifname).sort();
      expect(ports).toHaveLength(2);
      expect(ports).toContain('vxlan0');
      expect(ports.find((p) => p !== 'vxlan0')).toMatch(/^veth/);

      // The other host's endpoint, and nothing else, programmed statically.
      await waitFor(`${other.ip} programmed on ${host.address}`, 10_000, () => Hosts.fdb(ns).length === 1 && Hosts.neigh(ns).length === 1, () => Hosts.peers(ns));
      const [fdb] = Hosts.fdb(ns);
      expect(fdb).toMatchObject({ mac: other.mac, dst: otherHost.address, state: 'permanent' });
      expect(fdb!.flags).toContain('self');
      const [neigh] = Hosts.neigh(ns);
      expect(neigh).toMatchObject({ dst: other.ip, lladdr: other.mac, state: ['PERMANENT'] });
    }
  }, 90_000);

  it('ping, TCP and DNS (name and --network-alias) between containers on two hosts', async () => {
    const [a, b] = h.all as [TestHost, TestHost];
    await h.daemon(a);
    await h.daemon(b);
    h.run(a, 'network', 'create', '-d', 'overlay', 'ov1');
    const c1 = h.container(a, 'c1', 'ov1', '--network-alias', 'front');
    const c2 = h.container(b, 'c2', 'ov1', '--network-alias', 'web');
    await waitFor('c1 pings c2 across hosts', 10_000, () => h.ping(a, 'c1', c2.ip));
    expect(h.ping(b, 'c2', c1.ip)).toBe(true);

    // The overlay does no NAT: the server sees the other container's own address.
    await h.serve(c2.netns, 7000);
    await h.serve(c1.netns, 7000);
    expect(h.tcpFrom(a, 'c1', c2.ip, 7000)).toBe(c1.ip);
    expect(h.tcpFrom(b, 'c2', c1.ip, 7000)).toBe(c2.ip);

    // Each host's daemon answers on the gateway inside the network's namespace, for both hosts' containers.
    await waitFor('c2 resolves on host a', 10_000, () => h.dig(a, 'c1', '10.0.0.1', 'c2').join() === c2.ip);
    expect(h.dig(a, 'c1', '10.0.0.1', 'web')).toEqual([c2.ip]);
    await waitFor('c1 resolves on host b', 10_000, () => h.dig(b, 'c2', '10.0.0.1', 'c1').join() === c1.ip);
    expect(h.dig(b, 'c2', '10.0.0.1', 'front')).toEqual([c1.ip]);
    expect(h.dig(a, 'c1', '10.0.0.1', 'c1')).toEqual([c1.ip]);
    // Through the container's resolv.conf: ping and TCP by name and by alias.
    expect(h.ping(a, 'c1', 'c2')).toBe(true);
    expect(h.ping(b, 'c2', 'front')).toBe(true);
    expect(h.tcpFrom(a, 'c1', 'web', 7000)).toBe(c1.ip);
    expect(h.tcpFrom(b, 'c2', 'c1', 7000)).toBe(c2.ip);
  }, 90_000);

  it('egress through docker_gwbridge is masqueraded to the host; a published port is reachable at the host', async () => {
    const [a, b] = h.all as [TestHost, TestHost];
    await h.daemon(a);
    await h.daemon(b);
    h.run(a, 'network', 'create', '-d', 'overlay', 'ov1');
    h.container(a, 'c1', 'ov1');
    const web = h.container(b, 'web', 'ov1', '-p', '8080:80');
    // eth1 on docker_gwbridge carries the default route.
    const [route] = ipj<{ dev: string }[]>(web.netns, 'route', 'show', 'default');
    expect(route!.dev).toBe('eth1');

    await h.serve(h.cluster.underlay, 7001);
    expect(h.tcpFrom(a, 'c1', '10.200.0.1', 7001)).toBe(a.address);
    expect(h.tcpFrom(b, 'web', '10.200.0.1', 7001)).toBe(b.address);

    await h.serve(web.netns, 80);
    expect(Hosts.tcpIn(h.cluster.underlay, b.address, 8080)).toBe('10.200.0.1');
    // From another host's container: out through its gwbridge, in through b's published port.
    expect(h.tcpFrom(a, 'c1', b.address, 8080)).toBe(a.address);
  }, 90_000);

  it('two overlay networks cannot reach each other; a local bridge network only through its published port', async () => {
    const [a, b] = h.all as [TestHost, TestHost];
    await h.daemon(a);
    await h.daemon(b);
    h.run(a, 'network', 'create', '-d', 'overlay', 'ov1');
    h.run(a, 'network', 'create', '-d', 'overlay', 'ov2');
    const a1 = h.container(a, 'a1', 'ov1');
    const b1 = h.container(b, 'b1', 'ov1');
    const a2 = h.container(a, 'a2', 'ov2');
    const b2 = h.container(b, 'b2', 'ov2');
    const a2gw = h.containerInfo(a, 'a2', 'docker_gwbridge');
    expect(a2.ip).not.toBe(a1.ip);
    for (const c of [a1, b1, a2, b2]) await h.serve(c.netns, 7000);
    // Each network works, so what follows fails for the isolation alone.
    await waitFor('a1 reaches b1', 10_000, () => h.tcpFrom(a, 'a1', b1.ip, 7000) === a1.ip);
    await waitFor('a2 reaches b2', 10_000, () => h.tcpFrom(a, 'a2', b2.ip, 7000) === a2.ip);
    for (const [target, what] of [[b2.ip, 'ov2 on the other host'], [a2.ip, 'ov2 on the same host'], [a2gw.ip, "ov2's container on docker_gwbridge (icc off)"]] as const) {
      expect(h.ping(a, 'a1', target), what).toBe(false);
      expect(h.tcpFrom(a, 'a1', target, 7000), what).toBeUndefined();
    }
    expect(h.tcpFrom(b, 'b2', a1.ip, 7000)).toBeUndefined();

    h.run(a, 'network', 'create', 'loc');
    const l1 = h.container(a, 'l1', 'loc', '-p', '9090:80');
    await h.serve(l1.netns, 80);
    expect(Hosts.tcpIn(a.netns, l1.ip, 80), 'the host reaches its bridge network').toBeDefined();
    expect(h.ping(a, 'a1', l1.ip)).toBe(false);
    expect(h.tcpFrom(a, 'a1', l1.ip, 80)).toBeUndefined();
    expect(h.tcpFrom(a, 'a1', a.address, 9090)).toBeDefined();
  }, 120_000);
});
