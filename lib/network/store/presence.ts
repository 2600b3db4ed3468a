// Which processes have an engine open on a state directory: one empty file each under
// `<dir>/engines/`, named by pid and boot id, made at open and removed at close. A file whose
// process is dead (killed, or from an earlier boot) is ignored and removed when seen.
//
// Reconcile repairs the kernel from the store, which is only safe while nobody else is half-way
// through an attach (a namespace made but its record not yet written, or the reverse). It runs
// under the store lock and only when no other engine is registered: an engine registered after
// that check has to wait for the lock before it can change anything.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ioError } from './errors.js';
import { isCode, processAlive, thisProcess } from './lock.js';

const DIR = 'engines';
const NAME = /^(\d+)-([0-9a-f-]*)$/;

const fileOf = (dir: string, p: { pid: number; boot: string }): string => join(dir, DIR, `${p.pid}-${p.boot}`);

/** Registers this process; the returned function unregisters it. A failure is a StoreError. */
export function register(dir: string): () => void {
  const file = fileOf(dir, thisProcess());
  try {
    // Not `recursive`: the state directory exists (the store made it), and a recursive mkdir
    // reports a read-only file system as ENOENT.
    try {
      mkdirSync(join(dir, DIR), { mode: 0o700 });
    } catch (err) {
      if (!isCode(err, 'EEXIST')) throw err;
    }
    writeFileSync(file, '');
  } catch (err) {
    throw ioError(file, 'cannot register this engine as', err);
  }
  return () => rmSync(file, { force: true });
}

/** The pids of the other live processes with an engine open on `dir`. */
export function others(dir: string): number[] {
  const me = thisProcess();
  let names: string[] = [];
  try {
    names = readdirSync(join(dir, DIR));
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (m === null) continue;
    const p = { pid: Number(m[1]), boot: m[2] ?? '' };
    if (p.pid === me.pid && p.boot === me.boot) continue;
    if (processAlive(p)) live.push(p.pid);
    else rmSync(join(dir, DIR, name), { force: true });
  }
  return live;
}
