// Command-line parsing with the conventions docker's CLI (cobra/pflag) follows: long flags as
// `--flag value` or `--flag=value`, short ones as `-p value`, `-p=value` or `-pvalue`, boolean
// flags as `-P` or `--internal=false`, short booleans grouped (`-fq`), flags anywhere among the
// arguments, and `--` ending the flags. A command that runs a command line of its own (`exec`,
// `run`) takes it from `--` on, or from the first argument past its fixed ones: flags after that
// belong to the command line. Pure: no I/O.

/** Bad command-line syntax: an unknown flag, a missing value, the wrong number of arguments. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string, readonly command: string) {
    super(message);
  }
}

export type FlagKind = 'bool' | 'string' | 'list';

export interface FlagSpec {
  /** The long name, without dashes: 'subnet'. */
  name: string;
  /** One letter, without the dash: 'p'. */
  short?: string;
  /** Further long names accepted for it ('network-alias' for 'alias'). */
  aliases?: string[];
  kind: FlagKind;
  /** How the help shows the value: 'CIDR', 'NAME'. */
  value?: string;
  /** Booleans only: the value when the flag is absent (`run --rm` is on by default). */
  default?: boolean;
  help: string;
}

export interface ArgsSpec {
  /** The full command, for messages: 'network create'. */
  command: string;
  flags: readonly FlagSpec[];
  /** The positional arguments' names, for messages: ['NAME']. */
  args: readonly string[];
  /** How many positional arguments: at least `min`, at most `max` (Infinity: any). */
  min: number;
  max: number;
  /** The command takes a command line after its positional arguments (`exec NAME CMD…`). */
  commandLine?: boolean;
  /** The command line may be missing (`nlnet --state-dir D` alone prints the help). */
  commandLineOptional?: boolean;
}

export type FlagValue = boolean | string | string[];

export class Parsed {
  constructor(
    readonly command: string,
    readonly values: ReadonlyMap<string, FlagValue>,
    /** The positional arguments. */
    readonly args: readonly string[],
    /** `exec`/`run`: the command to run and its arguments. */
    readonly commandLine: readonly string[],
  ) {}

  bool(name: string): boolean {
    return this.values.get(name) === true;
  }

  string(name: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === 'string' ? v : undefined;
  }

  list(name: string): string[] {
    const v = this.values.get(name);
    return Array.isArray(v) ? [...v] : [];
  }

  /** The i-th positional argument; the parser has already checked the count. */
  arg(i: number): string {
    const a = this.args[i];
    if (a === undefined) throw new UsageError(`"${this.command}" requires an argument at position ${i + 1}`, this.command);
    return a;
  }
}

const BOOL_TEXT: Record<string, boolean> = { true: true, '1': true, t: true, false: false, '0': false, f: false };

/** Parses `argv` (the words after the command's name) against `spec`. Throws UsageError. */
export function parseArgs(spec: ArgsSpec, argv: readonly string[]): Parsed {
  const byLong = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const f of spec.flags) {
    byLong.set(f.name, f);
    for (const a of f.aliases ?? []) byLong.set(a, f);
    if (f.short !== undefined) byShort.set(f.short, f);
  }
  const values = new Map<string, FlagValue>();
  for (const f of spec.flags) if (f.kind === 'bool' && f.default !== undefined) values.set(f.name, f.default);
  const fail = (message: string): never => {
    throw new UsageError(message, spec.command);
  };

  const set = (f: FlagSpec, shown: string, value: string | undefined): void => {
    if (f.kind === 'bool') {
      const b = value === undefined ? true : BOOL_TEXT[value.toLowerCase()];
      if (b === undefined) fail(`invalid argument "${value}" for "${shown}" flag: expected true or false`);
      values.set(f.name, b as boolean);
      return;
    }
    if (value === undefined) return fail(`flag needs an argument: ${shown}`);
    // A single-valued flag given twice keeps the last value, as pflag does.
    if (f.kind === 'string') {
      values.set(f.name, value);
    } else {
      values.set(f.name, [...((values.get(f.name) as string[] | undefined) ?? []), value]);
    }
  };

  const args: string[] = [];
  let commandLine: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      const rest = argv.slice(i + 1);
      if (spec.commandLine === true) commandLine = rest;
      else args.push(...rest);
      break;
    }
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = word.slice(2, eq < 0 ? undefined : eq);
      const f = byLong.get(name);
      if (f === undefined) return fail(`unknown flag: --${name}`);
      let value = eq < 0 ? undefined : word.slice(eq + 1);
      if (value === undefined && f.kind !== 'bool') value = argv[++i];
      set(f, `--${name}`, value);
      continue;
    }
    if (word.startsWith('-') && word.length > 1) {
      // A group of short flags: booleans first, then at most one that takes a value (`-fq`, `-p80`).
      for (let j = 1; j < word.length; j++) {
        const letter = word[j]!;
        const f = byShort.get(letter);
        if (f === undefined) return fail(`unknown shorthand flag: '${letter}' in ${word}`);
        if (f.kind === 'bool') {
          const explicit = word[j + 1] === '=' ? word.slice(j + 2) : undefined;
          set(f, `-${letter}`, explicit);
          if (explicit !== undefined) break;
          continue;
        }
        let value = word.slice(j + 1);
        if (value.startsWith('=')) value = value.slice(1);
        set(f, `-${letter}`, value === '' && j + 1 === word.length ? argv[++i] : value);
        break;
      }
      continue;
    }
    if (spec.commandLine === true && args.length >= spec.max) {
      commandLine = argv.slice(i);
      break;
    }
    args.push(word);
  }

  // `--help` answers even when the arguments are incomplete.
  if (values.get('help') === true) return new Parsed(spec.command, values, args, commandLine);
  const names = spec.args.join(' ');
  if (args.length < spec.min) fail(`"${spec.command}" requires ${spec.min === spec.max ? 'exactly' : 'at least'} ${spec.min} argument${spec.min === 1 ? '' : 's'} (${names})`);
  if (args.length > spec.max) fail(`"${spec.command}" accepts ${spec.max === 0 ? 'no arguments' : `at most ${spec.max} argument${spec.max === 1 ? '' : 's'} (${names})`}, got: ${args.slice(spec.max).join(' ')}`);
  if (spec.commandLine === true && spec.commandLineOptional !== true && commandLine.length === 0) fail(`"${spec.command}" requires a command to run`);
  return new Parsed(spec.command, values, args, commandLine);
}
