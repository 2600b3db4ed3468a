#!/usr/bin/env node
// Runs the test suite and fails it if the machine's own network namespace changed: the named
// namespaces, the links and the nf_tables tables must be the same after as before, and so must
// /etc/netns (sandboxes' resolv.conf and hosts) and /run/nlnet/netns (namespace owner markers). (A vitest
// global teardown can only log, not fail the run, so the check wraps vitest instead.)
// Usage: node test/tools/leak-check.mjs [vitest args…]. NLNET_LEAK_CHECK=0 skips the check,
// for developers running several test processes at once.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

function snapshot() {
  if (process.getuid?.() !== 0 || process.env.NLNET_LEAK_CHECK === '0') return '';
  const run = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' });
    } catch {
      return ''; // not installed: nothing to compare
    }
  };
  const links = run('ip', ['-o', 'link', 'show'])
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0])
    .filter(Boolean)
    .sort();
  const ns = run('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter(Boolean).sort();
  const tables = run('nft', ['list', 'tables']).trim();
  const entries = (dir) => {
    try {
      return readdirSync(dir).sort();
    } catch {
      return []; // not there: nothing to leak
    }
  };
  // Sandboxes' resolv.conf and hosts, and the namespace owner markers (lib/network/owner.ts).
  const etc = entries('/etc/netns');
  const marks = entries('/run/nlnet/netns');
  return JSON.stringify({ links, ns, tables, etc, marks });
}

const before = snapshot();
const vitest = spawnSync('npx', ['vitest', 'run', ...process.argv.slice(2)], { stdio: 'inherit' });
const after = snapshot();
if (after !== before) {
  console.error(`\nFAIL: the tests changed the machine's own network namespace\n  before ${before}\n  after  ${after}`);
  process.exit(1);
}
process.exit(vitest.status ?? 1);
