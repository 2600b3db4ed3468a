// The C baseline (kernel-baseline.c): compiled at bench time into the run's temporary directory.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { workDir } from './sandbox.js';
import { run } from './util.js';

const SOURCE = fileURLToPath(new URL('./kernel-baseline.c', import.meta.url));

/** { bin } of the compiled baseline, or { skipped: reason } when it cannot be built. */
export function compile() {
  const bin = join(workDir(), 'kernel-baseline');
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', bin, SOURCE], { encoding: 'utf8' });
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
