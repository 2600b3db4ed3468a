#!/usr/bin/env node
// Makes the N-API prebuilds the npm tarball ships (package.json `files`), with prebuildify:
// prebuilds/linux-x64/nlnet.node and prebuilds/linux-arm64/nlnet.node, the one that is not the
// host's cross-compiled with Debian's cross toolchain (g++-aarch64-linux-gnu, g++-x86-64-linux-gnu).
// node-gyp-build loads one of these when it matches and compiles only when none does.
//
// Usage: node scripts/prebuild.mjs [--check] [--out DIR] [ARCH…]   ARCH: x64, arm64 (default: both)
// --check builds nothing: it fails unless each prebuild is there, an ELF file for its
// architecture, and newer than native/ and binding.gyp (a guard before `npm publish`).
//
// Each architecture builds in a staging copy of binding.gyp and native/ in a temp dir, never in
// the package directory: prebuildify runs `node-gyp rebuild` in its cwd, which deletes build/ and
// then moves build/Release/nlnet.node away — the binary a clone's `npm install` made and the test
// suite loads. Separate copies also let the architectures build at the same time.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch as hostArch, availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The kernel UAPI headers the host's own compiler uses. */
const HOST_UAPI = '/usr/include/linux';

/** The Debian cross toolchain prefix and the ELF e_machine of each architecture we ship. */
const ARCHES = {
  x64: { triple: 'x86_64-linux-gnu', machine: 62 }, // EM_X86_64
  arm64: { triple: 'aarch64-linux-gnu', machine: 183 }, // EM_AARCH64
};

function usage(message) {
  console.error(`${message}\nusage: node scripts/prebuild.mjs [--check] [--out DIR] [${Object.keys(ARCHES).join('|')}]…`);
  process.exit(2);
}

function parseArgs(argv) {
  let out = root;
  let check = false;
  const arches = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--check') {
      check = true;
    } else if (a === '--out') {
      if (argv[i + 1] === undefined) usage('--out needs a directory');
      out = resolve(argv[++i]);
    } else if (Object.hasOwn(ARCHES, a)) {
      if (!arches.includes(a)) arches.push(a);
    } else {
      usage(`unknown argument ${JSON.stringify(a)}`);
    }
  }
  return { out, check, arches: arches.length ? arches : Object.keys(ARCHES) };
}

function onPath(cmd) {
  return spawnSync('/bin/sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
}

/**
 * The headers node-gyp compiles against. Run through npm, npm_config_nodedir carries the
 * machine's `nodedir`; run directly, we point at the running Node's own prefix when its
 * include/node matches its version, as node-gyp does for prefix builds. Without either, node-gyp
 * would download headers from nodejs.org, which a build machine may not reach.
 */
function nodedirEnv() {
  if (process.env.npm_config_nodedir) return {};
  const prefix = resolve(dirname(process.execPath), '..');
  const header = join(prefix, 'include', 'node', 'node_version.h');
  return existsSync(header) ? { npm_config_nodedir: prefix } : {};
}

/** The ELF e_machine of a file, or undefined when it is not ELF. */
function elfMachine(file) {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(20);
    readSync(fd, b, 0, 20, 0);
    if (b.readUInt32BE(0) !== 0x7f454c46) return undefined;
    return b[5] === 2 ? b.readUInt16BE(18) : b.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

/** Newest modification time under `path`. */
function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((e) => newest(join(path, e))));
}

function prebuildPath(out, arch) {
  return join(out, 'prebuilds', `linux-${arch}`, 'nlnet.node');
}

/**
 * What is wrong with `arch`'s prebuild under `out`, or undefined when it is there, for `arch`, and
 * (when `current`) newer than the sources. A fresh build skips that last test: native/ may have
 * changed since its staging copy was taken.
 */
function problem(out, arch, current) {
  const file = prebuildPath(out, arch);
  if (!existsSync(file)) return `${file} is missing: run npm run prebuild`;
  const got = elfMachine(file);
  if (got !== ARCHES[arch].machine) return `${file} is not an ELF file for ${arch} (e_machine ${got})`;
  if (current && statSync(file).mtimeMs < Math.max(newest(join(root, 'native')), newest(join(root, 'binding.gyp')))) {
    return `${file} is older than native/ or binding.gyp: run npm run prebuild`;
  }
  return undefined;
}

