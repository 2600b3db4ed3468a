// Seed corpora for the fuzz targets, written to <out>/<target>/: the golden bytes of the unit
// tests (hex literals in test/unit/**/*.test.ts, each a message `ip`, `bridge` or `nft` sent or the
// kernel answered), sorted by the decoder that reads them, and, for the ack target, the kernel
// replies below. Files are named by the SHA-1 of their bytes, as libFuzzer names its own finds,
// so a vector found in two tests is written once.
//
//   node fuzz/seeds.mjs [out]     (default fuzz/build/corpus; fuzz/run.mjs calls writeSeeds)
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const NETLINK_ROUTE = 0;
const NETLINK_NETFILTER = 12;
const NLMSG_HDRLEN = 16;
const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;

// rtnetlink message types by target, and each family header's length, which the attr target
// skips to reach the attributes: ifinfomsg 16, ifaddrmsg 8, rtmsg 12, ndmsg 12.
const RTNL = [
  { target: 'link', first: 16, last: 19, header: 16 }, // RTM_NEWLINK … RTM_SETLINK
  { target: 'addr', first: 20, last: 22, header: 8 }, // RTM_NEWADDR … RTM_GETADDR
  { target: 'route', first: 24, last: 26, header: 12 }, // RTM_NEWROUTE … RTM_GETROUTE
  { target: 'neigh', first: 28, last: 30, header: 12 }, // RTM_NEWNEIGH … RTM_GETNEIGH
];
const NFGENMSG_LEN = 4;

// Replies captured from the kernel (Linux 6.x, in a scratch namespace: `unshare -n`, then
// `strace -e trace=recvmsg -e read=3 <command>`). iproute2 does not ask for NETLINK_CAP_ACK, so
// its errors echo the whole request, which parse_nlmsgerr must step over.
const KERNEL_REPLIES = [
  // ip route add 1.2.3.4 via 10.0.0.1 → ENETUNREACH, NLM_F_ACK_TLVS, NLMSGERR_ATTR_MSG
  // "Nexthop has invalid gateway" after the echoed RTM_NEWROUTE.
  '6000000002000002733c116b0b6200009bffffff2c00000018000506733c116b0000000002200000fe030001000000000800010001020304080005000a000001200001004e657874686f702068617320696e76616c6964206761746577617900',
  // ip link add x type veth peer name x → EEXIST, no extended ack, the RTM_NEWLINK echoed.
  '6800000002000000733c116b1d620000efffffff5400000010000506733c116b000000000000000000000000000000000000000006000300780000002c0012000800010076657468200002001c000100000000000000000000000000000000000600030078000000',
  // ip link add b type bridge … (iproute2's probe first) → ENODEV for an RTM_GETLINK.
  '34000000020000000000000017620000edffffff2000000010000500000000000000000000000000000000000000000000000000',
  // ip -4 addr show dev lo: the RTM_NEWADDR dump part (NLM_F_MULTI) and its NLMSG_DONE.
  '4c00000014002200743c116b11620000020880fe01000000080001007f000001080002007f000001070003006c6f0000080008008000000014000600ffffffffffffffffa7e50100a7e50100',
  '1400000003002200743c116b1162000000000000',
  // ip link set lo mtu 65536 → the ACK: error 0 and only the request's header (NLM_F_CAPPED),
  // which the kernel does for every successful request.
  '2400000002000001df3c116bf9740000000000002800000010000500df3c116b00000000',
];

// What nlnet's own sockets get (NETLINK_CAP_ACK and NETLINK_EXT_ACK on), built by hand after
// struct nlmsgerr: capped, so the TLVs follow the request's header at once.
function cappedError(errno, message, offset) {
  const request = nlmsghdr(16, 0x605, 28); // the RTM_NEWLINK refused, NLM_F_REQUEST|ACK|EXCL|CREATE
  const payload = Buffer.concat([
    i32(-errno),
    request,
    attr(1, Buffer.from(`${message}\0`)), // NLMSGERR_ATTR_MSG
    attr(2, u32(offset)), // NLMSGERR_ATTR_OFFS
  ]);
  return Buffer.concat([nlmsghdr(2, 0x300, payload.length), payload]); // NLM_F_CAPPED | NLM_F_ACK_TLVS
}

// An NLMSG_DONE ending a dump that failed, the reason after the errno (netlink_dump_done() in
// net/netlink/af_netlink.c), as transact() reads it.
function doneWithError(errno, message) {
  const payload = Buffer.concat([i32(-errno), attr(1, Buffer.from(`${message}\0`))]);
  return Buffer.concat([nlmsghdr(3, 0x200 | 0x2, payload.length), payload]); // NLM_F_ACK_TLVS | NLM_F_MULTI
}

