// lib/network/dns/: the embedded name server fuzzed from JS. Random packets and mutations of
// valid queries (bit flips, truncations, wrong counts, compression pointers that loop or point
// into the header, label lengths of 0, 63, 64, 0xff, names over 255 bytes, wrong TCP length
// prefixes, partial frames, connections cut mid-frame, hundreds of queries pipelined on one
// connection) go to a server in a throwaway namespace, from a client in another one.
//
//   client ns  c1 10.241.0.2 ──── h1 10.241.0.1  (host ns: the server, network 'fuzz')
//   upstream   u1 10.242.0.2 ──── h2 10.242.0.1  (a fake resolver echoing the query as NXDOMAIN)
//
// Properties: nothing throws (no uncaught exception or unhandled rejection in this process,
// which is the server's); every reply parses with dns-packet, has the id of exactly one packet
// we sent, answers that packet's question, and came for a packet dns-packet can decode at all;
// over TCP each pristine query among the junk is answered; afterwards valid queries are still
// answered over UDP and TCP and every TCP connection is gone within the idle timeout.
//
// The generator is seeded: NLNET_DNS_FUZZ_SEED=N replays a run (the seed is printed, and named
// in every failure). Inputs it found are kept at the end, as regressions.
import type { Socket } from 'node:net';

import dnsPacket, { type DecodedPacket, type OptAnswer, type RecordType } from 'dns-packet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { connectTcp, listenTcp, openUdp } from '../../../../lib/index.js';
import { DnsServer, type DnsSource } from '../../../../lib/network/dns/index.js';
import { frame, FrameReader } from '../../../../lib/network/dns/framing.js';
import { isRoot, nsExec, ROOT_SKIP_REASON, useNetns, type TestNs } from '../../../helpers/ns.js';

const SEED = Number(process.env.NLNET_DNS_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
const UDP_PACKETS = 6000;
const TCP_PIPELINED = { connections: 30, messages: 150 };
const TCP_BAD_FRAMING = 400;
const IDLE = 1000;
const SERVER = '10.241.0.1';
const CLIENT = '10.241.0.2';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number): { next: () => number; int: (lo: number, hi: number) => number; pick: <T>(xs: readonly T[]) => T; bytes: (n: number) => Buffer } {
  let a = seed;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  return { next, int, pick: (xs) => xs[int(0, xs.length - 1)]!, bytes: (n) => Buffer.from(Array.from({ length: n }, () => int(0, 255))) };
}
type Rng = ReturnType<typeof prng>;

const NAMES = ['web', 'db', 'DB-Alias', 'WeB', 'example.test', 'nosuch.test', '2.0.241.10.in-addr.arpa', '9.0.241.10.in-addr.arpa', `${'x'.repeat(63)}.test`, 'a.b.c.d.e.f.g', '.'];
const TYPES: RecordType[] = ['A', 'AAAA', 'PTR', 'TXT', 'MX', 'SRV', 'CNAME', 'SOA', 'ANY' as RecordType];

function validQuery(r: Rng, id: number): Buffer {
  const name = r.next() < 0.8 ? r.pick(NAMES) : Array.from({ length: r.int(1, 4) }, () => r.bytes(r.int(1, 20)).toString('hex').slice(0, r.int(1, 40))).join('.');
  const opt: OptAnswer = { type: 'OPT', name: '.', udpPayloadSize: r.pick([512, 1232, 4096]), extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: r.next() < 0.7 ? dnsPacket.RECURSION_DESIRED : r.int(0, 0xffff) & ~0x8000,
    questions: [{ name, type: r.pick(TYPES), class: r.pick(['IN', 'IN', 'IN', 'CH', 'ANY'] as const) }],
    additionals: r.next() < 0.3 ? [opt] : [],
  });
}

/** Offsets of the label length bytes of the name at `at` (stops at a pointer or the buffer's end). */
function labelOffsets(b: Buffer, at = 12): number[] {
  const out: number[] = [];
  while (at < b.length && out.length < 128) {
    const len = b[at]!;
    out.push(at);
    if (len === 0 || (len & 0xc0) !== 0) break;
    at += 1 + len;
  }
  return out;
}

