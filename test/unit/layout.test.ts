// The package's layout rules that a reader relies on: nothing inside lib/ imports the package's
// own entry point (lib/index.ts is for its users; importing it from inside makes circles), and
// the `exports` map offers the engine and nf_tables on their own.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

const LIB = join(import.meta.dirname, '..', '..', 'lib');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('layout', () => {
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
