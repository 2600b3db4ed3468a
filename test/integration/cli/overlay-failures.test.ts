// Overlay networks across hosts when things fail (test/helpers/hosts.ts: hosts as namespaces on
// one underlay bridge, a real etcd in the underlay namespace that the test kills and starts
// again): a host whose daemon is SIGKILLed drops out of the other hosts' vxlan0 once its lease
// has run out and comes back with its daemon; with etcd down every overlay operation fails with
// one line and changes nothing, while local bridge networks keep working; and a daemon started
// on a vxlan0 that was changed by hand (and missed changes meanwhile) makes it match etcd again.
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ETCD, ETCD_SKIP_REASON } from '../../helpers/etcd.js';
import { startCluster, type TestHost } from '../../helpers/hosts.js';
import { ipRun, isRoot, ROOT_SKIP_REASON } from '../../helpers/ns.js';
import { Hosts, stop, TTL, waitFor } from '../../helpers/overlay.js';

const SKIP = !isRoot ? ROOT_SKIP_REASON : ETCD === undefined ? ETCD_SKIP_REASON : '';
if (SKIP !== '') console.warn(`skipped: ${SKIP}`);

/** How long past its lease's ttl a dead host's entries may linger: etcd's expiry check and the watch. */
const MARGIN_MS = 3_000;

