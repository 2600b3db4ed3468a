// The `nlnet` command line as a commander program, built in one place from the declarations
// (command.ts): one Level (pflag.ts) for the program, each group and each command, one option
// per FlagSpec, docker's help layout as commander's formatHelp. Global flags are taken before
// and after the command and the group's subcommand, the last one given winning; -h/--help at any
// level answers for the command; -v/--version only before the command. Reading the line prints
// the help or the version, or says which command to run with what; main.ts runs it.
import { Command as Commander, CommanderError, type Help } from 'commander';

import { EXIT, GLOBAL_FLAGS, UsageError, VERSION_FLAG, type Command, type FlagSpec, type Group, type Output, type Parsed } from './command.js';
import { FlagOption, Level, subcommand, unknownCommand, type Syntax } from './pflag.js';

/** Prints the help of `cmd` and ends the parse, as commander's own --help does. */
function showHelp(cmd: Commander): never {
  cmd.outputHelp();
  throw new CommanderError(EXIT.ok, 'commander.helpDisplayed', '(outputHelp)');
}

/** The argument counts, in docker's words, once the help has had its chance. */
function checkArguments(cmd: Command, p: Parsed): void {
  const { min, max } = cmd;
  const names = cmd.args.join(' ');
  const fail = (message: string): never => {
    throw new UsageError(message, p.command);
  };
  if (p.args.length < min) fail(`"${p.command}" requires ${min === max ? 'exactly' : 'at least'} ${min} argument${min === 1 ? '' : 's'} (${names})`);
  if (p.args.length > max) fail(`"${p.command}" accepts ${max === 0 ? 'no arguments' : `at most ${max} argument${max === 1 ? '' : 's'} (${names})`}, got: ${p.args.slice(max).join(' ')}`);
  if (cmd.commandLine === true && p.commandLine.length === 0) fail(`"${p.command}" requires a command to run`);
}

// ---- help, in docker's layout -------------------------------------------------------------

const DESCRIPTION = `Docker's network modes on Linux, without docker: networks, container sandboxes (network
namespaces), published ports and name resolution, over netlink.`;

const EXIT_CODES_HELP = `Exit status:
  ${EXIT.ok}    success
  ${EXIT.failed}    the operation failed (not found, conflict, invalid value, kernel error); nothing changed
  ${EXIT.usage}    usage error (unknown command or flag, missing argument)
  exec/run: the command's own status, 128+N when signal N ended it, ${EXIT.notStarted} when nlnet failed
  before starting it, ${EXIT.cannotExecute} when it cannot be executed, ${EXIT.notFound} when it is not found
`;

