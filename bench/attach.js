// Attaching a bridge-mode sandbox with one published TCP port, the Docker way: nlnet's Engine
// (createSandbox / removeSandbox) against the same kernel work done from one C thread with raw
// netlink (kernel-baseline.c: the kernel's own cost), by one fork per step (`ip`, `nft` through
// `nsenter --net`), by `ip -batch` + `nft -f`, and, when installed, by netavark (netavark.js) and
// the CNI bridge + portmap plugins (cni.js); then the scale scenarios (scale.js). One markdown
// table of medians (run by run.js: `node bench/run.js --attach` alone, or as part of the default
// run).
//
// Everything lives under throwaway namespaces: the engine's host namespace (nlbench-PID-host)
// holding its default network (nlnet0, 172.17.0.0/16, table ip nlnet, map ports_any), and one host
// namespace per other tool. The C, fork, batch and tool sandboxes are nlbench-PID-… namespaces
// (swept by sandbox.js); the engine's own sandbox namespaces are nlnet-TAG-NAME, TAG derived from
// the host namespace's name, and are swept here, in finally and on signals. The engine's state
// directory is a fresh mkdtemp, removed the same way.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

import { Engine, netns } from '../dist/index.js';

import * as cni from './cni.js';
import * as kernel from './kernel.js';
import * as netavark from './netavark.js';
import { nsName, PREFIX, workDir } from './sandbox.js';
import * as scale from './scale.js';
import { firewallToolsMissing, wrapperCost } from './tools.js';
import { ip, ipBatch, median, ms, ratio, run, time, timeSync } from './util.js';

const WARMUP = 2;
const SUBNET_PREFIX = 16;
const GATEWAY = '172.17.0.1';
const BRIDGE = 'nlnet0';
/** The C baseline's sandbox: an address and a host port that nothing else in the run uses. */
const KERNEL_SANDBOX = { veth: 'vbkernel', addr: '172.17.200.4', port: 9082 };

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

