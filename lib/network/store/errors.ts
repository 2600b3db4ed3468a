// The store's own errors. Both say which file and what is wrong in a sentence a user can act on,
// and keep what they came from: a system call's errno/code/syscall, the lock's holder.
import { ConflictError } from '../../core/errors.js';

/** What is wrong with the state on disk (see StoreError). */
export type StoreProblem =
  /** The state file has no bytes at all (nlnet never writes one). */
  | 'empty'
  /** It ends part-way through its JSON. */
  | 'truncated'
  /** It is not JSON at all. */
  | 'garbage'
  /** It is JSON, but not an nlnet state file. */
  | 'wrong-format'
  /** It is an nlnet state file of a version this nlnet cannot read. */
  | 'wrong-version'
  /** The store read it before and it is gone now: someone removed it under a running store. */
  | 'vanished'
  /** A system call on it failed (permission, read-only or full file system, …): see `code`. */
  | 'io';

/**
 * The state on disk cannot be read or written. Never answered by starting from an empty state: to
 * the engine's reconcile an empty state means "nothing is ours", and it would remove the user's
 * networks. `code`, `errno` and `syscall` are those of the failed system call for `io`.
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: string | undefined;
  readonly errno: number | undefined;
  readonly syscall: string | undefined;

  constructor(
    /** The file or directory at fault. */
    readonly path: string,
    readonly problem: StoreProblem,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    const c = (cause ?? {}) as { code?: unknown; errno?: unknown; syscall?: unknown };
    this.code = typeof c.code === 'string' ? c.code : undefined;
    this.errno = typeof c.errno === 'number' ? Math.abs(c.errno) : undefined;
    this.syscall = typeof c.syscall === 'string' ? c.syscall : undefined;
  }
}

/** A failed system call as a StoreError: `<doing> <path>: <what the errno means> (<CODE>)<after>`. */
export function ioError(path: string, doing: string, err: unknown, after = ''): StoreError {
  const code = (err as { code?: unknown }).code;
  const why = typeof code === 'string' ? `${ERRNO_TEXT[code] ?? (err as Error).message} (${code})` : String((err as Error)?.message ?? err);
  return new StoreError(path, 'io', `${doing} ${path}: ${why}${after}`, err);
}

/** The errnos a state directory meets, in the words of strerror(3). */
const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EMFILE: 'too many open files',
};

/** Who holds the store's lock, as its lock file says. */
export interface LockHolder {
  /** The lock file. */
  path: string;
  /** 0 when the lock file could not be read (see lock.ts). */
  pid: number;
  /** The holder's boot id ('' if unknown): a lock from an earlier boot is stale. */
  boot: string;
  /** The holder's process.argv, shortened (see lock.ts); [] if unknown. */
  argv: string[];
  /** argv as one line, the way it was typed: `nlnet container create --name web`; '' if unknown. */
  command: string;
  /** When it took the lock, ISO 8601; '' if unknown. */
  since: string;
}

/** `pid 4242 (nlnet container create --name web) since 2025-01-01T10:00:00.000Z`. */
export function describeHolder(h: LockHolder): string {
  if (h.pid === 0) return `an unreadable lock file${h.since === '' ? '' : ` modified at ${h.since}`}`;
  return `pid ${h.pid}${h.command === '' ? '' : ` (${h.command})`}${h.since === '' ? '' : ` since ${h.since}`}`;
}

/** Another live process held the store's lock for longer than the caller would wait. */
export class LockTimeoutError extends ConflictError {
  constructor(
    readonly holder: LockHolder,
    /** How long this process waited, ms (0: it was told not to wait). */
    readonly waitedMs: number,
  ) {
    const waited = waitedMs === 0 ? 'not waiting (lock timeout 0)' : `gave up after waiting ${waitedMs} ms`;
    super('state lock', holder.path, `held by another nlnet, ${describeHolder(holder)}; ${waited}`);
    // ConflictError's `name` is typed as its own literal, so a subclass cannot redeclare it.
    Object.defineProperty(this, 'name', { value: 'LockTimeoutError' });
  }
}
