// Several "hosts" on one machine, as libnetwork's and flannel's own multi-host tests did with
// containers: an underlay namespace holding a bridge (10.200.0.1/24), one namespace per host with
// `eth0` on that bridge (10.200.0.10, .11, …), and a real etcd (Debian's etcd-server) running
// inside the underlay namespace on 10.200.0.1:2379. nlnet runs for a host inside its namespace
// through `nsenter --net=/run/netns/HOST` (not `ip netns exec`, whose private mount namespace
// would hide the sandboxes' bind mounts), each host with a state directory of its own. Names are
// unique per run; `remove()` stops what it started, by pid, and deletes every namespace and
// directory, also after a failure. etcd can be killed and started again on its data (the cluster
// store going down under running hosts).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BIN, collectChild, type CliResult } from './cli.js';
import { removeSandboxesPrefixed } from './engine.js';
import { ETCD, ETCD_SKIP_REASON } from './etcd.js';
import { unique } from './ns.js';

export const UNDERLAY_GATEWAY = '10.200.0.1';
const ETCD_PORT = 2379;
/** Prints the prefix of the sandbox namespaces an engine in this namespace makes (dist/ is built by tsc). */
const SANDBOX_PREFIX = `import(${JSON.stringify(join(import.meta.dirname, '..', '..', 'dist', 'network', 'model', 'sandbox.js'))}).then((m) => console.log(m.sandboxNetnsName('', '')))`;

export interface TestHost {
  /** The namespace playing this host. */
  netns: string;
  /** Its underlay address, on its eth0. */
  address: string;
  stateDir: string;
}

export interface TestCluster {
  underlay: string;
  hosts: TestHost[];
  /** `etcd://10.200.0.1:2379`, reachable from every host namespace. */
  url: string;
  /** `nlnet --state-dir DIR --cluster-store URL ARGS…` inside the host's namespace, waited for. */
  nlnet(host: TestHost, ...args: string[]): CliResult;
  /** The same, not waited for: resolves when it ends. For concurrent runs. */
  nlnetAsync(host: TestHost, ...args: string[]): Promise<CliResult>;
  /** The same, not waited for (a daemon): stdout and stderr piped. */
  start(host: TestHost, ...args: string[]): ChildProcess;
  /** `CMD ARGS…` inside namespace `netns` (a host's, the underlay's), not waited for; stopped by `remove`. */
  spawnIn(netns: string, cmd: string, ...args: string[]): ChildProcess;
  /** The prefix of the namespaces nlnet makes for `host` (its sandboxes', its overlay networks'). */
  prefixOf(host: TestHost): string;
  /** SIGKILLs etcd (its data stays); the hosts see the cluster store go away. */
  stopEtcd(): Promise<void>;
  /** Starts etcd again on its data; resolves once it is healthy from the hosts. */
  startEtcd(): Promise<void>;
  /** Stops etcd and every process started with `start`, deletes the namespaces and directories. */
  remove(): Promise<void>;
}

const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** The argv that runs nlnet as `host` would: in its namespace, on its own state. */
function argvFor(url: string, host: TestHost, args: readonly string[]): string[] {
  return [`--net=/run/netns/${host.netns}`, process.execPath, BIN, '--state-dir', host.stateDir, '--cluster-store', url, ...args];
}

