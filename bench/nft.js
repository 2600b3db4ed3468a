// nf_tables: nlnet against `nft -f FILE` and one `nft` fork per change, printed as a markdown table
// of medians (run by run.js: `node bench/run.js --nft` alone, or as part of the default run).
//
// Each scenario has its own throwaway namespace per method, holding the same table (ip t: map
// `ports` inet_proto . inet_service : ipv4_addr . inet_service, a nat prerouting chain, a filter
// input chain), so no method sees another's state. nlnet opens its sockets in its namespaces;
// `nft` has no namespace option, so every nft process is forked by a small node process that
// `nsenter --net` started inside the nft namespace (no `ip netns exec` cost in the timings). That
// process checks it is in the namespace it was meant for, times each fork itself and reports back.
import { spawn } from 'node:child_process';
import { readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Netlink, netns } from '../dist/index.js';

import { nsName, workDir } from './sandbox.js';
import { median, ms, ratio, run, time, timeSync } from './util.js';

const WORKER_ENV = 'NLBENCH_NFT_WORKER';
const ELEMENTS = 1000;
const FIRST_PORT = 10000;
const WARMUP = 1; // element rounds; rule pairs use RULE_WARMUP
const RULE_WARMUP = 3;

// ---- the worker: runs in an nft namespace and forks nft there -----------------------------------

function worker() {
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m) => {
    try {
      if (m.op === 'one') {
        let out;
        const t = timeSync(() => (out = run('nft', m.args)));
        process.send({ ok: true, ms: t, out });
      } else if (m.op === 'many') {
        const t = timeSync(() => {
          for (const args of m.list) run('nft', args);
        });
        process.send({ ok: true, ms: t });
      } else throw new Error(`unknown op ${m.op}`);
    } catch (e) {
      process.send({ ok: false, error: e.message });
    }
  });
  process.send({ ok: true, netns: readlinkSync('/proc/self/ns/net') });
}

if (process.env[WORKER_ENV] === '1') worker();

// Workers still running when the process exits (Ctrl-C mid-run: sandbox.js removes the
// namespaces and exits) are killed, rather than left to finish a loop of forks.
const live = new Set();
process.on('exit', () => {
  for (const child of live) child.kill();
});

/** A node process inside namespace NAME that forks nft on request and times the forks. */
class NftIn {
  #child;
  #pending = [];
  #ready;

  constructor(name) {
    this.name = name;
    this.#child = spawn('nsenter', [`--net=/run/netns/${name}`, process.execPath, fileURLToPath(import.meta.url)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [WORKER_ENV]: '1' },
    });
    live.add(this.#child);
    this.#child.on('message', (m) => this.#pending.shift()?.(m));
    this.#child.on('exit', (code, sig) => {
      live.delete(this.#child);
      for (const p of this.#pending.splice(0)) p({ ok: false, error: `nft worker for ${name} exited (${sig ?? code})` });
    });
    this.#ready = this.#reply().then((m) => {
      const want = `net:[${statSync(`/run/netns/${name}`).ino}]`;
      if (m.netns !== want) throw new Error(`nft worker for ${name} is in ${m.netns}, not ${want}`);
    });
    this.#ready.catch(() => {}); // reported by the first request; a worker closed unused is no error
  }

  #reply() {
    return new Promise((resolve, reject) => this.#pending.push((m) => (m.ok ? resolve(m) : reject(new Error(m.error)))));
  }

  async #ask(msg) {
    await this.#ready;
    const r = this.#reply();
    this.#child.send(msg);
    return r;
  }

  /** One `nft ARGS…` fork: { ms, out }. */
  nft(...args) {
    return this.#ask({ op: 'one', args });
  }

  /** One fork per argument list, one after another: { ms } of them all. */
  forks(list) {
    return this.#ask({ op: 'many', list });
  }

  close() {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill();
  }
}

// ---- the table every namespace gets ---------------------------------------------------------------

const T = { family: 'ip', table: 't' };
const setRef = { ...T, name: 'ports', key: ['inet_proto', 'inet_service'], map: ['ipv4_addr', 'inet_service'] };
const ruleSpec = {
  ...T,
  chain: 'in',
  exprs: [
    { type: 'meta', key: 'l4proto', dreg: 1 },
    { type: 'cmp', sreg: 1, op: 'eq', data: { value: Buffer.from([6]) } },
    { type: 'payload', dreg: 1, base: 'transport', offset: 2, len: 2 },
    { type: 'cmp', sreg: 1, op: 'eq', data: { value: Buffer.from([0, 80]) } },
    { type: 'counter' },
    { type: 'immediate', dreg: 0, data: { verdict: { code: 'accept' } } },
  ],
};
const RULE_TEXT = 'tcp dport 80 counter accept';
const TABLE_TEXT = [
  'add table ip t',
  'add map ip t ports { type inet_proto . inet_service : ipv4_addr . inet_service; }',
  'add chain ip t pre { type nat hook prerouting priority dstnat; }',
  'add chain ip t in { type filter hook input priority 0; }',
  '',
].join('\n');

