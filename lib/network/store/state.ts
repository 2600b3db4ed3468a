// The state as the files hold it, kept in memory: the snapshot `store.json` (disk.ts) plus the
// commits in `store.journal` after it (journal.ts). A read stats the two files and, when the journal
// has grown, reads and applies only the new bytes, so reading what another process committed costs
// the size of its commit, not of the state. Writing is for a caller holding the store's lock.
//
// Invariant: a version-2 snapshot always has its journal beside it. The files are made in an order
// that keeps it across a crash at any point:
// - afresh (an empty directory, or a version-1 state being migrated): journal first, then the
//   snapshot. Dying between the two leaves a journal nobody reads next to no snapshot (or the old
//   version-1 one), and the next writer starts afresh again.
// - compaction: the snapshot first, then the journal. Dying between the two leaves the new snapshot
//   with the old journal, whose records the snapshot already holds (their seq is not above its
//   own); the next writer replaces the journal before appending.
import { closeSync, fdatasync, fstatSync, ftruncateSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { installTemp, LEGACY_VERSION, readState, removeTemp, serialize, stateIdentity, syncDir, VERSION, writeTemp, type Data } from './disk.js';
import { ioError, StoreError } from './errors.js';
import { bytesBeforeDeath, die, reach, type CommitStep, type StoreFault } from './fault.js';
import { encodeRecord, journalHeader, parseHeader, parseRecords, type JournalRecord } from './journal.js';
import { isCode } from './lock.js';
import type { Json } from './types.js';

export const SNAPSHOT = 'store.json';
export const JOURNAL = 'store.journal';

/** A transaction's writes: a document, or undefined for a delete. */
export type Writes = ReadonlyMap<string, Json | undefined>;

const fdatasyncAsync = promisify(fdatasync);
/** Snapshot and journal read in the middle of someone's compaction: read both again, this often. */
const LOAD_ATTEMPTS = 5;

interface Journal {
  ino: bigint;
  /** The commit it follows, and the last one whole in it. */
  base: number;
  last: number;
  /** Bytes up to the end of the last whole record, and after it (a commit under way, or torn). */
  end: number;
  tail: number;
}

interface View {
  snapshotId: string;
  snapshotBytes: number;
  version: number;
  /** The commit the snapshot is as of. */
  snapshotSeq: number;
  /** The last commit applied to `data`. */
  seq: number;
  data: Data;
  /** Whether `data` was handed out as a snapshot: then it is copied before it is changed. */
  shared: boolean;
  /** Undefined for a version-1 snapshot, which has none. */
  journal: Journal | undefined;
}

export class DiskState {
  readonly #dir: string;
  readonly #snapshotPath: string;
  readonly #journalPath: string;
  #view: View | undefined;
  /** Whether a snapshot was ever seen: then its disappearing is an error, not an empty state. */
  #seen = false;

  constructor(dir: string) {
    this.#dir = dir;
    this.#snapshotPath = join(dir, SNAPSHOT);
    this.#journalPath = join(dir, JOURNAL);
  }

  /** The latest committed documents. The map is not to be changed; `share` before keeping it. */
  read(): Data {
    const id = stateIdentity(this.#snapshotPath);
    if (id === undefined) return this.#missing();
    const view = this.#view;
    if (view !== undefined && view.snapshotId === id && this.#follow(view)) return view.data;
    return this.#load();
  }

  /** The latest committed documents, as a map that later commits will not change. */
  share(): Data {
    const data = this.read();
    if (this.#view !== undefined && this.#view.data === data) this.#view.shared = true;
    return data;
  }

  /** The size of the journal's records, or undefined when there is no journal. */
  journalBytes(): number | undefined {
    const j = this.#view?.journal;
    return j === undefined ? undefined : j.end - journalHeader(j.base).length;
  }

  get snapshotBytes(): number {
    return this.#view?.snapshotBytes ?? 0;
  }

  /** Whether the last read found the version-1 single-file state of an earlier nlnet. */
  get legacy(): boolean {
    return this.#view?.version === LEGACY_VERSION;
  }

  /**
   * For a writer holding the lock, before its transaction: the latest documents, with a torn tail
   * that a writer which died part-way through its append left cut off.
   */
  prepare(): Data {
    const data = this.read();
    const journal = this.#view?.journal;
    if (journal !== undefined && journal.tail > 0) this.#cutTail(journal);
    return data;
  }

  /**
   * Appends one commit (after `prepare`, holding the lock, with no commit since) and applies it to
   * the documents in memory at once, as other processes see it once it is in the page cache. The
   * promise settles when it is on disk (`sync`; otherwise once written, for sync() to make durable).
   * A failed append (a full disk) is cut off again and changes nothing.
   */
  async append(writes: Writes, fault?: StoreFault, sync = true): Promise<void> {
    // A fresh directory or a version-1 state gets its journal; a stale journal is replaced.
    if (this.#view?.journal === undefined) await this.rewrite('afresh', fault);
    else if (this.#view.journal.base < this.#view.snapshotSeq) await this.rewrite('journal', fault);
    const view = this.#view!;
    const journal = view.journal!;
    const record: JournalRecord = { seq: view.seq + 1, put: {}, del: [] };
    for (const [key, value] of writes) {
      if (value === undefined) record.del.push(key);
      else record.put[key] = value;
    }
    const bytes = encodeRecord(record);
    const fd = this.#openForWrite();
    try {
      try {
        const stop = bytesBeforeDeath(fault, bytes.length);
        const end = stop ?? bytes.length;
        for (let off = 0; off < end; ) off += writeSync(fd, bytes, off, end - off, journal.end + off);
        if (stop !== undefined) die();
      } catch (err) {
        ftruncateSync(fd, journal.end);
        throw ioError(this.#journalPath, 'cannot write the state', err, '; the previous state is unchanged');
      }
      reach(fault, 'appended');
      this.#apply(view, record);
      journal.end += bytes.length;
      journal.last = record.seq;
      if (sync) await this.#sync(fd, fault);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * fdatasync of the journal, for the commits appended without it (`append(…, false)`): a group
   * of commits made under one lock is synced once. What was written through any descriptor of
   * the file is on disk when it returns.
   */
  async sync(fault?: StoreFault): Promise<void> {
    const fd = this.#openForWrite();
    try {
      await this.#sync(fd, fault);
    } finally {
      closeSync(fd);
    }
  }

  async #sync(fd: number, fault: StoreFault | undefined): Promise<void> {
    try {
      await fdatasyncAsync(fd);
    } catch (err) {
      throw ioError(this.#journalPath, 'wrote the commit but could not sync it', err, ', so it may not survive a power loss');
    }
    reach(fault, 'synced');
  }

  /**
   * Writes the documents in memory as a new snapshot and/or an empty journal following it (holding
   * the lock): `afresh` both, journal first; `compact` both, snapshot first; `journal` only an
   * empty journal for the snapshot there. See the file's header for why in that order.
   */
  async rewrite(what: 'afresh' | 'compact' | 'journal', fault?: StoreFault): Promise<void> {
    const old = this.#view;
    const data = old?.data ?? new Map<string, Json>();
    const seq = old?.seq ?? 0;
    const temps: string[] = [];
    try {
      const journal = await writeTemp(this.#dir, JOURNAL, journalHeader(seq));
      temps.push(journal.temp);
      reach(fault, 'journal-temp');
      const snapshot = what === 'journal' ? undefined : await writeTemp(this.#dir, SNAPSHOT, serialize(data, seq));
      if (snapshot !== undefined) {
        temps.push(snapshot.temp);
        reach(fault, 'snapshot-temp');
      }
      const renames: [string, string, CommitStep][] = [[journal.temp, JOURNAL, 'journal-renamed']];
      if (snapshot !== undefined) renames[what === 'compact' ? 'unshift' : 'push']([snapshot.temp, SNAPSHOT, 'snapshot-renamed']);
      for (const [temp, name, step] of renames) {
        installTemp(temp, this.#dir, name);
        temps.splice(temps.indexOf(temp), 1);
        reach(fault, step);
      }
      await syncDir(this.#dir);
      reach(fault, 'dir-synced');
      this.#view = {
        snapshotId: snapshot?.id ?? old!.snapshotId,
        snapshotBytes: snapshot?.bytes ?? old!.snapshotBytes,
        version: VERSION,
        snapshotSeq: snapshot === undefined ? old!.snapshotSeq : seq,
        seq,
        data,
        shared: old?.shared ?? false,
        journal: { ino: journal.ino, base: seq, last: seq, end: journalHeader(seq).length, tail: 0 },
      };
      this.#seen = true;
    } finally {
      for (const temp of temps) removeTemp(temp);
    }
  }

  /** Reads the snapshot and its whole journal. */
  #load(): Data {
    for (let attempt = 1; ; attempt++) {
      const id = stateIdentity(this.#snapshotPath);
      const snap = id === undefined ? undefined : readState(this.#snapshotPath);
      if (snap === undefined) return this.#missing(); // removed since read() looked
      // Read between a stat and a rename by someone else, the text may be newer than `id`: then the
      // next read sees another id and loads again. Never the reverse.
      const view: View = { snapshotId: id!, snapshotBytes: snap.bytes, version: snap.version, snapshotSeq: snap.seq, seq: snap.seq, data: snap.data, shared: false, journal: undefined };
      if (snap.version === LEGACY_VERSION || this.#readJournal(view)) {
        this.#view = view;
        this.#seen = true;
        return view.data;
      }
      if (attempt === LOAD_ATTEMPTS) {
        throw new StoreError(this.#journalPath, 'garbage', `journal ${this.#journalPath} follows a later commit than the snapshot ${this.#snapshotPath} after ${LOAD_ATTEMPTS} reads; not reading it: restore the state directory, or move it away to start afresh`);
      }
    }
  }

  /** Reads the whole journal into `view`; false if it follows a snapshot newer than the one read. */
  #readJournal(view: View): boolean {
    let fd: number;
    try {
      fd = openSync(this.#journalPath, 'r');
    } catch (err) {
      if (isCode(err, 'ENOENT')) {
        throw new StoreError(this.#journalPath, 'vanished', `journal ${this.#journalPath} is missing next to the snapshot ${this.#snapshotPath}; not reading the state without the commits it holds: restore it, or move the state directory away to start afresh`);
      }
      throw ioError(this.#journalPath, 'cannot read the state', err);
    }
    try {
      const st = fstatSync(fd, { bigint: true });
      const bytes = readAt(fd, 0, Number(st.size), this.#journalPath);
      const header = parseHeader(bytes, this.#journalPath);
      if (header.base > view.seq) return false;
      const { records, end, tail } = parseRecords(bytes.subarray(header.end), header.end, header.base, this.#journalPath);
      view.journal = { ino: st.ino, base: header.base, last: records.at(-1)?.seq ?? header.base, end, tail };
      for (const record of records) if (record.seq > view.seq) this.#apply(view, record);
      return true;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Brings `view` up to date with what was appended to its journal since; false if the journal was
   * replaced (a compaction), so the caller loads afresh.
   */
  #follow(view: View): boolean {
    const journal = view.journal;
    if (journal === undefined) return true; // version 1: the snapshot's identity says it all
    let fd: number;
    try {
      fd = openSync(this.#journalPath, 'r');
    } catch (err) {
      if (isCode(err, 'ENOENT')) return false;
      throw ioError(this.#journalPath, 'cannot read the state', err);
    }
    try {
      const st = fstatSync(fd, { bigint: true });
      const size = Number(st.size);
      if (st.ino !== journal.ino || size < journal.end) return false;
      if (size === journal.end + journal.tail) return true;
      const bytes = readAt(fd, journal.end, size - journal.end, this.#journalPath);
      const { records, end, tail } = parseRecords(bytes, journal.end, journal.last, this.#journalPath);
      for (const record of records) if (record.seq > view.seq) this.#apply(view, record);
      journal.end = end;
      journal.tail = tail;
      journal.last = records.at(-1)?.seq ?? journal.last;
      return true;
    } finally {
      closeSync(fd);
    }
  }

  #apply(view: View, record: JournalRecord): void {
    if (view.shared) {
      view.data = new Map(view.data);
      view.shared = false;
    }
    for (const [key, value] of Object.entries(record.put)) view.data.set(key, value);
    for (const key of record.del) view.data.delete(key);
    view.seq = record.seq;
  }

  /** Cuts off what a writer that died part-way through its append left (we hold the lock). */
  #cutTail(journal: Journal): void {
    const fd = this.#openForWrite();
    try {
      ftruncateSync(fd, journal.end);
      journal.tail = 0;
    } catch (err) {
      throw ioError(this.#journalPath, 'cannot cut off a torn commit at the end of', err, '; the previous state is unchanged');
    } finally {
      closeSync(fd);
    }
  }

  /** The journal, opened to write (holding the lock); failing to open it changes nothing. */
  #openForWrite(): number {
    try {
      return openSync(this.#journalPath, 'r+');
    } catch (err) {
      throw ioError(this.#journalPath, 'cannot write the state', err, '; the previous state is unchanged');
    }
  }

  /** No snapshot: a fresh state, unless there was one (or the directory is gone too). */
  #missing(): Data {
    if (this.#seen) throw new StoreError(this.#snapshotPath, 'vanished', `state file ${this.#snapshotPath} was removed while nlnet was using it; not reading it as an empty state`);
    try {
      statSync(this.#dir);
    } catch (err) {
      if (isCode(err, 'ENOENT')) throw new StoreError(this.#dir, 'vanished', `state directory ${this.#dir} was removed while nlnet was using it`);
      throw ioError(this.#dir, 'cannot read the state directory', err);
    }
    this.#view = undefined;
    return new Map();
  }
}

function readAt(fd: number, position: number, length: number, path: string): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let got = 0;
  try {
    while (got < length) {
      const n = readSync(fd, bytes, got, length - got, position + got);
      if (n === 0) break;
      got += n;
    }
  } catch (err) {
    throw ioError(path, 'cannot read the state', err);
  }
  return bytes.subarray(0, got);
}
