// `nlnet exec NAME -- CMD…` and `nlnet run [OPTIONS] -- CMD…`: the user's command inside a
// sandbox's namespace with its resolv.conf and hosts (lib/netns/spawn.ts), signals passed on to it,
// and its exit status as ours.
import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';

import { shellStatus, spawnInNetns, SpawnError, type SpawnOptions } from '../netns/spawn.js';
import { EXIT, type Command, type Context, type FlagSpec, type Parsed } from './command.js';
import { CREATE_FLAGS, createSandboxOptions } from './container.js';
import { describeError } from './errors.js';
import { keyValues } from './network.js';
import { sandboxName } from './resolve.js';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type Forwarded = (typeof FORWARDED)[number];

/**
 * Passes SIGINT, SIGTERM and SIGHUP on to the command while it runs. A signal that comes before
 * the command has started is kept in `pending`: `run` then skips the command and cleans up.
 */
export class SignalRelay {
  pending: Forwarded | undefined;
  #pid: number | undefined;
  readonly #handlers = new Map<Forwarded, () => void>();

  install(): this {
    for (const sig of FORWARDED) {
      const h = (): void => {
        if (this.#pid === undefined) this.pending ??= sig;
        else this.#send(sig);
      };
      this.#handlers.set(sig, h);
      process.on(sig, h);
    }
    return this;
  }

  attach(pid: number): void {
    this.#pid = pid;
    if (this.pending !== undefined) this.#send(this.pending);
  }

  detach(): void {
    this.#pid = undefined;
  }

  uninstall(): void {
    for (const [sig, h] of this.#handlers) process.off(sig, h);
    this.#handlers.clear();
  }

  #send(sig: Forwarded): void {
    try {
      process.kill(this.#pid!, sig);
    } catch {
      // The command has just ended: nothing to pass on.
    }
  }
}

const EXEC_FLAGS: readonly FlagSpec[] = [
  { name: 'env', short: 'e', kind: 'list', value: 'KEY=VALUE', help: "Set an environment variable (KEY alone: this process's value; repeatable)" },
  { name: 'workdir', short: 'w', kind: 'string', value: 'DIR', help: 'Working directory of the command' },
  { name: 'interactive', short: 'i', kind: 'bool', help: 'Accepted for docker compatibility (stdin is always passed through)' },
  { name: 'tty', short: 't', kind: 'bool', help: 'Accepted for docker compatibility (the terminal is always passed through)' },
];

/**
 * What to start, from the command line, `-e` (on top of our environment) and `-w`: worked out
 * before anything is created, so a bad flag changes nothing.
 */
function launchOptions(p: Parsed): SpawnOptions {
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  for (const item of p.list('env')) {
    if (item.includes('=')) Object.assign(env, keyValues('--env', p.command, [item]));
    else if (process.env[item] !== undefined) env[item] = process.env[item]!;
  }
  const workdir = p.string('workdir');
  return { argv: [...p.commandLine], env, ...(workdir === undefined ? {} : { cwd: workdir }) };
}

/** Runs the command in namespace `netns` ('' = ours) and resolves to the status a shell would report. */
async function runInNamespace(ctx: Context, launch: SpawnOptions, netns: string, relay: SignalRelay): Promise<number> {
  try {
    const child = spawnInNetns({ ...launch, ...(netns === '' ? {} : { netns }) });
    relay.attach(child.pid);
    const status = await child.exited.finally(() => relay.detach());
    return shellStatus(status);
  } catch (e) {
    if (!(e instanceof SpawnError)) throw e;
    ctx.err(`nlnet: ${describeError(e)}\n`);
    if (e.syscall === 'execve' || e.syscall === 'execvp') return e.code === 'ENOENT' ? EXIT.notFound : EXIT.cannotExecute;
    return EXIT.notStarted;
  }
}

/** The exit status for a signal that stopped `run` before its command started. */
function signalStatus(sig: Forwarded): number {
  return 128 + osConstants.signals[sig];
}

export const execCommand: Command = {
  name: 'exec',
  state: 'read',
  usage: '[OPTIONS] CONTAINER [--] COMMAND [ARG...]',
  summary: "Run a command in a container's network namespace, with its resolv.conf and hosts",
  args: ['CONTAINER'],
  min: 1,
  max: 1,
  commandLine: true,
  flags: EXEC_FLAGS,
  notes: 'Like `ip netns exec`: the files of /etc/netns/<namespace>/ are bound over /etc and /sys shows\nthe namespace. SIGINT, SIGTERM and SIGHUP are passed on; the exit status is the command\'s.',
  async run(ctx, p) {
    const launch = launchOptions(p);
    const relay = new SignalRelay().install();
    try {
      const sb = await ctx.withEngine(async (e) => e.inspectSandbox(await sandboxName(e, p.arg(0))));
      if (relay.pending !== undefined) return signalStatus(relay.pending);
      return await runInNamespace(ctx, launch, sb.netns, relay);
    } finally {
      relay.uninstall();
    }
  },
};

export const runCommand: Command = {
  name: 'run',
  state: 'create',
  usage: '[OPTIONS] [--] COMMAND [ARG...]',
  summary: 'Create a sandbox, run a command in it while serving its DNS, then remove it',
  args: [],
  min: 0,
  max: 0,
  commandLine: true,
  flags: [...CREATE_FLAGS, { name: 'rm', kind: 'bool', default: true, help: 'Remove the sandbox when the command ends (--rm=false keeps it)' }, ...EXEC_FLAGS],
  notes: 'Without --name the sandbox gets a random name (run-<8 hex>). The exit status is the command\'s.',
  async run(ctx, p) {
    const opts = createSandboxOptions(p, p.string('name') ?? `run-${randomBytes(4).toString('hex')}`);
    const launch = launchOptions(p);
    const relay = new SignalRelay().install();
    try {
      const engine = await ctx.openEngine();
      try {
        const sb = await engine.createSandbox(opts);
        try {
          if (relay.pending !== undefined) return signalStatus(relay.pending);
          const dns = await engine.serveDns();
          try {
            return await runInNamespace(ctx, launch, sb.netns, relay);
          } finally {
            await dns.close();
          }
        } finally {
          if (p.bool('rm')) await engine.removeSandbox(sb.name);
        }
      } finally {
        await engine.close();
      }
    } finally {
      relay.uninstall();
    }
  },
};