function prepareNlnet(nl) {
  return nl.nft.commit((b) => {
    b.addTable({ family: T.family, name: T.table });
    b.addSet({ ...setRef });
    b.addChain({ ...T, name: 'pre', type: 'nat', hook: 'prerouting', priority: 'dstnat' });
    b.addChain({ ...T, name: 'in', type: 'filter', hook: 'input', priority: 0 });
  });
}

async function prepareNft(w) {
  const file = join(workDir(), `table-${w.name}.nft`);
  writeFileSync(file, TABLE_TEXT);
  await w.nft('-f', file);
}

// ---- element scenario ---------------------------------------------------------------------------

const ports = Array.from({ length: ELEMENTS }, (_, i) => FIRST_PORT + i);
const elements = ports.map((p) => ({ key: ['tcp', p], value: ['172.17.0.2', 80] }));
const keys = ports.map((p) => ({ key: ['tcp', p] }));
const elemText = (p) => `tcp . ${p} : 172.17.0.2 . 80`;
const expected = ports.map((p) => JSON.stringify([{ concat: ['tcp', p] }, { concat: ['172.17.0.2', 80] }])).sort();

/** What `nft -j list map` shows in W's namespace, one JSON string per element, sorted. */
async function nftElements(w) {
  const { out } = await w.nft('-j', 'list', 'map', 'ip', 't', 'ports');
  const map = JSON.parse(out).nftables.find((o) => o.map)?.map;
  if (!map) throw new Error(`${w.name}: no map ports in nft -j output`);
  return (map.elem ?? []).map((e) => JSON.stringify(e)).sort();
}

function same(what, got, want) {
  if (got.length !== want.length) throw new Error(`${what}: ${got.length} elements read back, expected ${want.length}`);
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) throw new Error(`${what}: element ${got[i]} read back, expected ${want[i]}`);
}

async function checkNlnet(nl, want, what) {
  const got = (await nl.nft.listElements(setRef)).map((e) => JSON.stringify([{ concat: e.key }, { concat: e.value }])).sort();
  same(`nlnet ${what}`, got, want);
}

async function elementScenario({ n, forkReps }) {
  const names = { nlnet: nsName('nft-el-nlnet'), file: nsName('nft-el-file'), fork: nsName('nft-el-fork') };
  for (const name of Object.values(names)) await netns.create(name);
  const nl = await Netlink.open({ netns: names.nlnet });
  const wFile = new NftIn(names.file);
  const wFork = new NftIn(names.fork);
  const wCheck = new NftIn(names.nlnet); // reads nlnet's namespace with nft, after the measurements
  try {
    await prepareNlnet(nl);
    await prepareNft(wFile);
    await prepareNft(wFork);

    const addFile = join(workDir(), 'add-elements.nft');
    const delFile = join(workDir(), 'del-elements.nft');
    writeFileSync(addFile, `add element ip t ports { ${ports.map(elemText).join(', ')} }\n`);
    writeFileSync(delFile, `delete element ip t ports { ${ports.map((p) => `tcp . ${p}`).join(', ')} }\n`);
    const addForks = ports.map((p) => ['add', 'element', 'ip', 't', 'ports', `{ ${elemText(p)} }`]);
    const delForks = ports.map((p) => ['delete', 'element', 'ip', 't', 'ports', `{ tcp . ${p} }`]);

    const s = { nlnet: { add: [], del: [] }, file: { add: [], del: [] }, fork: { add: [], del: [] } };
    for (let i = 0; i < WARMUP + n; i++) {
      const measured = i >= WARMUP;
      const withForks = measured && i - WARMUP < forkReps;
      // Adds, each method in its own namespace, each checked before the deletes.
      const na = await time(() => nl.nft.commit((b) => b.addElements(setRef, elements)));
      const fa = (await wFile.nft('-f', addFile)).ms;
      const ka = withForks ? (await wFork.forks(addForks)).ms : undefined;
      await checkNlnet(nl, expected, 'after commit of addElements');
      same('nft -f add element', await nftElements(wFile), expected);
      if (withForks) same(`${ELEMENTS} nft add element forks`, await nftElements(wFork), expected);
      // Deletes, checked likewise.
      const nd = await time(() => nl.nft.commit((b) => b.delElements(setRef, keys)));
      const fd = (await wFile.nft('-f', delFile)).ms;
      const kd = withForks ? (await wFork.forks(delForks)).ms : undefined;
      await checkNlnet(nl, [], 'after commit of delElements');
      same('nft -f delete element', await nftElements(wFile), []);
      if (withForks) same(`${ELEMENTS} nft delete element forks`, await nftElements(wFork), []);
      if (!measured) continue;
      s.nlnet.add.push(na), s.nlnet.del.push(nd), s.file.add.push(fa), s.file.del.push(fd);
      if (withForks) s.fork.add.push(ka), s.fork.del.push(kd);
    }

    // For reference, not in the table: nlnet commits back to back, without forks in between
    // (the interleaved ones above start from a machine that has just been idle or forking).
    const hot = { add: [], del: [] };
    for (let i = 0; i < n; i++) {
      hot.add.push(await time(() => nl.nft.commit((b) => b.addElements(setRef, elements))));
      hot.del.push(await time(() => nl.nft.commit((b) => b.delElements(setRef, keys))));
    }
    await checkNlnet(nl, [], 'after back-to-back commits');

    // Cross-check, untimed: what nlnet wrote is what nft reads back, element for element.
    await nl.nft.commit((b) => b.addElements(setRef, elements));
    same('nft -j list map of the elements nlnet added', await nftElements(wCheck), expected);
    await nl.nft.commit((b) => b.delElements(setRef, keys));
    same('nft -j list map after nlnet deleted them', await nftElements(wCheck), []);

    const m = (k, op) => median(s[k][op]);
    return {
      rows: [
        { op: `map: add ${ELEMENTS.toLocaleString('en')} DNAT elements`, nlnet: m('nlnet', 'add'), file: m('file', 'add'), fork: m('fork', 'add') },
        { op: `map: delete ${ELEMENTS.toLocaleString('en')} elements`, nlnet: m('nlnet', 'del'), file: m('file', 'del'), fork: m('fork', 'del') },
      ],
      notes: [
        `map elements: per element, one fork costs ${(m('fork', 'add') / ELEMENTS).toFixed(2)} ms to add and ${(m('fork', 'del') / ELEMENTS).toFixed(2)} ms to delete; ` +
          `nlnet's batch ${((m('nlnet', 'add') * 1000) / ELEMENTS).toFixed(1)} µs and ${((m('nlnet', 'del') * 1000) / ELEMENTS).toFixed(1)} µs`,
        `for reference, not in the table: ${n} nlnet commits back to back, no forks in between: add ${ms(median(hot.add))} ms, delete ${ms(median(hot.del))} ms per ${ELEMENTS.toLocaleString('en')}`,
      ],
    };
  } finally {
    wFile.close();
    wFork.close();
    wCheck.close();
    nl.close();
  }
}

