// nlnet speaks netlink itself: nothing in lib/ or native/ may start a process to do its work.
// The one exception is native/netns/spawn.cc, which starts the user's own command for `nlnet exec` and
// `nlnet run` (as `ip netns exec` does); it may fork and execve, and nothing else may.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p, ext);
    return ext.test(name) ? [p] : [];
  });
}

// Ways to start a process from TypeScript/JavaScript and from C/C++.
// In Node every way to start a process goes through child_process (or the internal bindings
// behind it); a method called exec, like the native handle's batch call, is no such way.
const TS_PATTERNS = [/child_process/, /process\.binding/, /spawn_sync/];
const CC_PATTERNS = [/\bsystem\s*\(/, /\bpopen\s*\(/, /\bexec[lv]p?e?\s*\(/, /\bfexecve\s*\(/, /\bposix_spawnp?\s*\(/, /\bv?fork\s*\(/, /\bclone3?\s*\(/, /uv_spawn/];

/** C++ without its // comments. */
const codeOf = (file: string): string => readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '');

/** The user's command for `nlnet exec`/`run`: fork() and execve() only. */
const SPAWN = join(root, 'native', 'netns', 'spawn.cc');
const SPAWN_ALLOWED = [/\bv?fork\s*\(/, /\bexec[lv]p?e?\s*\(/];

describe('no subprocess in lib/ or native/', () => {
  it.each(files(join(root, 'lib'), /\.ts$/))('%s starts no process', (file) => {
    const text = readFileSync(file, 'utf8');
    for (const re of TS_PATTERNS) expect(text, `${file} matches ${re}`).not.toMatch(re);
  });

  it.each(files(join(root, 'native'), /\.(cc|h)$/))('%s starts no process', (file) => {
    // spawn.cc's comments explain what it does (and why not uv_spawn); its code is what counts.
    const text = file === SPAWN ? codeOf(SPAWN) : readFileSync(file, 'utf8');
    const allowed = file === SPAWN ? SPAWN_ALLOWED.map(String) : [];
    for (const re of CC_PATTERNS) if (!allowed.includes(String(re))) expect(text, `${file} matches ${re}`).not.toMatch(re);
  });

  it('native/netns/spawn.cc, the exception, forks and execs only the user command', () => {
    const text = codeOf(SPAWN);
    expect(text.match(/\bfork\s*\(/g)?.length, 'one fork() call site').toBe(1);
    expect(text).toMatch(/\bexecve\s*\(/);
    expect(text).not.toMatch(/\bexecv?p\s*\(|\bsystem\s*\(|\bpopen\s*\(/);
  });

  it('catches what it looks for', () => {
    expect("import { execFile } from 'node:child_process'").toMatch(TS_PATTERNS[0]!);
    expect("await import('node:child_process')").toMatch(TS_PATTERNS[0]!);
    expect("process.binding('spawn_sync')").toMatch(TS_PATTERNS[1]!);
    expect('pid = fork();').toMatch(CC_PATTERNS[5]!);
    expect('execvp(argv[0], argv)').toMatch(CC_PATTERNS[2]!);
  });
});
