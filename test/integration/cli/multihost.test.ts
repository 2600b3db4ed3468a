// Three hosts on one machine (test/helpers/hosts.ts: an underlay bridge, a namespace per host, a
// real etcd inside the underlay namespace), each running `nlnet daemon` inside its namespace with
// `--cluster-advertise eth0`: every host sees the same list of hosts, with each one's underlay
// address; a host that joins late is seen by the others; a host whose daemon is SIGKILLed drops
// out of every host's list once its lease's ttl has run out; one stopped cleanly, at once. And a
// container of the same name on two hosts: each host names its sandbox namespaces apart.
import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ETCD, ETCD_SKIP_REASON } from '../../helpers/etcd.js';
import { startCluster, type TestCluster, type TestHost } from '../../helpers/hosts.js';
import { isRoot, ROOT_SKIP_REASON } from '../../helpers/ns.js';

const SKIP = !isRoot ? ROOT_SKIP_REASON : ETCD === undefined ? ETCD_SKIP_REASON : '';
if (SKIP !== '') console.warn(`skipped: ${SKIP}`);

const TTL = 2;

function ready(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('nlnet daemon: ready')) resolve(err);
    });
    child.on('exit', (code) => reject(new Error(`daemon exited (${code}) before it was ready: ${err}`)));
  });
}

const exited = (child: ChildProcess): Promise<number | null> => new Promise((resolve) => child.on('close', (code) => resolve(code)));

describe.skipIf(SKIP !== '')(`three hosts in one cluster (${SKIP || 'root, etcd'})`, () => {
  let cluster: TestCluster;
  beforeEach(async () => {
    cluster = await startCluster(3);
  });
  afterEach(async () => {
    await cluster.remove();
  });

  /** The addresses of the live hosts, as `host` sees them through `nlnet info`. */
  const seenFrom = (host: TestHost): string[] => {
    const r = cluster.nlnet(host, 'info', '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return (JSON.parse(r.stdout) as { Hosts: { Address: string }[] }).Hosts.map((h) => h.Address).sort();
  };

  const daemon = async (host: TestHost): Promise<ChildProcess> => {
    const child = cluster.start(host, '--cluster-advertise', 'eth0', '--cluster-store-opt', `discovery.ttl=${TTL}`, 'daemon');
    await ready(child);
    return child;
  };

  it('every host lists every host, by its underlay address; a late host is seen; a dead one goes', async () => {
    const [a, b, c] = cluster.hosts as [TestHost, TestHost, TestHost];
    const da = await daemon(a);
    const db = await daemon(b);
    for (const h of [a, b, c]) expect(seenFrom(h)).toEqual([a.address, b.address]);

    const dc = await daemon(c);
    for (const h of [a, b, c]) expect(seenFrom(h)).toEqual([a.address, b.address, c.address]);

    db.kill('SIGKILL');
    await exited(db);
    const killed = Date.now();
    while (seenFrom(a).length > 2) {
      expect(Date.now() - killed, `b should be gone once its ${TTL} s lease ran out`).toBeLessThan(TTL * 1000 + 6000);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(seenFrom(c)).toEqual([a.address, c.address]);

    dc.kill('SIGTERM');
    expect(await exited(dc)).toBe(0);
    expect(seenFrom(a)).toEqual([a.address]);
    da.kill('SIGTERM');
    expect(await exited(da)).toBe(0);
    expect(seenFrom(b)).toEqual([]);
  });

  it('the same container name on two hosts: two sandboxes, each in a namespace of its own', () => {
    const [a, b] = cluster.hosts as [TestHost, TestHost];
    const netnsOf = (host: TestHost): string => {
      const made = cluster.nlnet(host, 'container', 'create', '--name', 'web');
      expect(made.stderr).toBe('');
      expect(made.status).toBe(0);
      const r = cluster.nlnet(host, 'container', 'inspect', 'web');
      return (JSON.parse(r.stdout) as { NetworkSettings: { SandboxKey: string } }[])[0]!.NetworkSettings.SandboxKey;
    };
    const [ka, kb] = [netnsOf(a), netnsOf(b)];
    expect(ka).not.toBe(kb);
    for (const host of [a, b]) {
      const r = cluster.nlnet(host, 'container', 'rm', 'web');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });
});
