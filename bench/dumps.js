// Dumps of big tables: nlnet's list() (already JS objects) against forking `ip -j … show` and
// JSON.parse of its output, the two timed together since a caller needs both to get objects.
import { Netlink, netns } from '../dist/index.js';

import * as kernel from './kernel.js';
import { nsName } from './sandbox.js';
import { ip, median, time, timeSync } from './util.js';

const CHUNK = 2000; // operations per nlnet batch while filling the tables

async function inChunks(nl, count, add) {
  for (let i = 0; i < count; i += CHUNK) {
    const end = Math.min(count, i + CHUNK);
    await nl.batch((b) => {
      for (let j = i; j < end; j++) add(b, j);
    });
  }
}

/** nlnet, `ip -j` + JSON.parse and the C baseline, interleaved; each must see the same entries. */
async function measureDump({ label, n, list, ipArgs, bin, c }) {
  const s = { nlnet: [], fork: [], parse: [], both: [], kernel: [] };
  let entries;
  for (let i = 0; i < 1 + n; i++) {
    let objects;
    let out;
    let parsed;
    const tn = await time(async () => (objects = await list()));
    const tf = timeSync(() => (out = ip(...ipArgs)));
    const tp = timeSync(() => (parsed = JSON.parse(out)));
    const k = bin ? kernel.dump(bin, c[0], c.slice(1), 1) : undefined;
    entries = objects.length;
    for (const [who, count] of [['ip', parsed.length], ['the C baseline', k?.count ?? entries]])
      if (count !== entries) throw new Error(`${label}: nlnet returned ${entries} entries, ${who} ${count}`);
    if (i === 0) continue; // warm-up
    s.nlnet.push(tn), s.fork.push(tf), s.parse.push(tp), s.both.push(tf + tp);
    if (k) s.kernel.push(k.ms);
  }
  return {
    label,
    n,
    nlnet: median(s.nlnet),
    kernel: median(s.kernel),
    fork: median(s.both),
    detail: `${label}: ${entries} entries; ip fork alone ${median(s.fork).toFixed(1)} ms + JSON.parse ${median(s.parse).toFixed(1)} ms`,
  };
}

/** 1,000 then 10,000 links (veth pairs with both ends in one namespace): `ip -j link show`. */
export async function links({ n, bin }) {
  const name = nsName('links');
  await netns.create(name);
  const nl = await Netlink.open({ netns: name });
  try {
    const addPairs = (from, to) => inChunks(nl, to - from, (b, j) => b.link.add({ name: `a${from + j}`, kind: 'veth', peer: { name: `b${from + j}` } }));
    const dump = (label) => measureDump({ label, n, list: () => nl.link.list(), ipArgs: ['-n', name, '-j', 'link', 'show'], bin, c: ['dump-link', name] });
    await addPairs(0, 500);
    const small = await dump('link dump, 1,000 links');
    await addPairs(500, 5000);
    const big = await dump('link dump, 10,000 links');
    return [small, big];
  } finally {
    nl.close();
  }
}

/** 100,000 routes in table 100: `ip -j route show table 100`. */
export async function routes({ n, bin }) {
  const name = nsName('routes');
  const TABLE = 100;
  await netns.create(name);
  const nl = await Netlink.open({ netns: name });
  try {
    const r0 = await nl.link.add({ name: 'r0', kind: 'veth', peer: { name: 'r1' } });
    await nl.link.set('r0', { up: true });
    // 10.0.0.0/24, 10.0.1.0/24 … 11.134.159.0/24
    await inChunks(nl, 100_000, (b, i) => b.route.add({ dst: `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`, dev: r0.index, table: TABLE }));
    const row = await measureDump({
      label: 'route dump, 100,000 routes',
      n,
      list: () => nl.route.list({ table: TABLE }),
      ipArgs: ['-n', name, '-j', 'route', 'show', 'table', String(TABLE)],
      bin,
      c: ['dump-route', name, String(TABLE)],
    });
    return [row];
  } finally {
    nl.close();
  }
}
