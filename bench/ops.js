// Single operations, each done then undone, N times: nlnet (one awaited call per step), one `ip`
// fork per step and the C baseline, interleaved iteration by iteration so that load from
// anything else on the machine falls on all three alike; then the same command lines fed to
// `ip -batch -`.
import { netns } from '../dist/index.js';

import * as kernel from './kernel.js';
import { nsName } from './sandbox.js';
import { ip, ipBatch, median, time, timeSync } from './util.js';

export const WARMUP = 3;
export const BATCHES = 5;

const samples = () => ({ add: [], del: [], both: [] });
const record = (s, add, del) => (s.add.push(add), s.del.push(del), s.both.push(add + del));

/**
 * One do/undo pair measured four ways. `ns` is the namespace `ip -n` works in (none for
 * `ip netns`); `add`/`del` are the `ip` arguments after it; `c` the baseline's mode and arguments.
 * `nlnet.batch(pairs)`, when given, runs that many pairs as one nl.batch.
 * Returns medians in ms: { nlnet, fork, kernel: {add, del, both}, batch, nlnetBatch: {both} }.
 */
async function measurePair({ n, bin, nlnet, ns, add, del, c }) {
  const s = { nlnet: samples(), fork: samples(), kernel: samples(), batch: { both: [] }, nlnetBatch: { both: [] } };
  const withNs = (args) => (ns ? ['-n', ns, ...args] : args);
  for (let i = 0; i < WARMUP + n; i++) {
    const na = await time(nlnet.add);
    const nd = await time(nlnet.del);
    const fa = timeSync(() => ip(...withNs(add)));
    const fd = timeSync(() => ip(...withNs(del)));
    const k = bin ? kernel.pair(bin, c[0], c.slice(1)) : undefined;
    if (i < WARMUP) continue;
    record(s.nlnet, na, nd);
    record(s.fork, fa, fd);
    if (k) record(s.kernel, k.add, k.del);
  }
  // The same N do/undo pairs, in BATCHES `ip -batch` processes; per pair = process time / pairs.
  // For reference, not in the nlnet column: the same pairs as nlnet batches (nl.batch).
  const perBatch = Math.max(1, Math.round(n / BATCHES));
  const lines = Array.from({ length: perBatch }, () => [add.join(' '), del.join(' ')]).flat();
  for (let i = 0; i < BATCHES; i++) {
    s.batch.both.push(timeSync(() => ipBatch(ns, lines)) / perBatch);
    if (nlnet.batch) s.nlnetBatch.both.push((await time(() => nlnet.batch(perBatch))) / perBatch);
  }
  const med = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, median(v)]));
  return { nlnet: med(s.nlnet), fork: med(s.fork), kernel: med(s.kernel), batch: med(s.batch), nlnetBatch: med(s.nlnetBatch) };
}

/** One nl.batch repeating a do/undo pair. */
function nlBatch(nl, pairs, pair) {
  return nl.batch((bt) => {
    for (let i = 0; i < pairs; i++) pair(bt);
  });
}

/** `ip -n A link add vX type veth peer name vY netns B` + `ip -n A link del vX` */
export function veth({ nl, a, b, nsB, n, bin }) {
  return measurePair({
    n,
    bin,
    c: ['veth', a, b],
    nlnet: {
      add: () => nl.link.add({ name: 'vX', kind: 'veth', peer: { name: 'vY', netns: nsB } }),
      del: () => nl.link.del('vX'),
      batch: (pairs) => nlBatch(nl, pairs, (bt) => (bt.link.add({ name: 'vX', kind: 'veth', peer: { name: 'vY', netns: nsB } }), bt.link.del('vX'))),
    },
    ns: a,
    add: ['link', 'add', 'vX', 'type', 'veth', 'peer', 'name', 'vY', 'netns', b],
    del: ['link', 'del', 'vX'],
  });
}

/** `ip -n A addr add|del 10.99.0.1/24 dev DEV` */
export function addr({ nl, a, dev, n, bin }) {
  const spec = { dev, address: '10.99.0.1/24' };
  return measurePair({
    n,
    bin,
    c: ['addr', a, dev],
    nlnet: {
      add: () => nl.addr.add(spec),
      del: () => nl.addr.del(spec),
      batch: (pairs) => nlBatch(nl, pairs, (bt) => (bt.addr.add(spec), bt.addr.del(spec))),
    },
    ns: a,
    add: ['addr', 'add', spec.address, 'dev', dev],
    del: ['addr', 'del', spec.address, 'dev', dev],
  });
}

/** `ip -n A route add|del 10.98.0.0/24 dev DEV` */
export function route({ nl, a, dev, n, bin }) {
  const spec = { dst: '10.98.0.0/24', dev };
  return measurePair({
    n,
    bin,
    c: ['route', a, dev],
    nlnet: {
      add: () => nl.route.add(spec),
      del: () => nl.route.del(spec),
      batch: (pairs) => nlBatch(nl, pairs, (bt) => (bt.route.add(spec), bt.route.del(spec))),
    },
    ns: a,
    add: ['route', 'add', spec.dst, 'dev', dev],
    del: ['route', 'del', spec.dst, 'dev', dev],
  });
}

/** `ip netns add NAME` + `ip netns del NAME` */
export function namespace({ n, bin }) {
  const mine = nsName('nlnet');
  const theirs = nsName('ip');
  return measurePair({
    n,
    bin,
    c: ['netns', nsName('c')],
    nlnet: { add: () => netns.create(mine), del: () => netns.delete(mine) },
    ns: undefined,
    add: ['netns', 'add', theirs],
    del: ['netns', 'del', theirs],
  });
}
