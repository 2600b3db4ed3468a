// Overlay networks across hosts (run.js --overlay): hosts as namespaces on one underlay bridge,
// one Engine per host in this process with a real etcd as the cluster store, each host registered
// and serving its overlay part (peers from etcd watches), as `nlnet daemon` does.
//
// (a) the overlay attach, on a host that already has the network's namespace (a sandbox on the
//     network, eth0 on it and eth1 on docker_gwbridge), against a bridge attach (a user-defined
//     bridge network) on the same engine, interleaved; target: at most 1.5× the bridge attach;
// (b) convergence: from createSandbox on host A returning to the first reply a container on host
//     B gets from it over VXLAN (a TCP SYN answered by the new sandbox's RST, sent in-process
//     through lib/netns/socket.ts, one connect after another); median of 20, target < 50 ms;
// (c) 1,000 remote peers (endpoints of 10 other registered hosts, put into etcd first) on a host
//     joining the network: its first attach, which programs them all in one batch, against the
//     same first attach on a network without remote peers; the programming alone (2,000 entries
//     on vxlan0) against `bridge -batch` + `ip -batch` writing the same fdb and neighbour
//     entries; and the agent's full sync (a daemon starting on that host with its vxlan0 empty:
//     etcd read, watches, 1,000 peers programmed, the network's name server). Target < 50 ms.
//
// The cluster (etcd, underlay, hosts, their cleanup) is overlay-hosts.js's; the scratch namespace
// of the programming comparison is nlbench-PID-ovprog, swept by sandbox.js.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { connectTcp, netns } from '../dist/index.js';
import { sandboxNetnsName } from '../dist/network/model/sandbox.js';
import { overlayNetnsName, programmedPeers, programPeers } from '../dist/network/overlay/devices.js';
import { globalEndpoints, reserveGlobalEndpoint } from '../dist/network/overlay/records.js';

import { addHost, arpEntries, checkSandbox, cleanupOverlay, inNs, makeHosts, openHost, settled, startEtcd, underlayAddr } from './overlay-hosts.js';
import { nsName, workDir } from './sandbox.js';
import { findExecutable } from './tools.js';
import { median, ms, ratio, run, time, timeSync } from './util.js';

export { cleanupOverlay } from './overlay-hosts.js';

const WARMUP = 2;
const PEERS = 1000;
const FAKE_HOSTS = 10;
const TARGET = { attach: 1.5, convergeMs: 50, peersMs: 50 };
/** B's probe container retries an unanswered ARP request after retrans_time_ms, 1000 by default: see the note in results(). */
const PROBE_RETRANS_MS = 1;

// ---- (a) overlay attach against bridge attach ---------------------------------------------------

async function attachVsBridge(a, n) {
  const t = { ov: [], br: [], ovDel: [], brDel: [] };
  const once = async (kind, i) => {
    let sb;
    const name = `${kind}probe`;
    const at = await time(async () => (sb = await a.createSandbox({ name, network: kind === 'ov' ? 'ov' : 'benchbr' })));
    if (i === 0) {
      if (sb.endpoints.length !== (kind === 'ov' ? 2 : 1)) throw new Error(`${name}: ${sb.endpoints.length} endpoints`);
      await checkSandbox(sb);
    }
    const dt = await time(() => a.removeSandbox(name));
    if (i >= WARMUP) {
      t[kind].push(at);
      t[`${kind}Del`].push(dt);
    }
  };
  for (let i = 0; i < WARMUP + n; i++) {
    // Alternating which goes first: neither always runs right after the other's detach.
    for (const kind of i % 2 ? ['br', 'ov'] : ['ov', 'br']) await once(kind, i);
  }
  return t;
}

// ---- (b) convergence ----------------------------------------------------------------------------