const MUTATIONS: ((b: Buffer, r: Rng) => Buffer)[] = [
  // Bit flips anywhere past the id.
  (b, r) => {
    for (let k = r.int(1, 8); k > 0 && b.length > 2; k--) b[r.int(2, b.length - 1)]! ^= 1 << r.int(0, 7);
    return b;
  },
  (b, r) => b.subarray(0, r.int(0, b.length)),
  // Wrong section counts.
  (b, r) => {
    if (b.length >= 12) b.writeUInt16BE(r.pick([0, 1, 2, 3, 0x7fff, 0xffff, r.int(0, 0xffff)]), r.pick([4, 6, 8, 10]));
    return b;
  },
  // Compression pointers: to itself, into the header, forward, past the end, a two-pointer loop.
  (b, r) => {
    const labels = labelOffsets(b);
    const at = labels.length > 0 ? r.pick(labels) : 12;
    if (at + 2 > b.length) return b;
    const kind = r.int(0, 4);
    const target = kind === 0 ? at : kind === 1 ? r.int(0, 11) : kind === 2 ? r.int(at + 1, at + 40) : kind === 3 ? r.int(b.length, 0x3fff) : 12;
    if (kind === 4 && at + 4 <= b.length) {
      b.writeUInt16BE(0xc000 | (at + 2), at);
      b.writeUInt16BE(0xc000 | at, at + 2);
    } else b.writeUInt16BE(0xc000 | (target & 0x3fff), at);
    return b;
  },
  // Label lengths: zero, the largest, the reserved 0x40/0x80 kinds, a pointer's tag, anything.
  (b, r) => {
    const labels = labelOffsets(b);
    if (labels.length > 0) b[r.pick(labels)] = r.pick([0, 1, 63, 64, 0x7f, 0x80, 0xbf, 0xc0, 0xff, r.int(0, 255)]);
    return b;
  },
  // A name of many labels, over 255 bytes, or labels running past the end.
  (b, r) => {
    const label = Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]);
    const name = Buffer.concat([...Array<Buffer>(r.int(3, 6)).fill(label), r.next() < 0.5 ? Buffer.from([0]) : Buffer.alloc(0)]);
    return Buffer.concat([b.subarray(0, 12), name, Buffer.from([0, 1, 0, 1])]);
  },
  (b, r) => Buffer.concat([b.subarray(0, r.int(0, b.length)), r.bytes(r.int(1, 16)), b.subarray(r.int(0, b.length))]),
  (b, r) => Buffer.concat([b, r.bytes(r.int(1, 300))]),
  // Flags: QR (a response), opcodes, rcode bits, Z.
  (b, r) => {
    if (b.length >= 4) b.writeUInt16BE(r.int(0, 0xffff), 2);
    return b;
  },
  // Two questions, or a second query glued on.
  (b, r) => {
    if (b.length < 12) return b;
    const body = b.subarray(12);
    const out = Buffer.concat([b.subarray(0, 12), body, r.next() < 0.5 ? body : validQuery(r, 0)]);
    out.writeUInt16BE(2, 4);
    return out;
  },
];

/** A packet for the server: a mutated valid query (mostly), random bytes, or a pristine query. */
function packet(r: Rng, id: number): { data: Buffer; pristine: boolean } {
  const roll = r.next();
  if (roll < 0.1) return { data: validQuery(r, id), pristine: true };
  let data: Buffer;
  if (roll < 0.25) {
    data = r.bytes(r.int(0, 600));
    if (data.length >= 12 && r.next() < 0.5) data.writeUInt16BE(1, 4);
  } else {
    data = Buffer.from(validQuery(r, id));
    for (let k = r.int(1, 3); k > 0; k--) data = Buffer.from(r.pick(MUTATIONS)(data, r));
  }
  if (data.length >= 2) data.writeUInt16BE(id, 0);
  return { data, pristine: false };
}

const hex = (b: Buffer): string => b.toString('hex');
const decodes = (b: Buffer): DecodedPacket | undefined => {
  try {
    return dnsPacket.decode(b);
  } catch {
    return undefined;
  }
};

/** What was sent, by id, and what came back: every reply is checked against its query. */
class Ledger {
  readonly sent = new Map<number, { data: Buffer; pristine: boolean }>();
  readonly answered = new Set<number>();
  readonly failures: string[] = [];

  constructor(private readonly transport: 'udp' | 'tcp') {}

