#!/usr/bin/env node
// Prints, as hex, the replies a real kernel sends to a dump (seq and pid zeroed): how the golden
// dumps in test/unit/rtnl/wire-golden.ts were captured. Runs the setup commands inside a scratch
// namespace, whose name replaces '@', then dumps there through the addon's executor with the
// replies left raw, exactly as nl.link.list() and nl.route.list() receive them:
//   node test/tools/capture-dump.mjs link --setup 'ip -n @ link add p0 type veth peer name p1'
//   node test/tools/capture-dump.mjs route --setup '…'
// Needs root and a build (npm run build). Prints one message per line.
import { execFileSync } from 'node:child_process';

import { native } from '../../dist/core/binding.js';
import { netns } from '../../dist/index.js';

const [what, ...args] = process.argv.slice(2);
const setups = [];
while (args[0] === '--setup') {
  args.shift();
  setups.push(String(args.shift()));
}
// RTM_GETLINK with IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS, and RTM_GETROUTE of every table and
// family: what link.list() and route.list({ table: 'all' }) send.
const OPS = {
  link: { type: 18, flags: 0x301, body: { extMask: 8 }, raw: true },
  route: { type: 26, flags: 0x301, body: { family: 'unspec' }, raw: true },
};
if (!OPS[what] || args.length) {
  console.error('usage: capture-dump.mjs link|route [--setup CMD]...');
  process.exit(2);
}

const ns = `nlcap${process.pid}`;
await netns.create(ns);
try {
  for (const s of setups) execFileSync('sh', ['-c', s.replaceAll('@', ns)], { stdio: 'inherit' });
  const h = new native.Handle((await netns.open(ns)).fd, 0);
  const [bytes] = await h.exec([OPS[what]]);
  h.close();
  for (let p = 0; p + 16 <= bytes.length; ) {
    const len = bytes.readUInt32LE(p);
    const m = Buffer.from(bytes.subarray(p, p + len));
    m.fill(0, 8, 16);
    console.log(m.toString('hex'));
    p += (len + 3) & ~3;
  }
} finally {
  await netns.delete(ns);
}