// ---- rule scenario ------------------------------------------------------------------------------

async function ruleScenario({ n }) {
  const names = { nlnet: nsName('nft-rule-nlnet'), fork: nsName('nft-rule-fork') };
  for (const name of Object.values(names)) await netns.create(name);
  const nl = await Netlink.open({ netns: names.nlnet });
  const wFork = new NftIn(names.fork);
  const wCheck = new NftIn(names.nlnet);
  try {
    await prepareNlnet(nl);
    await prepareNft(wFork);
    const s = { nlnet: { add: [], del: [], both: [] }, fork: { add: [], del: [], both: [] } };
    const handles = new Set();
    for (let i = 0; i < RULE_WARMUP + n; i++) {
      let h;
      const na = await time(async () => (h = await nl.nft.addRule(ruleSpec)));
      const nd = await time(() => nl.nft.delRule({ ...T, chain: 'in', handle: h }));
      if (!Number.isInteger(h) || h <= 0 || handles.has(h)) throw new Error(`nlnet addRule returned handle ${h}`);
      handles.add(h);
      const add = await wFork.nft('-a', '-e', 'add', 'rule', 'ip', 't', 'in', ...RULE_TEXT.split(' '));
      const fh = /# handle (\d+)/.exec(add.out)?.[1];
      if (!fh) throw new Error(`no handle in nft -a -e output: ${add.out.trim()}`);
      const del = await wFork.nft('delete', 'rule', 'ip', 't', 'in', 'handle', fh);
      if (i < RULE_WARMUP) continue;
      s.nlnet.add.push(na), s.nlnet.del.push(nd), s.nlnet.both.push(na + nd);
      s.fork.add.push(add.ms), s.fork.del.push(del.ms), s.fork.both.push(add.ms + del.ms);
    }
    // For reference, not in the table: the same nlnet pairs back to back, no forks in between.
    const hot = { add: [], del: [] };
    for (let i = 0; i < n; i++) {
      let h;
      hot.add.push(await time(async () => (h = await nl.nft.addRule(ruleSpec))));
      hot.del.push(await time(() => nl.nft.delRule({ ...T, chain: 'in', handle: h })));
    }

    // Both chains are empty again, and nft reads nlnet's rule as the one it adds itself.
    const rules = async (w) => (await w.nft('-a', 'list', 'chain', 'ip', 't', 'in')).out.split('\n').map((l) => l.trim()).filter((l) => l.includes('# handle') && !/^(table|chain) /.test(l));
    for (const w of [wFork, wCheck]) {
      const left = await rules(w);
      if (left.length) throw new Error(`rules left in ${w.name}: ${left.join('; ')}`);
    }
    const h = await nl.nft.addRule(ruleSpec);
    const seen = await rules(wCheck);
    const want = `tcp dport 80 counter packets 0 bytes 0 accept # handle ${h}`;
    await nl.nft.delRule({ ...T, chain: 'in', handle: h });
    if (seen.length !== 1 || seen[0] !== want) throw new Error(`nft lists nlnet's rule as ${JSON.stringify(seen)}, expected ${want}`);

    const m = (k, op) => median(s[k][op]);
    return {
      rows: [
        { op: 'rule add (handle back)', nlnet: m('nlnet', 'add'), fork: m('fork', 'add') },
        { op: 'rule delete by handle', nlnet: m('nlnet', 'del'), fork: m('fork', 'del') },
        { op: 'rule add + delete', nlnet: m('nlnet', 'both'), fork: m('fork', 'both') },
      ],
      notes: [
        `for reference, not in the table: ${n} nlnet rule pairs back to back, no forks in between: add ${ms(median(hot.add))} ms, delete ${ms(median(hot.del))} ms`,
        'an nft process that deleted something spends most of its time in close() of its netlink socket, where the kernel waits for the deleted objects to be destroyed (after an RCU grace period); ' +
          "nlnet keeps its socket open, so that wait happens in the kernel's background work instead",
      ],
    };
  } finally {
    wFork.close();
    wCheck.close();
    nl.close();
  }
}