/** Runs `cmd` with its output prefixed by `[tag] `; resolves to its exit code. */
function run(tag, cmd, args, options) {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const [from, to] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
      createInterface({ input: from }).on('line', (line) => to.write(`[${tag}] ${line}\n`));
    }
    child.on('error', fail);
    child.on('close', (code, signal) => done(code ?? (signal ? 128 : 1)));
  });
}

async function prebuild(arch, out, jobs) {
  const { triple } = ARCHES[arch];
  const stage = mkdtempSync(join(tmpdir(), `nlnet-prebuild-${arch}-`));
  try {
    cpSync(join(root, 'package.json'), join(stage, 'package.json'));
    cpSync(join(root, 'binding.gyp'), join(stage, 'binding.gyp'));
    cpSync(join(root, 'native'), join(stage, 'native'), { recursive: true });
    // binding.gyp resolves node-addon-api and prebuildify finds node-gyp through node_modules.
    symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir');

    const env = { ...process.env, ...nodedirEnv() };
    if (!env.JOBS && !env.npm_config_jobs) env.JOBS = String(jobs);
    let strip = 'strip';
    if (arch !== hostArch()) {
      env.CC = `${triple}-gcc`;
      env.CXX = `${triple}-g++`;
      env.LINK = `${triple}-g++`;
      strip = `${triple}-strip`;
      // Debian's cross toolchain carries its own, older copy of the kernel UAPI headers (arm64:
      // linux-libc-dev-arm64-cross 6.1.4, beside the host's 6.1.x point release), which lacks
      // names the native build uses (NFT_BITWISE_MASK_XOR). linux/ is architecture-independent
      // (the per-architecture part is asm/, which stays the target's), so the cross build reads
      // the host's linux/ and both architectures compile against the same kernel interface.
      if (existsSync(HOST_UAPI)) {
        mkdirSync(join(stage, 'uapi'));
        symlinkSync(HOST_UAPI, join(stage, 'uapi', 'linux'), 'dir');
        env.CPPFLAGS = [`-isystem ${join(stage, 'uapi')}`, env.CPPFLAGS].filter(Boolean).join(' ');
      }
    }
    const args = [
      createRequire(import.meta.url).resolve('prebuildify/bin.js'),
      '--napi',
      '--strip',
      `--strip-bin=${strip}`,
      `--arch=${arch}`,
      // The running Node's version: with no nodedir, node-gyp fetches headers for --target, and
      // prebuildify's default is the newest Node it knows of. An N-API build runs on any Node.
      `--target=node@${process.versions.node}`,
      `--cwd=${stage}`,
      `--out=${out}`,
      `--cache=${join(stage, '.cache')}`,
    ];
    const code = await run(arch, process.execPath, args, { cwd: stage, env });
    if (code !== 0) throw new Error(`prebuild ${arch}: prebuildify exited with ${code}`);

    const wrong = problem(out, arch, false);
    if (wrong) throw new Error(`prebuild ${arch}: ${wrong}`);
    return prebuildPath(out, arch);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

const { out, check, arches } = parseArgs(process.argv.slice(2));
if (check) {
  const problems = arches.map((a) => problem(out, a, true)).filter(Boolean);
  for (const p of problems) console.error(p);
  process.exit(problems.length ? 1 : 0);
}
if (process.platform !== 'linux') usage('prebuilds are made on Linux');
for (const arch of arches) {
  if (arch === hostArch()) continue;
  const cxx = `${ARCHES[arch].triple}-g++`;
  if (!onPath(cxx)) usage(`${cxx} not found: install Debian's g++-${ARCHES[arch].triple.replace(/_/g, '-')} to cross-compile for ${arch}`);
}

// Split the CPUs between the architectures building side by side.
const jobs = Math.max(1, Math.floor(availableParallelism() / arches.length));
const started = Date.now();
const results = await Promise.allSettled(arches.map((a) => prebuild(a, out, jobs)));
let failed = false;
for (const r of results) {
  if (r.status === 'fulfilled') console.log(`prebuilt ${r.value}`);
  else {
    console.error(r.reason instanceof Error ? r.reason.message : r.reason);
    failed = true;
  }
}
console.log(`prebuild took ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);
