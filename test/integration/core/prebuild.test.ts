// The published tarball installs without a compiler: `npm pack` (with the prebuilds `npm run
// prebuild` made), then `npm install <tarball>` in an empty directory whose PATH holds only node,
// npm and sh — no g++, gcc, cc, c++, make or python3 — and the addon loads from prebuilds/.
//
// Everything happens in temp dirs: the package is packed from a staging copy of its shipped files
// (so `prepare`'s tsc writes the copy's dist/, not the one other tests' CLI runs read), and a
// prebuild is made there when the repo's is missing or older than native/ (scripts/prebuild.mjs
// builds in a staging dir of its own, so build/Release/nlnet.node is never touched).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { name: string; version: string; files: string[] };
const ELF_MACHINE: Record<string, number> = { x64: 62, arm64: 183 }; // EM_X86_64, EM_AARCH64
const host = arch();
const repoPrebuild = join(repo, 'prebuilds', `linux-${host}`, 'nlnet.node');

// ip link add veth0 mtu 1400 type veth peer name veth1 (the vector test/unit/core/codec.test.ts decodes)
const VETH_ADD =
  '640000001000050600000000000000000000000000000000000000000000000008000400780500000a00030076657468300000003000120008000100766574682400020020000100000000000000000000000000000000000a0003007665746831000000';

function which(cmd: string): string | undefined {
  const r = spawnSync('/bin/sh', ['-c', 'command -v "$1"', 'sh', cmd], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Newest modification time under `path`. */
function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((e) => newest(join(path, e))));
}

/** Whether the repo's prebuild exists and was made from the current native sources. */
function repoPrebuildFresh(): boolean {
  return existsSync(repoPrebuild) && statSync(repoPrebuild).mtimeMs >= Math.max(newest(join(repo, 'native')), newest(join(repo, 'binding.gyp')));
}

/** The ELF e_machine of a file. */
function elfMachine(file: string): number {
  return readFileSync(file).readUInt16LE(18);
}

