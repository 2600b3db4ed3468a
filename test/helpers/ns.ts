// Throwaway namespaces for integration tests. Names are unique per process and per call, so
// test files running in parallel never collide; everything is removed after each test, also
// when it fails.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { afterEach, beforeEach } from 'vitest';

import { Netlink, netns } from '../../lib/index.js';

export const isRoot = process.getuid?.() === 0;
export const ROOT_SKIP_REASON = 'integration tests need root: they create network namespaces, links and routes';
if (!isRoot) console.warn(`skipped: ${ROOT_SKIP_REASON}`);

let counter = 0;
/** A name unique to this process and call: `${prefix}${pid}x${n}`, at most 15 bytes for short prefixes. */
export function unique(prefix: string): string {
  return `${prefix}${process.pid.toString(36)}x${(counter++).toString(36)}`;
}

export interface TestNs {
  name: string;
  nl: Netlink;
}

/**
 * Makes `count` fresh namespaces before each test (each with a Netlink handle) and removes them
 * after it. Returns an array refilled for every test.
 */
export function useNetns(count: number, prefix = 'nlt'): TestNs[] {
  const spaces: TestNs[] = [];
  beforeEach(async () => {
    for (let i = 0; i < count; i++) {
      const name = unique(prefix);
      await netns.create(name);
      spaces.push({ name, nl: await Netlink.open({ netns: name }) });
    }
  });
  afterEach(async () => {
    for (const s of spaces.splice(0)) {
      s.nl.close();
      await netns.delete(s.name).catch(() => undefined);
    }
  });
  return spaces;
}

/** `ip -n NS -j ARGS…` parsed: the independent oracle. */
export function ipj<T = unknown>(ns: string, ...args: string[]): T {
  const out = execFileSync('ip', ['-n', ns, '-j', ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  return (out.trim() ? JSON.parse(out) : []) as T;
}

/** `bridge -n NS -j ARGS…` parsed. */
export function bridgej<T = unknown>(ns: string, ...args: string[]): T {
  const out = execFileSync('bridge', ['-n', ns, '-j', ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  return (out.trim() ? JSON.parse(out) : []) as T;
}

/** Runs `ip -n NS ARGS…` (to make things nlnet must then read); throws with ip's stderr. */
export function ipRun(ns: string, ...args: string[]): void {
  const r = spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip -n ${ns} ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** Runs a command inside a namespace (`ip netns exec`); returns its status and output. */
export function nsExec(ns: string, cmd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: 20_000 });
}

/**
 * nsExec without blocking the event loop: needed when the command talks to a server running in
 * this very process (the embedded DNS), which a blocked loop could not answer.
 */
export function nsExecAsync(ns: string, cmd: string, ...args: string[]): Promise<{ status: number; stdout: string }> {
  return new Promise((resolve) =>
    execFile('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: 20_000 }, (err, stdout) =>
      resolve({ status: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout }),
    ),
  );
}

/**
 * True when this kernel knows a link kind (this CI kernel lacks ipvlan, vlan and dummy). The
 * probe link gets a veth as its parent: loopback would be refused by macvlan, ipvlan and vlan
 * even where they exist (vlan with "not supported", which would read as a missing kind).
 * Any other failure means the probe itself is wrong, and throws rather than skip tests.
 */
export function kernelHasKind(kind: string): boolean {
  const ns = unique('kchk');
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'add', 'parent0', 'type', 'veth', 'peer', 'name', 'parent1']);
    const args: Record<string, string[]> = { vlan: ['id', '10'], vxlan: ['id', '1', 'dstport', '4789'], veth: ['peer', 'name', 'probe1'] };
    const r = spawnSync('ip', ['-n', ns, 'link', 'add', 'link', 'parent0', 'name', 'probe0', 'type', kind, ...(args[kind] ?? [])], { encoding: 'utf8' });
    if (r.status === 0) return true;
    if (/Unknown device type|not supported/i.test(r.stderr)) return false;
    throw new Error(`kernelHasKind(${kind}): the probe failed for another reason: ${r.stderr.trim()}`);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}
