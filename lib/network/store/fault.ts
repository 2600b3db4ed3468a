// Test-only crash points in a commit. The crash tests (test/unit/network/store/crash.test.ts) open a store
// with one of these in a child process, which then dies by SIGKILL at that point of its commit, and
// check that the next process finds the old state or the new one, whole, and takes the lock over.
// SIGKILL rather than an exception: nothing after the point runs, no finally, no exit handler,
// exactly like the OOM killer or a `kill -9`.

/**
 * The boundaries of a commit, in the order they are crossed. A fault at a step kills the process
 * right after that step is done:
 * - `lock-temp`: the lock's temp file is written, not yet linked to `store.lock` (lock.ts);
 * - `lock-linked`: `store.lock` exists, its temp file not yet removed;
 * - `locked`: the lock is held, nothing else done;
 * - `appended`: the commit's record is in the journal, not yet synced (a `{ bytes: n }` fault
 *   stops part-way through writing it);
 * - `synced`: it is fdatasynced: the commit is durable, the lock still held;
 * - `released`: the lock is released.
 * When a commit rewrites the snapshot and journal (the first commit in a fresh or migrated
 * directory, before its record; a compaction, after it), between `locked` and `released`:
 * - `journal-temp`, `snapshot-temp`: the new journal's (snapshot's) temp file is written and fsynced;
 * - `journal-renamed`, `snapshot-renamed`: it is renamed into place (the first of the two
 *   renames is the journal's when starting afresh, the snapshot's when compacting);
 * - `dir-synced`: the directory is fsynced.
 */
export const COMMIT_STEPS = ['lock-temp', 'lock-linked', 'locked', 'journal-temp', 'snapshot-temp', 'journal-renamed', 'snapshot-renamed', 'dir-synced', 'appended', 'synced', 'released'] as const;
export type CommitStep = (typeof COMMIT_STEPS)[number];

/** Where to die: after a step of the commit, or after `bytes` bytes of its journal record. */
export type StoreFault = { step: CommitStep } | { bytes: number };

/** Kills this process if `fault` names `step`. */
export function reach(fault: StoreFault | undefined, step: CommitStep): void {
  if (fault !== undefined && 'step' in fault && fault.step === step) die();
}

/** With a `bytes` fault, how many of the record's `total` bytes to write before dying. */
export function bytesBeforeDeath(fault: StoreFault | undefined, total: number): number | undefined {
  return fault !== undefined && 'bytes' in fault ? Math.min(fault.bytes, total) : undefined;
}

export function die(): never {
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL is delivered before kill(2) returns to a single-threaded caller; a thread-pool thread
  // could in theory run on for a moment, so never return into the commit.
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}
