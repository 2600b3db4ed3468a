// The `nlnet` command: finds the command in argv, parses its flags, opens the engine for it and
// turns any failure into one line on stderr and an exit code (see EXIT in command.ts).
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';

import { Engine } from '../network/engine.js';
import { parseArgs, UsageError, type Parsed } from './args.js';
import { describeHolder } from '../network/store/errors.js';
import { DEFAULT_LOCK_TIMEOUT, DEFAULT_STATE_DIR, EXIT, GLOBAL_FLAGS, VERSION_FLAG, type Command, type Context, type GlobalOptions, type Group, type Output, type StateUse } from './command.js';
import { needPrivileges, permissionHint } from './privileges.js';
import { containerGroup, port } from './container.js';
import { daemonCommand } from './daemon.js';
import { describeError, exitCodeOf, isExpected } from './errors.js';
import { execCommand, runCommand } from './exec.js';
import { commandHelp, groupHelp, mainHelp } from './help.js';
import { networkGroup } from './network.js';

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
const COMMANDS: readonly Command[] = [execCommand, runCommand, port, daemonCommand, demoCommand];

/** Global flags before a command or a group's subcommand: `nlnet --state-dir D network --host-netns H ls`. */
function leading(command: string, argv: readonly string[]): Parsed {
  return parseArgs({ command, flags: [...GLOBAL_FLAGS, VERSION_FLAG], args: [], min: 0, max: 0, commandLine: true, commandLineOptional: true }, argv);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `nlnet version ${pkg.version}\n`;
}

function find<T extends { name: string; aliases?: string[] }>(items: readonly T[], name: string): T | undefined {
  return items.find((i) => i.name === name || (i.aliases ?? []).includes(name));
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
    const top = leading('nlnet', argv);
    const [name, ...rest] = top.commandLine;
    if (top.bool('version')) {
      io.out(version());
      return EXIT.ok;
    }
    if (name === undefined) {
      io.out(mainHelp(GROUPS, COMMANDS));
      return EXIT.ok;
    }
    const globals = [top];
    let path = name;
    let cmd = find(COMMANDS, name);
    let words = rest;
    if (cmd === undefined) {
      const group = find(GROUPS, name);
      if (group === undefined) throw new UsageError(`unknown command "${name}" for "nlnet"; run 'nlnet --help'`, 'nlnet');
      const inner = leading(`nlnet ${group.name}`, rest);
      const [sub, ...subRest] = inner.commandLine;
      if (sub === undefined) {
        io.out(groupHelp(group));
        return EXIT.ok;
      }
      cmd = find(group.commands, sub);
      if (cmd === undefined) throw new UsageError(`unknown command "${sub}" for "nlnet ${group.name}"; run 'nlnet ${group.name} --help'`, group.name);
      globals.push(inner);
      path = `${group.name} ${cmd.name}`;
      words = subRest;
    }
    const spec = { command: path, flags: [...cmd.flags, ...GLOBAL_FLAGS], args: cmd.args, min: cmd.min, max: cmd.max, ...(cmd.commandLine === true ? { commandLine: true } : {}) };
    const p = parseArgs(spec, words);
    if (p.bool('help') || globals.some((g) => g.bool('help'))) {
      io.out(commandHelp(path, cmd));
      return EXIT.ok;
    }
    const state = cmd.state ?? 'change';
    if (state !== 'read') needPrivileges();
    return await cmd.run(context(io, globalOptions([...globals, p]), state), p);
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
  return { stateDir: last('state-dir') ?? DEFAULT_STATE_DIR, lockTimeout: wait === undefined ? DEFAULT_LOCK_TIMEOUT : Number(wait), ...(hostNetns === undefined ? {} : { hostNetns }) };
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
