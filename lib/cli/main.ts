// The `nlnet` command: reads argv (program.ts), opens the engine for the command and turns any
// failure into one line on stderr and an exit code (see EXIT in command.ts).
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';

import { Engine } from '../network/engine.js';
import { describeHolder } from '../network/store/errors.js';
import { DEFAULT_LOCK_TIMEOUT, DEFAULT_STATE_DIR, EXIT, UsageError, type Command, type Context, type GlobalOptions, type Group, type Output, type Parsed, type StateUse } from './command.js';
import { needPrivileges, permissionHint } from './privileges.js';
import { containerGroup, port } from './container.js';
import { daemonCommand } from './daemon.js';
import { describeError, exitCodeOf, isExpected } from './errors.js';
import { execCommand, runCommand } from './exec.js';
import { infoCommand } from './info.js';
import { networkGroup } from './network.js';
import { parseCommandLine } from './program.js';

/** `nlnet demo` (lib/cli/demo.ts). */
const demoCommand: Command = {
  name: 'demo',
  usage: '',
  summary: 'Show every network mode in throwaway namespaces, then clean up',
  args: [],
  min: 0,
  max: 0,
  flags: [],
  async run(ctx) {
    // Loaded on demand: the other commands need none of its traffic helpers.
    const { demo } = await import('./demo.js');
    return demo(ctx.global);
  },
};

const GROUPS: readonly Group[] = [networkGroup, containerGroup];
const COMMANDS: readonly Command[] = [execCommand, runCommand, port, infoCommand, daemonCommand, demoCommand];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `nlnet version ${pkg.version}\n`;
}

/**
 * Our stdio, touched only when first written: Node makes a piped stdout or stderr non-blocking
 * when it sets the stream up, and `exec`/`run` hand the same pipes to the user's command, which
 * expects them blocking (a `cat` into a full pipe would fail with EAGAIN).
 */
let stdoutReady = false;
function stdout(): NodeJS.WriteStream {
  if (!stdoutReady) {
    // `nlnet network ls | head -1`: a closed pipe is not an error worth a stack trace.
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
    stdoutReady = true;
  }
  return process.stdout;
}

export const processOutput: Output = {
  out: (text) => void stdout().write(text),
  err: (text) => void process.stderr.write(text),
  prompt: async (question) => {
    process.stderr.write(question);
    const rl = createInterface({ input: process.stdin, terminal: false });
    try {
      for await (const line of rl) return line;
      return '';
    } finally {
      rl.close();
    }
  },
};

/** Runs `nlnet ARGV…` and resolves to the exit code. Never throws. */
export async function main(argv: readonly string[], io: Output = processOutput): Promise<number> {
  try {
    const invocation = parseCommandLine(argv, { groups: GROUPS, commands: COMMANDS, version }, io);
    if (invocation.kind === 'printed') return EXIT.ok;
    const { command, parsed, levels } = invocation;
    const state = command.state ?? 'change';
    if (state !== 'read') needPrivileges();
    return await command.run(context(io, globalOptions(levels), state), parsed);
  } catch (e) {
    io.err(`nlnet: ${describeError(e)}\n`);
    if (!isExpected(e) && process.env.NLNET_DEBUG) io.err(`${(e as Error).stack ?? ''}\n`);
    return exitCodeOf(e);
  }
}

/** The last given of each global flag wins, wherever it was given. */
function globalOptions(parsed: readonly Parsed[]): GlobalOptions {
  const last = (flag: string): string | undefined => parsed.map((p) => p.string(flag)).filter((v) => v !== undefined).at(-1);
  const hostNetns = last('host-netns');
  const wait = last('lock-timeout');
  if (wait !== undefined && !/^\d+(\.\d+)?$/.test(wait)) throw new UsageError(`invalid argument "${wait}" for "--lock-timeout" flag: expected seconds`, 'nlnet');
  const env = (name: string): string | undefined => (process.env[name] === '' ? undefined : process.env[name]);
  const clusterStore = last('cluster-store') ?? env('NLNET_CLUSTER_STORE');
  const clusterAdvertise = last('cluster-advertise') ?? env('NLNET_CLUSTER_ADVERTISE');
  const hostTtl = clusterStoreOpts(parsed.flatMap((p) => p.list('cluster-store-opt')));
  return {
    stateDir: last('state-dir') ?? DEFAULT_STATE_DIR,
    lockTimeout: wait === undefined ? DEFAULT_LOCK_TIMEOUT : Number(wait),
    ...(hostNetns === undefined ? {} : { hostNetns }),
    ...(clusterStore === undefined ? {} : { clusterStore }),
    ...(clusterAdvertise === undefined ? {} : { clusterAdvertise }),
    ...(hostTtl === undefined ? {} : { hostTtl }),
  };
}

/** `--cluster-store-opt KEY=VALUE`: Docker's `discovery.ttl`, the one nlnet has; the last one wins. */
function clusterStoreOpts(opts: readonly string[]): number | undefined {
  let ttl: number | undefined;
  for (const opt of opts) {
    const [key, value] = opt.split('=', 2) as [string, string | undefined];
    if (key !== 'discovery.ttl') throw new UsageError(`invalid argument "${opt}" for "--cluster-store-opt" flag: unknown option (nlnet knows discovery.ttl=SECONDS)`, 'nlnet');
    if (value === undefined || !/^[1-9]\d*$/.test(value)) throw new UsageError(`invalid argument "${opt}" for "--cluster-store-opt" flag: discovery.ttl takes whole seconds, at least 1`, 'nlnet');
    ttl = Number(value);
  }
  return ttl;
}

function context(io: Output, global: GlobalOptions, state: StateUse): Context {
  let told = false;
  const openEngine = async (): Promise<Engine> => {
    try {
      return await Engine.open({
        stateDir: global.stateDir,
        ...(global.hostNetns === undefined ? {} : { hostNetns: global.hostNetns }),
        readonly: state === 'read',
        create: state === 'create',
        lockTimeoutMs: global.lockTimeout * 1000,
        ...(global.clusterStore === undefined ? {} : { store: global.clusterStore }),
        ...(global.clusterAdvertise === undefined ? {} : { advertise: global.clusterAdvertise }),
        // Said once per command, and only past a second: commands started together take short
        // turns without a word.
        lockNoticeMs: 1000,
        onLockWait: (holder) => {
          if (told) return;
          told = true;
          io.err(`nlnet: waiting for the state lock held by ${describeHolder(holder)} (at most ${global.lockTimeout} s: --lock-timeout)\n`);
        },
      });
    } catch (e) {
      throw permissionHint(e, global.stateDir);
    }
  };
  return {
    ...io,
    global,
    openEngine,
    async withEngine(fn) {
      const engine = await openEngine();
      try {
        return await fn(engine);
      } finally {
        await engine.close();
      }
    },
  };
}
