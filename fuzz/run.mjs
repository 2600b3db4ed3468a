// npm run fuzz -- [--seconds N] [--runs N] [--jobs N] [--target NAME]…
//
// Builds one libFuzzer target per decoder entry point (fuzz/*.cc) against the real native/
// sources, with AddressSanitizer and UndefinedBehaviorSanitizer, seeds each from the unit tests'
// golden bytes (seeds.mjs), runs each for N seconds (default 10; with --runs, until that many
// executions or N seconds, whichever comes first) and prints its executions,
// exec/s and whether it found anything. Exits 1 on any crash, leak, undefined behaviour or
// timeout; the input is kept in fuzz/build/crashes/, and belongs in
// test/unit/fuzz-regressions.test.ts and fuzz/regressions/<target>/ once fixed.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { writeSeeds } from './seeds.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const build = join(here, 'build');
const CXX = process.env.CXX_FUZZ ?? 'clang++';

// The addon's sources that talk to the kernel or to JS rather than decode (the executors' steps,
// the namespace threads and their tasks among them): none of them is a decoder, and
// core/addon.cc's NODE_API_MODULE would register a module nobody loads. netns/ has no decoder at
// all. Paths are relative to native/, without .cc.
const NOT_DECODERS = new Set(['core/addon', 'core/handle', 'core/steps', 'core/ns_thread', 'core/ns_task', 'core/socket', 'core/errors', 'rtnl/events']);
const isDecoder = (s) => !NOT_DECODERS.has(s) && !s.startsWith('netns/');

// The codec sources come from binding.gyp, so that a new family file is fuzzed (and linked:
// core/registry.cc refers to every schema) as soon as the addon builds it.
function codecSources() {
  const gyp = JSON.parse(readFileSync(join(root, 'binding.gyp'), 'utf8'));
  return gyp.targets[0].sources.map((s) => s.replace(/^native\/|\.cc$/g, '')).filter(isDecoder);
}

function targets() {
  const codec = codecSources();
  return [
    { name: 'attr', objs: ['core/attr'] },
    { name: 'link', objs: codec },
    { name: 'addr', objs: codec },
    { name: 'route', objs: codec },
    { name: 'neigh', objs: codec },
    { name: 'nft', objs: codec },
    // core/socket.cc's parse_nlmsgerr; core/errors.cc for Failure.
    { name: 'ack', objs: ['core/attr', 'core/socket', 'core/errors'] },
  ];
}

function parseArgs(argv) {
  const opts = { seconds: 10, runs: 0, jobs: availableParallelism(), only: [] };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--seconds') opts.seconds = Number(value());
    else if (flag === '--runs') opts.runs = Number(value());
    else if (flag === '--jobs') opts.jobs = Number(value());
    else if (flag === '--target') opts.only.push(value());
    else fail(`unknown argument '${argv[i]}' (expected --seconds N, --runs N, --jobs N, --target NAME)`);
  }
  if (!(opts.seconds >= 1) || !Number.isInteger(opts.seconds)) fail('--seconds takes a whole number of seconds, at least 1');
  if (!(opts.runs >= 0) || !Number.isInteger(opts.runs)) fail('--runs takes a whole number of executions');
  if (!(opts.jobs >= 1) || !Number.isInteger(opts.jobs)) fail('--jobs takes a whole number, at least 1');
  return opts;
}

function fail(message) {
  console.error(`fuzz: ${message}`);
  process.exit(2);
}

// native/ itself, as binding.gyp has it (includes read "core/attr.h"), then napi.h and node's
// headers (node_api.h, uv.h): the codec headers include napi.h because the encoding half takes JS
// values. Nothing of node is linked or run.
function includeDirs() {
  const require = createRequire(join(root, 'package.json'));
  const napi = join(root, require('node-addon-api').include_dir);
  const candidates = [
    process.env.NODE_INCLUDE_DIR,
    join(dirname(process.execPath), '..', 'include', 'node'),
    join(process.env.HOME ?? '', '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ].filter(Boolean);
  const node = candidates.find((d) => existsSync(join(d, 'node_api.h')));
  if (!node) fail(`node's headers (node_api.h) not found in ${candidates.join(', ')}: run \`npx node-gyp install\`, or set NODE_INCLUDE_DIR`);
  return [join(root, 'native'), napi, node];
}

function checkClang() {
  const r = spawnSync(CXX, ['--version'], { encoding: 'utf8' });
  if (r.error?.code === 'ENOENT')
    fail(`${CXX} not found. The fuzz targets need clang with libFuzzer and the sanitizers: apt-get install clang libclang-rt-dev`);
  if (r.status !== 0) fail(`${CXX} --version failed: ${r.stderr}`);
  return r.stdout.split('\n')[0];
}

// As binding.gyp defines them, so that napi.h compiles the same way. C++17 is all the decoders
// need; the addon itself builds as C++20.
const DEFINES = ['-DNAPI_VERSION=8', '-DNODE_ADDON_API_DISABLE_DEPRECATED', '-DNODE_ADDON_API_CPP_EXCEPTIONS'];
const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined'];
const CXXFLAGS = ['-std=c++17', '-g', '-O1', ...SANITIZE, ...DEFINES];

function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

async function pool(items, jobs, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  return results;
}

const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

/** The .h files in dir and, with deep, in its subfolders (native/ is split into folders). */
function headersIn(dir, deep) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return deep ? headersIn(p, deep) : [];
    return e.name.endsWith('.h') ? [p] : [];
  });
}

