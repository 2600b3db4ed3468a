// The journal: `store.journal`, the commits made since the snapshot in `store.json` (disk.ts).
//
// A commit appends one line and fdatasyncs it, so its cost is the size of what it changed, not of
// the state. The first line is a header naming the commit the journal follows; each further line
// is one whole transaction:
//
//   {"format":"nlnet-journal","version":2,"base":41}\n
//   1c291ca3 {"seq":42,"put":{"sandboxes/web":{…}},"del":["endpoints/e1"]}\n
//   └ crc32 of the JSON, 8 hex digits
//
// A line counts only once it is whole: its newline is there (JSON.stringify never writes a raw
// newline, so the only one is the last byte) and the checksum matches. A process killed part-way
// through an append leaves a line without its newline; a power loss can leave one of zeros or
// stale blocks. Either is the tail of a commit that never returned, which readers skip and the
// next writer (holding the lock, so nobody is mid-append) cuts off. A bad line with good lines
// after it is not a torn tail but damage, and an error.
//
// Sequence numbers make each line's place checkable: the journal's records follow `base` one by
// one, and a snapshot with `seq` S contains every record up to S. So a journal whose base is older
// than the snapshot (a compaction that crashed between its two renames) holds nothing new, and one
// whose base is newer means the snapshot was read before a compaction finished: read both again.
import { crc32 } from 'node:zlib';

import { StoreError } from './errors.js';
import type { Json } from './types.js';

export const JOURNAL_FORMAT = 'nlnet-journal';
export const JOURNAL_VERSION = 2;

/** One commit: the documents it put and the keys it deleted. */
export interface JournalRecord {
  seq: number;
  put: Record<string, Json>;
  del: string[];
}

/** What a read of the journal found. */
export interface JournalRead {
  /** The commit the journal follows. */
  base: number;
  records: JournalRecord[];
  /** The byte offset just past the last whole record: where the next one goes. */
  end: number;
  /** Bytes after `end` that do not (yet) form a whole record: a commit in progress, or a torn one. */
  tail: number;
}

export function journalHeader(base: number): string {
  return `${JSON.stringify({ format: JOURNAL_FORMAT, version: JOURNAL_VERSION, base })}\n`;
}

/** One commit as the line that is appended. */
export function encodeRecord(record: JournalRecord): Buffer {
  const json = JSON.stringify(record);
  return Buffer.from(`${crc32(json).toString(16).padStart(8, '0')} ${json}\n`, 'utf8');
}

const NEWLINE = 0x0a;

/**
 * Reads the header of a whole journal (`bytes` from offset 0). Undefined if the header line is not
 * all there: a journal is made by rename, whole, so that is damage, reported by the caller.
 */
export function parseHeader(bytes: Buffer, path: string): { base: number; end: number } {
  const nl = bytes.indexOf(NEWLINE);
  const damaged = (why: string): StoreError => new StoreError(path, 'garbage', `journal ${path} ${why}; not reading it (the state would lose commits): restore it, or move the state directory away to start afresh`);
  if (nl < 0) throw damaged('has no whole header line');
  let header: unknown;
  try {
    header = JSON.parse(bytes.subarray(0, nl).toString('utf8'));
  } catch {
    throw damaged('does not start with a journal header');
  }
  const { format, version, base } = (typeof header === 'object' && header !== null ? header : {}) as { format?: unknown; version?: unknown; base?: unknown };
  if (format !== JOURNAL_FORMAT) throw damaged('does not start with a journal header');
  if (version !== JOURNAL_VERSION) throw new StoreError(path, 'wrong-version', `journal ${path} has state format version ${JSON.stringify(version)}; this nlnet reads version ${JOURNAL_VERSION} and leaves it untouched`);
  if (!Number.isSafeInteger(base) || (base as number) < 0) throw damaged('has a header without a valid base');
  return { base: base as number, end: nl + 1 };
}

/**
 * The whole records in `bytes`, which starts at byte `offset` of the journal and continues from the
 * record numbered `after` (the next must be `after + 1`). Stops at the first line that is not whole
 * and reports how many bytes from there on it did not use.
 */
export function parseRecords(bytes: Buffer, offset: number, after: number, path: string): { records: JournalRecord[]; end: number; tail: number } {
  const records: JournalRecord[] = [];
  let pos = 0;
  let seq = after;
  while (pos < bytes.length) {
    const nl = bytes.indexOf(NEWLINE, pos);
    const record = nl < 0 ? undefined : decodeLine(bytes.subarray(pos, nl));
    if (record === undefined) {
      // Not whole. The end of the journal is where a commit may be under way; anything after it
      // that is whole again means the journal is damaged in the middle.
      if (nl >= 0 && hasWholeLineAfter(bytes, nl + 1)) {
        throw new StoreError(path, 'garbage', `journal ${path} has a damaged record at byte ${offset + pos} with whole records after it; not reading it (the state would lose commits): restore it, or move the state directory away to start afresh`);
      }
      break;
    }
    if (record.seq !== seq + 1) {
      throw new StoreError(path, 'garbage', `journal ${path} has commit ${record.seq} at byte ${offset + pos} where commit ${seq + 1} belongs; not reading it: restore it, or move the state directory away to start afresh`);
    }
    records.push(record);
    seq = record.seq;
    pos = nl + 1;
  }
  return { records, end: offset + pos, tail: bytes.length - pos };
}

function hasWholeLineAfter(bytes: Buffer, from: number): boolean {
  for (let pos = from; pos < bytes.length; ) {
    const nl = bytes.indexOf(NEWLINE, pos);
    if (nl < 0) return false;
    if (decodeLine(bytes.subarray(pos, nl)) !== undefined) return true;
    pos = nl + 1;
  }
  return false;
}

/** A line without its newline as a record, or undefined if it is not one whole, checksummed record. */
function decodeLine(line: Buffer): JournalRecord | undefined {
  if (line.length < 10 || line[8] !== 0x20) return undefined;
  const sum = Number.parseInt(line.subarray(0, 8).toString('latin1'), 16);
  const json = line.subarray(9);
  if (!/^[0-9a-f]{8}$/.test(line.subarray(0, 8).toString('latin1')) || crc32(json) !== sum) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch {
    return undefined;
  }
  const { seq, put, del } = (typeof value === 'object' && value !== null ? value : {}) as Partial<JournalRecord>;
  if (!Number.isSafeInteger(seq) || typeof put !== 'object' || put === null || Array.isArray(put) || !Array.isArray(del)) return undefined;
  return { seq: seq!, put, del };
}
