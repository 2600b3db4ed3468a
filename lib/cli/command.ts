// What a command is: its syntax (for the parser and the help) and what it runs. The commands
// get the engine through the context, so the dispatcher opens and closes it in one place.
// program.ts turns these declarations into the commander program that reads the command line.
import type { Engine } from '../network/engine.js';

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
  /** A further long name accepted for it ('network-alias' for 'alias'); not with `short`. */
  aliases?: [string];
  kind: FlagKind;
  /** How the help shows the value: 'CIDR', 'NAME'. */
  value?: string;
  /** Booleans only: the value when the flag is absent (`run --rm` is on by default). */
  default?: boolean;
  help: string;
}

export type FlagValue = boolean | string | string[];

/** A command line as a command reads it: its flags' values, its arguments, its command line. */
export class Parsed {
  constructor(
    /** The full command, for messages: 'network create'. */
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

/** Options every command takes, before or after its name (cobra's persistent flags). */
export interface GlobalOptions {
  /** The namespace playing the host (under /run/netns); undefined: this process's own. */
  hostNetns?: string;
  /** The store's directory; default /var/lib/nlnet. */
  stateDir: string;
  /** `--lock-timeout`: how long a change waits for another nlnet's lock on the state, seconds. */
  lockTimeout: number;
  /** `--cluster-store etcd://…` (or NLNET_CLUSTER_STORE): the store shared with other hosts. */
  clusterStore?: string;
  /** `--cluster-advertise IP|INTERFACE` (or NLNET_CLUSTER_ADVERTISE): this host's underlay address. */
  clusterAdvertise?: string;
  /** `--cluster-store-opt discovery.ttl=SECONDS`: how long a dead host stays listed. */
  hostTtl?: number;
}

export const DEFAULT_STATE_DIR = '/var/lib/nlnet';
export const DEFAULT_LOCK_TIMEOUT = 30;

export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: 'host-netns', kind: 'string', value: 'NAME', help: "Namespace (under /run/netns) that plays the host (default: nlnet's own)" },
  { name: 'state-dir', kind: 'string', value: 'DIR', help: `Directory of nlnet's state (default ${DEFAULT_STATE_DIR})` },
  { name: 'lock-timeout', kind: 'string', value: 'SECONDS', help: `How long to wait for another nlnet holding the state's lock (default ${DEFAULT_LOCK_TIMEOUT}; 0: not at all)` },
  { name: 'cluster-store', kind: 'string', value: 'URL', help: 'The store shared by the hosts of a cluster, etcd://HOST:2379[,HOST2:2379] (or NLNET_CLUSTER_STORE)' },
  { name: 'cluster-advertise', kind: 'string', value: 'IP|IFACE', help: "This host's underlay address in the cluster, or an interface to take it from (or NLNET_CLUSTER_ADVERTISE)" },
  { name: 'cluster-store-opt', kind: 'list', value: 'KEY=VALUE', help: 'Cluster store option: discovery.ttl=SECONDS, how long a host that stopped renewing stays listed (default 20)' },
  { name: 'help', short: 'h', kind: 'bool', help: 'Print usage' },
];

/** Only before the command: `nlnet --version`. */
export const VERSION_FLAG: FlagSpec = { name: 'version', short: 'v', kind: 'bool', help: 'Print the version and exit' };

export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Writes `question` to stderr and resolves to the line read from stdin ('' at its end). */
  prompt(question: string): Promise<string>;
}

export interface Context extends Output {
  global: GlobalOptions;
  /** Opens the engine, runs `fn`, closes the engine (also when `fn` throws). */
  withEngine<T>(fn: (engine: Engine) => Promise<T>): Promise<T>;
  /** Opens the engine; the caller closes it (long-running commands: `run`, `daemon`). */
  openEngine(): Promise<Engine>;
}

/**
 * How a command uses the state: `read` only reads it (no reconcile, no kernel change, works for
 * any user who can read the state directory); `change` changes what exists (the state must
 * exist); `create` may make the first thing, so a missing state directory is made.
 */
export type StateUse = 'read' | 'change' | 'create';

export interface Command {
  name: string;
  /** Default 'change'. */
  state?: StateUse;
  aliases?: string[];
  /** The arguments part of the usage line: '[OPTIONS] NAME'. */
  usage: string;
  summary: string;
  flags: readonly FlagSpec[];
  args: readonly string[];
  min: number;
  max: number;
  commandLine?: boolean;
  /** Extra help text after the flags (examples, what is not like docker). */
  notes?: string;
  /** Runs the command; resolves to the exit code. */
  run(ctx: Context, p: Parsed): Promise<number>;
}

export interface Group {
  name: string;
  summary: string;
  commands: readonly Command[];
}

/** The exit codes, documented in the help and the README. */
export const EXIT = {
  ok: 0,
  /** The operation failed: not found, conflict, invalid value, kernel error. */
  failed: 1,
  /** Bad command line: unknown command or flag, missing argument. */
  usage: 2,
  /** `exec`/`run`: nlnet failed before the command could start (docker run's 125). */
  notStarted: 125,
  /** `exec`/`run`: the command exists but could not be executed. */
  cannotExecute: 126,
  /** `exec`/`run`: the command was not found. */
  notFound: 127,
} as const;
