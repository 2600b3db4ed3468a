// The store's cross-process lock (see the comment below), and the small file helpers that the
// lock and the store share.
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';

import { ConflictError } from '../../errors.js';

// ---- The cross-process lock -------------------------------------------------------------------
//
// `store.lock` holds its owner as JSON: pid, boot id, a unique token and the time taken. It is
// created by writing a temp file and link(2)ing it to `store.lock`: link fails with EEXIST like
// O_EXCL does, but the lock appears with its content in one step, so nobody reads a half-written
// owner. Waiters retry with jittered exponential backoff.
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
  /** Set for an unreadable lock file: counted as alive while recently modified. */
  young?: boolean;
}

export interface HeldLock {
  release(): Promise<void>;
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

function newOwner(): Owner {
  const nonce = randomBytes(8).toString('hex');
  return { pid: process.pid, boot: bootId(), token: `${process.pid}-${nonce}`, time: new Date().toISOString() };
}

/** Creates `path` holding `owner`, or returns false if it exists. */
function createExclusive(path: string, owner: Owner): boolean {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, JSON.stringify(owner), { flag: 'wx', mode: 0o600 });
  try {
    linkSync(temp, path);
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
      return { pid: owner.pid, boot: String(owner.boot ?? ''), token: owner.token, time: String(owner.time ?? '') };
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

/** Removes the lock file at `path` if its owner is dead, by the marker rule above. */
function breakIfStale(path: string, depth = 0): void {
  const owner = readOwner(path);
  if (owner === undefined || ownerAlive(owner) || depth > 3) return;
  const marker = `${path}.break-${owner.token}`;
  if (!createExclusive(marker, newOwner())) {
    breakIfStale(marker, depth + 1); // another breaker is at work, or died at it
    return;
  }
  try {
    if (readOwner(path)?.token === owner.token) unlinkQuiet(path);
  } finally {
    unlinkQuiet(marker);
  }
}

export async function acquireLock(path: string, timeoutMs: number): Promise<HeldLock> {
  const me = newOwner();
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (createExclusive(path, me)) {
      return {
        // Only remove the lock if it is still ours; by the marker rule nobody else removes it
        // while we live, so this check cannot be overtaken.
        release: async () => {
          if (readOwner(path)?.token === me.token) unlinkQuiet(path);
        },
      };
    }
    breakIfStale(path);
    if (Date.now() >= deadline) {
      const holder = readOwner(path);
      throw new ConflictError('store lock', path, `held by pid ${holder?.pid ?? '?'} since ${holder?.time ?? '?'}; waited ${timeoutMs} ms`);
    }
    const backoff = Math.min(100, 2 * 1.5 ** attempt) * (0.5 + Math.random());
    await new Promise((resolve) => setTimeout(resolve, backoff));
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
