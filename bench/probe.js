// The soak's samples (soak.js): memory and file descriptors of this process after full garbage
// collections, printed as markdown rows, and the trend that tells growth that stops from a leak.
import { readdirSync, readFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';

// Without --expose-gc on the command line: the flag set at run time, `gc` taken from a fresh context.
v8.setFlagsFromString('--expose-gc');
const gc = globalThis.gc ?? vm.runInNewContext('gc');

const MB = 1024 * 1024;
const mb = (x) => (x / MB).toFixed(1);

/** /proc/self/status: RssAnon (V8's heap, malloc arenas, stacks) apart from RssFile (mapped code and data files). */
function status() {
  const text = readFileSync('/proc/self/status', 'utf8');
  const field = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rssAnon: field('RssAnon') * 1024, rssFile: field('RssFile') * 1024, threads: field('Threads') };
}

/**
 * One sample, after two full collections (the second frees what the first's finalizers released),
 * so heapUsed is what is still reachable. `snapshot`: a path to write a heap snapshot to as well.
 */
export function probe(label, done, t0, snapshot) {
  gc();
  gc();
  const m = process.memoryUsage();
  // readdir's own directory fd is in the listing: not one of ours.
  const fds = readdirSync('/proc/self/fd').length - 1;
  const st = status();
  // The RAM of all V8's spaces; the rest of RssAnon is malloc'd (native) memory and thread stacks.
  const v8heap = v8.getHeapStatistics().total_physical_size;
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((x) => [x.space_name, x.physical_space_size]));
  // V8 doubles its young generation up to its maximum while allocation goes on, and keeps it:
  // RSS without it is what the rest of the process holds.
  const young = spaces.new_space ?? 0;
  if (snapshot) v8.writeHeapSnapshot(snapshot);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { label, done, seconds, rss: m.rss, young, rssOld: m.rss - young, ...st, v8heap, spaces, heapUsed: m.heapUsed, native: st.rssAnon - v8heap, external: m.external, fds };
}

const COLUMNS = ['RSS MB', 'RssAnon', 'RssFile', 'V8 heap', 'V8 new space', 'RSS − new space', 'heapUsed', 'native', 'external', 'fds', 'threads'];

export function header(unit) {
  const head = ['point', unit, 's', ...COLUMNS, `${unit}/s since last`];
  return `| ${head.join(' | ')} |\n|---|${head.slice(1).map(() => '---:').join('|')}|`;
}

export function row(s, prev, digits) {
  const rate = prev && s.seconds > prev.seconds ? ((s.done - prev.done) / (s.seconds - prev.seconds)).toFixed(digits) : '—';
  const memory = [s.rss, s.rssAnon, s.rssFile, s.v8heap, s.young, s.rssOld, s.heapUsed, s.native, s.external].map(mb);
  return `| ${[s.label, s.done.toLocaleString('en-US'), s.seconds.toFixed(0), ...memory, s.fds, s.threads, rate].join(' | ')} |`;
}

/** Least-squares slope of `key`, in kB per 1,000 units, over the given samples. */
function slope(samples, key) {
  const xs = samples.map((s) => s.done / 1000);
  const ys = samples.map((s) => s[key] / 1024);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / sxx;
}

/**
 * First against last, and the slopes over the second half, where warm-up is over: a leak is a
 * steady slope, a plateau one near zero. Then V8's spaces that changed, to place heap growth.
 */
export function summary(samples, unit) {
  const first = samples[0];
  const last = samples.at(-1);
  const half = samples.filter((s) => s.done >= last.done / 2);
  const keys = [['RSS', 'rss'], ['RSS − new space', 'rssOld'], ['V8 heap', 'v8heap'], ['heapUsed', 'heapUsed'], ['native', 'native'], ['external', 'external']];
  const spaces = Object.keys(last.spaces).filter((k) => Math.abs(last.spaces[k] - (first.spaces[k] ?? 0)) >= MB / 2);
  return [
    `RSS ${mb(first.rss)} → ${mb(last.rss)} MB (without V8's new space ${mb(first.rssOld)} → ${mb(last.rssOld)}), V8 heap ${mb(first.v8heap)} → ${mb(last.v8heap)} MB (heapUsed ${mb(first.heapUsed)} → ${mb(last.heapUsed)}), native ${mb(first.native)} → ${mb(last.native)} MB, fds ${first.fds} → ${last.fds}, threads ${first.threads} → ${last.threads}`,
    `second half (${half[0].label} → end), kB per 1,000 ${unit}: ${keys.map(([name, key]) => `${name} ${slope(half, key).toFixed(1)}`).join(', ')}`,
    `V8 spaces that changed, physical MB at each sample: ${spaces.map((k) => `${k} ${samples.map((s) => mb(s.spaces[k] ?? 0)).join(' ')}`).join('; ') || 'none'}`,
  ].join('\n');
}
