// The package's layout rules that a reader relies on: nothing inside lib/ imports the package's
// own entry point (lib/index.ts is for its users; importing it from inside makes circles), and
// the `exports` map offers the engine and nf_tables on their own, and the folders of lib/ are
// layers that import only downwards (each folder's README.md says what it may import).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

import { describe, expect, it } from 'vitest';

const LIB = join(import.meta.dirname, '..', '..', 'lib');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

// The layers, lowest first, and the folders each may import. lib/index.ts (the package's entry)
// may import any of them. rtnl/ imports netns/ and nft/ because the Netlink handle is bound to
// a namespace and offers `nl.nft`.
const LAYERS: Record<string, string[]> = {
  core: [],
  netns: ['core'],
  nft: ['core'],
  rtnl: ['core', 'netns', 'nft'],
  network: ['core', 'netns', 'nft', 'rtnl'],
  cli: ['core', 'netns', 'network'],
};

/** The top-level folder of lib/ a file is in ('' for lib/index.ts). */
function layer(file: string): string {
  const parts = relative(LIB, file).split(sep);
  return parts.length > 1 ? parts[0]! : '';
}

/** Every relative import of every file in lib/, resolved to the .ts file it names. */
function imports(): { from: string; to: string }[] {
  return files(LIB).flatMap((f) =>
    [...readFileSync(f, 'utf8').matchAll(/(?:from\s*|import\(\s*)'(\.[^']+)'/g)].map((m) => ({ from: f, to: resolve(dirname(f), m[1]!.replace(/\.js$/, '.ts')) })),
  );
}

describe('layout', () => {
  it('every folder of lib/ is a known layer with a README.md', () => {
    const folders = readdirSync(LIB, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.sort()).toEqual(Object.keys(LAYERS).sort());
    for (const f of folders) expect(readFileSync(join(LIB, f, 'README.md'), 'utf8'), f).toMatch(/May import/);
  });

  it('imports between the folders of lib/ go only downwards', () => {
    const offenders = imports()
      .filter(({ from, to }) => {
        const [a, b] = [layer(from), layer(to)];
        return a !== '' && a !== b && !(LAYERS[a] ?? []).includes(b);
      })
      .map(({ from, to }) => `${relative(LIB, from)} -> ${relative(LIB, to)}`);
    expect(offenders).toEqual([]);
  });

  it('there are no import circles between the folders of lib/', () => {
    const edges = new Map<string, Set<string>>();
    for (const { from, to } of imports()) {
      const [a, b] = [layer(from), layer(to)];
      if (a !== '' && b !== '' && a !== b) edges.set(a, (edges.get(a) ?? new Set()).add(b));
    }
    const reaches = (start: string, goal: string, seen = new Set<string>()): boolean =>
      [...(edges.get(start) ?? [])].some((n) => n === goal || (!seen.has(n) && (seen.add(n), reaches(n, goal, seen))));
    expect([...edges.keys()].filter((k) => reaches(k, k))).toEqual([]);
  });

  it('every import in lib/ names a file that exists', () => {
    expect(imports().filter(({ to }) => !existsSync(to)).map(({ from, to }) => `${relative(LIB, from)} -> ${relative(LIB, to)}`)).toEqual([]);
  });

  it('no file in lib/ imports lib/index.ts', () => {
    const entry = join(LIB, 'index.ts');
    const offenders = files(LIB).filter((f) => f !== entry && [...readFileSync(f, 'utf8').matchAll(/from '(\.[^']+)'/g)].some((m) => resolve(dirname(f), m[1]!.replace(/\.js$/, '.ts')) === entry));
    expect(offenders).toEqual([]);
  });

  it('exports ".", "./network" and "./nft", types first', () => {
    const pkg = JSON.parse(readFileSync(join(LIB, '..', 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string> | string> };
    for (const [key, dist] of [['.', 'index'], ['./network', 'network/index'], ['./nft', 'nft/index']] as const) {
      expect(pkg.exports[key], key).toEqual({ types: `./dist/${dist}.d.ts`, import: `./dist/${dist}.js` });
      expect(Object.keys(pkg.exports[key] as object)[0], key).toBe('types');
    }
  });
});
