// The store's cross-process lock (see the comment below), and the small file helpers that the
// lock and the store share.
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

import { ioError, LockTimeoutError, type LockHolder } from './errors.js';
import { reach, type StoreFault } from './fault.js';

// ---- The cross-process lock -------------------------------------------------------------------
//
// `store.lock` holds its owner as JSON: pid, boot id, command line, a unique token and the time
// taken. It is created by writing a temp file and link(2)ing it to `store.lock`: link fails with
// EEXIST like O_EXCL does, but the lock appears with its content in one step, so nobody reads a
// half-written owner. Waiters retry with jittered exponential backoff. The command line is there
// for the user, not for the algorithm: a waiter says at once whom it waits for (`onWait`) and
// names the holder when it gives up, instead of hanging in silence.
//
// A lock whose owner is dead (kill(pid, 0) fails with ESRCH, or it was taken in an earlier boot)
// is stale. Breaking it is where two processes can race: both see the dead owner, A removes the
// lock and takes it, B then removes A's live lock. So a lock with token T may only be removed by
// whoever creates the marker `store.lock.break-T` (exclusive create, so one process at a time),
// and only after re-reading the lock and finding T still there. Nobody else removes T (its owner
// is dead), so the lock cannot change between that re-read and the unlink. The marker is itself
// a lock file; if its creator dies, it is broken by the same rule, one level down.
//
// The file operations here are synchronous on purpose: each is a metadata change or a read of a
// tiny file in the page cache (microseconds, never a disk wait: nothing here fsyncs), while the
// same call through libuv's thread pool costs a round trip of 50-100 us. Only the waiting between
// attempts is asynchronous.

interface Owner {
  pid: number;
  boot: string;
  token: string;
  time: string;
  /** process.argv of the owner, shortened; absent in locks of older nlnet versions. */
  argv?: string[];
  /** Set for an unreadable lock file: counted as alive while recently modified. */
  young?: boolean;
}

export interface HeldLock {
  release(): Promise<void>;
}

export interface LockOptions {
  /** How long to wait for a live holder, ms; 0: fail at once. A stale lock is taken over anyway. */
  timeoutMs: number;
  /** Called once, when the lock has been found held by a live process for `noticeMs` (default 0). */
  onWait?: ((holder: LockHolder) => void) | undefined;
  noticeMs?: number | undefined;
  /** Test-only (fault.ts). */
  fault?: StoreFault | undefined;
}

let bootIdCache: string | undefined;
function bootId(): string {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootIdCache = '';
    }
  }
  return bootIdCache;
}

// A lock file is written on every transaction: its command line is bounded, and made once.
const MAX_ARGS = 32;
const MAX_ARG = 200;
let argvCache: string[] | undefined;
function shortArgv(): string[] {
  argvCache ??= process.argv.slice(0, MAX_ARGS).map((a) => (a.length > MAX_ARG ? `${a.slice(0, MAX_ARG - 1)}…` : a));
  return argvCache;
}

function newOwner(): Owner {
  const nonce = randomBytes(8).toString('hex');
  return { pid: process.pid, boot: bootId(), token: `${process.pid}-${nonce}`, time: new Date().toISOString(), argv: shortArgv() };
}

/** Creates `path` holding `owner`, or returns false if it exists. */
function createExclusive(path: string, owner: Owner, fault?: StoreFault): boolean {
  const temp = tempName(path);
  // Created before it is written: a full disk fails the write, and the empty file must go. Where
  // the create itself failed (read-only, no permission) there is nothing to remove, and trying
  // would only replace its error with unlink's.
  const fd = openSync(temp, 'wx', 0o600);
  try {
    try {
      writeFileSync(fd, JSON.stringify(owner));
    } finally {
      closeSync(fd);
    }
    reach(fault, 'lock-temp');
    linkSync(temp, path);
    reach(fault, 'lock-linked');
    return true;
  } catch (err) {
    if (isCode(err, 'EEXIST')) return false;
    throw err;
  } finally {
    unlinkQuiet(temp);
  }
}

/**
 * The owner recorded in a lock file, or undefined when there is none. A file that does not parse
 * (only possible if a power loss kept the name but not the data) gets an owner made from its inode,
 * dead once it is a minute old.
 */
