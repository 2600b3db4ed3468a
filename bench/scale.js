// How nlnet's attach and detach hold up at scale, on the engine's default bridge in the attach
// benchmark's host namespace (attach.js owns that namespace, the engine and their cleanup):
//
// - 1,000 published ports on one sandbox (`-p 10000-10999:10000-10999`): its attach and detach,
//   against netavark (one range mapping) and the CNI portmap plugin (1,000 mappings); and a 1-port
//   attach while those 1,000 mappings are in place, next to the same attach on an empty bridge
//   (the firewall commit must not grow with what the map already holds);
// - the first attaches against the 1,000th on one bridge (1,010 in sequence, median of #1–#21
//   against #990–#1010: one attach alone is too noisy to divide by; --quick: the 500th of 510);
// - 100 detaches at once against one detach (the same 100 one after another, per sandbox: a
//   veth delete waits ~9-19 ms for the kernel; deleted together, their host ends share one wait);
// - the kernel's own attach (kernel-baseline.c, the same messages) on the empty bridge and with
//   the series attached: how much of the last attaches' growth is the kernel's.
import * as kernel from './kernel.js';
import { nsName } from './sandbox.js';
import { median, ms, time } from './util.js';

const MANY = 100;
const BIG = { publish: ['10000-10999:10000-10999'], ports: [{ host: 10000, container: 10000, range: 1000 }] };

/** `reps` attaches (and untimed detaches) of a 1-port sandbox: the attach times. */
async function probeAttaches(engine, reps) {
  const t = [];
  for (let i = 0; i < reps; i++) {
    t.push(await time(() => engine.createSandbox({ name: 'probe', publish: ['30000:80'] })));
    await engine.removeSandbox('probe');
  }
  return t;
}

/** The 1,000-port sandbox, `reps` times: attach and detach times for nlnet and each tool, interleaved. */
async function bigSandbox(engine, tools, reps, quick) {
  const t = { nlnet: { attach: [], detach: [] } };
  for (const tool of tools) t[tool.label] = { attach: [], detach: [] };
  for (let i = 0; i < reps; i++) {
    t.nlnet.attach.push(await time(() => engine.createSandbox({ name: 'big', publish: BIG.publish })));
    t.nlnet.detach.push(await time(() => engine.removeSandbox('big')));
    for (const tool of tools) {
      if (tool.slowWithManyPorts && (quick || i > 0)) continue;
      const sb = tool.sandbox('big', 4, BIG.ports);
      t[tool.label].attach.push(await time(() => tool.attach(sb)));
      if (i === 0) tool.checkAttached(sb);
      t[tool.label].detach.push(await time(() => tool.detach(sb)));
      if (i === 0) tool.checkDetached(sb);
    }
  }
  return t;
}

/**
 * Runs the three scenarios; returns table rows ({ op, nlnet, vs, other }: `other` is what the
 * row's nlnet figure is compared with) and notes. `leftovers()` lists the engine's sandbox
 * namespaces still present, to check that every detach really removed its namespace.
 */
/** `reps` attach/detach pairs of the C baseline (kernel.js) on nlnet0: the attach times. */
async function kernelAttaches(bin, host, reps) {
  if (bin === undefined) return [];
  const steps = kernel.attachSteps(bin, { host, s: nsName('kscale'), veth: 'vbkscale', addr: '172.17.201.4', port: 9083 });
  const t = [];
  try {
    for (let i = 0; i < reps; i++) {
      t.push(await steps.attach());
      await steps.detach();
    }
  } finally {
    await steps.close();
  }
  return t;
}

