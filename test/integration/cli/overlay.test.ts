// Overlay networks across hosts (test/helpers/hosts.ts: hosts as namespaces on one underlay
// bridge, a real etcd in the underlay namespace, nlnet run in each host's namespace through
// nsenter), checked with iproute2 and real traffic.
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
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

describe.skipIf(SKIP !== '')(`overlay networks across hosts (${SKIP || 'root, etcd'})`, () => {
  let cluster: TestCluster;
  beforeEach(async () => {
    cluster = await startCluster(2, 'nlov');
  });
  afterEach(async () => {
    await cluster.remove();
  });

  const run = (host: TestHost, ...args: string[]): string => {
    const r = cluster.nlnet(host, '--cluster-advertise', 'eth0', ...args);
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.status, args.join(' ')).toBe(0);
    return r.stdout;
  };
  const daemon = async (host: TestHost): Promise<ChildProcess> => {
    const child = cluster.start(host, '--cluster-advertise', 'eth0', '--cluster-store-opt', `discovery.ttl=${TTL}`, 'daemon');
    await ready(child);
    return child;
  };

  it('containers on two hosts reach each other over VXLAN, by address and by name', async () => {
    const [a, b] = cluster.hosts as [TestHost, TestHost];
    await daemon(a);
    await daemon(b);
    run(a, 'network', 'create', '-d', 'overlay', 'ov1');
    expect(run(b, 'network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}')).toContain('ov1 overlay global');
    run(a, 'container', 'create', '--name', 'c1', '--network', 'ov1');
    run(b, 'container', 'create', '--name', 'c2', '--network', 'ov1');
    const ipOf = (h: TestHost, c: string): string => (JSON.parse(run(h, 'container', 'inspect', c)) as [{ NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }])[0].NetworkSettings.Networks.ov1!.IPAddress;
    const ip1 = ipOf(a, 'c1');
    const ip2 = ipOf(b, 'c2');
    expect([ip1, ip2].sort()).toEqual(['10.0.0.2', '10.0.0.3']);
    const deadline = Date.now() + 5000;
    for (;;) {
      const r = cluster.nlnet(a, 'exec', 'c1', '--', 'ping', '-c1', '-W1', ip2);
      if (r.status === 0) break;
      if (Date.now() > deadline) throw new Error(`no ping: ${r.stdout} ${r.stderr}`);
    }
    const r2 = cluster.nlnet(b, 'exec', 'c2', '--', 'sh', '-c', 'cat /etc/resolv.conf; ip addr; ip route; dig +time=1 +tries=1 c1');
    console.log(r2.stdout, r2.stderr);
    expect(cluster.nlnet(b, 'exec', 'c2', '--', 'ping', '-c1', '-W1', 'c1').status).toBe(0);
    console.log(execFileSync('ip', ['netns', 'list']).toString());
  }, 60_000);
});