function readOwner(path: string): Owner | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw err;
  }
  try {
    const owner = JSON.parse(text) as Partial<Owner>;
    if (typeof owner.pid === 'number' && typeof owner.token === 'string' && /^[0-9a-z-]+$/.test(owner.token)) {
      const argv = Array.isArray(owner.argv) && owner.argv.every((a) => typeof a === 'string') ? owner.argv : [];
      return { pid: owner.pid, boot: String(owner.boot ?? ''), token: owner.token, time: String(owner.time ?? ''), argv };
    }
  } catch {
    // falls through to the inode owner
  }
  try {
    const st = statSync(path);
    const young = Date.now() - st.mtimeMs < 60_000;
    return { pid: 0, boot: '', token: `ino-${st.ino}`, time: st.mtime.toISOString(), young };
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** An owner as the caller sees it; `owner` undefined: the lock's holder could not be told. */
function holderOf(path: string, owner: Owner | undefined): LockHolder {
  const argv = owner?.argv ?? [];
  return { path, pid: owner?.pid ?? 0, boot: owner?.boot ?? '', argv, command: commandOf(argv), since: owner?.time ?? '' };
}

/**
 * A process.argv as the user typed it: the script's name without its directory and extension, then
 * its arguments, quoted for a shell where needed (`nlnet container create --name web`).
 */
export function commandOf(argv: readonly string[]): string {
  const [exe, script, ...rest] = argv;
  if (exe === undefined) return '';
  const words = script === undefined ? [basename(exe)] : [basename(script).replace(/\.[cm]?[jt]s$/, ''), ...rest];
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`)).join(' ');
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isCode(err, 'ESRCH'); // EPERM: alive, just not ours to signal
  }
}

/** This process as a record can name it: pid and boot id (a pid of an earlier boot is dead). */
export function thisProcess(): { pid: number; boot: string } {
  return { pid: process.pid, boot: bootId() };
}

/** Whether the process a record names (see thisProcess) is still running. */
export function processAlive(p: { pid: number; boot: string }): boolean {
  return ownerAlive({ ...p, token: '', time: '' });
}

function ownerAlive(owner: Owner): boolean {
  if (owner.young !== undefined) return owner.young;
  if (owner.boot !== '' && bootId() !== '' && owner.boot !== bootId()) return false;
  return pidAlive(owner.pid);
}

/**
 * Removes the lock file at `path` if its owner is dead, by the marker rule above. Returns the
 * owner if it is alive; undefined if there is no lock (any more), or it is stale and being broken.
 */
function breakIfStale(path: string, depth = 0): Owner | undefined {
  const owner = readOwner(path);
  if (owner === undefined || ownerAlive(owner)) return owner;
  if (depth > 3) return undefined;
  const marker = `${path}.break-${owner.token}`;
  if (!createExclusive(marker, newOwner())) {
    breakIfStale(marker, depth + 1); // another breaker is at work, or died at it
    return undefined;
  }
  try {
    if (readOwner(path)?.token === owner.token) unlinkQuiet(path);
  } finally {
    unlinkQuiet(marker);
  }
  return undefined;
}

/**
 * Takes the lock file at `path`. A stale lock is taken over at once. A live holder is waited for
 * up to `timeoutMs`, telling `onWait` once whom for (an exception from it ends the wait, and is
 * thrown here), then a LockTimeoutError names it. Failing system calls (read-only or full file
 * system, no permission) throw a StoreError.
 */
export async function acquireLock(path: string, opts: LockOptions): Promise<HeldLock> {
  const me = newOwner();
  const start = Date.now();
  const noticeMs = opts.noticeMs ?? 0;
  let noticed = false;
  for (let attempt = 0, quick = 0; ; ) {
    let owner: Owner | undefined;
    try {
      if (createExclusive(path, me, opts.fault)) break;
      owner = breakIfStale(path);
    } catch (err) {
      throw ioError(path, 'cannot take the state lock', err);
    }
    // Released or broken a moment ago: try again at once, a few times, before backing off.
    if (owner === undefined && quick++ < 8) continue;
    const waited = Date.now() - start;
    if (waited >= opts.timeoutMs) throw new LockTimeoutError(holderOf(path, owner ?? readOwnerQuiet(path)), opts.timeoutMs);
    if (owner !== undefined && !noticed && waited >= noticeMs) {
      noticed = true;
      opts.onWait?.(holderOf(path, owner));
    }
    const backoff = Math.min(100, 2 * 1.5 ** attempt++) * (0.5 + Math.random());
    await new Promise((resolve) => setTimeout(resolve, Math.min(backoff, opts.timeoutMs - waited)));
  }
  reach(opts.fault, 'locked');
  return {
    // Only remove the lock if it is still ours; by the marker rule nobody else removes it
    // while we live, so this check cannot be overtaken.
    release: async () => {
      if (readOwner(path)?.token === me.token) unlinkQuiet(path);
    },
  };
}

function readOwnerQuiet(path: string): Owner | undefined {
  try {
    return readOwner(path);
  } catch {
    return undefined;
  }
}

export function tempName(name: string): string {
  return `${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

export function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (!isCode(err, 'ENOENT')) throw err;
  }
}

export function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