/** Connects from `probe` to addr:9 until the SYN is answered (RST: ECONNREFUSED; or accepted). */
async function firstReply(probe, addr, deadlineMs) {
  const t0 = performance.now();
  for (let tries = 1; ; tries++) {
    try {
      (await connectTcp(probe, addr, 9, { timeout: 200 })).destroy();
      return { ms: performance.now() - t0, tries };
    } catch (e) {
      if (e.code === 'ECONNREFUSED') return { ms: performance.now() - t0, tries };
      if (performance.now() - t0 > deadlineMs) throw new Error(`no reply from ${addr} within ${deadlineMs} ms (last: ${e.message})`);
    }
  }
}

async function convergence(a, agentB, probeNs, n) {
  const probe = await netns.open(probeNs);
  const t = { reply: [], fromStart: [], programmed: [], programmedBefore: 0, firstTry: 0 };
  try {
    for (let i = 0; i < WARMUP + n; i++) {
      // A fresh address (and so MAC) each round: B's probe container has no neighbour entry for it.
      const ip = `10.10.1.${10 + i}`;
      const start = performance.now();
      const sb = await a.createSandbox({ name: `conv${i}`, network: 'ov', ip });
      const returned = performance.now();
      const known = () => agentB.peers('ov').some((p) => p.ip === ip);
      const before = known();
      let programmed;
      let replied = false;
      const watching = (async () => {
        while (!before && !replied && programmed === undefined) {
          if (known()) programmed = performance.now() - returned;
          else await new Promise((r) => setImmediate(r));
        }
      })();
      const r = await firstReply(probe, sb.endpoints[0].ip, 5000);
      replied = true;
      await watching;
      if (i >= WARMUP) {
        t.reply.push(r.ms);
        t.fromStart.push(returned - start + r.ms);
        if (before) t.programmedBefore++;
        else if (programmed !== undefined) t.programmed.push(programmed);
        if (r.tries === 1) t.firstTry++;
      }
      await a.removeSandbox(`conv${i}`);
      await agentB.sync();
    }
  } finally {
    probe.close();
  }
  return t;
}

// ---- (c) 1,000 remote peers ---------------------------------------------------------------------

/** 1,000 endpoints of `big` on 10 other hosts, registered under leases, put into etcd. */
async function fakePeers(endpoint, network) {
  const { EtcdStore } = await import('../dist/network/store/etcd.js');
  const store = await EtcdStore.open({ endpoints: [endpoint] });
  for (let k = 0; k < FAKE_HOSTS; k++) await store.registerHost({ id: `nlbench-peer-${k}`, address: underlayAddr(100 + k), ttlSeconds: 60 });
  for (let i = 0; i < PEERS; i += 50) {
    await store.update(async (tx) => {
      for (let j = i; j < Math.min(PEERS, i + 50); j++) {
        const k = j % FAKE_HOSTS;
        await reserveGlobalEndpoint(tx, network, { sandbox: `peer${j}`, sandboxId: randomBytes(32).toString('hex'), host: `nlbench-peer-${k}`, vtep: underlayAddr(100 + k), aliases: [] });
      }
    });
  }
  const peers = (await globalEndpoints(store, network)).map((e) => ({ mac: e.mac, ip: e.ip, vtep: e.vtep }));
  if (peers.length !== PEERS) throw new Error(`${peers.length} endpoints in etcd, expected ${PEERS}`);
  return { store, peers };
}

async function countPeers(ns, want) {
  const have = (await programmedPeers(ns)).length;
  if (have !== want) throw new Error(`${ns}: vxlan0 holds ${have} peers, expected ${want}`);
}

/**
 * The first attach on a joining host, with 1,000 remote peers (ovbig) and with none (ovempty),
 * in alternating order, each round on a fresh host (its docker_gwbridge made first by an untimed
 * attach on a third network). Each round's host then leaves (engine closed: lease revoked, so
 * the next host's remote peers are the 1,000 again) and its namespaces are deleted, and the next
 * round waits until the kernel has torn them down: all these hosts share one kernel, whose
 * neighbour table and rtnl lock a real host would not share with them, and a namespace deleted
 * is destroyed afterwards (its vxlan0 holding the VNI until then: see the note).
 */
