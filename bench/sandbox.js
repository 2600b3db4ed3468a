// Every namespace the benchmark makes is named PREFIX… (PREFIX holds the pid), so removing them
// all is a sweep of /run/netns for that prefix: it also catches those an `ip netns add` fork or
// the C baseline made and a crash left behind. Nothing outside those namespaces is touched.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

export const PREFIX = `nlbench-${process.pid}-`;

/** A namespace name unique to this run. */
export const nsName = (tag) => `${PREFIX}${tag}`;

let dir;
/** A temporary directory for this run (the compiled C baseline), made on first use. */
export function workDir() {
  dir ??= mkdtempSync(join(tmpdir(), 'nlbench-'));
  return dir;
}

function leftovers() {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(PREFIX));
  } catch {
    return [];
  }
}

/**
 * Synchronous on purpose: it runs from signal handlers too, and nothing else can run (and create
 * a namespace behind its back) until it returns. `ip netns del` unmounts and unlinks, and still
 * unlinks a file an interrupted `ip netns add` left unmounted.
 */
export function cleanup() {
  for (const name of leftovers()) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  if (dir) rmSync(dir, { recursive: true, force: true });
  const left = leftovers();
  if (left.length) console.error(`bench: could not remove namespaces: ${left.join(' ')}`);
}

/** Ctrl-C and kill remove what the run made before the process exits. */
export function cleanupOnSignals() {
  for (const [sig, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
    process.on(sig, () => {
      console.error(`\nbench: ${sig}, removing the benchmark's namespaces`);
      cleanup();
      process.exit(128 + number);
    });
  }
}