function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([left]) => left.length)) + 3;
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}\n`).join('');
}

function flagRow(f: FlagSpec): [string, string] {
  const extra = [f.default === true ? 'default true' : '', f.aliases === undefined ? '' : `also --${f.aliases.join(', --')}`].filter((x) => x !== '');
  return [`${f.short === undefined ? '    ' : `-${f.short}, `}--${f.name}${f.value === undefined ? '' : ` ${f.value}`}`, `${f.help}${extra.map((x) => `; ${x}`).join('')}`];
}

function byHeading<T>(items: readonly T[], heading: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(heading(item), [...(out.get(heading(item)) ?? []), item]);
  return out;
}

/** Commander's formatHelp: the usage line, the summary, the aliases, then commands and options under their headings. */
function dockerHelp(cmd: Commander, helper: Help): string {
  const names: string[] = [];
  for (let c: Commander | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  let text = `\nUsage:  ${names.join(' ')} ${cmd instanceof Level ? cmd.usageText : cmd.usage()}\n\n${cmd.description()}\n`;
  if (cmd.aliases().length > 0) text += `\nAliases:\n  ${[cmd.name(), ...cmd.aliases()].join(', ')}\n`;
  for (const [heading, subs] of byHeading(helper.visibleCommands(cmd), (c) => c.helpGroup() || 'Commands:')) text += `\n${heading}\n${table(subs.map((c) => [c.name(), c.description()]))}`;
  const flags = helper.visibleOptions(cmd).filter((o) => o instanceof FlagOption);
  for (const [heading, options] of byHeading(flags, (o) => o.helpGroupHeading ?? 'Options:')) text += `\n${heading}\n${table(options.map((o) => flagRow(o.spec)))}`;
  return text;
}

// ---- the program ----------------------------------------------------------------------------

export interface Tree {
  groups: readonly Group[];
  /** The commands outside groups: `exec`, `run`, `port`… */
  commands: readonly Command[];
  /** What `nlnet --version` prints. */
  version(): string;
}

export type Invocation =
  /** The help or the version was printed. */
  | { kind: 'printed' }
  | {
      kind: 'run';
      command: Command;
      /** The command's flags and words. */
      parsed: Parsed;
      /** Each level's flags, the program's first and the command's last: the last global flag given wins. */
      levels: readonly Parsed[];
    };

/** A Level laid out in docker's way by commander's help. */
function level(name: string, syntax: Syntax, usage: string, io: Output): Level {
  return new Level(name, syntax, usage, io).configureHelp({ formatHelp: dockerHelp });
}

function commandLevel(cmd: Command, path: string, io: Output, found: (invocation: Invocation) => void): Level {
  const self = level(cmd.name, { path, max: cmd.max, tail: cmd.commandLine === true }, cmd.usage, io)
    .description(cmd.summary)
    .aliases(cmd.aliases ?? [])
    .addFlags(cmd.flags)
    .addFlags(GLOBAL_FLAGS, { heading: 'Global options:' });
  if (cmd.notes !== undefined) self.addHelpText('after', `\n${cmd.notes.trimEnd()}`);
  return self.action(() => {
    const levels: Level[] = [];
    for (let l: Commander | null = self; l instanceof Level; l = l.parent) levels.unshift(l);
    // Wherever it was given, --help answers for the command, even with its arguments incomplete.
    if (levels.some((l) => l.getOptionValue('help') === true)) showHelp(self);
    const parsed = self.parsed();
    checkArguments(cmd, parsed);
    found({ kind: 'run', command: cmd, parsed, levels: levels.map((l) => l.parsed()) });
  });
}

/** The commander program for `tree`; its actions report what the command line asks for to `found`. */
function buildProgram(tree: Tree, io: Output, found: (invocation: Invocation) => void): Level {
  // --version counts only before the command, and wins over what follows, as docker's.
  const exitOnVersion = (): void => {
    if (program.getOptionValue('version') !== true) return;
    const text = tree.version();
    io.out(text);
    throw new CommanderError(EXIT.ok, 'commander.version', text);
  };
  const program: Level = level('nlnet', { path: 'nlnet', max: 0, tail: true, flagsRead: exitOnVersion }, '[OPTIONS] COMMAND', io)
    .description(DESCRIPTION)
    .addFlags([...GLOBAL_FLAGS, VERSION_FLAG])
    .addHelpText('after', `\n${EXIT_CODES_HELP}\nRun 'nlnet COMMAND --help' for more information on a command.`)
    .action(() => showHelp(program));
  for (const group of tree.groups) {
    const path = `nlnet ${group.name}`;
    const self: Level = level(group.name, { path, max: 0, tail: true }, 'COMMAND', io)
      .description(group.summary)
      .helpGroup('Management commands:')
      .addFlags(GLOBAL_FLAGS, { hidden: true })
      .addHelpText('after', `\nRun '${path} COMMAND --help' for more information on a command.`)
      .action(() => showHelp(self));
    for (const cmd of group.commands) self.addCommand(commandLevel(cmd, `${group.name} ${cmd.name}`, io, found));
    program.addCommand(self);
  }
  for (const cmd of tree.commands) program.addCommand(commandLevel(cmd, cmd.name, io, found));
  // `nlnet help network create` is `nlnet network create --help`, as `docker help` is.
  const help: Level = level('help', { path: 'help', max: Infinity, tail: false }, '[COMMAND...]', io)
    .description('Help about any command')
    .addFlags(GLOBAL_FLAGS, { heading: 'Global options:' })
    .action(() => {
      let at: Level = program;
      for (const name of help.words.args) {
        if (at.commands.length === 0) break;
        const next = subcommand(at, name);
        if (next === undefined) throw unknownCommand(at, name);
        at = next;
      }
      showHelp(at);
    });
  program.addCommand(help, { hidden: true });
  return program;
}

/**
 * Reads `nlnet ARGV…` against `tree`: prints the help or the version if that is what it asks
 * for, else says which command to run with what. Throws UsageError.
 */
export function parseCommandLine(argv: readonly string[], tree: Tree, io: Output): Invocation {
  const result: { invocation: Invocation } = { invocation: { kind: 'printed' } };
  const program = buildProgram(tree, io, (invocation) => (result.invocation = invocation));
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    // The help and the version end the parse with 0. Any complaint of commander's own (none is
    // expected: parseOptions reads every word itself) is a usage error all the same.
    if (e.exitCode !== EXIT.ok) throw new UsageError(e.message.replace(/^error: /, ''), 'nlnet');
  }
  return result.invocation;
}