/** This process's environment without what an enclosing `npm test` exported to its scripts. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function check(r: SpawnSyncReturns<string>, what: string): string {
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${what} exited with ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const npm = which('npm');
const canCompile = ['g++', 'make', 'python3'].every((c) => which(c) !== undefined);
const skipReason =
  process.platform !== 'linux' || !(host in ELF_MACHINE)
    ? `prebuilds are made for linux-x64 and linux-arm64, not ${process.platform}-${host}`
    : npm === undefined
      ? 'npm is not on PATH'
      : !existsSync(repoPrebuild) && !canCompile
        ? `no prebuilds/linux-${host}/nlnet.node and no g++, make and python3 to make one: run npm run prebuild`
        : undefined;
if (skipReason) console.warn(`skipped: ${skipReason}`);

describe.skipIf(skipReason !== undefined)(`npm install of the packed tarball without a compiler (${skipReason ?? `linux-${host}`})`, () => {
  let tmp = '';
  let tarball = '';
  let shipped: string[] = [];
  /** A PATH with node, npm and sh only. */
  let bareEnv: Record<string, string> = {};
  /** The project the plain install made; the last test reads its copy of the prebuilds. */
  let app = '';

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'nlnet-pack-test-'));
    const stage = join(tmp, 'package');
    mkdirSync(stage);
    // What `files` ships, minus what packing makes (dist/ by `prepare`), plus what `prepare` needs.
    const entries = new Set([...pkg.files.filter((f) => f !== 'dist' && f !== 'prebuilds'), 'lib', 'tsconfig.json', 'package.json', 'README.md', 'LICENSE']);
    for (const e of entries) if (existsSync(join(repo, e))) cpSync(join(repo, e), join(stage, e), { recursive: true });
    symlinkSync(join(repo, 'node_modules'), join(stage, 'node_modules'), 'dir');

    if (repoPrebuildFresh() || (!canCompile && existsSync(repoPrebuild))) {
      console.log(`using the repo's prebuilds/ (${readdirSync(join(repo, 'prebuilds')).join(', ')})`);
      cpSync(join(repo, 'prebuilds'), join(stage, 'prebuilds'), { recursive: true });
    } else {
      // Only the host's architecture: the cross compiler is `npm run prebuild`'s business.
      console.log(`prebuilds/linux-${host}/nlnet.node is missing or older than native/: building one for this test`);
      const started = Date.now();
      check(spawnSync(process.execPath, [join(repo, 'scripts', 'prebuild.mjs'), '--out', stage, host], { cwd: repo, env: cleanEnv(), encoding: 'utf8' }), 'scripts/prebuild.mjs');
      console.log(`prebuild ${host}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }

    const out = check(spawnSync(npm!, ['pack', '--json', '--pack-destination', tmp], { cwd: stage, env: cleanEnv(), encoding: 'utf8' }), 'npm pack');
    // `prepare` prints to the same stdout: the JSON report is the last thing written.
    const report = JSON.parse(out.slice(out.search(/^\[/m))) as { filename: string; size: number; files: { path: string }[] }[];
    tarball = join(tmp, report[0]!.filename);
    shipped = report[0]!.files.map((f) => f.path);
    console.log(`${report[0]!.filename}: ${(report[0]!.size / 1024).toFixed(0)} KiB, ${shipped.length} files`);

    const bin = join(tmp, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync(realpathSync(npm!), join(bin, 'npm'));
    // npm runs the package's install script (node-gyp-build) with `sh -c`, found on PATH.
    symlinkSync(realpathSync('/bin/sh'), join(bin, 'sh'));
    bareEnv = cleanEnv({ PATH: bin });
  }, 600_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** `npm install <tarball> ...args` in a new empty project under the bare PATH; returns its dir. */
  function install(name: string, args: string[]): string {
    const app = join(tmp, name);
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `nlnet-${name}`, private: true, type: 'module' }));
    const started = Date.now();
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...args, tarball], { cwd: app, env: bareEnv, encoding: 'utf8' });
    console.log(`npm install ${args.join(' ')} <tarball> without a compiler: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    check(r, 'npm install');
    return app;
  }

  /** In `app`, imports nlnet and uses the addon; returns which file node-gyp-build loaded. */
  function load(app: string): string {
    const script = `
      import { createRequire } from 'node:module';
      import { dirname } from 'node:path';
      import { pathToFileURL } from 'node:url';
      const nlnet = await import('nlnet');
      const dir = dirname(createRequire(process.cwd() + '/').resolve('nlnet/package.json'));
      const loaded = createRequire(dir + '/package.json')('node-gyp-build').resolve(dir);
      const { native } = await import(pathToFileURL(dir + '/dist/core/binding.js').href);
      const [m] = native.decode(0, Buffer.from('${VETH_ADD}', 'hex'));
      const nl = await nlnet.Netlink.open();
      const links = (await nl.link.list()).map((l) => l.name);
      nl.close();
      console.log(JSON.stringify({ loaded, decoded: { name: m.body.name, mtu: m.body.mtu }, links }));
    `;
    const out = check(spawnSync('node', ['--input-type=module', '-e', script], { cwd: app, env: bareEnv, encoding: 'utf8' }), 'node -e import("nlnet")');
    const got = JSON.parse(out.trim().split('\n').pop()!) as { loaded: string; decoded: object; links: string[] };
    expect(got.decoded).toEqual({ name: 'veth0', mtu: 1400 });
    expect(got.links).toContain('lo');
    return got.loaded;
  }

  const prebuildIn = (app: string): string => join(realpathSync(app), 'node_modules', pkg.name, 'prebuilds', `linux-${host}`, 'nlnet.node');

  it('packs dist/, the prebuilds and the sources a compile would need', () => {
    expect(shipped).toContain('dist/index.js');
    expect(shipped).toContain(`prebuilds/linux-${host}/nlnet.node`);
    expect(shipped).toContain('binding.gyp');
    expect(shipped).toContain('native/core/addon.cc');
    expect(shipped).toContain('native/nft/expr/counter.cc');
    expect(shipped.filter((f) => f.startsWith('build/'))).toEqual([]);
  });

  it('the PATH it installs with has no compiler, make or python', () => {
    for (const cmd of ['g++', 'gcc', 'cc', 'c++', 'make', 'python3', 'python']) {
      const r = spawnSync('/bin/sh', ['-c', 'command -v "$1"', 'sh', cmd], { env: bareEnv, encoding: 'utf8' });
      expect(r.stdout.trim(), cmd).toBe('');
    }
  });

  it('npm install <tarball> takes the prebuild, never runs node-gyp, and the addon loads from it', () => {
    // The install script (node-gyp-build) runs: it loads the prebuild and so does not compile.
    app = install('app', ['--foreground-scripts']);
    // node-gyp's first act is to write build/: its absence says the fallback never started.
    expect(existsSync(join(app, 'node_modules', pkg.name, 'build'))).toBe(false);
    expect(load(app)).toBe(prebuildIn(app));
  }, 300_000);

  it('with install scripts blocked (npm allowScripts, --ignore-scripts) the prebuild still loads', () => {
    // lib/core/binding.ts calls node-gyp-build at import, so nothing needs to run at install time.
    const blocked = install('app-no-scripts', ['--ignore-scripts']);
    expect(load(blocked)).toBe(prebuildIn(blocked));
  }, 300_000);

  it('every shipped prebuild is a binary for its architecture', () => {
    const prebuilds = shipped.filter((f) => /^prebuilds\/linux-[^/]+\/nlnet\.node$/.test(f));
    if (!prebuilds.some((f) => f.includes('arm64'))) console.warn('no linux-arm64 prebuild in the tarball: `npm run prebuild` makes it');
    for (const f of prebuilds) {
      const a = f.split('/')[1]!.slice('linux-'.length);
      expect(elfMachine(join(app, 'node_modules', pkg.name, f)), f).toBe(ELF_MACHINE[a]);
    }
  });
});