async function joinerAttach(hosts, endpoint, big, reps) {
  const t = { big: [], empty: [] };
  for (let i = 0; i < 1 + reps; i++) {
    const before = arpEntries();
    const h = await addHost(hosts, `ovj${i}`);
    const c = await openHost(h, endpoint);
    try {
      await c.createSandbox({ name: 'warm', network: 'ovwarm' });
      for (const [net, key] of i % 2 ? [['ovempty', 'empty'], ['ovbig', 'big']] : [['ovbig', 'big'], ['ovempty', 'empty']]) {
        const took = await time(() => c.createSandbox({ name: `joiner-${key}`, network: net }));
        if (key === 'big' && i === 0) await countPeers(overlayNetnsName(c.hostNetns, big.id), PEERS);
        if (i > 0) t[key].push(took);
      }
    } finally {
      await c.close();
    }
    const prefix = sandboxNetnsName(h.ns, '');
    for (const n of await netns.list()) if (n.startsWith(prefix) || n === h.ns) await netns.delete(n);
    await settled(before);
  }
  return t;
}

/** The 2,000 entries into an empty vxlan0: programPeers (one batch) against `bridge -batch` + `ip -batch`. */
async function programming(peers, reps) {
  const ns = nsName('ovprog');
  await netns.create(ns);
  await inNs(ns, (n) => n.batch((b) => void b.link.set(b.link.add({ kind: 'vxlan', name: 'vxlan0', vni: 4242, dstport: 4789, learning: false, proxy: true }), { up: true })));
  const fdbFile = join(workDir(), 'peers.bridge');
  const neighFile = join(workDir(), 'peers.ip');
  writeFileSync(fdbFile, peers.map((p) => `fdb replace ${p.mac} dev vxlan0 dst ${p.vtep} self permanent\n`).join(''));
  writeFileSync(neighFile, peers.map((p) => `neigh replace ${p.ip} lladdr ${p.mac} dev vxlan0 nud permanent\n`).join(''));
  const t = { nlnet: [], tools: [] };
  try {
    for (let i = 0; i < 1 + reps; i++) {
      const a = await time(() => programPeers(ns, peers, []));
      if (i === 0) await countPeers(ns, PEERS);
      await programPeers(ns, [], peers);
      await countPeers(ns, 0);
      const b = timeSync(() => {
        run('bridge', ['-n', ns, '-batch', fdbFile]);
        run('ip', ['-n', ns, '-batch', neighFile]);
      });
      if (i === 0) await countPeers(ns, PEERS);
      await programPeers(ns, [], peers);
      if (i > 0) {
        t.nlnet.push(a);
        t.tools.push(b);
      }
    }
  } finally {
    await netns.delete(ns).catch(() => undefined);
  }
  return t;
}

/** A daemon starting on the joining host while its vxlan0 is empty: serveOverlay() until its first pass is done. */
async function agentSync(c, big, peers, reps) {
  const ns = overlayNetnsName(c.hostNetns, big.id);
  await c.createSandbox({ name: 'joiner', network: 'ovbig' });
  const t = [];
  try {
    for (let i = 0; i < 1 + reps; i++) {
      await programPeers(ns, [], peers);
      let agent;
      const took = await time(async () => (agent = await c.serveOverlay()));
      await agent.close();
      if (i === 0) await countPeers(ns, PEERS);
      else t.push(took);
    }
  } finally {
    await c.removeSandbox('joiner');
  }
  return t;
}

// ---- entry --------------------------------------------------------------------------------------