export async function startCluster(count: number, prefix = 'nlmh'): Promise<TestCluster> {
  if (ETCD === undefined) throw new Error(ETCD_SKIP_REASON);
  const bin = ETCD;
  const underlay = unique(`${prefix}u`);
  const hosts: TestHost[] = [];
  const started: ChildProcess[] = [];
  let etcd: ChildProcess | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'nlnet-hosts-'));
  const url = `etcd://${UNDERLAY_GATEWAY}:${ETCD_PORT}`;

  const prefixOf = (host: TestHost): string => spawnSync('nsenter', [`--net=/run/netns/${host.netns}`, process.execPath, '--input-type=module', '-e', SANDBOX_PREFIX], { encoding: 'utf8' }).stdout.trim();

  const remove = async (): Promise<void> => {
    for (const child of [...started, ...(etcd === undefined ? [] : [etcd])]) await killed(child);
    // What nlnet made for a host lives outside its namespace (/run/netns, /etc/netns), named by
    // the prefix nlnet derives inside it.
    for (const host of hosts) {
      const prefix = prefixOf(host);
      if (prefix.startsWith('nlnet-')) await removeSandboxesPrefixed(prefix);
    }
    for (const ns of [...hosts.map((h) => h.netns), underlay]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    await rm(dir, { recursive: true, force: true });
  };

  try {
    ip('netns', 'add', underlay);
    ip('-n', underlay, 'link', 'set', 'lo', 'up');
    ip('-n', underlay, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', underlay, 'addr', 'add', `${UNDERLAY_GATEWAY}/24`, 'dev', 'br0');
    ip('-n', underlay, 'link', 'set', 'br0', 'up');
    for (let i = 0; i < count; i++) {
      const host: TestHost = { netns: unique(`${prefix}h`), address: `10.200.0.${10 + i}`, stateDir: join(dir, `host${i}`) };
      hosts.push(host);
      ip('netns', 'add', host.netns);
      ip('-n', host.netns, 'link', 'set', 'lo', 'up');
      ip('-n', underlay, 'link', 'add', `h${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.netns);
      ip('-n', underlay, 'link', 'set', `h${i}`, 'master', 'br0', 'up');
      ip('-n', host.netns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
      ip('-n', host.netns, 'link', 'set', 'eth0', 'up');
    }
    etcd = launchEtcd(bin, underlay, dir);
    await healthyFrom(hosts[0]!, 20_000);
  } catch (err) {
    await remove();
    throw err;
  }

  return {
    underlay,
    hosts,
    url,
    nlnet(host, ...args) {
      const r = spawnSync('nsenter', argvFor(url, host, args), { encoding: 'utf8', timeout: 60_000 });
      return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
    },
    nlnetAsync(host, ...args) {
      return collectChild(spawn('nsenter', argvFor(url, host, args), { stdio: ['ignore', 'pipe', 'pipe'] }));
    },
    start(host, ...args) {
      const child = spawn('nsenter', argvFor(url, host, args), { stdio: ['ignore', 'pipe', 'pipe'] });
      started.push(child);
      return child;
    },
    spawnIn(netns, cmd, ...args) {
      const child = spawn('nsenter', [`--net=/run/netns/${netns}`, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      started.push(child);
      return child;
    },
    prefixOf,
    async stopEtcd() {
      if (etcd !== undefined) await killed(etcd);
    },
    async startEtcd() {
      if (etcd !== undefined && etcd.exitCode === null && etcd.signalCode === null) return;
      etcd = launchEtcd(bin, underlay, dir);
      await healthyFrom(hosts[0]!, 20_000);
    },
    remove,
  };
}

/** etcd inside the underlay namespace on 10.200.0.1:2379, its data under `dir` (kept across restarts). */
function launchEtcd(bin: string, underlay: string, dir: string): ChildProcess {
  const log = openSync(join(dir, 'etcd.log'), 'a');
  // nsenter execs etcd in place: the pid is etcd's own.
  const child = spawn('nsenter', [
    `--net=/run/netns/${underlay}`, bin,
    '--name', 'underlay', '--data-dir', join(dir, 'etcd'),
    '--listen-client-urls', `http://${UNDERLAY_GATEWAY}:${ETCD_PORT}`, '--advertise-client-urls', `http://${UNDERLAY_GATEWAY}:${ETCD_PORT}`,
    '--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380', '--initial-cluster', 'underlay=http://127.0.0.1:2380',
    '--logger', 'zap', '--log-level', 'error',
  ], { stdio: ['ignore', log, log] });
  closeSync(log);
  return child;
}

/** SIGKILLs a child this helper started, by its pid, and waits for it to exit. */
async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/** Waits until etcd answers /health from inside a host's namespace (over the underlay). */
async function healthyFrom(host: TestHost, ms: number): Promise<void> {
  const probe = `fetch('http://${UNDERLAY_GATEWAY}:${ETCD_PORT}/health',{signal:AbortSignal.timeout(1000)}).then(r=>r.json()).then(j=>process.exit(j.health==='true'?0:1),()=>process.exit(1))`;
  const until = Date.now() + ms;
  while (spawnSync('nsenter', [`--net=/run/netns/${host.netns}`, process.execPath, '-e', probe]).status !== 0) {
    if (Date.now() > until) throw new Error(`etcd in the underlay namespace not healthy after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