// ---- the run ------------------------------------------------------------------------------------

/** Links (index, name, kind) and ruleset of the namespace the benchmark runs in. */
function rootState() {
  const links = JSON.parse(run('ip', ['-j', 'link', 'show'])).map((l) => `${l.ifindex}:${l.ifname}`).join(' ');
  return { links, ruleset: run('nft', ['list', 'ruleset']) };
}

/**
 * Runs both scenarios. Returns { rows, notes, description }; the caller removes the namespaces
 * (sandbox.cleanup) whatever happens.
 */
export async function bench({ quick }) {
  const n = quick ? 3 : 20; // element rounds (nlnet and nft -f)
  const forkReps = quick ? 1 : 3; // element rounds with 1,000 forks
  const ruleN = quick ? 10 : 200;
  const before = rootState();
  const el = await elementScenario({ n, forkReps });
  const rules = await ruleScenario({ n: ruleN });
  const after = rootState();
  const notes = [...el.notes, ...rules.notes];
  notes.push(
    `after every add and delete round, each method's map was read back (nlnet: listElements; nft: nft -j list map) and held exactly the ${ELEMENTS.toLocaleString('en')} elements, then none; ` +
      `nft also read back what nlnet wrote (elements and the rule, listed as \`${RULE_TEXT.replace('counter', 'counter packets 0 bytes 0')}\`)`,
  );
  notes.push(
    before.links === after.links && before.ruleset === after.ruleset
      ? "the benchmark's own namespace: links and nf_tables ruleset unchanged"
      : `WARNING: the benchmark's own namespace changed during the run (links ${before.links === after.links ? 'same' : `${before.links} -> ${after.links}`}, ruleset ${before.ruleset === after.ruleset ? 'same' : 'changed'}); something else on the machine, or a bug`,
  );
  const description =
    `nf_tables (${run('nft', ['-v']).trim()}), medians in ms. Map elements: ${n} rounds (after ${WARMUP} warm-up) of nlnet (one commit) and ` +
    `\`nft -f FILE\` (one \`add element\` / \`delete element\` statement of all ${ELEMENTS.toLocaleString('en')}), interleaved; ` +
    `nft fork = ${ELEMENTS.toLocaleString('en')} \`nft add element\` (or \`delete element\`) processes one after another, total time, ` +
    `measured in only the first ${forkReps} of those rounds (it is slow). Rules: N = ${ruleN} (after ${RULE_WARMUP} warm-up) of nlnet addRule + delRule ` +
    `on one Netlink handle vs \`nft -a -e add rule ip t in ${RULE_TEXT}\` (handle read from its echo) + \`nft delete rule … handle H\`, interleaved. ` +
    'Each method works in its own namespace; nft is forked by a small node process living in that namespace.';
  return { rows: [...el.rows, ...rules.rows], notes, description };
}

export function table(rows) {
  const head = ['operation', 'nlnet', 'nft -f', 'nft fork', 'nlnet vs fork (×)', 'nlnet vs nft -f (×)'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    const cells = [r.op, ms(r.nlnet), ms(r.file), ms(r.fork), ratio(r.fork, r.nlnet), ratio(r.file, r.nlnet)];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