export async function bench({ quick }) {
  const bin = findExecutable(['etcd'], ['/usr/bin', '/usr/local/bin']);
  if (bin === undefined) return { skipped: 'etcd is not installed (apt-get install etcd-server)' };
  const n = quick ? 10 : 50;
  const nConv = quick ? 5 : 20;
  const reps = quick ? 3 : 10;
  const engines = [];
  let fake;
  try {
    const etcd = await startEtcd(bin);
    const hosts = await makeHosts(['ova', 'ovb', 'ovc']);
    const [a, b] = [await openHost(hosts[0], etcd.endpoint), await openHost(hosts[1], etcd.endpoint)];
    engines.push(a, b);
    await a.serveOverlay();
    const agentB = await b.serveOverlay();
    await a.createNetwork({ name: 'ov', driver: 'overlay', subnet: '10.10.0.0/16' });
    await a.createNetwork({ name: 'benchbr' });
    // Both hosts have the network's namespace (and docker_gwbridge) for the whole run.
    await a.createSandbox({ name: 'keep-a', network: 'ov' });
    await a.createSandbox({ name: 'keep-br', network: 'benchbr' });
    const probe = await b.createSandbox({ name: 'probe', network: 'ov' });
    await inNs(probe.netns, (nl) => nl.sysctl.set('net.ipv4.neigh.eth0.retrans_time_ms', PROBE_RETRANS_MS));

    const att = await attachVsBridge(a, n);
    const conv = await convergence(a, agentB, probe.netns, nConv);

    const big = await a.createNetwork({ name: 'ovbig', driver: 'overlay', subnet: '10.20.0.0/20' });
    await a.createNetwork({ name: 'ovempty', driver: 'overlay' });
    await a.createNetwork({ name: 'ovwarm', driver: 'overlay' });
    fake = await fakePeers(etcd.endpoint, 'ovbig');
    const join = await joinerAttach(hosts, etcd.endpoint, big, reps);
    const c = await openHost(hosts[2], etcd.endpoint);
    engines.push(c);
    const prog = await programming(fake.peers, reps);
    const sync = await agentSync(c, big, fake.peers, reps);

    for (const [e, names] of [[a, ['keep-a', 'keep-br']], [b, ['probe']]]) for (const name of names) await e.removeSandbox(name);
    // The joining hosts' endpoints stay in etcd (their engines were closed, not their sandboxes
    // removed), so only `ov` can be removed; etcd goes with the rest.
    await a.removeNetwork('ov');
    return results({ n, nConv, reps, att, conv, join, prog, sync });
  } finally {
    await fake?.store.close().catch(() => undefined);
    for (const e of engines) await e.close().catch(() => undefined);
    cleanupOverlay();
  }
}

const verdict = (ok) => (ok ? 'met' : 'missed');