  reply(raw: Buffer): void {
    const fail = (why: string, query?: Buffer): void => void this.failures.push(`${this.transport} seed ${SEED}: ${why}; query ${query ? hex(query) : '?'} reply ${hex(raw)}`);
    const p = decodes(raw);
    if (!p) return fail('reply does not parse', raw.length >= 2 ? this.sent.get(raw.readUInt16BE(0))?.data : undefined);
    const q = this.sent.get(p.id!);
    if (!q) return fail(`reply id ${p.id} was never sent`);
    if (this.answered.has(p.id!)) return fail('two replies to one query', q.data);
    this.answered.add(p.id!);
    if (p.type !== 'response') return fail('reply without QR', q.data);
    const asked = decodes(q.data);
    if (!asked) return fail('a packet dns-packet cannot decode was answered', q.data);
    const got = p.questions?.[0];
    const want = asked.questions?.[0];
    if (got && (!want || got.name !== want.name || got.type !== want.type || got.class !== want.class))
      return fail(`reply's question ${JSON.stringify(got)} is not the query's ${JSON.stringify(want)}`, q.data);
    if (this.transport === 'udp' && (p.flags! & dnsPacket.AUTHORITATIVE_ANSWER) !== 0 && raw.length > 512) return fail('local UDP reply over 512 bytes', q.data);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; !what(); await sleep(20)) if (Date.now() > end) return false;
  return true;
}

/** A dumb upstream: echoes any query it can parse back as NXDOMAIN, whole, under its id. */
async function echoUpstream(ns: string, address: string): Promise<() => void> {
  const answer = (q: Buffer): Buffer | undefined => {
    if (q.length < 12 || !decodes(q)) return undefined;
    const out = Buffer.from(q);
    out.writeUInt16BE(0x8000 | (q.readUInt16BE(2) & 0x0100) | 0x0080 | 3, 2);
    return out;
  };
  const udp = await openUdp(ns, address, 53);
  udp.on('message', (q, from) => {
    const out = answer(q);
    if (out) udp.send(out, from.port, from.address);
  });
  const tcp = await listenTcp(ns, address, 53);
  const open = new Set<Socket>();
  tcp.on('connection', (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => undefined);
    const reader = new FrameReader();
    s.on('data', (chunk: Buffer) => {
      for (const q of reader.push(chunk)) {
        const out = answer(q);
        if (out) s.write(frame(out));
      }
    });
  });
  // Every socket goes, or it would keep its namespace alive after the name is deleted.
  return () => {
    udp.close();
    tcp.close();
    for (const s of open) s.destroy();
  };
}

