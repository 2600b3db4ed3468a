// Attaching a bridge-mode sandbox with one published TCP port, the Docker way: nlnet's Engine
// (createSandbox / removeSandbox) against the same kernel work done by one fork per step (`ip`,
// `nft` through `nsenter --net`) and by `ip -batch` + `nft -f`, printed as markdown tables of
// medians (run by run.js: `node bench/run.js --attach` alone, or as part of the default run).
//
// Everything lives under one throwaway host namespace (nlbench-PID-host) holding the engine's
// default network (nlnet0, 172.17.0.0/16, table ip nlnet, map ports_any). The fork and batch
// sandboxes are nlbench-PID-… namespaces (swept by sandbox.js); the engine's own sandbox
// namespaces are nlnet-TAG-NAME, TAG derived from the host namespace's name, and are swept here,
// in finally and on signals. The engine's state directory is a fresh mkdtemp, removed the same way.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

import { Engine, netns } from '../dist/index.js';

import { nsName, workDir } from './sandbox.js';
import { ip, ipBatch, median, ms, ratio, run, time, timeSync } from './util.js';

const WARMUP = 2;
const MANY = 100; // sandboxes in the 1st-vs-100th and concurrent-detach scenarios
const SUBNET_PREFIX = 16;
const GATEWAY = '172.17.0.1';
const BRIDGE = 'nlnet0';

// ---- cleanup of what the engine names itself -----------------------------------------------------

let engineNsPrefix; // nlnet-TAG-, once the host namespace is known
let stateDir;

function engineLeftovers() {
  if (!engineNsPrefix) return [];
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(engineNsPrefix));
  } catch {
    return [];
  }
}

/** Synchronous, like sandbox.js's cleanup: the engine's sandbox namespaces and its state directory. */
export function cleanupEngine() {
  for (const name of engineLeftovers()) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  stateDir = undefined;
  const left = engineLeftovers();
  if (left.length) console.error(`bench: could not remove namespaces: ${left.join(' ')}`);
}

// Registered on import, so before run.js's cleanupOnSignals(), whose handler exits the process.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, cleanupEngine);

// ---- the fork and batch versions of attach / detach -----------------------------------------------

const nftIn = (host, ...args) => run('nsenter', [`--net=/run/netns/${host}`, 'nft', ...args]);
const element = (port, addr) => `tcp . ${port} : ${addr} . 80`;

