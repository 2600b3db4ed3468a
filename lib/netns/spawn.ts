// Running the user's own command inside a network namespace (`nlnet exec`, `nlnet run`), the way
// `ip netns exec NAME CMD` does it: the namespace's /etc/netns/NAME/* bound over /etc/*, a fresh
// /sys, then execve. The fork and exec happen in native/netns/spawn.cc; this façade checks the input,
// resolves PATH and lists the files to bind, so the child after fork() has nothing left to decide.
import { accessSync, constants as fsConstants, readdirSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, join } from 'node:path';

import { isNativeError, native } from '../core/binding.js';
import { ValidationError } from '../core/errors.js';
import { NETNS_RUN_DIR } from './namespace.js';

export interface SpawnOptions {
  /** A namespace name under /run/netns; undefined runs the command in the caller's namespace. */
  netns?: string;
  /** Files bound over /etc/<file>; default /etc/netns/<netns> when `netns` is given. A missing directory binds nothing. */
  etcDir?: string;
  /** The command and its arguments; argv[0] is looked up in PATH unless it holds a '/'. */
  argv: string[];
  /** The command's whole environment; default this process's. */
  env?: Record<string, string>;
  /** Its working directory; default this process's. */
  cwd?: string;
  /** A file its stdout and stderr append to (made, mode 0600, if missing); default: both inherited. */
  output?: string;
}

export interface ExitStatus {
  /** The exit code, or null when a signal ended the command. */
  code: number | null;
  /** 'SIGTERM', 'SIGKILL'…, or null when it exited. */
  signal: string | null;
}

export interface SpawnedProcess {
  pid: number;
  /** Settles when the command ends; rejects with a SpawnError when it could not be started. */
  exited: Promise<ExitStatus>;
}

/** The command could not be started: which system call failed, on what, and why. */
export class SpawnError extends Error {
  override readonly name = 'SpawnError';
  constructor(
    readonly errno: number,
    readonly code: string,
    readonly syscall: string,
    readonly path: string,
    reason: string,
  ) {
    super(`${syscall} ${path}: ${reason} (${code})`);
  }
}

const ENOENT = osConstants.errno.ENOENT;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const NS_NAME = /^[^/\0]{1,255}$/;

/**
 * `ip netns exec NETNS CMD ARGS…`: starts `argv` inside the namespace with its own resolv.conf and
 * hosts. stdio is inherited. Throws ValidationError for bad options and SpawnError when argv[0]
 * is not found in PATH; later failures (a bind, execve) reject `exited`.
 */
export function spawnInNetns(options: SpawnOptions): SpawnedProcess {
  const { netns, argv, cwd, output } = options;
  if (netns !== undefined && (typeof netns !== 'string' || !NS_NAME.test(netns) || netns === '.' || netns === '..'))
    throw new ValidationError('netns', netns, "expected a namespace name under /run/netns, without '/'");
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string' || a.includes('\0')))
    throw new ValidationError('argv', argv, 'expected a command and its arguments, strings without NUL bytes');
  if (argv[0] === '') throw new ValidationError('argv', argv, 'the command name is empty');
  if (cwd !== undefined && (typeof cwd !== 'string' || cwd === '' || cwd.includes('\0'))) throw new ValidationError('cwd', cwd, 'expected a directory path');
  if (output !== undefined && (typeof output !== 'string' || output === '' || output.includes('\0'))) throw new ValidationError('output', output, 'expected a file path');
  const env = environment(options.env);
  const etcDir = options.etcDir ?? (netns === undefined ? undefined : `/etc/netns/${netns}`);
  const file = resolveCommand(argv[0]!, env.PATH ?? DEFAULT_PATH);
  let spawned: ReturnType<typeof native.spawn>;
  let onExit!: (status: number | null, signal: number | null) => void;
  const ended = new Promise<{ status: number | null; signal: number | null }>((resolve) => (onExit = (status, signal) => resolve({ status, signal })));
  try {
    spawned = native.spawn({
      file,
      argv,
      env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...(cwd === undefined ? {} : { cwd }),
      ...(output === undefined ? {} : { output }),
      ...(netns === undefined ? {} : { nsPath: `${NETNS_RUN_DIR}/${netns}` }),
      binds: etcDir === undefined ? [] : etcBinds(etcDir),
    }, onExit);
  } catch (e) {
    throw typed(e);
  }
  const exited = spawned.started.then(
    async (): Promise<ExitStatus> => {
      const s = await ended;
      return { code: s.status, signal: s.signal === null ? null : signalName(s.signal) };
    },
    (e: unknown) => Promise.reject(typed(e)),
  );
  return { pid: spawned.pid, exited };
}

function typed(e: unknown): unknown {
  if (!isNativeError(e)) return e;
  // libuv has no name for a few errno values execve gives (ENOEXEC): take errno.h's.
  const code = e.code === 'EUNKNOWN' ? (Object.entries(osConstants.errno).find(([, n]) => n === e.errno)?.[0] ?? e.code) : e.code;
  return new SpawnError(e.errno, code, e.syscall, e.path ?? '', e.message);
}

/** The exit code a shell reports for a status: the code, or 128 + the signal's number. */
export function shellStatus(s: ExitStatus): number {
  if (s.code !== null) return s.code;
  const n = s.signal === null ? undefined : (osConstants.signals as Record<string, number>)[s.signal];
  return 128 + (n ?? 0);
}

function environment(env: Record<string, string> | undefined): Record<string, string> {
  if (env === undefined) return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  if (typeof env !== 'object' || env === null) throw new ValidationError('env', env, 'expected an object of strings');
  for (const [k, v] of Object.entries(env)) {
    if (k === '' || k.includes('=') || k.includes('\0') || typeof v !== 'string' || v.includes('\0'))
      throw new ValidationError('env', k, "expected names without '=' or NUL and string values without NUL");
  }
  return { ...env };
}

/** execvp's lookup, done before the fork: the first executable regular file named `cmd` in PATH. */
function resolveCommand(cmd: string, path: string): string {
  if (cmd.includes('/')) return cmd;
  for (const dir of path.split(delimiter)) {
    const candidate = join(dir === '' ? '.' : dir, cmd);
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, fsConstants.X_OK);
        return candidate;
      }
    } catch {
      // Not here, or not executable: go on, as execvp does.
    }
  }
  throw new SpawnError(ENOENT, 'ENOENT', 'execvp', cmd, 'command not found in PATH');
}

/** Each entry of `dir` bound over /etc/<entry>, as `ip netns exec` binds /etc/netns/NAME/*. */
function etcBinds(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.flatMap((n) => [join(dir, n), join('/etc', n)]);
}

function signalName(n: number): string {
  for (const [name, num] of Object.entries(osConstants.signals)) if (num === n) return name;
  return `SIG${n}`;
}
