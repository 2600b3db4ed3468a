// `--cluster-store etcd://…` with a real etcd (Debian's etcd-server, started by the test on free
// ports on 127.0.0.1, killed by its pid): `nlnet daemon` joins the cluster under a lease, `nlnet
// info` lists the live hosts, a daemon SIGKILLed drops out once its lease's ttl has run out, one
// stopped cleanly at once; the networks of the local drivers stay in the file store (nothing of
// them in etcd) and keep working while etcd is down; and the flags' bad values.
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EtcdStore } from '../../../lib/network/store/etcd.js';
import { useCli } from '../../helpers/cli.js';
import { ETCD, ETCD_SKIP_REASON, startEtcd, type TestEtcd } from '../../helpers/etcd.js';
import { ipRun, isRoot, ROOT_SKIP_REASON } from '../../helpers/ns.js';

const SKIP = !isRoot ? ROOT_SKIP_REASON : ETCD === undefined ? ETCD_SKIP_REASON : '';
if (SKIP !== '') console.warn(`skipped: ${SKIP}`);

interface Info {
  StateDir: string;
  ClusterStore: string;
  ClusterAdvertise: string;
  Hosts?: { ID: string; Address: string; Since: string }[];
}

function waitFor(child: ReturnType<typeof spawn>, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes(text)) resolve(err);
    });
    child.on('exit', (code) => reject(new Error(`exited (${code}) before "${text}": ${err}`)));
  });
}

const exited = (child: ReturnType<typeof spawn>): Promise<{ code: number | null; signal: string | null }> => new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));