/** One fork per step, as a shell script would do it. */
function forkAttach({ host, s, veth, addr, port }) {
  ip('netns', 'add', s);
  ip('-n', host, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', s);
  ip('-n', host, 'link', 'set', veth, 'master', BRIDGE, 'up');
  ip('-n', s, 'addr', 'add', `${addr}/${SUBNET_PREFIX}`, 'dev', 'eth0');
  ip('-n', s, 'link', 'set', 'eth0', 'up');
  ip('-n', s, 'link', 'set', 'lo', 'up');
  ip('-n', s, 'route', 'add', 'default', 'via', GATEWAY);
  nftIn(host, 'add', 'element', 'ip', 'nlnet', 'ports_any', `{ ${element(port, addr)} }`);
}

function forkDetach({ host, s, veth, port }) {
  nftIn(host, 'delete', 'element', 'ip', 'nlnet', 'ports_any', `{ tcp . ${port} }`);
  ip('-n', host, 'link', 'del', veth);
  ip('netns', 'del', s);
}

/**
 * `ip netns add` (a fork of its own: in iproute2's batch mode `netns add` leaves the batch in the
 * new namespace), `ip -n HOST -batch`, `ip -n S -batch`, `nft -f`.
 */
function batchAttach({ host, s, veth, addr, port, file }) {
  ip('netns', 'add', s);
  ipBatch(host, [`link add ${veth} type veth peer name eth0 netns ${s}`, `link set ${veth} master ${BRIDGE} up`]);
  ipBatch(s, [`addr add ${addr}/${SUBNET_PREFIX} dev eth0`, 'link set eth0 up', 'link set lo up', `route add default via ${GATEWAY}`]);
  nftIn(host, '-f', file.add);
}

/** `nft -f`, then one `ip -n HOST -batch` that deletes the veth and the namespace. */
function batchDetach({ host, s, veth, file }) {
  nftIn(host, '-f', file.del);
  ipBatch(host, [`link del ${veth}`, `netns del ${s}`]);
}

/** The sandbox looks the way the engine makes it: eth0 up with its address, default route, the element. */
function checkAttached({ host, s, addr, port }) {
  const a = JSON.parse(ip('-j', '-n', s, 'addr', 'show', 'dev', 'eth0'))[0];
  if (!a?.flags.includes('UP') || !a.addr_info.some((i) => i.local === addr)) throw new Error(`${s}: eth0 is not up with ${addr}`);
  const r = JSON.parse(ip('-j', '-n', s, 'route', 'show', 'default'));
  if (r[0]?.gateway !== GATEWAY) throw new Error(`${s}: no default route via ${GATEWAY}`);
  const map = nftIn(host, 'list', 'map', 'ip', 'nlnet', 'ports_any');
  if (!map.includes(`tcp . ${port} : ${addr} . 80`)) throw new Error(`${host}: no element tcp . ${port} : ${addr} . 80 in ports_any`);
}

function checkDetached({ host, s, port }) {
  if (existsSync(`/run/netns/${s}`)) throw new Error(`${s} still exists after detach`);
  if (nftIn(host, 'list', 'map', 'ip', 'nlnet', 'ports_any').includes(`tcp . ${port} :`)) throw new Error(`element tcp . ${port} still in ports_any`);
}

// ---- scenarios ----------------------------------------------------------------------------------

/** 1. One sandbox attached and detached, nlnet / forks / batch interleaved, N times after warm-up. */
async function single({ engine, host, n }) {
  const nl = { name: 'one', port: 8080 };
  const fork = { host, s: nsName('fork'), veth: 'vbfork', addr: '172.17.200.2', port: 9080 };
  const batch = { host, s: nsName('batch'), veth: 'vbbatch', addr: '172.17.200.3', port: 9081 };
  batch.file = { add: join(workDir(), 'attach.nft'), del: join(workDir(), 'detach.nft') };
  writeFileSync(batch.file.add, `add element ip nlnet ports_any { ${element(batch.port, batch.addr)} }\n`);
  writeFileSync(batch.file.del, `delete element ip nlnet ports_any { tcp . ${batch.port} }\n`);

  const s = { nlnet: { attach: [], detach: [] }, fork: { attach: [], detach: [] }, batch: { attach: [], detach: [] } };
  for (let i = 0; i < WARMUP + n; i++) {
    const keep = i >= WARMUP;
    let sb;
    const na = await time(async () => (sb = await engine.createSandbox({ name: nl.name, publish: [`${nl.port}:80`] })));
    if (i === 0) {
      const ipOf = JSON.parse(ip('-j', '-n', sb.netns, 'addr', 'show', 'dev', 'eth0'))[0].addr_info.find((x) => x.family === 'inet').local;
      checkAttached({ host, s: sb.netns, addr: ipOf, port: nl.port });
    }
    const nd = await time(() => engine.removeSandbox(nl.name));
    if (i === 0) checkDetached({ host, s: sb.netns, port: nl.port });

    const fa = timeSync(() => forkAttach(fork));
    if (i === 0) checkAttached(fork);
    const fd = timeSync(() => forkDetach(fork));
    if (i === 0) checkDetached(fork);

    const ba = timeSync(() => batchAttach(batch));
    if (i === 0) checkAttached(batch);
    const bd = timeSync(() => batchDetach(batch));
    if (i === 0) checkDetached(batch);

    if (!keep) continue;
    s.nlnet.attach.push(na);
    s.nlnet.detach.push(nd);
    s.fork.attach.push(fa);
    s.fork.detach.push(fd);
    s.batch.attach.push(ba);
    s.batch.detach.push(bd);
  }
  const row = (op, k) => ({ op, nlnet: median(s.nlnet[k]), fork: median(s.fork[k]), batch: median(s.batch[k]) });
  const both = (m) => m.attach.map((a, i) => a + m.detach[i]);
  return [
    row('attach', 'attach'),
    row('detach', 'detach'),
    { op: 'attach + detach', nlnet: median(both(s.nlnet)), fork: median(both(s.fork)), batch: median(both(s.batch)) },
  ];
}

const names = Array.from({ length: MANY }, (_, i) => `s${i + 1}`);

/** MANY attaches in sequence on the one bridge: each one's time. */
async function attachMany(engine) {
  const t = [];
  for (const name of names) t.push(await time(() => engine.createSandbox({ name, publish: [`${20000 + t.length}:80`] })));
  return t;
}

/** 2 and 3: MANY attaches in sequence, MANY detaches at once, MANY attaches again, MANY detaches in sequence. */
async function many(engine) {
  const first = await attachMany(engine);
  const concurrent = await time(() => Promise.all(names.map((name) => engine.removeSandbox(name))));
  if (engineLeftovers().length) throw new Error(`${engineLeftovers().length} sandbox namespaces left after the concurrent detach`);
  const second = await attachMany(engine);
  const sequential = await time(async () => {
    for (const name of names) await engine.removeSandbox(name);
  });
  if (engineLeftovers().length) throw new Error(`${engineLeftovers().length} sandbox namespaces left after the sequential detach`);
  return { first, second, concurrent, sequential };
}

// ---- entry --------------------------------------------------------------------------------------

function rootState() {
  return [ip('-o', 'link', 'show').replace(/^\d+: /gm, ''), ip('-o', 'addr', 'show'), ip('route', 'show', 'table', 'all'), run('nft', ['list', 'ruleset'])].join('\n');
}

function others() {
  const found = [];
  for (const p of (process.env.PATH ?? '').split(':')) if (p && existsSync(join(p, 'netavark'))) found.push(join(p, 'netavark'));
  for (const d of ['/usr/lib/cni/bridge', '/opt/cni/bin/bridge', '/usr/libexec/cni/bridge']) if (existsSync(d)) found.push(d);
  return found.length ? `installed, not measured here: ${found.join(', ')}` : 'netavark and the CNI bridge plugin are not installed (looked in PATH, /usr/lib/cni, /opt/cni/bin, /usr/libexec/cni): no column for them';
}

export async function bench({ quick }) {
  const n = quick ? 10 : 50;
  const before = rootState();
  const host = nsName('host');
  await netns.create(host);
  engineNsPrefix = `nlnet-${createHash('sha256').update(host).digest('hex').slice(0, 8)}-`;
  stateDir = mkdtempSync(join(tmpdir(), 'nlbench-state-'));
  let engine;
  let singleRows;
  let m;
  try {
    engine = await Engine.open({ hostNetns: host, stateDir });
    singleRows = await single({ engine, host, n });
    m = await many(engine);
  } finally {
    await engine?.close().catch(() => undefined);
    cleanupEngine();
  }
  const after = rootState();
  const notes = [
    others(),
    'fork: `ip netns add`, `ip -n HOST link add … type veth peer name eth0 netns S`, `ip -n HOST link set … master nlnet0 up`, `ip -n S` addr add / link set eth0 up / link set lo up / route add default, ' +
      '`nsenter --net=/run/netns/HOST nft add element ip nlnet ports_any { tcp . P : A . 80 }` (9 processes; nsenter execs nft, one process each); detach: nft delete element, `ip -n HOST link del`, `ip netns del` (3).',
    'ip -batch: `ip netns add` (its own fork: in batch mode iproute2 stays in the namespace `netns add` made), `ip -n HOST -batch` (veth, master + up), `ip -n S -batch` (addr, eth0 up, lo up, route), `nsenter … nft -f` (4 processes); ' +
      'detach: `nsenter … nft -f`, `ip -n HOST -batch` (link del, netns del) (2).',
    'same bridge, table and map as the engine (its default network, created by its first attach); the fork and batch sandboxes use 172.17.200.2/.3 and host ports 9080/9081, the engine 172.17.0.x and 8080. ' +
      'The engine also sets the veth MAC and MTU, and writes its state directory (fsync’d file store) on attach and detach; the forks do neither. Each method’s first attach is checked (address, route, map element) and its detach (namespace and element gone).',
    `${MANY} sandboxes: ${MANY} attaches in sequence (host ports 20000…), all detached with one Promise.all, ${MANY} attached again, detached one after another. ` +
      `The second series of attaches (median ${ms(median(m.second))} ms, 100th ${ms(m.second.at(-1))} ms) is not in the table.`,
    after === before ? 'root namespace: links, addresses, routes and nft ruleset identical before and after' : 'root namespace CHANGED during the run (links, addresses, routes or ruleset differ)',
  ];
  return { n, singleRows, m, notes };
}

export function tables({ n, singleRows, m, notes }) {
  const out = [];
  out.push(`### Attach / detach of one bridge-mode sandbox with one published TCP port\n\nMedians in ms, N = ${n} (after ${WARMUP} warm-up), nlnet / forks / batch interleaved.\n`);
  const head = ['operation', 'nlnet', 'fork per step', 'ip -batch + nft -f', 'nlnet vs forks (×)', 'nlnet vs batch (×)'];
  out.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const r of singleRows) out.push(`| ${[r.op, ms(r.nlnet), ms(r.fork), ms(r.batch), ratio(r.fork, r.nlnet), ratio(r.batch, r.nlnet)].join(' | ')} |`);

  const t = m.first;
  out.push(`\n### 1st vs 100th attach on one bridge (nlnet)\n\n${MANY} createSandbox in sequence on nlnet0, each with one published port; ms.\n`);
  out.push('| 1st | 10th | 50th | 100th | median | 100th / 1st |', '|---:|---:|---:|---:|---:|---:|');
  out.push(`| ${[ms(t[0]), ms(t[9]), ms(t[49]), ms(t[99]), ms(median(t)), ratio(t[99], t[0])].join(' | ')} |`);

  out.push(`\n### ${MANY} detaches at once vs in sequence (nlnet)\n\nTotal wall time in ms of ${MANY} removeSandbox calls.\n`);
  out.push('| at once (Promise.all) | in sequence | per sandbox at once | per sandbox in sequence | sequence / at once |', '|---:|---:|---:|---:|---:|');
  out.push(`| ${[ms(m.concurrent), ms(m.sequential), ms(m.concurrent / MANY), ms(m.sequential / MANY), ratio(m.sequential, m.concurrent)].join(' | ')} |`);

  out.push(`\n${notes.map((x) => `- ${x}`).join('\n')}`);
  return out.join('\n');
}
