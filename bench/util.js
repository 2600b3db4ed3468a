// Timing, statistics, formatting and the `ip` invocations the benchmark compares against.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

const BIG = 512 * 1024 * 1024; // `ip -j route show` of 100,000 routes is tens of megabytes

/** Milliseconds an async function takes. */
export async function time(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Milliseconds a synchronous function takes (no microtask tick added to a fork's cost). */
export function timeSync(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export function median(xs) {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Forks `ip ARGS…` and waits; returns its stdout, throws with its stderr on failure. */
export function ip(...args) {
  return run('ip', args);
}

/** One `ip [-n NS] -batch -` process fed the given command lines. */
export function ipBatch(ns, lines) {
  run('ip', [...(ns ? ['-n', ns] : []), '-batch', '-'], `${lines.join('\n')}\n`);
}

export function run(cmd, args, input) {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: BIG, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.signal ?? r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Medians with 3 significant digits, no exponent: 0.0123, 1.23, 1230. */
export function ms(x) {
  if (x === undefined) return '—';
  return String(Number(x.toPrecision(3)));
}

/** How many times `a` is the size of `b`, one decimal. */
export function ratio(a, b) {
  if (a === undefined || b === undefined) return '—';
  return `${(a / b).toFixed(1)}×`;
}

/** A TCP port nothing listens on right now, on this process's loopback (for the benchmarks' etcd). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}