const align4 = (n) => (n + 3) & ~3;
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const i32 = (n) => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b; };
function attr(type, data) {
  const b = Buffer.alloc(align4(4 + data.length));
  b.writeUInt16LE(4 + data.length, 0);
  b.writeUInt16LE(type, 2);
  data.copy(b, 4);
  return b;
}
function nlmsghdr(type, flags, payloadLen) {
  const b = Buffer.alloc(NLMSG_HDRLEN);
  b.writeUInt32LE(NLMSG_HDRLEN + payloadLen, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  return b;
}

/** The messages of a datagram as { type, payload }, or null unless its lengths add up exactly. */
function frameMessages(b) {
  const out = [];
  for (let at = 0; at < b.length; ) {
    if (b.length - at < NLMSG_HDRLEN) return null;
    const len = b.readUInt32LE(at);
    if (len < NLMSG_HDRLEN || at + len > b.length) return null;
    out.push({ type: b.readUInt16LE(at + 4), payload: b.subarray(at + NLMSG_HDRLEN, at + len) });
    at += align4(len);
  }
  return out.length ? out : null;
}

/** Whether b is a run of attributes whose lengths add up exactly (an attribute-only vector). */
function framesAsAttrs(b) {
  let at = 0;
  while (at + 4 <= b.length) {
    const len = b.readUInt16LE(at);
    if (len < 4 || at + len > b.length) return false;
    at += align4(len);
  }
  return at >= b.length && b.length > 0;
}

/** Hex literals of a test file; `'…' + '…'` and template literals across lines joined. */
function hexLiterals(source) {
  const joined = source.replace(/(['"])\s*\+\s*\1/g, '');
  const out = [];
  for (const [, , body] of joined.matchAll(/(['"`])([0-9a-fA-F\s]+)\1/g)) {
    const hex = body.replace(/\s+/g, '');
    if (hex.length >= 16 && hex.length % 2 === 0) out.push(Buffer.from(hex, 'hex'));
  }
  return out;
}

function rtnlFamily(type) {
  return RTNL.find((f) => type >= f.first && type <= f.last);
}

function isNft(type) {
  return type >> 8 === NFNL_SUBSYS_NFTABLES || type === NFNL_MSG_BATCH_BEGIN || type === NFNL_MSG_BATCH_END;
}

/** Seeds per target: a Map from target name to a list of Buffers. */
export function collectSeeds() {
  const seeds = new Map(['attr', 'link', 'addr', 'route', 'neigh', 'nft', 'ack'].map((t) => [t, []]));
  const add = (target, bytes) => seeds.get(target).push(bytes);
  const dir = join(root, 'test', 'unit');
  // test/unit mirrors lib/: the tests of lib/nft/ are under test/unit/nft/.
  for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.ts')).sort()) {
    // The nf_tables tests decode with NETLINK_NETFILTER, the others with NETLINK_ROUTE: message
    // types overlap (NFNL_MSG_BATCH_BEGIN is RTM_NEWLINK's 16), so the file decides.
    const protocol = file.startsWith(`nft${sep}`) ? NETLINK_NETFILTER : NETLINK_ROUTE;
    for (const bytes of hexLiterals(readFileSync(join(dir, file), 'utf8'))) {
      const msgs = frameMessages(bytes);
      if (!msgs) {
        if (framesAsAttrs(bytes)) add('attr', bytes);
        continue;
      }
      const targets = new Set();
      for (const { type, payload } of msgs) {
        if (protocol === NETLINK_NETFILTER && isNft(type)) {
          targets.add('nft');
          if (payload.length > NFGENMSG_LEN) add('attr', payload.subarray(NFGENMSG_LEN));
        } else if (protocol === NETLINK_ROUTE && rtnlFamily(type)) {
          const f = rtnlFamily(type);
          targets.add(f.target);
          if (payload.length > f.header) add('attr', payload.subarray(f.header));
        }
      }
      for (const t of targets) add(t, bytes);
    }
  }
  for (const hex of KERNEL_REPLIES) add('ack', Buffer.from(hex, 'hex'));
  add('ack', Buffer.from(KERNEL_REPLIES[3] + KERNEL_REPLIES[4], 'hex')); // dump part and DONE in one datagram
  add('ack', cappedError(22, 'Invalid PVID', 36)); // EINVAL, the offending attribute at byte 36
  add('ack', doneWithError(16, 'Dump interrupted')); // EBUSY
  return seeds;
}

/** Writes the seeds under outDir/<target>/; returns the number of distinct files per target. */
export function writeSeeds(outDir) {
  const counts = {};
  for (const [target, list] of collectSeeds()) {
    const dir = join(outDir, target);
    mkdirSync(dir, { recursive: true });
    const names = new Set();
    for (const bytes of list) {
      const name = createHash('sha1').update(bytes).digest('hex');
      names.add(name);
      writeFileSync(join(dir, name), bytes);
    }
    counts[target] = names.size;
  }
  return counts;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? join(root, 'fuzz', 'build', 'corpus');
  for (const [target, n] of Object.entries(writeSeeds(out))) console.log(`${target}: ${n} seeds`);
}
