// One level of the command line (the program, a group or a command) as a commander command that
// reads its words as docker's CLI (cobra/pflag) does: long flags as `--flag value` or
// `--flag=value`, short ones as `-p value`, `-p=value` or `-pvalue`, booleans as `-P` or
// `--internal=false`, short booleans grouped (`-fq`), flags anywhere among the arguments, `--`
// ending them. Commander reads the flags; parseOptions adds the spellings commander lacks and
// decides what each other word is: an argument, or the start of a tail (the command line of
// `exec`/`run`, from `--` on or from the first word past the fixed arguments, flags after that
// being its own; the subcommand of the program or a group, and its words).
import { Command as Commander, CommanderError, Option, type ParseOptionsResult } from 'commander';

import { Parsed, UsageError, type FlagSpec, type FlagValue, type Output } from './command.js';

// Commander reads all of pflag's spellings but three: `--bool=false`, `-p=VALUE` (it would keep
// the `=` in the value), and `--`, which it drops, and with it where the options ended. Before
// commander sees the words those become stand-ins it reads as plain words or as `-pVALUE`, and
// what it hands back is turned back. NUL, their mark, cannot occur in an argv.
const NUL = '\u0000';
/** Stands for `--`: commander stops at it as at an argument, and parseOptions sees which. */
const END = `${NUL}--`;

/** The word as commander gets it: `--` as END, `-p=VALUE` as `-p<NUL>VALUE`. */
function encode(word: string): string {
  if (word === '--') return END;
  return /^-[^-=]+=/.test(word) ? word.replace('=', NUL) : word;
}

function decode(word: string): string {
  return word === END ? '--' : word.replaceAll(NUL, '=');
}

/** A flag's value as the user meant it: `-p=VALUE` reaches it as `<NUL>VALUE`. */
function valueOf(raw: string): string {
  return decode(raw.startsWith(NUL) ? raw.slice(1) : raw);
}

const BOOL_TEXT = new Map([['true', true], ['1', true], ['t', true], ['false', false], ['0', false], ['f', false]]);

/** A commander option made from a FlagSpec; the help is laid out from the spec. */
export class FlagOption extends Option {
  constructor(readonly spec: FlagSpec) {
    // An alias comes first: commander takes two long names, the first one as the short name.
    const names = [...(spec.short === undefined ? [] : [`-${spec.short}`]), ...(spec.aliases ?? []).map((a) => `--${a}`), `--${spec.name}`];
    super(`${names.join(', ')}${spec.kind === 'bool' ? '' : ' <value>'}`, spec.help);
    // `--no-trunc` is a flag of its own, not commander's negation of a `--trunc`.
    this.negate = false;
    if (spec.kind !== 'bool') {
      // A single-valued flag given twice keeps the last value, as pflag does.
      this.argParser((raw: string, previous: string | string[] | undefined) => (spec.kind === 'list' ? [...((previous as string[] | undefined) ?? []), valueOf(raw)] : valueOf(raw)));
    } else if (spec.default !== undefined) {
      this.default(spec.default);
    }
  }
}

/** How a level reads the words past its flags. */
export interface Syntax {
  /** The full name, for messages: 'network create', 'nlnet network'. */
  path: string;
  /** How many positional arguments it takes: a command's `max`; 0 for the program and groups. */
  max: number;
  /**
   * Whether the words from `--` on or past `max` arguments are a tail rather than arguments: the
   * command line of `exec` and `run`, the subcommand and its words for the program and groups.
   */
  tail: boolean;
  /** Called once the flags are read, before what follows them is looked at: the program's --version. */
  flagsRead?: () => void;
}

/** The program, a group or a command, as commander reads it. */
export class Level extends Commander {
  /** What parseOptions found besides the flags, as the user typed it. */
  words: { args: string[]; tail: string[] } = { args: [], tail: [] };