function results({ n, nConv, reps, att, conv, join, prog, sync }) {
  const m = (xs) => median(xs);
  const ovA = m(att.ov);
  const brA = m(att.br);
  const grow = ovA / brA;
  const reply = m(conv.reply);
  const bigA = m(join.big);
  const emptyA = m(join.empty);
  const progN = m(prog.nlnet);
  const progT = m(prog.tools);
  const syncMs = m(sync);
  const rows = [
    { op: 'overlay attach (the host has the network: eth0 on it + eth1 on docker_gwbridge)', nlnet: ovA, vs: 'bridge attach (user-defined bridge network, same engine)', other: brA, cell: `${grow.toFixed(2)}× the bridge attach (target ≤ ${TARGET.attach}×: ${verdict(grow <= TARGET.attach)})` },
    { op: 'overlay detach', nlnet: m(att.ovDel), vs: 'bridge detach', other: m(att.brDel), cell: `${(m(att.ovDel) / m(att.brDel)).toFixed(2)}× the bridge detach` },
    { op: `convergence: attach on A returned → first reply on B (median of ${nConv})`, nlnet: reply, vs: 'target', other: TARGET.convergeMs, cell: `${verdict(reply < TARGET.convergeMs)} (< ${TARGET.convergeMs} ms)` },
    { op: `first attach on a joining host, ${PEERS.toLocaleString('en')} remote peers`, nlnet: bigA, vs: 'the same, no remote peers', other: emptyA, cell: `+${ms(bigA - emptyA)} ms, ${ms(((bigA - emptyA) / PEERS) * 1000)} µs per peer (target < ${TARGET.peersMs} ms in all: ${verdict(bigA < TARGET.peersMs)})` },
    { op: `programming ${PEERS.toLocaleString('en')} peers (fdb + neighbour, ${(2 * PEERS).toLocaleString('en')} entries) on vxlan0`, nlnet: progN, vs: '`bridge -batch` + `ip -batch`', other: progT, cell: `${ratio(progT, progN)} (${ms((progN / PEERS) * 1000)} µs per peer against ${ms((progT / PEERS) * 1000)}; target < ${TARGET.peersMs} ms: ${verdict(progN < TARGET.peersMs)})` },
    { op: `agent full sync: a daemon starting with ${PEERS.toLocaleString('en')} peers to program into an empty vxlan0`, nlnet: syncMs, vs: 'target', other: TARGET.peersMs, cell: `${verdict(syncMs < TARGET.peersMs)} (< ${TARGET.peersMs} ms)` },
  ];
  const notes = [
    `attach/detach: N = ${n} each (after ${WARMUP} warm-up), overlay and bridge alternating which goes first; the overlay sandbox gets two endpoints (eth0 on the overlay network, eth1 on docker_gwbridge, as in Docker) and its address is a transaction on the network's document in etcd; the bridge one gets one. Both hosts' overlay daemons run in this process meanwhile (host B's programs and withdraws each overlay probe as etcd reports it).`,
    `convergence: a new sandbox on A with a fresh static address each round; from createSandbox returning, a container on B connects to its port 9 in a loop (each connect waits ≤ 200 ms) until the SYN is answered (the new sandbox's RST: ECONNREFUSED), a round trip over VXLAN. ` +
      `B's container has net.ipv4.neigh.eth0.retrans_time_ms = ${PROBE_RETRANS_MS} (default 1000): an ARP request sent before its peer was programmed is otherwise retried a second later, which times the kernel's ARP timer, not nlnet. ` +
      `The first connect was already answered in ${conv.firstTry} of ${nConv} rounds; host B's daemon had programmed the peer before A's attach returned in ${conv.programmedBefore} of ${nConv}${conv.programmed.length ? ` (in the others, a median ${ms(m(conv.programmed))} ms after)` : ''}: the endpoint is in etcd before its links exist, so B programs it while A still makes them. From the attach's start to the first reply: ${ms(m(conv.fromStart))} ms (median).`,
    `joining host: ${FAKE_HOSTS} other hosts registered under leases with ${PEERS / FAKE_HOSTS} endpoints each on ovbig (reserved in etcd through the same transaction as a real attach), a fresh joining host each round, with no daemon running (the previous one's namespaces deleted and torn down by the kernel before it starts); its first attach makes the network's namespace, br0, vxlan0, the veth, and programs every remote peer in one batch (read from one etcd snapshot). ${reps} rounds (after 1 checked warm-up: ${PEERS} peers on vxlan0).`,
    `programming: programPeers() into an empty vxlan0 in a scratch namespace (one nl.batch of ${2 * PEERS} messages: fdb replace … self permanent, neigh replace … nud permanent), against one \`bridge -n NS -batch\` (${PEERS} \`fdb replace\`) plus one \`ip -n NS -batch\` (${PEERS} \`neigh replace\`) process, the entries removed between runs; ${reps} runs each, the first checked.`,
    `agent full sync: serveOverlay() on host C (an etcd snapshot of hosts/ and endpoints/, two watches, a dump of vxlan0, ${PEERS} peers programmed, the network's name server started), with vxlan0 emptied before each of ${reps} runs.`,
    'etcd: one member on 127.0.0.1 started by this part (data on the temp directory\'s disk, fsync per commit as configured by default), killed by its pid at the end.',
  ];
  return { rows, notes };
}

export function table({ rows, notes, skipped }) {
  if (skipped) return `### Overlay networks across hosts\n\nskipped: ${skipped}`;
  const out = ['### Overlay networks across hosts (3 host namespaces on one underlay bridge, etcd as the cluster store)\n', 'Medians in ms.\n', '| operation | nlnet | compared with | its time | ratio / target |', '|---|---:|---|---:|---|'];
  for (const r of rows) out.push(`| ${[r.op, ms(r.nlnet), r.vs, ms(r.other), r.cell].join(' | ')} |`);
  out.push(`\n${notes.map((x) => `- ${x}`).join('\n')}`);
  return out.join('\n');
}
