// The snapshot on disk: its format, reading it (and saying exactly what is wrong with a damaged
// one), and replacing a file atomically.
//
// `store.json` is `{"format":"nlnet-store","version":2,"seq":S,"data":{<key>:<document>,…}}`, keys
// sorted: the state as of commit S. The commits after S are in the journal (journal.ts); the
// snapshot is rewritten only when the journal has grown past it (compaction, file.ts). Version 1,
// written by nlnet before the journal, is the same without `seq`: the whole state, rewritten at
// every commit. It is read as commit 0 and migrated on the first writable open.
//
// A file is replaced by writing `<name>.<pid>.<nonce>.tmp` in the same directory, fsyncing it,
// renaming it over `<name>` and fsyncing the directory. A crash at any point leaves the old file or
// the new one (test/unit/network/store/crash.test.ts); a temp file left by a dead process is
// removed on open and never read.
//
// A state file that cannot be read is an error, never an empty state: to the engine's reconcile
// an empty state means "nothing here is ours", and it would remove every network it made.
import { closeSync, fstatSync, fsync, openSync, readFileSync, renameSync, statSync, writeSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { ioError, StoreError } from './errors.js';
import { isCode, tempName, unlinkQuiet } from './lock.js';
import type { Json } from './types.js';

export const FORMAT = 'nlnet-store';
export const VERSION = 2;
/** The single-file format of earlier versions, read and migrated. */
export const LEGACY_VERSION = 1;

export type Data = Map<string, Json>;

/** A snapshot as read: its documents, the commit it is as of, and the format version it had. */
export interface Snapshot {
  data: Data;
  seq: number;
  version: number;
  /** The file's size: compaction weighs the journal against it. */
  bytes: number;
}

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

/** The snapshot's documents; undefined if it does not exist. Damage is a StoreError. */
export function readState(path: string): Snapshot | undefined {
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
  const { format, version, seq, data } = (typeof doc === 'object' && doc !== null ? doc : {}) as { format?: unknown; version?: unknown; seq?: unknown; data?: unknown };
  if (format !== FORMAT || Array.isArray(doc)) {
    throw new StoreError(path, 'wrong-format', `state file ${path} is JSON but not an nlnet state file (no "format": "${FORMAT}")${ADVICE}`);
  }
  if (version !== VERSION && version !== LEGACY_VERSION) {
    const newer = typeof version === 'number' && version > VERSION;
    const what = newer ? `was written by a newer nlnet (state format version ${version})` : `has an unknown state format version (${JSON.stringify(version)})`;
    throw new StoreError(path, 'wrong-version', `state file ${path} ${what}; this nlnet reads versions ${LEGACY_VERSION} and ${VERSION} and leaves it untouched`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new StoreError(path, 'wrong-format', `state file ${path} has no "data" object of documents${ADVICE}`);
  }
  if (version === VERSION && (!Number.isSafeInteger(seq) || (seq as number) < 0)) {
    throw new StoreError(path, 'wrong-format', `state file ${path} has no valid "seq" (the commit it is as of)${ADVICE}`);
  }
  return { data: new Map(Object.entries(data as Record<string, Json>)), seq: version === VERSION ? (seq as number) : 0, version, bytes: Buffer.byteLength(text) };
}

/** The snapshot's text as of commit `seq`: keys sorted, so the same state is always the same bytes. */
export function serialize(data: Data, seq: number): string {
  const sorted = Object.fromEntries([...data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return `${JSON.stringify({ format: FORMAT, version: VERSION, seq, data: sorted })}\n`;
}

const fsyncAsync = promisify(fsync);

/**
 * Writes `text` to a new temp file beside `dir/name` and fsyncs it, so that a rename of it over
 * `name` cannot reach the disk before its data (rename is atomic only within a file system, hence
 * the same directory). Returns the temp file's path and the identity the file will have once
 * renamed. A failure (a full disk) removes the temp file. Only the fsync waits for the disk, so
 * only it goes to the thread pool; the rest are page-cache operations of microseconds (lock.ts).
 */
export async function writeTemp(dir: string, name: string, text: string): Promise<{ temp: string; id: string; ino: bigint; bytes: number }> {
  const temp = join(dir, tempName(name));
  try {
    const fd = openSync(temp, 'wx', 0o600);
    try {
      const bytes = Buffer.from(text, 'utf8');
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
      await fsyncAsync(fd);
      const st = fstatSync(fd, { bigint: true });
      return { temp, id: identity(st), ino: st.ino, bytes: bytes.length };
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    removeTemp(temp);
    throw ioError(join(dir, name), 'cannot write the state', err, '; the previous state is unchanged');
  }
}

/** Renames a temp file of writeTemp over `dir/name`; on failure removes it. */
export function installTemp(temp: string, dir: string, name: string): void {
  try {
    renameSync(temp, join(dir, name));
  } catch (err) {
    removeTemp(temp);
    throw ioError(join(dir, name), 'cannot write the state', err, '; the previous state is unchanged');
  }
}

export function removeTemp(temp: string): void {
  try {
    unlinkQuiet(temp);
  } catch {
    // Ignored by readers and removed by the next open; the error that led here is what matters.
  }
}

/** fsyncs `dir`, so that the renames done in it survive a power loss. */
export async function syncDir(dir: string): Promise<void> {
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
}