function newestHeader() {
  return Math.max(...[...headersIn(join(root, 'native'), true), ...headersIn(here, false)].map(mtime));
}

async function compile(list, includes, jobs, objDir) {
  const inc = includes.map((d) => `-I${d}`);
  // Objects built with other flags or headers (another clang, another node) are all stale.
  const stamp = join(objDir, 'flags');
  const flags = [CXX, ...CXXFLAGS, ...inc].join(' ');
  const fresh = existsSync(stamp) && readFileSync(stamp, 'utf8') === flags;
  const headers = fresh ? newestHeader() : Infinity;
  const failed = [];
  await pool(list, jobs, async ({ src, obj, flags }) => {
    if (mtime(obj) > Math.max(mtime(src), headers)) return;
    mkdirSync(dirname(obj), { recursive: true });
    const r = await run(CXX, [...CXXFLAGS, ...flags, ...inc, '-c', src, '-o', obj]);
    if (r.code !== 0) failed.push(`${relative(root, src)}:\n${r.out}`);
  });
  if (failed.length) fail(`compilation failed:\n${failed.join('\n')}`);
  writeFileSync(stamp, flags);
}

// The encoding half of each codec file calls N-API, and errors.cc calls libuv; the fuzzers run
// only the decoding half, so those symbols are defined here as traps that abort with their name:
// a decoder that reached JS would be a finding, not a link error.
function writeTraps(objs, file) {
  const names = new Set();
  for (const obj of objs) {
    const r = spawnSync('nm', ['-u', '--format=posix', obj], { encoding: 'utf8' });
    if (r.status !== 0) fail(`nm ${obj} failed: ${r.error?.message ?? r.stderr}`);
    for (const line of r.stdout.split('\n')) {
      const name = line.split(' ')[0];
      if (/^(napi_|node_api_|uv_)/.test(name)) names.add(name);
    }
  }
  const body = [...names].sort().map((n) => `void ${n}(void) { trap("${n}"); }`);
  const text = [
    '// Generated by fuzz/run.mjs: the N-API and libuv functions the native objects refer to, as traps.',
    '#include <stdio.h>',
    '#include <stdlib.h>',
    'static void trap(const char* name) {',
    '  fprintf(stderr, "fuzz: %s called: a decoder reached N-API or libuv\\n", name);',
    '  abort();',
    '}',
    ...body,
    '',
  ].join('\n');
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text);
}

async function buildAll(list, jobs) {
  const includes = includeDirs();
  const objDir = join(build, 'obj');
  const binDir = join(build, 'bin');
  mkdirSync(objDir, { recursive: true });
  mkdirSync(binDir, { recursive: true });
  const natives = [...new Set(list.flatMap((t) => t.objs))];
  // fuzzer-no-link: coverage for libFuzzer without a second main(); the target's own file links it.
  await compile(
    [
      ...natives.map((n) => ({ src: join(root, 'native', `${n}.cc`), obj: join(objDir, `${n}.o`), flags: ['-fsanitize=fuzzer-no-link'] })),
      ...list.map((t) => ({ src: join(here, `${t.name}.cc`), obj: join(objDir, `fuzz_${t.name}.o`), flags: ['-fsanitize=fuzzer', '-Wall', '-Wextra', '-Werror'] })),
    ],
    includes,
    jobs,
    objDir,
  );
  const trapSrc = join(build, 'traps.c');
  writeTraps(natives.map((n) => join(objDir, `${n}.o`)), trapSrc);
  const trapObj = join(objDir, 'traps.o');
  if (mtime(trapObj) < mtime(trapSrc)) {
    const r = await run(CXX.replace(/\+\+$/, ''), ['-g', '-O1', '-c', trapSrc, '-o', trapObj]);
    if (r.code !== 0) fail(`traps.c:\n${r.out}`);
  }
  await pool(list, jobs, async (t) => {
    const objs = [join(objDir, `fuzz_${t.name}.o`), ...t.objs.map((n) => join(objDir, `${n}.o`)), trapObj];
    const bin = join(binDir, t.name);
    if (mtime(bin) > Math.max(...objs.map(mtime))) return;
    const r = await run(CXX, [...CXXFLAGS, '-fsanitize=fuzzer', ...objs, '-o', bin]);
    if (r.code !== 0) {
      const hint = /clang_rt|libFuzzer|fuzzer/.test(r.out)
        ? '\nthe libFuzzer and sanitizer runtimes are missing: apt-get install clang libclang-rt-dev'
        : '';
      fail(`linking ${t.name} failed:\n${r.out}${hint}`);
    }
  });
}