  constructor(
    name: string,
    readonly syntax: Syntax,
    /** The help's usage line past the names: '[OPTIONS] NETWORK'. */
    readonly usageText: string,
    io: Output,
  ) {
    super(name);
    // -h/--help is one of the global flags, answered once the line is read; `nlnet help` is a
    // command of ours, which takes a whole path as docker's does.
    this.helpOption(false).helpCommand(false);
    // Each level reads its own flags up to the first word that is none, then parseOptions
    // decides what that word is.
    this.enablePositionalOptions().passThroughOptions();
    // Errors are thrown, not printed with process.exit: parseCommandLine (program.ts) makes
    // them one line.
    this.exitOverride();
    this.configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      outputError: () => undefined,
      // Constants, so commander never touches process.stdout: main.ts says why.
      getOutHelpWidth: () => 80,
      getErrHelpWidth: () => 80,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    });
  }

  addFlags(flags: readonly FlagSpec[], how: { heading?: string; hidden?: boolean } = {}): this {
    for (const f of flags) {
      const option = new FlagOption(f);
      if (how.heading !== undefined) option.helpGroup(how.heading);
      this.addOption(option.hideHelp(how.hidden === true));
    }
    return this;
  }

  /** The flags' values by their FlagSpec names, and the words past them. */
  parsed(): Parsed {
    const values = new Map<string, FlagValue>();
    for (const o of this.options) {
      const v = this.getOptionValue(o.attributeName()) as FlagValue | undefined;
      if (o instanceof FlagOption && v !== undefined) values.set(o.spec.name, v);
    }
    return new Parsed(this.syntax.path, values, this.words.args, this.words.tail);
  }

  /**
   * Commander reads the flags up to a word that is none; this loop decides what that word is (a
   * stand-in for `--`, a flag commander cannot read, an argument, the start of the tail) and
   * lets commander go on after it. For the program and groups, the tail's first word names the
   * subcommand commander dispatches to, with the rest of the words for it to read.
   */
  override parseOptions(argv: string[]): ParseOptionsResult {
    const { max, tail: takesTail } = this.syntax;
    const args: string[] = [];
    let tail: string[] = [];
    let rest = argv.map(encode);
    for (;;) {
      const stop = this.#untilStop(rest);
      // Commander hands back the words from the one it stopped in, of which stop[0] is what
      // it did not read: all of it, or the letters of a short group past the ones it read.
      const word = rest[rest.length - stop.length];
      if (word === undefined) break;
      const after = stop.slice(1);
      if (word === END) {
        if (takesTail) tail = after;
        else args.push(...after);
        break;
      }
      if (stop[0]!.startsWith('-') && stop[0]!.length > 1) {
        this.#flagCommanderCannotRead(word, stop[0]!);
        rest = after;
        continue;
      }
      if (takesTail && args.length >= max) {
        tail = stop;
        break;
      }
      args.push(word);
      rest = after;
    }
    this.words = { args: args.map(decode), tail: tail.map(decode) };
    this.syntax.flagsRead?.();
    // A command's words wait in `words` for its action, which counts them in docker's words.
    if (this.commands.length === 0) return { operands: [], unknown: [] };
    const [name, ...words] = this.words.tail;
    if (name === undefined) return { operands: [], unknown: [] };
    if (subcommand(this, name) === undefined) throw unknownCommand(this, name);
    return { operands: [name], unknown: words };
  }

  /** Commander's reading of the flags up to the first word that is none: that word and the rest. */
  #untilStop(words: string[]): string[] {
    try {
      const { operands, unknown } = super.parseOptions(words);
      return [...operands, ...unknown];
    } catch (e) {
      // A flag that takes a value was the last word; it says so as typed, `-d` of `-fd`.
      if (!(e instanceof CommanderError) || e.code !== 'commander.optionMissingArgument') throw e;
      const flag = decode(words.at(-1)!);
      throw new UsageError(`flag needs an argument: ${flag.startsWith('--') ? flag : `-${flag.at(-1)!}`}`, this.syntax.path);
    }
  }

  /** `--bool=VALUE` and `-b=VALUE`, which commander stops at, or an unknown flag. */
  #flagCommanderCannotRead(word: string, unread: string): void {
    const fail = (message: string): never => {
      throw new UsageError(message, this.syntax.path);
    };
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = word.slice(0, eq < 0 ? undefined : eq);
      const option = eq < 0 ? undefined : this.#option(name);
      if (option?.spec.kind !== 'bool') return fail(`unknown flag: ${name}`);
      return this.#setBool(option, name, word.slice(eq + 1));
    }
    // `-b=VALUE` (`-b<NUL>VALUE`): commander read `-b` as a boolean and stopped at the `=`.
    const letter = word[word.length - unread.length]!;
    if (unread[1] === NUL) return this.#setBool(this.#option(`-${letter}`)!, `-${letter}`, unread.slice(2));
    return fail(`unknown shorthand flag: '${unread[1]!}' in ${decode(word)}`);
  }

  #option(flag: string): FlagOption | undefined {
    return this.options.find((o): o is FlagOption => o instanceof FlagOption && (o.short === flag || o.long === flag));
  }

  #setBool(option: FlagOption, shown: string, text: string): void {
    const value = BOOL_TEXT.get(decode(text).toLowerCase());
    if (value === undefined) throw new UsageError(`invalid argument "${decode(text)}" for "${shown}" flag: expected true or false`, this.syntax.path);
    this.setOptionValueWithSource(option.attributeName(), value, 'cli');
  }
}

export function subcommand(level: Commander, name: string): Level | undefined {
  return level.commands.find((c): c is Level => c instanceof Level && (c.name() === name || c.aliases().includes(name)));
}

export function unknownCommand(level: Level, name: string): UsageError {
  const path = level.syntax.path;
  return new UsageError(`unknown command "${name}" for "${path}"; run '${path} --help'`, path);
}