export async function bench({ engine, tools, quick, leftovers, bin, host }) {
  // The issue's target is the 1,000th attach; --quick stops at the 500th.
  const SERIES = quick ? 510 : 1010;
  const LAST = SERIES - 10;
  const reps = quick ? 5 : 20;
  const bigReps = quick ? 1 : 3;
  const rows = [];

  // 1,000 ports, and a 1-port attach next to them.
  const empty = await probeAttaches(engine, reps);
  const big = await bigSandbox(engine, tools, bigReps, quick);
  await engine.createSandbox({ name: 'big', publish: BIG.publish });
  const crowded = await probeAttaches(engine, reps);
  await engine.removeSandbox('big');
  for (const [k, what] of [['attach', 'attach with 1,000 published ports'], ['detach', 'detach of it']]) {
    if (tools.length === 0) rows.push({ op: what, nlnet: median(big.nlnet[k]), vs: 'no other tool installed' });
    for (const tool of tools) {
      const vs = tool.slowWithManyPorts && quick ? `${tool.label} (not run with --quick: ~30 s)` : tool.label;
      rows.push({ op: what, nlnet: median(big.nlnet[k]), vs, other: median(big[tool.label][k]) });
    }
  }
  rows.push({ op: '1-port attach, bridge already holding 1,000 mappings', nlnet: median(crowded), vs: '1-port attach, empty bridge (nlnet)', other: median(empty), target: 1.1, grown: true });

  // 510 attaches in sequence, then the detaches; the kernel's own attach before and among them.
  const kernelEmpty = await kernelAttaches(bin, host, 21);
  const names = Array.from({ length: SERIES }, (_, i) => `s${i + 1}`);
  const series = [];
  for (const name of names) series.push(await time(() => engine.createSandbox({ name, publish: [`${20000 + series.length}:80`] })));
  const kernelFull = await kernelAttaches(bin, host, 21);
  const atOnceRest = await time(() => Promise.all(names.slice(MANY).map((n) => engine.removeSandbox(n))));
  const atOnce = await time(() => Promise.all(names.slice(0, MANY).map((n) => engine.removeSandbox(n))));
  if (leftovers().length) throw new Error(`${leftovers().length} sandbox namespaces left after the detaches at once`);
  const again = [];
  for (const name of names.slice(0, MANY)) again.push(await time(() => engine.createSandbox({ name, publish: [`${20000 + again.length}:80`] })));
  const oneByOne = await time(async () => {
    for (const name of names.slice(0, MANY)) await engine.removeSandbox(name);
  });
  if (leftovers().length) throw new Error(`${leftovers().length} sandbox namespaces left after the detaches in sequence`);

  rows.push({ op: `${LAST.toLocaleString('en')}th attach on one bridge (median of #${LAST - 10}–#${SERIES})`, nlnet: median(series.slice(LAST - 11, SERIES)), vs: 'first attaches on it (median of #1–#21, nlnet)', other: median(series.slice(0, 21)), target: 1.1, grown: true });
  if (kernelEmpty.length > 0) {
    rows.push({ op: `kernel (C) attach with ${SERIES} sandboxes on the bridge (median of 21)`, nlnet: median(kernelFull), vs: 'kernel (C) attach, empty bridge (median of 21)', other: median(kernelEmpty), grown: true });
  }
  rows.push({ op: `${MANY} detaches at once (Promise.all, total)`, nlnet: atOnce, vs: `one detach (the same ${MANY} one after another, per sandbox)`, other: oneByOne / MANY, target: 5 });

  const notes = [
    `1,000 ports: \`publish: ['10000-10999:10000-10999']\` (1,000 map elements for nlnet, one range mapping for netavark, 1,000 portMappings for CNI portmap); ` +
      `median of ${bigReps} attach/detach pair${bigReps > 1 ? 's' : ''} each (CNI: one pair, none with --quick: portmap writes iptables rules per mapping and takes tens of seconds). The 1-port attaches: median of ${reps}, each detached before the next, ` +
      `on the otherwise empty bridge and then with the 1,000-port sandbox attached.`,
    `${SERIES} attaches in sequence on nlnet0 (host ports 20000…): 1st ${ms(series[0])}, 10th ${ms(series[9])}, 100th ${ms(series[99])}, 500th ${ms(series[499])}${SERIES > 1000 ? `, 1,000th ${ms(series[999])}` : ''}, ` +
      `median of all ${ms(median(series))} ms. Then the last ${SERIES - MANY} were detached at once (${ms(atOnceRest)} ms), then the first ${MANY} at once (the table's row), ` +
      `${MANY} attached again (median ${ms(median(again))} ms) and detached one after another (per sandbox: ${ms(atOnce / MANY)} ms at once, ${ms(oneByOne / MANY)} ms in sequence).`,
  ];
  return { rows, notes };
}
