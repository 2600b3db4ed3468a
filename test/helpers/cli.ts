// Runs the `nlnet` CLI as a user would (`node bin/nlnet.js …`, which needs dist/ built by tsc)
// against a throwaway host namespace and state directory, and removes everything after each
// test: the sandboxes' namespaces (which live outside the host namespace), their /etc/netns
// directories, the state directory, then the host namespace itself (useNetns).
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach } from 'vitest';

import { removeEngineLeftovers } from './engine.js';
import { uplink } from './hostnet.js';
import { useNetns } from './ns.js';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'nlnet.js');

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliEnv {
  /** The host namespace's name. */
  host: string;
  /** With `useCli({ outside: true })`: a namespace on the host's uplink (hostnet.ts's UPLINK). */
  outside: string;
  stateDir: string;
  /** `nlnet --host-netns HOST --state-dir DIR ARGS…`, waited for. */
  run(...args: string[]): CliResult;
  /** The same, with stdin text. */
  runInput(input: string, ...args: string[]): CliResult;
  /** The same without waiting: for concurrent runs. */
  start(...args: string[]): Promise<CliResult>;
  /** The argv prefix, to start nlnet some other way (signals, long-running commands). */
  argv(...args: string[]): string[];
}

/** Runs `nlnet ARGS…` with no global flags added. */
export function nlnetRaw(args: readonly string[], input?: string): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, ...(input === undefined ? {} : { input }) });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Starts a process and collects its output; resolves when it ends. */
export function collect(argv: readonly string[]): Promise<CliResult> {
  return collectChild(spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Collects a started process's output (stdout and stderr piped); resolves when it ends. */
export function collectChild(child: ChildProcessByStdio<null, Readable, Readable>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/**
 * A fresh host namespace and state directory for each test, and the CLI bound to them; with
 * `outside`, a second namespace wired to the host as hostnet.ts's uplink.
 */
export function useCli(prefix = 'nlcli', options: { outside?: boolean } = {}): CliEnv {
  const spaces = useNetns(options.outside === true ? 2 : 1, prefix);
  const env = {} as CliEnv;
  beforeEach(async () => {
    const host = spaces[0]!.name;
    if (options.outside === true) await uplink(spaces[0]!, spaces[1]!);
    const stateDir = await mkdtemp(join(tmpdir(), 'nlnet-cli-'));
    const argv = (...args: string[]): string[] => [process.execPath, BIN, '--host-netns', host, '--state-dir', stateDir, ...args];
    Object.assign(env, {
      host,
      outside: spaces[1]?.name ?? '',
      stateDir,
      argv,
      run: (...args: string[]) => nlnetRaw(argv(...args).slice(2)),
      runInput: (input: string, ...args: string[]) => nlnetRaw(argv(...args).slice(2), input),
      start: (...args: string[]) => collect(argv(...args)),
    });
  });
  // Registered after useNetns's hook, so it runs before that one (vitest runs after-hooks in
  // reverse): the sandboxes go before the host namespace.
  afterEach(async () => {
    await removeEngineLeftovers(env.host);
    await rm(env.stateDir, { recursive: true, force: true });
  });
  return env;
}