describe.skipIf(!isRoot)(`embedded DNS server, fuzzed (${isRoot ? `root, seed ${SEED}` : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(3, 'nldfz');
  let host: string;
  let client: string;
  let server: DnsServer | undefined;
  let closeUpstream: (() => void) | undefined;
  const sockets: { sock: Socket; closed: boolean }[] = [];
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown): void => void uncaught.push(e);
  const source: DnsSource = {
    listeners: async () => [{ network: 'fuzz', address: SERVER }],
    lookup: async (network, name) => (network === 'fuzz' && (name === 'web' || name === 'db-alias') ? { ipv4: [CLIENT], ipv6: ['fd00:241::2'] } : undefined),
    reverse: async (network, address) => (network === 'fuzz' && address === CLIENT ? ['web'] : []),
  };

  beforeEach(async () => {
    console.info(`dns-fuzz seed ${SEED} (NLNET_DNS_FUZZ_SEED=${SEED} replays it)`);
    uncaught.length = 0;
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    const [h, c, u] = spaces as [TestNs, TestNs, TestNs];
    [host, client] = [h.name, c.name];
    await h.nl.link.set('lo', { up: true });
    await h.nl.link.add({ name: 'h1', kind: 'veth', up: true, peer: { name: 'c1', netns: c.name } });
    await h.nl.addr.add({ dev: 'h1', address: `${SERVER}/24` });
    await c.nl.addr.add({ dev: 'c1', address: `${CLIENT}/24` });
    await c.nl.link.set('c1', { up: true });
    await h.nl.link.add({ name: 'h2', kind: 'veth', up: true, peer: { name: 'u1', netns: u.name } });
    await h.nl.addr.add({ dev: 'h2', address: '10.242.0.1/24' });
    await u.nl.addr.add({ dev: 'u1', address: '10.242.0.2/24' });
    await u.nl.link.set('u1', { up: true });
    closeUpstream = await echoUpstream(u.name, '10.242.0.2');
    server = await DnsServer.start({ hostNetns: host, source, upstream: ['10.242.0.2'], upstreamNetns: host, upstreamTimeoutMs: 300, tcpIdleTimeoutMs: IDLE });
  });

  afterEach(async () => {
    for (const c of sockets.splice(0)) c.sock.destroy();
    await server?.close();
    server = undefined;
    closeUpstream?.();
    closeUpstream = undefined;
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  });

  /** A connection from the client namespace; `closed` turns true when the server has closed it (or we did). */
  const tcpClient = async (onReply: (m: Buffer) => void): Promise<{ sock: Socket; closed: boolean }> => {
    const sock = await connectTcp(client, SERVER, 53);
    const c = { sock, closed: false };
    sockets.push(c);
    const reader = new FrameReader();
    sock.on('data', (chunk: Buffer) => reader.push(chunk).forEach(onReply));
    sock.on('error', () => undefined);
    sock.on('close', () => (c.closed = true));
    return c;
  };
  /** The server's side, by `ss`: established TCP connections on port 53 of the host namespace. */
  const established = (): number => nsExec(host, 'ss', '-tnH', 'state', 'established', 'sport', '=', ':53').stdout.split('\n').filter(Boolean).length;
  /** Those the server holds: without the ones still in the kernel's accept queue, which no process owns yet. */
  const held = (): number =>
    nsExec(host, 'ss', '-tnHp', 'state', 'established', 'sport', '=', ':53').stdout.split('\n').filter((l) => l.includes(`pid=${process.pid},`)).length;

  /** After the run: no error escaped, TCP connections are gone within the timeout, valid queries are answered over both. */
  const stillServes = async (since: number): Promise<void> => {
    const gone = await until(() => established() === 0 && sockets.every((c) => c.closed), IDLE + 2000);
    expect(gone, `seed ${SEED}: TCP connections still open ${Date.now() - since} ms after the last packet`).toBe(true);
    const udp = await openUdp(client, CLIENT, 0);
    const got = new Promise<Buffer>((resolve) => udp.once('message', resolve));
    udp.send(dnsPacket.encode({ type: 'query', id: 4321, questions: [{ name: 'web', type: 'A' }] }), 53, SERVER);
    const viaUdp = await Promise.race([got, sleep(2000).then(() => undefined)]);
    udp.close();
    expect(viaUdp && dnsPacket.decode(viaUdp), `seed ${SEED}`).toMatchObject({ id: 4321, answers: [{ type: 'A', data: CLIENT }] });
    let viaTcp: Buffer | undefined;
    const c = await tcpClient((m) => (viaTcp = m));
    c.sock.write(frame(dnsPacket.encode({ type: 'query', id: 4322, questions: [{ name: 'web', type: 'AAAA' }] })));
    await until(() => viaTcp !== undefined, 2000);
    expect(viaTcp && dnsPacket.decode(viaTcp), `seed ${SEED}`).toMatchObject({ id: 4322, answers: [{ type: 'AAAA', data: 'fd00:241::2' }] });
    expect(uncaught, `seed ${SEED}`).toEqual([]);
  };

  it('regressions: inputs the fuzzer found get no answer, over UDP and TCP', async () => {
    // Compression pointers into the header in the question: the echoed question read the reply's
    // header instead, and the reply did not parse (or answered another name).
    const found = [
      '123401000001000000000000c00200010001',
      '10170100000100000000000003776562c000210001209a703e5cff61611c30df',
      '130401000001000000000000c001ee18000000000003572d01ae1d594b5d1c',
      '058c01000001000000000000c0006f73756368c03a65737400000f0001',
    ].map((h) => Buffer.from(h, 'hex'));
    const replies: Buffer[] = [];
    const ep = await openUdp(client, CLIENT, 0);
    ep.on('message', (data) => replies.push(data));
    for (const raw of found) ep.send(raw, 53, SERVER);
    const c = await tcpClient((m) => replies.push(m));
    c.sock.write(Buffer.concat(found.map(frame)));
    await sleep(500);
    ep.close();
    expect(replies.map(hex)).toEqual([]);
    await stillServes(Date.now());
  });

  it(`UDP: ${UDP_PACKETS} random and mutated packets`, async () => {
    const r = prng(SEED);
    const ledger = new Ledger('udp');
    const ep = await openUdp(client, CLIENT, 0);
    ep.on('message', (data) => ledger.reply(data));
    // Bursts of 100: far below the server's 1,024 queries in flight and the client's socket buffer.
    for (let id = 0; id < UDP_PACKETS; id++) {
      const p = packet(r, id);
      ledger.sent.set(id, p);
      // A busy machine can fill the client's own send buffer (EAGAIN): wait, as a client would.
      for (let tries = 0; ; tries++) {
        try {
          ep.send(p.data, 53, SERVER);
          break;
        } catch (e) {
          if ((e as { code?: string }).code !== 'EAGAIN' || tries === 100) throw e;
          await sleep(10);
        }
      }
      if (id % 100 === 99) await sleep(15);
    }
    await sleep(600);
    ep.close();
    const decodable = [...ledger.sent.values()].filter((p) => decodes(p.data)).length;
    console.info(`dns-fuzz udp: ${UDP_PACKETS} sent, ${decodable} decodable, ${ledger.answered.size} answered`);
    expect(ledger.failures, `seed ${SEED}`).toEqual([]);
    const pristine = [...ledger.sent].filter(([, p]) => p.pristine);
    expect(pristine.filter(([id]) => !ledger.answered.has(id)).length, `seed ${SEED}: pristine queries unanswered`).toBeLessThan(pristine.length * 0.02 + 1);
    await stillServes(Date.now());
  });

  it(`TCP: ${TCP_PIPELINED.connections} connections × ${TCP_PIPELINED.messages} pipelined messages, split at random points`, async () => {
    const r = prng(SEED ^ 0x7c9);
    const ledger = new Ledger('tcp');
    let id = 0;
    const writes: Promise<void>[] = [];
    for (let n = 0; n < TCP_PIPELINED.connections; n++) {
      const c = await tcpClient((m) => ledger.reply(m));
      const stream = Buffer.concat(
        Array.from({ length: TCP_PIPELINED.messages }, () => {
          const p = packet(r, id);
          ledger.sent.set(id++, p);
          return frame(p.data);
        }),
      );
      const cuts = Array.from({ length: r.int(1, 40) }, () => r.int(0, stream.length)).sort((a, b) => a - b);
      writes.push(
        (async () => {
          let at = 0;
          for (const cut of [...cuts, stream.length]) {
            c.sock.write(stream.subarray(at, cut));
            at = cut;
            if (r.next() < 0.2) await sleep(r.int(1, 30));
          }
        })(),
      );
    }
    await Promise.all(writes);
    const pristine = [...ledger.sent].filter(([, p]) => p.pristine).map(([i]) => i);
    await until(() => pristine.every((i) => ledger.answered.has(i)), 5000);
    await sleep(400);
    console.info(`dns-fuzz tcp pipelined: ${id} messages, ${ledger.answered.size} answered, ${pristine.length} pristine`);
    expect(ledger.failures, `seed ${SEED}`).toEqual([]);
    // Over TCP nothing is lost: every valid query among the junk gets its answer, however many are pipelined.
    expect(pristine.filter((i) => !ledger.answered.has(i)), `seed ${SEED}: pristine queries unanswered`).toEqual([]);
    await stillServes(Date.now());
  });

  it(`TCP: ${TCP_BAD_FRAMING} connections with wrong length prefixes, partial frames, cut mid-frame`, async () => {
    const r = prng(SEED ^ 0x3e1);
    const ledger = new Ledger('tcp');
    let id = 0;
    const next = (): Buffer => {
      const p = packet(r, id);
      ledger.sent.set(id++, p);
      return p.data;
    };
    const shapes: ((m: Buffer) => Buffer)[] = [
      // A prefix larger than what follows: the server waits for bytes that never come.
      (m) => Buffer.concat([Buffer.from([(m.length + r.int(1, 300)) >> 8, (m.length + r.int(1, 300)) & 0xff]), m]),
      // Smaller: the rest of the message is read as further frames.
      (m) => {
        const out = frame(m);
        out.writeUInt16BE(r.int(0, Math.max(0, m.length - 1)), 0);
        return out;
      },
      (m) => Buffer.concat([Buffer.from([0xff, 0xff]), m]),
      (m) => Buffer.concat([Buffer.from([0, 0]), frame(m)]),
      (m) => frame(m).subarray(0, r.int(0, m.length + 1)),
      () => Buffer.from([r.int(0, 255)]),
      () => r.bytes(r.int(1, 2000)),
      (m) => Buffer.concat([frame(m), frame(next()), frame(m).subarray(0, 3)]),
    ];
    // In batches of 160, above the cap of 128 per listener: newcomers push out the longest idle.
    for (let n = 0; n < TCP_BAD_FRAMING; n += 160) {
      await Promise.all(
        Array.from({ length: Math.min(160, TCP_BAD_FRAMING - n) }, async () => {
          const c = await tcpClient((m) => ledger.reply(m));
          c.sock.write(r.pick(shapes)(next()));
          // Some clients go away at once, some in the middle of their frame.
          if (r.next() < 0.25) setTimeout(() => (r.next() < 0.5 ? c.sock.destroy() : c.sock.end()), r.int(0, 20));
        }),
      );
      await sleep(100);
      expect(held(), `seed ${SEED}: more TCP connections than the cap`).toBeLessThanOrEqual(128);
    }
    const last = Date.now();
    await sleep(200);
    console.info(`dns-fuzz tcp framing: ${TCP_BAD_FRAMING} connections, ${id} messages, ${ledger.answered.size} answered`);
    expect(ledger.failures, `seed ${SEED}`).toEqual([]);
    await stillServes(last);
  });
});
