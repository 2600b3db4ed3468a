#!/usr/bin/env node
// Prints, as hex, the netlink messages a command sends (seq and pid zeroed): how the golden
// vectors in test/unit were captured. Runs the command under strace against a scratch namespace,
// whose name replaces '@' in the command:
//   node test/tools/capture.mjs -- ip -n @ link add veth0 type veth peer name veth1
// Setup commands run first inside the namespace and are not traced:
//   node test/tools/capture.mjs --setup 'ip link add br0 type bridge' -- bridge -n @ link set ...
// The tool must enter the namespace itself (-n): strace then cannot tell which netlink protocol
// the socket speaks and prints the raw bytes instead of decoding them. For nft, which has no -n,
// '%NS%' inside an argument is replaced too:
//   node test/tools/capture.mjs -- nsenter --net=/run/netns/%NS% nft add table ip t
// Needs root and strace. Prints one line per message: type, flags and the bytes.
import { execFileSync, spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const setups = [];
while (args[0] === '--setup') {
  args.shift();
  setups.push(String(args.shift()));
}
if (args[0] === '--') args.shift();
if (args.length === 0) {
  console.error('usage: capture.mjs [--setup CMD]... -- COMMAND...');
  process.exit(2);
}

const ns = `nlcap${process.pid}`;
execFileSync('ip', ['netns', 'add', ns]);
try {
  for (const s of setups) execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', s]);
  const r = spawnSync('strace', ['-X', 'raw', '-xx', '-s', '1000000', '-e', 'trace=sendmsg,sendto',
    ...args.map((a) => (a === '@' ? ns : a.replaceAll('%NS%', ns)))], { encoding: 'utf8' });
  const re = /\{nlmsg_len=(\d+), nlmsg_type=(0x[0-9a-f]+|\d+), nlmsg_flags=(0x[0-9a-f]+|\d+), nlmsg_seq=\d+, nlmsg_pid=\d+\}(?:, "((?:\\x[0-9a-f]{2})*)")?/g;
  for (const m of r.stderr.matchAll(re)) {
    const hdr = Buffer.alloc(16);
    hdr.writeUInt32LE(Number(m[1]), 0);
    hdr.writeUInt16LE(Number(m[2]), 4);
    hdr.writeUInt16LE(Number(m[3]), 6);
    const body = Buffer.from((m[4] ?? '').replace(/\\x/g, ''), 'hex');
    console.log(`type=${Number(m[2])} flags=0x${Number(m[3]).toString(16)} ${Buffer.concat([hdr, body]).toString('hex')}`);
  }
  if (r.status !== 0) process.stderr.write(r.stderr.split('\n').filter((l) => !l.startsWith('sendmsg') && !l.startsWith('sendto')).join('\n'));
} finally {
  execFileSync('ip', ['netns', 'del', ns]);
}
