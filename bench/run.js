// nlnet against what people use instead (forking `ip`, `ip -batch`) and against the kernel's own
// cost (kernel-baseline.c), in one run, printed as a markdown table of medians.
//
//   npm run build:ts && sudo node bench/run.js [--quick] [--core] [--nft] [--attach] [--store] [--overlay]
//
// --core runs only the single operations and the big dumps against `ip` and the C baseline; --nft runs only the nf_tables part (nft.js: nlnet against `nft -f` and `nft` forks); --attach
// only the sandbox attach/detach part (attach.js: the Engine against `ip`/`nft` forks,
// `ip -batch` + `nft -f`, netavark and the CNI bridge + portmap plugins when installed, then
// 1,000 published ports, the 500th attach and 100 detaches at once: scale.js); --store only the
// state store's commit cost as the state grows (store.js: the file store, and etcd when
// installed); --overlay only the overlay networks across hosts (overlay.js: the overlay attach
// against a bridge attach, convergence between two hosts, 1,000 remote peers on a joining host,
// with etcd as the cluster store; skipped when etcd is not installed). Flags combine. The default
// run does every part.
//
// Everything happens inside throwaway namespaces named nlbench-PID-…, removed at the end, on
// failure and on Ctrl-C. The machine's own namespace is never touched.
import { readFileSync } from 'node:fs';
import os from 'node:os';

import { Netlink, netns } from '../dist/index.js';

import * as attach from './attach.js';
import * as dumps from './dumps.js';
import * as kernel from './kernel.js';
import * as nft from './nft.js';
import * as ops from './ops.js';
import * as overlay from './overlay.js';
import * as store from './store.js';
import { cleanup, cleanupOnSignals, nsName } from './sandbox.js';
import { ip, ms, ratio } from './util.js';

const quick = process.argv.includes('--quick');
const nftFlag = process.argv.includes('--nft');
const attachFlag = process.argv.includes('--attach');
const storeFlag = process.argv.includes('--store');
const overlayFlag = process.argv.includes('--overlay');
const coreFlag = process.argv.includes('--core');
const all = !coreFlag && !nftFlag && !attachFlag && !storeFlag && !overlayFlag;
const doCore = all || coreFlag;
const doNft = all || nftFlag;
const doAttach = all || attachFlag;
const doStore = all || storeFlag;
const doOverlay = all || overlayFlag;
const N = quick ? 10 : 200; // single operations
const DUMP_N = quick ? 2 : 20; // dumps

