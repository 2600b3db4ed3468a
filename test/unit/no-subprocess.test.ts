// nlnet speaks netlink itself: nothing in lib/ or native/ may start a process to do its work.
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

describe('no subprocess in lib/ or native/', () => {
  it.each(files(join(root, 'lib'), /\.ts$/))('%s starts no process', (file) => {
    const text = readFileSync(file, 'utf8');
    for (const re of TS_PATTERNS) expect(text, `${file} matches ${re}`).not.toMatch(re);
  });

  it.each(files(join(root, 'native'), /\.(cc|h)$/))('%s starts no process', (file) => {
    const text = readFileSync(file, 'utf8');
    for (const re of CC_PATTERNS) expect(text, `${file} matches ${re}`).not.toMatch(re);
  });

  it('catches what it looks for', () => {
    expect("import { execFile } from 'node:child_process'").toMatch(TS_PATTERNS[0]!);
    expect("await import('node:child_process')").toMatch(TS_PATTERNS[0]!);
    expect("process.binding('spawn_sync')").toMatch(TS_PATTERNS[1]!);
    expect('pid = fork();').toMatch(CC_PATTERNS[5]!);
    expect('execvp(argv[0], argv)').toMatch(CC_PATTERNS[2]!);
  });
});