/** `CMD ARGS…` inside namespace `ns`, its output; throws with its stderr. */
function inNs(ns: string, cmd: string, ...args: string[]): string {
  const r = spawnSync('nsenter', [`--net=/run/netns/${ns}`, cmd, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${ns}: ${r.stderr}`);
  return r.stdout;
}

describe.skipIf(SKIP !== '')(`overlay networks across hosts: failures (${SKIP || 'root, etcd'})`, () => {
  let h: Hosts;
  afterEach(async () => {
    await h.cluster.remove();
  });

  describe('three hosts', () => {
    beforeEach(async () => {
      h = new Hosts(await startCluster(3, 'nlof'));
    });

    it("a host's daemon SIGKILLed: its endpoints leave the others after its lease's ttl, and return with its daemon", async () => {
      const [a, b, c] = h.all as [TestHost, TestHost, TestHost];
      await h.daemon(a);
      const db = await h.daemon(b);
      await h.daemon(c);
      h.run(a, 'network', 'create', '-d', 'overlay', 'ov');
      const id = h.inspect(a, 'ov').Id;
      const all = [h.place(a, 'c1', 'ov'), h.place(b, 'c2', 'ov'), h.place(b, 'c3', 'ov'), h.place(c, 'c4', 'ov')];
      for (const host of h.all) await h.programmed(host, id, all);

      await stop(db, 'SIGKILL');
      const killed = Date.now();
      // Its lease lives on for what is left of its ttl: nothing goes before etcd drops it.
      expect(Hosts.peers(h.overlayNetns(a, id))).toEqual(Hosts.expectedPeers(all.filter((x) => x.vtep !== a.address)));
      const alive = all.filter((x) => x.vtep !== b.address);
      // Then b's endpoints go from a's and c's vxlan0, the others stay.
      for (const host of [a, c]) await h.programmed(host, id, alive, TTL * 1000 + MARGIN_MS - (Date.now() - killed));
      // Nothing touches b's own vxlan0 with its daemon gone; but a no longer sends to b.
      expect(Hosts.peers(h.overlayNetns(b, id))).toEqual(Hosts.expectedPeers(alive));
      expect(h.ping(a, 'c1', all[1]!.ip)).toBe(false);
      expect(h.ping(a, 'c1', all[3]!.ip)).toBe(true);

      await h.daemon(b);
      for (const host of h.all) await h.programmed(host, id, all);
      await waitFor('c1 reaches c2 again', 10_000, () => h.ping(a, 'c1', all[1]!.ip));
    }, 90_000);
  });

  describe('two hosts', () => {
    beforeEach(async () => {
      h = new Hosts(await startCluster(2, 'nlof'));
    });

    it('etcd down: overlay create, container create and rm fail with one line and change nothing; bridge networks keep working', async () => {
      const [a, b] = h.all as [TestHost, TestHost];
      await h.daemon(a);
      await h.daemon(b);
      h.run(a, 'network', 'create', '-d', 'overlay', 'ov');
      const id = h.inspect(a, 'ov').Id;
      const c1 = h.place(a, 'c1', 'ov');
      const c2 = h.place(b, 'c2', 'ov');
      await h.programmed(a, id, [c1, c2]);
      await h.programmed(b, id, [c1, c2]);
      /** What a failed operation must leave as it was: the host's records and its kernel. */
      const state = (): unknown => ({
        containers: h.run(a, 'container', 'ls', '--format', '{{.Names}} {{.Networks}} {{.IPAddresses}}'),
        netns: Hosts.netnsList().filter((n) => n.startsWith(h.cluster.prefixOf(a))),
        links: JSON.parse(inNs(a.netns, 'ip', '-j', 'link', 'show')).map((l: { ifname: string }) => l.ifname),
        ruleset: inNs(a.netns, 'nft', 'list', 'ruleset'),
        peers: Hosts.peers(h.overlayNetns(a, id)),
        c1: h.run(a, 'container', 'inspect', 'c1'),
        eth0: JSON.parse(inNs(c1.netns, 'ip', '-j', 'addr', 'show')),
      });
      const before = state();

      await h.cluster.stopEtcd();
      const unreachable = /etcd.*10\.200\.0\.1:2379.*unreachable/i;
      expect(h.fail(a, 'network', 'create', '-d', 'overlay', 'ov2')).toMatch(unreachable);
      expect(h.fail(a, 'container', 'create', '--name', 'x', '--network', 'ov')).toMatch(unreachable);
      expect(h.fail(a, 'container', 'rm', 'c1')).toMatch(unreachable);
      expect(state()).toEqual(before);
      // The data plane needs no etcd.
      expect(h.ping(a, 'c1', c2.ip)).toBe(true);

      // Local networks are the host's own.
      h.run(a, 'network', 'create', 'loc');
      const l1 = h.place(a, 'l1', 'loc', '-p', '9090:80');
      await h.serve(l1.netns, 80);
      expect(Hosts.tcpIn(h.cluster.underlay, a.address, 9090)).toBe('10.200.0.1');
      const ls = h.try(a, 'network', 'ls', '--format', '{{.Name}} {{.Scope}}');
      expect(ls.status).toBe(1);
      expect(ls.stdout.split('\n').filter((l) => l !== '')).toEqual(['docker_gwbridge local', 'loc local']);
      expect(ls.stderr.trim().split('\n')).toHaveLength(1);
      expect(ls.stderr).toMatch(unreachable);
      h.run(a, 'container', 'rm', 'l1');
      h.run(a, 'network', 'rm', 'loc');
      expect(state()).toEqual(before);

      await h.cluster.startEtcd();
      expect(h.etcdKeys('networks/')).toEqual(['/nlnet/v1/networks/ov']);
      expect(h.etcdKeys('endpoints/').length).toBe(2);
      h.run(a, 'network', 'create', '-d', 'overlay', 'ov2');
      const x = h.place(a, 'x', 'ov');
      // The daemons' watches carried on: b learns of x.
      await h.programmed(b, id, [c1, c2, x], 20_000);
      h.run(a, 'container', 'rm', 'c1');
      await h.programmed(b, id, [c2, x], 20_000);
      expect(h.ping(a, 'x', c2.ip)).toBe(true);
    }, 120_000);

    it('a daemon started on a vxlan0 changed by hand, that missed changes meanwhile, makes it match etcd', async () => {
      const [a, b] = h.all as [TestHost, TestHost];
      const da = await h.daemon(a);
      await h.daemon(b);
      h.run(a, 'network', 'create', '-d', 'overlay', 'ov');
      const id = h.inspect(a, 'ov').Id;
      const c1 = h.place(a, 'c1', 'ov');
      const c2 = h.place(b, 'c2', 'ov');
      const c3 = h.place(b, 'c3', 'ov');
      await h.programmed(a, id, [c1, c2, c3]);

      await stop(da);
      const ns = h.overlayNetns(a, id);
      // One entry lost, one pointing at a host that is not c3's, stale ones whole and in halves.
      ipRun(ns, 'neigh', 'del', c2.ip, 'dev', 'vxlan0');
      spawnSync('bridge', ['-n', ns, 'fdb', 'del', c2.mac, 'dev', 'vxlan0', 'dst', b.address, 'self'], { stdio: 'ignore' });
      const bridge = (...args: string[]): void => {
        const r = spawnSync('bridge', ['-n', ns, ...args], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`bridge ${args.join(' ')}: ${r.stderr}`);
      };
      bridge('fdb', 'replace', c3.mac, 'dev', 'vxlan0', 'dst', '10.200.0.99', 'self', 'permanent');
      bridge('fdb', 'add', '02:42:0a:00:00:63', 'dev', 'vxlan0', 'dst', '10.200.0.99', 'self', 'permanent');
      ipRun(ns, 'neigh', 'add', '10.0.0.99', 'lladdr', '02:42:0a:00:00:63', 'dev', 'vxlan0', 'nud', 'permanent');
      bridge('fdb', 'add', '02:42:0a:00:00:62', 'dev', 'vxlan0', 'dst', '10.200.0.98', 'self', 'permanent');
      ipRun(ns, 'neigh', 'add', '10.0.0.97', 'lladdr', '02:42:0a:00:00:61', 'dev', 'vxlan0', 'nud', 'permanent');
      // And etcd moves on while a's daemon is away.
      h.run(b, 'container', 'rm', 'c3');
      const c4 = h.place(b, 'c4', 'ov');
      expect(Hosts.peers(ns)).not.toEqual(Hosts.expectedPeers([c2, c4]));

      await h.daemon(a);
      await h.programmed(a, id, [c1, c2, c4]);
      expect(h.ping(a, 'c1', c2.ip)).toBe(true);
      expect(h.ping(a, 'c1', c4.ip)).toBe(true);
    }, 90_000);
  });
});