function machine() {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  return [
    `date: ${new Date().toISOString()}`,
    `kernel: ${os.release()}; node: ${process.version}; ${ip('-V').trim()}`,
    `cpu: ${cpu} × ${os.cpus().length}; load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  ];
}

async function singleOperations(bin, notes) {
  const a = nsName('a');
  const b = nsName('b');
  await netns.create(a);
  await netns.create(b);
  const nsB = await netns.open(b);
  const nl = await Netlink.open({ netns: a });
  try {
    // The link the addr and route loops work on: up, its peer in B.
    const dev = 'vR';
    await nl.link.add({ name: dev, kind: 'veth', up: true, peer: { name: 'vRpeer', netns: nsB } });
    const args = { nl, a, b, nsB, dev, n: N, bin };
    const veth = await ops.veth(args);
    const addr = await ops.addr(args);
    const route = await ops.route(args);
    const ns = await ops.namespace(args);

    const perPair = (what, r) => `${what}: ${ms(r.nlnetBatch.both)} ms per pair as nl.batch of ${Math.round(N / ops.BATCHES)} pairs`;
    notes.push(`for reference, not in the table: ${[perPair('veth', veth), perPair('addr', addr), perPair('route', route)].join('; ')}`);
    return [
      { op: 'veth create (peer in other netns)', nlnet: veth.nlnet.add, kernel: veth.kernel.add, fork: veth.fork.add, target: false },
      { op: 'veth delete', nlnet: veth.nlnet.del, kernel: veth.kernel.del, fork: veth.fork.del, target: false },
      { op: 'veth create + delete', nlnet: veth.nlnet.both, kernel: veth.kernel.both, fork: veth.fork.both, batch: veth.batch.both, target: false },
      { op: 'addr add + del (IPv4 /24)', nlnet: addr.nlnet.both, kernel: addr.kernel.both, fork: addr.fork.both, batch: addr.batch.both },
      { op: 'route add + del', nlnet: route.nlnet.both, kernel: route.kernel.both, fork: route.fork.both, batch: route.batch.both },
      { op: 'netns create + delete', nlnet: ns.nlnet.both, kernel: ns.kernel.both, fork: ns.fork.both, batch: ns.batch.both, target: false },
    ];
  } finally {
    nl.close();
    nsB.close();
  }
}

async function bigDumps(bin, notes) {
  const rows = [...(await dumps.links({ n: DUMP_N, bin })), ...(await dumps.routes({ n: DUMP_N, bin }))];
  for (const r of rows) notes.push(r.detail);
  return rows.map((r) => ({ op: r.label, nlnet: r.nlnet, kernel: r.kernel, fork: r.fork, dump: true }));
}

/**
 * The issue's targets: a single operation within 3× the kernel's own cost plus 30 µs, a dump
 * within 2× the C baseline's time for it.
 */
function target(r) {
  if (r.kernel === undefined || Number.isNaN(r.kernel)) return '—';
  const limit = r.dump ? 2 * r.kernel : 3 * r.kernel + 0.03;
  return `≤ ${ms(limit)}: ${r.nlnet <= limit ? 'met' : 'missed'}`;
}

function table(rows) {
  const head = ['operation', 'nlnet', 'kernel (C)', 'ip fork', 'ip -batch', 'nlnet vs fork (×)', 'nlnet vs batch (×)', 'nlnet / kernel', 'target'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    const cells = [r.op, ms(r.nlnet), ms(r.kernel), ms(r.fork), ms(r.batch), ratio(r.fork, r.nlnet), ratio(r.batch, r.nlnet), ratio(r.nlnet, r.kernel), r.target === false ? '—' : target(r)];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the benchmark creates network namespaces: run it as root');
  cleanupOnSignals();
  const started = process.hrtime.bigint();
  const info = machine();
  const notes = [];
  let rows;
  let nftResult;
  let attachResult;
  let storeResult;
  let overlayResult;
  try {
    if (doCore) {
      const { bin, skipped } = kernel.compile();
      if (skipped) notes.push(`kernel (C) column skipped: ${skipped}`);
      notes.push(
        'nlnet link.add asks for the new link back (NLM_F_ECHO) and resolves names itself; the C baseline and ip do not echo. ' +
          'Link dumps: nlnet and the C baseline ask the kernel to skip statistics (RTEXT_FILTER_SKIP_STATS), ip -j link show does not.',
      );
      rows = [...(await singleOperations(bin, notes)), ...(await bigDumps(bin, notes))];
    }
    if (doNft) nftResult = await nft.bench({ quick });
    if (doAttach) attachResult = await attach.bench({ quick });
    if (doStore) storeResult = await store.bench({ quick });
    if (doOverlay) overlayResult = await overlay.bench({ quick });
  } finally {
    overlay.cleanupOverlay();
    attach.cleanupEngine();
    cleanup();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(info.join('\n'));
  if (rows) {
    console.log(
      `\nMedians in ms. Single operations: N = ${N} iterations (after ${ops.WARMUP} warm-up) of nlnet, ip fork and ` +
        `the C baseline interleaved (one kernel-baseline process per iteration, timing itself after an untimed round); ` +
        `ip -batch: the same N do/undo pairs in ${ops.BATCHES} processes, per pair = process time / pairs. ` +
        `Dumps: N = ${DUMP_N} (after 1 warm-up), interleaved the same way; ip fork = fork + JSON.parse.\n`,
    );
    console.log(table(rows));
    console.log(`\n${notes.map((n) => `- ${n}`).join('\n')}`);
  }
  if (nftResult) {
    console.log(`\n${nftResult.description}\n`);
    console.log(nft.table(nftResult.rows));
    console.log(`\n${nftResult.notes.map((n) => `- ${n}`).join('\n')}`);
  }
  if (attachResult) console.log(`\n${attach.tables(attachResult)}`);
  if (storeResult) console.log(`\n${store.table(storeResult)}`);
  if (overlayResult) console.log(`\n${overlay.table(overlayResult)}`);
  console.log(`\nbenchmark took ${seconds.toFixed(0)} s`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
