// The cluster the overlay benchmark (overlay.js) runs on: a real etcd started on free ports on
// 127.0.0.1 with a temp data directory (killed by its pid at the end, on failure and on signals),
// an underlay namespace with a bridge, hosts as namespaces with eth0 on it, one Engine per host
// registered in the cluster. The engines' etcd client connects from this process, which a
// listener on loopback serves without touching the machine's network. The underlay and host
// namespaces are nlbench-PID-… (swept by sandbox.js); those the engines make are named from the
// host namespaces' names and swept here, with their markers, /etc/netns files and state.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { Engine, Netlink, netns } from '../dist/index.js';
import { sandboxNetnsName } from '../dist/network/model/sandbox.js';
import { NETNS_MARKS } from '../dist/network/owner.js';

import { nsName } from './sandbox.js';
import { freePort } from './util.js';

/** TEST-NET-2 (RFC 5737): the underlay; .10 … are the hosts, .100 … the fake peers' VTEPs. */
export const underlayAddr = (i) => `198.51.100.${i}`;

// ---- cleanup of what this part starts and what the engines name themselves ----------------------

const made = { etcdPid: undefined, dirs: [], hosts: [] };

function engineLeftovers() {
  const prefixes = made.hosts.map((h) => sandboxNetnsName(h, ''));
  const mine = (n) => prefixes.some((p) => n.startsWith(p));
  const list = (d) => (existsSync(d) ? readdirSync(d) : []);
  return { prefixes, ns: list('/run/netns').filter(mine), etc: list('/etc/netns').filter(mine), marks: list(NETNS_MARKS).filter(mine) };
}

/** Synchronous (it runs from signal handlers): etcd by its pid, the engines' namespaces, files and state. */
export function cleanupOverlay() {
  if (made.etcdPid !== undefined) {
    try {
      process.kill(made.etcdPid, 'SIGKILL');
    } catch {
      // gone already
    }
    made.etcdPid = undefined;
  }
  const left = engineLeftovers();
  for (const name of left.ns) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  for (const d of left.etc) rmSync(join('/etc/netns', d), { recursive: true, force: true });
  for (const m of left.marks) rmSync(join(NETNS_MARKS, m), { force: true });
  for (const d of made.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  const still = engineLeftovers().ns;
  if (still.length) console.error(`bench: could not remove namespaces: ${still.join(' ')}`);
}

// Registered on import, so before run.js's cleanupOnSignals(), whose handler exits the process.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, cleanupOverlay);

// ---- etcd, the underlay and the hosts -----------------------------------------------------------

export async function startEtcd(bin) {
  const dir = mkdtempSync(join(tmpdir(), 'nlbench-ovetcd-'));
  made.dirs.push(dir);
  const [client, peer] = [await freePort(), await freePort()];
  const endpoint = `127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const child = spawn(
    bin,
    ['--name', 'nlbench', '--data-dir', join(dir, 'data'), '--listen-client-urls', `http://${endpoint}`, '--advertise-client-urls', `http://${endpoint}`,
      '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `nlbench=${peerUrl}`, '--logger', 'zap', '--log-outputs', join(dir, 'etcd.log')],
    { stdio: 'ignore' },
  );
  made.etcdPid = child.pid;
  let exited = false;
  child.once('exit', () => {
    exited = true;
    made.etcdPid = undefined;
  });
  for (let i = 0; i < 400; i++) {
    if (exited) throw new Error(`etcd exited before it was healthy; see ${dir}/etcd.log`);
    try {
      const r = await fetch(`http://${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      if ((await r.json()).health === 'true') return { endpoint, pid: child.pid };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('etcd did not come up within 20 s');
}

/** The underlay namespace with br0, and the first hosts. */
export async function makeHosts(tags) {
  await netns.create(nsName('ovul'));
  await inNs(nsName('ovul'), (nl) =>
    nl.batch((b) => {
      b.link.set('lo', { up: true });
      b.link.set(b.link.add({ kind: 'bridge', name: 'br0' }), { up: true });
    }),
  );
  const hosts = [];
  for (const tag of tags) await addHost(hosts, tag);
  return hosts;
}

/** One more host: a namespace with eth0 on the underlay's br0, the next address. */
export async function addHost(hosts, tag) {
  const h = { ns: nsName(tag), address: underlayAddr(10 + made.hosts.length) };
  made.hosts.push(h.ns);
  hosts.push(h);
  await netns.create(h.ns);
  await inNs(nsName('ovul'), (nl) => nl.batch((b) => void b.link.set(b.link.add({ kind: 'veth', name: `h-${tag}`, master: 'br0', peer: { name: 'eth0', netns: h.ns } }), { up: true })));
  await inNs(h.ns, (n) =>
    n.batch((b) => {
      b.link.set('lo', { up: true });
      b.addr.add({ dev: 'eth0', address: `${h.address}/24` });
      b.link.set('eth0', { up: true });
    }),
  );
  return h;
}

export async function inNs(ns, fn) {
  const nl = await Netlink.open({ netns: ns });
  try {
    return await fn(nl);
  } finally {
    nl.close();
  }
}

export async function openHost(h, endpoint) {
  const stateDir = mkdtempSync(join(tmpdir(), 'nlbench-ovstate-'));
  made.dirs.push(stateDir);
  const engine = await Engine.open({ hostNetns: h.ns, stateDir, store: `etcd://${endpoint}`, advertise: 'eth0' });
  await engine.registerHost({ ttlSeconds: 30 });
  return engine;
}

/** Throws unless the sandbox's eth0 (and eth1, for an overlay one) is up with its address. */
export async function checkSandbox(sb) {
  await inNs(sb.netns, async (n) => {
    const links = await n.link.list();
    const addrs = await n.addr.list({ family: 'inet' });
    for (const ep of sb.endpoints) {
      const l = links.find((x) => x.name === ep.ifname);
      if (!l?.up || !addrs.some((a) => a.dev === l.index && a.address.split('/')[0] === ep.ip)) throw new Error(`${sb.netns}: ${ep.ifname} is not up with ${ep.ip}`);
    }
  });
}

/** The kernel's IPv4 neighbour entries, all namespaces together (/proc/net/stat/arp_cache). */
export function arpEntries() {
  return parseInt(readFileSync('/proc/net/stat/arp_cache', 'utf8').split('\n')[1].trim().split(/\s+/)[0], 16);
}

/** Waits (at most 5 s) until the deleted namespaces' neighbour entries are gone again. */
export async function settled(before) {
  const until = performance.now() + 5000;
  while (arpEntries() > before + 50 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
}
