// The C baseline (kernel-baseline.c): compiled at bench time into the run's temporary directory.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { workDir } from './sandbox.js';
import { run } from './util.js';

// kernel-baseline.c (single operations, dumps) and kernel-attach.c (one engine attach), one program.
const SOURCES = ['./kernel-baseline.c', './kernel-attach.c'].map((f) => fileURLToPath(new URL(f, import.meta.url)));

let compiled;

/** { bin } of the compiled baseline, or { skipped: reason } when it cannot be built; compiled once per run. */
export function compile() {
  compiled ??= build();
  return compiled;
}

function build() {
  const bin = join(workDir(), 'kernel-baseline');
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', bin, ...SOURCES], { encoding: 'utf8' });
  if (r.error) return { skipped: `no C compiler (${r.error.code})` };
  if (r.status !== 0) return { skipped: `cc failed: ${r.stderr.trim().split('\n')[0]}` };
  return { bin };
}

/** One do/undo iteration of MODE (veth, addr, route, netns): ms of { add, del, both }. */
export function pair(bin, mode, args) {
  const us = {};
  for (const line of run(bin, [mode, ...args, '1']).trim().split('\n')) {
    const [name, value] = line.split(' ');
    us[name] = Number(value);
  }
  return { add: us[`${mode}_add`] / 1000, del: us[`${mode}_del`] / 1000, both: us[mode] / 1000 };
}

/** Median ms of N bare dumps (mode dump-link or dump-route), and how many objects came back. */
export function dump(bin, mode, args, n) {
  const [, us, count] = run(bin, [mode, ...args, String(n)]).trim().split(' ');
  return { ms: Number(us) / 1000, count: Number(count) };
}

/**
 * One long-lived `kernel-baseline attach-steps HOST S VETH ADDR PORT` process: attach() and
 * detach() each run that step in it and resolve to the ms it measured itself (the kernel's work,
 * no pipe or process start in it); close() ends its input and waits for it. A step that fails
 * makes the process exit with a message, and the pending and every later step reject with it.
 */
export function attachSteps(bin, { host, s, veth, addr, port }) {
  const child = spawn(bin, ['attach-steps', host, s, veth, addr, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let failure;
  const waiting = [];
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  child.stdin.on('error', () => undefined); // EPIPE once it died: reported through 'close'
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.resolve(line));
  const fail = (why) => {
    failure ??= new Error(`kernel-baseline attach-steps: ${why}`);
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  child.on('error', (e) => fail(e.message));
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code === 0 ? undefined : `exit ${signal ?? code}: ${stderr.trim()}`)));
  exited.then((why) => fail(why ?? 'exited'));
  const step = (name) =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      waiting.push({ resolve, reject });
      child.stdin.write(`${name}\n`);
    }).then((line) => {
      const [what, us] = line.split(' ');
      if (what !== name || !Number.isFinite(Number(us))) throw new Error(`kernel-baseline attach-steps: unexpected answer "${line}" to ${name}`);
      return Number(us) / 1000;
    });
  return {
    attach: () => step('attach'),
    detach: () => step('detach'),
    async close() {
      child.stdin.end();
      const why = await exited;
      if (why) throw new Error(`kernel-baseline attach-steps: ${why}`);
    },
  };
}
