// The folders of native/ are layers, as lib/'s are (native/README.md says what each owns and may
// include): core/ includes nothing above it, rtnl/, nft/ and netns/ include core/ and themselves,
// and only the two files that wire the addon together (core/addon.cc, the module's init, and
// core/registry.cc, the table of which schema reads which message) see every folder. Includes
// of the project's own headers are written from native/ ("core/attr.h"), in native/ and fuzz/.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const NATIVE = join(ROOT, 'native');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : /\.(cc|h)$/.test(e.name) ? [join(dir, e.name)] : []));
}

// The folders each layer may include, besides its own.
const LAYERS: Record<string, string[]> = {
  core: [],
  netns: ['core'],
  nft: ['core'],
  rtnl: ['core'],
};
const SEES_ALL = ['core/addon.cc', 'core/registry.cc'];

/** A file's path from native/, with forward slashes. */
const rel = (file: string): string => relative(NATIVE, file).split(sep).join('/');

/** The quoted includes of a file (the project's own headers; system ones use <>). */
const includes = (file: string): string[] => [...readFileSync(file, 'utf8').matchAll(/^#include "([^"]+)"/gm)].map((m) => m[1]!);

describe('native layout', () => {
  it('every folder of native/ is a known layer, and native/README.md describes each', () => {
    const folders = readdirSync(NATIVE, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.sort()).toEqual(Object.keys(LAYERS).sort());
    expect(files(NATIVE).filter((f) => !f.slice(NATIVE.length + 1).includes(sep)).map(rel)).toEqual([]);
    const readme = readFileSync(join(NATIVE, 'README.md'), 'utf8');
    for (const f of folders) expect(readme, f).toContain(`## ${f}/`);
  });

  it('every include names a file from native/', () => {
    const missing = files(NATIVE).flatMap((f) => includes(f).filter((i) => !existsSync(join(NATIVE, i))).map((i) => `${rel(f)} -> ${i}`));
    expect(missing).toEqual([]);
  });

  it('includes between the folders of native/ go only downwards', () => {
    const offenders = files(NATIVE)
      .filter((f) => !SEES_ALL.includes(rel(f)))
      .flatMap((f) => {
        const from = rel(f).split('/')[0]!;
        return includes(f)
          .filter((i) => {
            const to = i.split('/')[0]!;
            return to !== from && !(LAYERS[from] ?? []).includes(to);
          })
          .map((i) => `${rel(f)} -> ${i}`);
      });
    expect(offenders).toEqual([]);
  });

  it('the fuzz targets include native headers the same way', () => {
    const fuzz = join(ROOT, 'fuzz');
    const own = readdirSync(fuzz).filter((f) => f.endsWith('.h'));
    const bad = readdirSync(fuzz)
      .filter((f) => /\.(cc|h)$/.test(f))
      .flatMap((f) => includes(join(fuzz, f)).filter((i) => !own.includes(i) && !existsSync(join(NATIVE, i))).map((i) => `fuzz/${f} -> ${i}`));
    expect(bad).toEqual([]);
  });

  it('binding.gyp builds every .cc file of native/, and only those', () => {
    const gyp = JSON.parse(readFileSync(join(ROOT, 'binding.gyp'), 'utf8')) as { targets: { sources: string[]; include_dirs: string[] }[] };
    const target = gyp.targets[0]!;
    expect([...target.sources].sort()).toEqual(files(NATIVE).filter((f) => f.endsWith('.cc')).map((f) => `native/${rel(f)}`).sort());
    expect(target.include_dirs).toContain('native');
  });
});