function stat(log, key) {
  const m = log.match(new RegExp(`stat::${key}:\\s*(\\d+)`));
  return m ? Number(m[1]) : undefined;
}

async function fuzz(t, seconds, runs) {
  const corpus = join(build, 'corpus', t.name);
  const regressions = join(here, 'regressions', t.name);
  const crashes = join(build, 'crashes');
  mkdirSync(crashes, { recursive: true });
  const args = [
    `-max_total_time=${seconds}`,
    ...(runs ? [`-runs=${runs}`] : []),
    '-print_final_stats=1',
    // A netlink reply for one object is well under 4 KiB (the largest golden vector is ~1.3 KiB);
    // longer inputs would only slow the mutator down.
    '-max_len=4096',
    // Decoding is linear in the input: ten seconds on 4 KiB is a hang, not a slow case.
    '-timeout=10',
    `-artifact_prefix=${crashes}/${t.name}-`,
    corpus,
    ...(existsSync(regressions) ? [regressions] : []),
  ];
  const started = Date.now();
  const r = await new Promise((resolve) => {
    const child = spawn(join(build, 'bin', t.name), args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1', ASAN_OPTIONS: 'detect_leaks=1' },
    });
    let log = '';
    child.stderr.on('data', (d) => (log += d));
    child.on('close', (code) => resolve({ code, log }));
  });
  mkdirSync(join(build, 'logs'), { recursive: true });
  writeFileSync(join(build, 'logs', `${t.name}.log`), r.log);
  const artifact = r.log.match(/Test unit written to (\S+)/)?.[1];
  const summary = r.log.match(/SUMMARY: (.*)/)?.[1] ?? r.log.match(/==\d+== ?ERROR: (.*)/)?.[1];
  return {
    name: t.name,
    ok: r.code === 0,
    execs: stat(r.log, 'number_of_executed_units'),
    perSec: stat(r.log, 'average_exec_per_sec'),
    seconds: (Date.now() - started) / 1000,
    artifact,
    summary,
    code: r.code,
  };
}

const fmt = (n) => (n === undefined ? '?' : n.toLocaleString('en-US'));

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const clang = checkClang();
  let list = targets();
  if (opts.only.length) {
    const unknown = opts.only.filter((n) => !list.some((t) => t.name === n));
    if (unknown.length) fail(`unknown target ${unknown.join(', ')} (targets: ${list.map((t) => t.name).join(', ')})`);
    list = list.filter((t) => opts.only.includes(t.name));
  }
  const t0 = Date.now();
  console.log(`fuzz: building ${list.length} targets with ${clang}`);
  await buildAll(list, opts.jobs);
  // Fresh seeds each run; what libFuzzer adds to the corpus stays until fuzz/build is removed.
  const counts = writeSeeds(join(build, 'corpus'));
  console.log(`fuzz: built in ${((Date.now() - t0) / 1000).toFixed(0)} s; running each target ${opts.runs ? `${fmt(opts.runs)} executions or ` : ''}${opts.seconds} s, ${opts.jobs} at a time`);
  const results = await pool(list, opts.jobs, async (t) => {
    const r = await fuzz(t, opts.seconds, opts.runs);
    const verdict = r.ok ? 'clean' : `FOUND ${r.summary ?? `exit ${r.code}`}${r.artifact ? ` → ${relative(root, r.artifact)}` : ''}`;
    console.log(`  ${t.name.padEnd(6)} ${fmt(r.execs).padStart(13)} execs  ${fmt(r.perSec).padStart(8)} exec/s  ${String(counts[t.name]).padStart(4)} seeds  ${verdict}`);
    return r;
  });
  const bad = results.filter((r) => !r.ok);
  console.log(`fuzz: ${bad.length ? `${bad.length} target(s) found something (logs in fuzz/build/logs/)` : 'all clean'}; ${((Date.now() - t0) / 1000).toFixed(0)} s in all`);
  process.exit(bad.length ? 1 : 0);
}

await main();
