// The state file on disk: its format, reading it (and saying exactly what is wrong with a damaged
// one), and replacing it atomically.
//
// `store.json` is `{"format":"nlnet-store","version":1,"data":{<key>:<document>,…}}`, keys sorted.
// A commit writes `store.json.<pid>.<nonce>.tmp` in the same directory, fsyncs it, renames it over
// `store.json` and fsyncs the directory. A crash at any point leaves the old file or the new one
// (test/unit/network/store/crash.test.ts kills a process at every byte and step of it); a temp file left
// by a dead process is removed on open and never read.
//
// A state file that cannot be read is an error, never an empty state: to the engine's reconcile
// an empty state means "nothing here is ours", and it would remove every network it made.
import { closeSync, fstatSync, fsync, openSync, readFileSync, renameSync, statSync, writeSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { ioError, StoreError } from './errors.js';
import { bytesBeforeDeath, die, reach, type StoreFault } from './fault.js';
import { isCode, tempName, unlinkQuiet } from './lock.js';
import type { Json } from './types.js';

export const FORMAT = 'nlnet-store';
export const VERSION = 1;

export type Data = Map<string, Json>;

/** What to do about a damaged state file, said after what is wrong with it. */
const ADVICE = '; not reading it as an empty state (reconcile would then remove everything nlnet made): restore it, or move it away to start afresh';

/**
 * Which file `path` holds now, or undefined if there is none: a commit renames a new one in, with
 * its own inode and write time (not its change time: the rename itself changes that).
 */
export function stateIdentity(path: string): string | undefined {
  try {
    return identity(statSync(path, { bigint: true }));
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw ioError(path, 'cannot read the state', err);
  }
}

function identity(st: BigIntStats): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}`;
}

/** The state file's documents; undefined if it does not exist. Damage is a StoreError. */
export function readState(path: string): Data | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw ioError(path, 'cannot read the state', err);
  }
  if (text === '') throw new StoreError(path, 'empty', `state file ${path} is empty (nlnet never writes an empty one)${ADVICE}`);
  if (/^\0+$/.test(text)) {
    throw new StoreError(path, 'garbage', `state file ${path} holds ${text.length} zero bytes and no JSON (what a file system can leave after a power loss)${ADVICE}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const why = (err as Error).message;
    // Cut short, V8 fails at the very end: "Unexpected end of JSON input", or a complaint about
    // the position just past the last character.
    const at = /at position (\d+)/.exec(why)?.[1];
    if (/end of JSON input|Unterminated/.test(why) || (at !== undefined && Number(at) >= text.length)) {
      throw new StoreError(path, 'truncated', `state file ${path} ends part-way through its JSON, after ${Buffer.byteLength(text)} bytes${ADVICE}`);
    }
    // Not V8's message itself: it quotes the input, newlines and control characters included.
    const where = at === undefined ? '' : `invalid at character ${at}; `;
    throw new StoreError(path, 'garbage', `state file ${path} is not JSON (${where}it starts with ${JSON.stringify(text.slice(0, 24))})${ADVICE}`);
  }
  const { format, version, data } = (typeof doc === 'object' && doc !== null ? doc : {}) as { format?: unknown; version?: unknown; data?: unknown };
  if (format !== FORMAT || Array.isArray(doc)) {
    throw new StoreError(path, 'wrong-format', `state file ${path} is JSON but not an nlnet state file (no "format": "${FORMAT}")${ADVICE}`);
  }
  if (version !== VERSION) {
    const newer = typeof version === 'number' && version > VERSION;
    const what = newer ? `was written by a newer nlnet (state format version ${version})` : `has an unknown state format version (${JSON.stringify(version)})`;
    throw new StoreError(path, 'wrong-version', `state file ${path} ${what}; this nlnet reads version ${VERSION} and leaves it untouched`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new StoreError(path, 'wrong-format', `state file ${path} has no "data" object of documents${ADVICE}`);
  }
  return new Map(Object.entries(data as Record<string, Json>));
}

/** The file's text: keys sorted, so the same state is always the same bytes. */
export function serialize(data: Data): string {
  const sorted = Object.fromEntries([...data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return `${JSON.stringify({ format: FORMAT, version: VERSION, data: sorted })}\n`;
}

const fsyncAsync = promisify(fsync);

/**
 * Replaces `dir/name` with `text` so that a crash leaves the old content or the new, never a mix:
 * temp file in the same directory (rename is only atomic within a file system), fsync it so the
 * rename cannot reach the disk before the data, rename, then fsync the directory so the rename
 * itself survives a power loss. Only the two fsyncs wait for the disk, so only they go to the
 * thread pool; the rest are page-cache operations of microseconds (see lock.ts). Returns the new
 * file's identity. A failure before the rename (a full disk) removes the temp file and leaves the
 * old state as it was.
 */
export async function writeDurably(dir: string, name: string, text: string, fault?: StoreFault): Promise<string> {
  const path = join(dir, name);
  const temp = join(dir, tempName(name));
  let id: string;
  try {
    const fd = openSync(temp, 'wx', 0o600);
    try {
      reach(fault, 'temp-open');
      const bytes = Buffer.from(text, 'utf8');
      const stop = bytesBeforeDeath(fault, bytes.length);
      const end = stop ?? bytes.length;
      for (let off = 0; off < end; ) off += writeSync(fd, bytes, off, end - off);
      if (stop !== undefined) die();
      reach(fault, 'temp-written');
      await fsyncAsync(fd);
      reach(fault, 'temp-fsync');
      id = identity(fstatSync(fd, { bigint: true }));
    } finally {
      closeSync(fd);
    }
    reach(fault, 'temp-close');
    renameSync(temp, path);
  } catch (err) {
    try {
      unlinkQuiet(temp);
    } catch {
      // The temp file is ignored by readers and removed by the next open; the write's own error matters.
    }
    throw ioError(path, 'cannot write the state', err, '; the previous state is unchanged');
  }
  reach(fault, 'rename');
  try {
    const dh = openSync(dir, 'r');
    try {
      await fsyncAsync(dh);
    } finally {
      closeSync(dh);
    }
  } catch (err) {
    throw ioError(dir, 'wrote the new state but could not fsync its directory', err, ', so it may not survive a power loss');
  }
  reach(fault, 'dir-fsync');
  return id;
}