describe.skipIf(SKIP !== '')(`--cluster-store with a real etcd (${SKIP || 'root, etcd'})`, () => {
  const cli = useCli('nlcl');
  let etcd: TestEtcd;
  let url: string;
  beforeAll(async () => {
    etcd = await startEtcd();
    url = `etcd://${etcd.endpoint}`;
  });
  afterAll(async () => {
    await etcd?.remove();
  });

  const info = (): Info => {
    const r = cli.run('--cluster-store', url, 'info', '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout) as Info;
  };

  /** Starts `nlnet daemon` in the cluster; resolves once it has joined. */
  async function daemon(...extra: string[]): Promise<{ child: ReturnType<typeof spawn>; done: Promise<{ code: number | null; signal: string | null }>; said: string }> {
    const [node, ...args] = cli.argv('--cluster-store', url, ...extra, 'daemon');
    const child = spawn(node!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = exited(child);
    const said = await waitFor(child, 'nlnet daemon: ready');
    return { child, done, said };
  }

  it('daemon joins under a lease; info lists it; SIGTERM leaves at once, SIGKILL after the ttl', async () => {
    expect(info().Hosts).toEqual([]);
    const a = await daemon('--cluster-advertise', '10.99.0.1', '--cluster-store-opt', 'discovery.ttl=2');
    try {
      const [host] = info().Hosts!;
      expect(host).toMatchObject({ ID: expect.stringMatching(/^nlnet:[0-9a-f]{16}$/), Address: '10.99.0.1' });
      expect(a.said).toContain(`nlnet daemon: host ${host!.ID} joined the cluster at ${url}\n`);
      a.child.kill('SIGTERM');
      expect((await a.done).code).toBe(0);
      expect(info().Hosts).toEqual([]);
    } finally {
      a.child.kill('SIGKILL');
    }

    const b = await daemon('--cluster-advertise', '10.99.0.2', '--cluster-store-opt', 'discovery.ttl=2');
    expect(info().Hosts!.map((h) => h.Address)).toEqual(['10.99.0.2']);
    b.child.kill('SIGKILL');
    await b.done;
    const killed = Date.now();
    while (info().Hosts!.length > 0) {
      expect(Date.now() - killed, 'the host should be gone once its 2 s lease ran out').toBeLessThan(8000);
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  it('--cluster-advertise an interface: its first IPv4 address; one without, or no such interface: one line, exit 1', async () => {
    // veths, not dummies: this kernel may lack the dummy module; they go with the host namespace.
    ipRun(cli.host, 'link', 'add', 'underlay0', 'type', 'veth', 'peer', 'name', 'underlay0p');
    ipRun(cli.host, 'addr', 'add', '10.98.0.7/24', 'dev', 'underlay0');
    ipRun(cli.host, 'link', 'add', 'bare0', 'type', 'veth', 'peer', 'name', 'bare0p');
    const d = await daemon('--cluster-advertise', 'underlay0');
    try {
      expect(info().Hosts!.map((h) => h.Address)).toEqual(['10.98.0.7']);
    } finally {
      d.child.kill('SIGTERM');
      await d.done;
    }
    for (const [value, says] of [
      ['bare0', 'interface bare0 has no IPv4 address'],
      ['nosuch0', 'is neither an IPv4 address nor an interface of the host namespace'],
      ['fd00::1', 'an IPv6 underlay is not supported'],
    ]) {
      const [node, ...args] = cli.argv('--cluster-store', url, '--cluster-advertise', value!, 'daemon');
      const child = spawn(node!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (x: Buffer) => (err += x.toString()));
      expect((await exited(child)).code).toBe(1);
      expect(err).toContain(says);
      expect(err.trim().split('\n').at(-1)).toMatch(/^nlnet: /);
    }
  });

  it('bridge networks and their containers stay in the file store: nothing of them in etcd', async () => {
    for (const args of [['network', 'create', '--subnet', '10.97.0.0/24', 'n1'], ['container', 'create', '--name', 'c1', '--network', 'n1', '-p', '8080:80']]) {
      const r = cli.run('--cluster-store', url, ...args);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
    const store = await EtcdStore.open({ endpoints: [etcd.endpoint] });
    try {
      expect(await store.list('')).toEqual([]);
    } finally {
      await store.close();
    }
    expect(JSON.parse(cli.run('--cluster-store', url, 'network', 'inspect', 'n1').stdout)[0]).toMatchObject({ Name: 'n1', Scope: 'local', Driver: 'bridge' });
  });

  it('etcd down: local networks and containers work; info says etcd is unreachable in one line, exit 1', async () => {
    await etcd.stop();
    try {
      const env = { ...process.env, NLNET_CLUSTER_STORE: url };
      const run = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
        const [node, ...rest] = cli.argv(...args);
        return spawnSync(node!, rest, { encoding: 'utf8', env, timeout: 60_000 });
      };
      for (const args of [['network', 'create', '--subnet', '10.96.0.0/24', 'n2'], ['container', 'create', '--name', 'c2', '--network', 'n2'], ['container', 'rm', 'c2'], ['network', 'rm', 'n2']]) {
        const r = run(...args);
        expect(r.stderr, args.join(' ')).toBe('');
        expect(r.status, args.join(' ')).toBe(0);
      }
      const t0 = Date.now();
      const r = run('info');
      expect(r.status).toBe(1);
      expect(r.stdout).toContain(`Cluster Store: ${url}\n`);
      expect(r.stderr).toBe(`nlnet: etcd at ${etcd.endpoint}: unreachable after 5 s\n`);
      expect(Date.now() - t0).toBeGreaterThan(4500);
    } finally {
      await etcd.restart();
    }
  });

  it('bad flags: an unknown store, an address without a store, an unknown store option', () => {
    expect(cli.run('--cluster-store', 'consul://h:8500', 'info')).toMatchObject({ status: 1, stderr: expect.stringContaining("unsupported store 'consul': only etcd:// is supported") });
    expect(cli.run('--cluster-advertise', '10.0.0.1', 'info')).toMatchObject({ status: 1, stderr: expect.stringContaining('a cluster address needs a cluster store (--cluster-store)') });
    expect(cli.run('--cluster-store', url, '--cluster-store-opt', 'discovery.heartbeat=5', 'info')).toMatchObject({ status: 2, stderr: expect.stringContaining('unknown option (nlnet knows discovery.ttl=SECONDS)') });
    expect(cli.run('--cluster-store', url, '--cluster-store-opt', 'discovery.ttl=0', 'info')).toMatchObject({ status: 2 });
  });
});