/** Synchronous, like sandbox.js's cleanup: the engine's sandbox namespaces, their /etc/netns files and its state directory. */
export function cleanupEngine() {
  for (const name of engineLeftovers()) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  // The engine's /etc/netns/<sandbox namespace> files (resolv.conf, hosts), same prefix.
  if (engineNsPrefix) {
    for (const d of existsSync('/etc/netns') ? readdirSync('/etc/netns') : []) if (d.startsWith(engineNsPrefix)) rmSync(join('/etc/netns', d), { recursive: true, force: true });
  }
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

function checkDetached({ host, s, veth, port }) {
  if (existsSync(`/run/netns/${s}`)) throw new Error(`${s} still exists after detach`);
  if (veth && spawnSync('ip', ['-n', host, 'link', 'show', 'dev', veth], { stdio: 'ignore' }).status === 0) throw new Error(`${host}: ${veth} still exists after detach`);
  if (nftIn(host, 'list', 'map', 'ip', 'nlnet', 'ports_any').includes(`tcp . ${port} :`)) throw new Error(`element tcp . ${port} still in ports_any`);
}

// ---- the one-sandbox scenario ----------------------------------------------------------------------

/**
 * The kernel's own cost: one kernel-baseline process in HOST doing each attach and detach when
 * asked (kernel.attachSteps), timing itself; ratios against it are nlnet / kernel.
 */
function kernelMethod(bin, ctx) {
  const steps = kernel.attachSteps(bin, ctx);
  return {
    label: 'kernel (C, one thread)',
    perKernel: true,
    attach: () => steps.attach(),
    detach: () => steps.detach(),
    checkAttached: () => checkAttached(ctx),
    checkDetached: () => checkDetached(ctx),
    close: () => steps.close(),
  };
}

/**
 * Each way of doing the attach, as { label, attach(), detach(), checkAttached(), checkDetached(),
 * close()? }: attach/detach resolve to their time in ms; the checks throw unless the work really
 * happened.
 */
function methods({ engine, host, tools, bin }) {
  const nl = { name: 'one', port: 8080 };
  let sb;
  const nlnet = {
    label: 'nlnet',
    attach: () => time(async () => (sb = await engine.createSandbox({ name: nl.name, publish: [`${nl.port}:80`] }))),
    detach: () => time(() => engine.removeSandbox(nl.name)),
    checkAttached() {
      const addr = JSON.parse(ip('-j', '-n', sb.netns, 'addr', 'show', 'dev', 'eth0'))[0].addr_info.find((x) => x.family === 'inet').local;
      checkAttached({ host, s: sb.netns, addr, port: nl.port });
    },
    checkDetached: () => checkDetached({ host, s: sb.netns, port: nl.port }),
  };
  const fork = { host, s: nsName('fork'), veth: 'vbfork', addr: '172.17.200.2', port: 9080 };
  const batch = { host, s: nsName('batch'), veth: 'vbbatch', addr: '172.17.200.3', port: 9081 };
  batch.file = { add: join(workDir(), 'attach.nft'), del: join(workDir(), 'detach.nft') };
  writeFileSync(batch.file.add, `add element ip nlnet ports_any { ${element(batch.port, batch.addr)} }\n`);
  writeFileSync(batch.file.del, `delete element ip nlnet ports_any { tcp . ${batch.port} }\n`);
  const sync = (label, ctx, attach, detach) => ({
    label,
    attach: async () => timeSync(() => attach(ctx)),
    detach: async () => timeSync(() => detach(ctx)),
    checkAttached: () => checkAttached(ctx),
    checkDetached: () => checkDetached(ctx),
  });
  const others = tools.map((tool) => {
    const one = tool.sandbox('one', 2, [{ host: 8080, container: 80 }]);
    return {
      label: tool.label,
      attach: () => time(() => tool.attach(one)),
      detach: () => time(() => tool.detach(one)),
      checkAttached: () => tool.checkAttached(one),
      checkDetached: () => tool.checkDetached(one),
    };
  });
  const c = bin ? [kernelMethod(bin, { host, s: nsName('kernel'), ...KERNEL_SANDBOX })] : [];
  return [nlnet, ...c, sync('fork per step (`ip`, `nft`)', fork, forkAttach, forkDetach), sync('`ip -batch` + `nft -f`', batch, batchAttach, batchDetach), ...others];
}

/** One sandbox attached and detached by every method in turn, N times after warm-up; each method's first round is checked. */
async function single({ engine, host, tools, bin, n }) {
  const all = methods({ engine, host, tools, bin });
  const t = all.map(() => ({ attach: [], detach: [] }));
  try {
    for (let i = 0; i < WARMUP + n; i++) {
      for (const [k, m] of all.entries()) {
        const a = await m.attach();
        if (i === 0) m.checkAttached();
        const d = await m.detach();
        if (i === 0) m.checkDetached();
        if (i < WARMUP) continue;
        t[k].attach.push(a);
        t[k].detach.push(d);
      }
    }
  } finally {
    // A C process that failed made its step reject above, with its message; nothing is lost here.
    for (const m of all) await m.close?.().catch(() => undefined);
  }
  const both = (x) => x.attach.map((a, i) => a + x.detach[i]);
  const rows = [];
  for (const [op, pick] of [['attach', (x) => x.attach], ['detach', (x) => x.detach], ['attach + detach', both]]) {
    for (let k = 1; k < all.length; k++) rows.push({ op, nlnet: median(pick(t[0])), vs: all[k].label, other: median(pick(t[k])), perKernel: all[k].perKernel === true });
  }
  return rows;
}

// ---- entry --------------------------------------------------------------------------------------

/** What must be identical before and after the run: the machine's own namespace, and no namespace of this run left. */
function rootState() {
  const parts = [ip('-o', 'link', 'show').replace(/^\d+: /gm, ''), ip('-o', 'addr', 'show'), ip('route', 'show', 'table', 'all'), run('nft', ['list', 'ruleset'])];
  if (!firewallToolsMissing()) parts.push(run('iptables-save', []).replace(/^#.*\n/gm, ''));
  parts.push(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'));
  parts.push(runNamespaces().join(' '), engineLeftovers().join(' '));
  return parts.join('\n');
}

/** This run's namespaces (nlbench-PID-…), those of the other parts included. */
function runNamespaces() {
  return existsSync('/run/netns') ? readdirSync('/run/netns').filter((x) => x.startsWith(PREFIX)) : [];
}

/**
 * Removes the namespaces this part made (the tools' host and sandbox namespaces: deleting a host
 * namespace deletes its bridge and firewall) and the tools' directories, keeping what the other
 * parts of run.js made before: its final cleanup sweeps those, and on failure or a signal, these too.
 */
function removeOwn(before) {
  for (const name of runNamespaces()) if (!before.includes(name)) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  for (const d of ['netavark', 'cni']) rmSync(join(workDir(), d), { recursive: true, force: true });
}

/** netavark and the CNI plugins, each opened in its own host namespace when installed. */
async function openTools(notes) {
  const tools = [];
  for (const mod of [netavark, cni]) {
    const found = mod.probe();
    if (found.skipped) {
      notes.push(`skipped: ${found.skipped}`);
      continue;
    }
    tools.push(await mod.open(found));
  }
  return tools;
}

export async function bench({ quick }) {
  const n = quick ? 10 : 50;
  const before = rootState();
  const ours = runNamespaces();
  const host = nsName('host');
  const notes = [];
  let engine;
  let tools = [];
  let singleRows;
  let scaled;
  let wrapper;
  try {
    await netns.create(host);
    engineNsPrefix = `nlnet-${createHash('sha256').update(host).digest('hex').slice(0, 8)}-`;
    stateDir = mkdtempSync(join(tmpdir(), 'nlbench-state-'));
    engine = await Engine.open({ hostNetns: host, stateDir });
    tools = await openTools(notes);
    if (tools.length) wrapper = wrapperCost(tools[0].host, quick ? 10 : 50);
    const { bin, skipped } = kernel.compile();
    if (skipped) notes.push(`kernel (C, one thread) row skipped: ${skipped}`);
    singleRows = await single({ engine, host, tools, bin, n });
    scaled = await scale.bench({ engine, tools, quick, leftovers: engineLeftovers, bin, host });
  } finally {
    for (const tool of tools) await tool.close().catch(() => undefined);
    await engine?.close().catch(() => undefined);
    cleanupEngine();
    removeOwn(ours);
  }
  const after = rootState();
  notes.push(
    'kernel (C, one thread): kernel-baseline.c in HOST, one process for the run, each attach and detach timed by itself (CLOCK_MONOTONIC around the kernel calls, nothing else), the messages nlnet sends, each waiting for its ACK: ' +
      'unshare + bind mount under /run/netns (`ip netns add`), RTM_NEWLINK veth with master nlnet0, MTU 1500 and the peer eth0 born in the sandbox (IFLA_NET_NS_FD) with MAC 02:42 + its address, host end up; ' +
      'in the sandbox through a socket opened there (setns in, socket, setns back): lo up, A/16 on eth0, eth0 up, default via 172.17.0.1; then one nf_tables batch creating `tcp . P : A . 80` in ports_any (NLM_F_EXCL), ACK read. ' +
      'Detach: the element (one batch), RTM_DELLINK of the host end, umount + unlink. Ratio nlnet / kernel: the target is 1.3×.',
    'fork: `ip netns add`, `ip -n HOST link add … type veth peer name eth0 netns S`, `ip -n HOST link set … master nlnet0 up`, `ip -n S` addr add / link set eth0 up / link set lo up / route add default, ' +
      '`nsenter --net=/run/netns/HOST nft add element ip nlnet ports_any { tcp . P : A . 80 }` (9 processes; nsenter execs nft, one process each); detach: nft delete element, `ip -n HOST link del`, `ip netns del` (3).',
    'ip -batch: `ip netns add` (its own fork: in batch mode iproute2 stays in the namespace `netns add` made), `ip -n HOST -batch` (veth, master + up), `ip -n S -batch` (addr, eth0 up, lo up, route), `nsenter … nft -f` (4 processes); ' +
      'detach: `nsenter … nft -f`, `ip -n HOST -batch` (link del, netns del) (2).',
    'fork and batch use the engine’s bridge, table and map (its default network, created by its first attach), sandboxes 172.17.200.2/.3 and host ports 9080/9081 (the C baseline .4 and 9082); the engine 172.17.0.x and 8080. ' +
      'The engine also sets the veth MAC and MTU, and writes its state directory (fsync’d file store) on attach and detach; the forks do neither.',
  );
  if (tools.length) {
    notes.push(
      'netavark and CNI: each in its own throwaway host namespace (nlbench-PID-nvhost, -cnihost), its state in the run’s temp directory; the sandbox namespace is made in-process (nlnet’s netns.create, as Podman does in Go) inside the timed attach and deleted inside the timed detach. ' +
        'netavark: one `netavark setup` / `teardown` process with Podman’s JSON on stdin (static address 10.88.0.2, port 8080→80, DNS off), with one other sandbox attached for the whole run so its bridge is not deleted and re-created each round (nlnet’s stays). ' +
        'CNI: `bridge` (isGateway, ipMasq, hairpinMode; it execs `host-local`) then `portmap` (snat) on ADD, the reverse on DEL, prevResult chained as libcni does: 2 processes per attach and per detach, plus host-local.',
      `Every netavark and CNI process runs under \`ip netns exec HOST\`, which Podman or a CNI runtime would not add: ${ms(wrapper)} ms per process here (\`ip netns exec HOST true\` minus \`true\`, median). ` +
        'The netavark and CNI figures include it (1 process per netavark attach or detach, 2 per CNI one).',
    );
  }
  notes.push(
    'Each method’s first attach is checked (address in the sandbox; the port’s map element for nlnet, the C baseline, fork and batch; the DNAT rule in the tool’s host namespace from `iptables-save` / `nft list ruleset` for netavark and CNI) and its first detach (namespace, host veth, element or rule gone).',
    ...scaled.notes,
    after === before
      ? 'machine’s own namespace: links, addresses, routes, nft ruleset, iptables-save and ip_forward identical before and after; no namespace of this run left'
      : 'machine’s own namespace CHANGED during the run (links, addresses, routes, ruleset, iptables or ip_forward differ, or a namespace of this run is left)',
  );
  return { n, rows: [...singleRows, ...scaled.rows], notes };
}

/** One table: every row is an operation, nlnet's time, what it is compared with, its time, and their ratio. */
export function tables({ n, rows, notes }) {
  const out = [];
  out.push(
    `### Attach / detach of one bridge-mode sandbox with one published TCP port, and at scale\n\n` +
      `Medians in ms. One sandbox: N = ${n} (after ${WARMUP} warm-up), every method in turn each round. ` +
      `Ratio: the compared time / nlnet's time (above 1×: the nlnet row is faster); for the kernel row, nlnet's time / the kernel's (how far nlnet is from the kernel's own cost).\n`,
  );
  const head = ['operation', 'nlnet', 'compared with', 'its time', 'ratio'];
  out.push(`| ${head.join(' | ')} |`, '|---|---:|---|---:|---:|');
  const cell = (r) => {
    if (r.perKernel) return `${ratio(r.nlnet, r.other)} (nlnet / kernel)`;
    // Scale rows compare nlnet with itself: how much the cost grew, against the issue's target.
    if (r.target !== undefined || r.grown) {
      const x = r.nlnet / r.other;
      const why = [...(r.grown ? ['grown'] : []), ...(r.target === undefined ? [] : [`target ≤ ${r.target}×: ${x <= r.target ? 'met' : 'missed'}`])];
      return `${x.toFixed(2)}× (${why.join('; ')})`;
    }
    return ratio(r.other, r.nlnet);
  };
  for (const r of rows) out.push(`| ${[r.op, ms(r.nlnet), r.vs, ms(r.other), cell(r)].join(' | ')} |`);
  out.push(`\n${notes.map((x) => `- ${x}`).join('\n')}`);
  return out.join('\n');
}
