// The JS decoders of dumps (lib/rtnl/wire/) against the addon's table decoder: for the same bytes
// both must give the same public objects (same keys in the same order, same values), so that the
// two cannot drift. Bytes from a real kernel (wire-golden.ts), from the addon's encoder (kinds and
// values this kernel cannot make), and those broken on purpose: cut short, corrupted, garbage.
// The reference is the executor's dump path: the table decoder on each message, one whose body
// does not parse left out, then linkFromNative / routeFromNative.
import { describe, expect, it } from 'vitest';

import { native, type Body } from '../../../lib/core/binding.js';
import { NETLINK_ROUTE, RTM_NEWLINK, RTM_NEWROUTE } from '../../../lib/core/constants.js';
import { ipv6 } from '../../../lib/core/wire.js';
import { linkFromNative } from '../../../lib/rtnl/link.js';
import { routeFromNative } from '../../../lib/rtnl/route.js';
import { decodeLinks } from '../../../lib/rtnl/wire/link.js';
import { decodeRoutes } from '../../../lib/rtnl/wire/route.js';
import { LINK_DUMP, ROUTE_DUMP } from './wire-golden.js';

const fromHex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const pad4 = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
/** Messages end to end, as the executor hands a dump's replies over. */
const dump = (msgs: Buffer[]): Buffer => Buffer.concat(msgs.map(pad4));

/** A deterministic PRNG (mulberry32), so that a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// -- a tiny TLV writer for what the addon's encoder will not write (wrong sizes, broken nests) --
const attr = (type: number, ...payload: Buffer[]): Buffer => {
  const data = Buffer.concat(payload);
  const h = Buffer.alloc(4);
  h.writeUInt16LE(4 + data.length, 0);
  h.writeUInt16LE(type, 2);
  return pad4(Buffer.concat([h, data]));
};
const u8 = (n: number): Buffer => Buffer.from([n]);
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
function nlmsg(type: number, header: Buffer, ...attrs: Buffer[]): Buffer {
  const body = Buffer.concat([pad4(header), ...attrs]);
  const h = Buffer.alloc(16);
  h.writeUInt32LE(16 + body.length, 0);
  h.writeUInt16LE(type, 4);
  return Buffer.concat([h, body]);
}
const ifinfomsg = (index: number, flags = 0): Buffer => {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(1, 2);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  return b;
};
const rtmsg = (bytes: number[], flags = 0): Buffer => Buffer.concat([Buffer.from(bytes), u32(flags)]);

/** Each message of a dump, framed as MsgReader frames them (framing that breaks ends the list). */
function frames(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let p = 0; bytes.length - p >= 16; ) {
    const len = bytes.readUInt32LE(p);
    if (len < 16 || len > bytes.length - p) break;
    out.push(bytes.subarray(p, p + len));
    p += (len + 3) & ~3;
  }
  return out;
}

function viaTables<T>(bytes: Buffer, type: number, fromNative: (b: Body) => T): T[] {
  const out: T[] = [];
  for (const m of frames(bytes)) {
    let msgs;
    try {
      msgs = native.decode(NETLINK_ROUTE, m);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      continue;
    }
    for (const x of msgs) if (x.type === type && x.body) out.push(fromNative(x.body));
  }
  return out;
}

/** Both paths give the same objects, key order included (what JSON.stringify and util.inspect show). */
function expectSame<T>(bytes: Buffer, type: number, fromNative: (b: Body) => T, decode: (b: Buffer) => T[]): T[] {
  const expected = viaTables(bytes, type, fromNative);
  const got = decode(bytes);
  expect(got).toStrictEqual(expected);
  expect(JSON.stringify(got)).toBe(JSON.stringify(expected));
  return got;
}
const sameLinks = (bytes: Buffer) => expectSame(bytes, RTM_NEWLINK, linkFromNative, decodeLinks);
const sameRoutes = (bytes: Buffer) => expectSame(bytes, RTM_NEWROUTE, routeFromNative, decodeRoutes);

const linkMsgs = LINK_DUMP.map(fromHex);
const routeMsgs = ROUTE_DUMP.map(fromHex);

describe('wire: a real kernel dump decodes as the tables decode it', () => {
  it('links: every kind this kernel has, a bridge port, vxlan over IPv4 and IPv6', () => {
    const links = sameLinks(dump(linkMsgs));
    expect(links.map((l) => l.name)).toEqual(['lo', 'p1', 'p0', 'br0', 'vx0', 'vx6', 'mv0', 'mt0']);
    const by = Object.fromEntries(links.map((l) => [l.name, l]));
    expect(by.p0).toMatchObject({ kind: 'veth', mtu: 1400, alias: 'hello', devgroup: 5, up: true });
    expect(by.p1).toMatchObject({ master: by.br0!.index, slaveKind: 'bridge', bridgePort: { learning: false, isolated: true, cost: 7, priority: 3 } });
    expect(by.br0).toMatchObject({ kind: 'bridge', stp: true, forwardDelay: 400 });
    expect(by.vx0).toMatchObject({ vni: 42, remote: '10.0.0.2', local: '10.0.0.1', dstport: 4789, srcport: { low: 1000, high: 2000 }, ttl: 64, ageing: 300 });
    expect(by.vx6).toMatchObject({ vni: 43, group: 'ff05::1', local: '2001:db8::1', dstport: 8472, ttl: 'inherit', learning: false });
    expect(by.mv0).toMatchObject({ kind: 'macvlan', mode: 'bridge', link: by.p0!.index });
    expect(by.mt0).toMatchObject({ kind: 'macvtap', mode: 'vepa' });
  });

  it('routes: every table, both families, gateways, metrics, multipath, onlink, other types', () => {
    const routes = sameRoutes(dump(routeMsgs));
    const find = (dst: string) => routes.find((r) => r.dst === dst);
    expect(find('10.2.0.0/16')).toMatchObject({ via: '10.1.0.2', metric: 10, mtu: 1300, advmss: 1200 });
    expect(find('10.3.0.0/24')).toMatchObject({ table: 100, src: '10.1.0.1' });
    expect(find('default')).toMatchObject({ via: '10.1.0.254', family: 'inet' });
    expect(find('10.4.0.0/24')?.nexthops).toEqual([expect.objectContaining({ via: '10.1.0.2', weight: 2 }), expect.objectContaining({ via: '10.1.0.3', onlink: true })]);
    expect(find('10.5.0.0/24')).toMatchObject({ onlink: true, via: '10.9.9.9' });
    expect(find('10.6.0.0/24')).toMatchObject({ type: 'blackhole', protocol: 'static' });
    expect(find('10.7.0.0/24')).toMatchObject({ type: 'unreachable', table: 1000 });
    expect(find('10.8.0.1/32')).toMatchObject({ type: 'prohibit', protocol: 'babel', table: 252 });
    expect(find('2001:db8:1::/48')).toMatchObject({ family: 'inet6', via: '2001:db8::2', metric: 5 });
    expect(find('2001:db8:2::/64')?.nexthops).toHaveLength(2);
    expect(routes.some((r) => r.table === 255 && r.type === 'local')).toBe(true);
  });

  it('a dump may carry other message types: they are not links or routes', () => {
    expect(decodeLinks(dump([routeMsgs[0]!, linkMsgs[0]!]))).toHaveLength(1);
    expect(decodeRoutes(dump([linkMsgs[0]!, routeMsgs[0]!]))).toHaveLength(1);
    expect(decodeLinks(Buffer.alloc(0))).toEqual([]);
  });
});

describe('wire: what this kernel cannot make, through the addon encoder', () => {
  const link = (body: Body): Buffer => native.encode(NETLINK_ROUTE, RTM_NEWLINK, 0, { index: 7, name: 'x0', hwType: 1, ...body });

  it.each<[string, Body]>([
    ['vlan', { info: { kind: 'vlan', data: { id: 10, protocol: 0x88a8, flags: { flags: 1, mask: 1 } } } }],
    ['vlan of an unknown protocol', { info: { kind: 'vlan', data: { id: 4094, protocol: 0x1234 } } }],
    ['ipvlan', { info: { kind: 'ipvlan', data: { mode: 'l3s', flags: 'private' } } }],
    ['ipvtap of unknown mode and flags', { info: { kind: 'ipvtap', data: { mode: 7, flags: 9 } } }],
    ['macvlan of an unknown mode', { info: { kind: 'macvlan', data: { mode: 3 } } }],
    [
      'bridge, every option',
      {
        info: {
          kind: 'bridge',
          data: {
            forwardDelay: 1, helloTime: 2, maxAge: 3, ageingTime: 4, stpState: 0, priority: 6, vlanFiltering: true, vlanProtocol: 0x8100,
            groupFwdMask: 9, mcastSnooping: false, mcastQuerier: true, nfCallIptables: true, nfCallIp6tables: false, vlanDefaultPvid: 39,
            rootId: Buffer.from('0102', 'hex'), helloTimer: 2 ** 60, mcastRouter: 1,
          },
        },
      },
    ],
    [
      'vxlan, every option',
      {
        info: {
          kind: 'vxlan',
          data: {
            id: 1, group6: 'ff02::1', local6: '::', link: 0, ttlInherit: true, ttl: 3, tos: 4, learning: true, proxy: false, l2miss: true, l3miss: false,
            udpCsum: true, udp6ZeroCsumTx: true, udp6ZeroCsumRx: false, external: false, ageing: 8, limit: 9, port: 10, portRange: { low: 0, high: 0 },
          },
        },
      },
    ],
    ['vxlan, a multicast IPv4 group and no local', { info: { kind: 'vxlan', data: { id: 2, group: '239.1.1.1', local: '0.0.0.0', link: 3 } } }],
    [
      'a bridge port, every option',
      {
        master: 4,
        info: {
          kind: 'veth',
          slaveKind: 'bridge',
          slaveData: {
            learning: true, flood: false, mcastFlood: true, bcastFlood: false, hairpin: true, isolated: false, neighSuppress: true, proxyArp: false,
            guard: true, rootBlock: false, fastLeave: true, mcastToUnicast: false, vlanTunnel: true, locked: false, state: 3, priority: 32, cost: 100,
            messageAgeTimer: 5,
          },
        },
      },
    ],
    ['a kind without data', { info: { kind: 'bridge' } }],
    ['a slave kind of another master', { info: { slaveKind: 'bond' } }],
    ['an empty kind, which is none', { info: { kind: '' } }],
    ['every top-level attribute', { txqlen: 1, address: '02:00:00:00:00:01', broadcast: 'ff:ff', mtu: 9000, numTxQueues: 2, numRxQueues: 3, group: 4, master: 5, alias: 'al', link: 6, qdisc: 'q', operstate: 'dormant', carrier: false, promiscuity: 1, linkNetnsId: -1, minMtu: 68, maxMtu: 65535, permAddress: '02:00:00:00:00:02' }],
    ['an operstate without a name', { operstate: 42 }],
    ['a name in UTF-8', { name: 'é\u{1F600}' }],
  ])('%s', (_what, body) => {
    sameLinks(link(body));
  });

  it('every header value of a route, with and without RTA_TABLE', () => {
    const msgs: Buffer[] = [];
    for (let v = 0; v < 256; v++) {
      // family, dst_len, src_len, tos, table, protocol, scope, type
      msgs.push(nlmsg(RTM_NEWROUTE, rtmsg([v, v % 33, 0, 0, v, v, v, v], v)));
      msgs.push(nlmsg(RTM_NEWROUTE, rtmsg([2, 24, 0, 0, v, 3, 0, 1]), attr(15, u32(v * 1000)), attr(1, Buffer.from([10, 0, v, 0]))));
    }
    sameRoutes(dump(msgs));
  });

  it('IPv6 addresses print as glibc prints them', () => {
    // [address, as glibc prints it]: the first longest zero run compressed, embedded IPv4 forms.
    const fixed = [
      ['::', '::'], ['::1', '::1'], ['::2', '::2'], ['1::', '1::'], ['::ffff:1.2.3.4', '::ffff:1.2.3.4'], ['::1.2.3.4', '::1.2.3.4'],
      ['::ffff:0:0', '::ffff:0.0.0.0'], ['::fffe:1.2.3.4', '::fffe:102:304'], ['1:0:0:1::1', '1:0:0:1::1'], ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['0:0:1::', '0:0:1::'], ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'], ['fe80::1:2', 'fe80::1:2'], ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
      ['::0.0.1.0', '::100'], ['::1:0:0:0:0', '0:0:0:1::'],
    ];
    const random = rng(1);
    const addrs = fixed.map(([a]) => a!);
    for (let i = 0; i < 500; i++) addrs.push(Array.from({ length: 8 }, () => (random() < 0.5 ? 0 : Math.floor(random() * 65536)).toString(16)).join(':'));
    const msgs = addrs.map((a, i) => native.encode(NETLINK_ROUTE, RTM_NEWROUTE, 0, { family: 'inet6', dstLen: i % 129, dst: a, gateway: a, tableId: 'main', type: 'unicast' }));
    sameRoutes(dump(msgs));
    for (const [a, printed] of fixed) expect(ipv6(native.encode(NETLINK_ROUTE, RTM_NEWROUTE, 0, { dst: a }), 32), a).toBe(printed);
  });

  it('metrics, multipath and attributes of the wrong size', () => {
    const v4 = (a: number[]) => Buffer.from(a);
    const hop = (flags: number, hops: number, ifindex: number, ...attrs: Buffer[]) => {
      const h = Buffer.alloc(8);
      h.writeUInt16LE(8 + Buffer.concat(attrs).length, 0);
      h.writeUInt8(flags, 2);
      h.writeUInt8(hops, 3);
      h.writeInt32LE(ifindex, 4);
      return Buffer.concat([h, ...attrs]);
    };
    const base = rtmsg([2, 24, 0, 0, 254, 3, 0, 1]);
    const msgs = [
      native.encode(NETLINK_ROUTE, RTM_NEWROUTE, 0, { family: 'inet', dstLen: 8, dst: '10.0.0.0', metrics: { mtu: 1400, advmss: 1360, window: 5 }, multipath: [{ dev: 3, gateway: '10.0.0.1', weight: 5, flags: 4 }, { dev: 4 }] }),
      // A second RTA_METRICS replaces the first; a broken one is ignored.
      nlmsg(RTM_NEWROUTE, base, attr(8, attr(2, u32(1500))), attr(8, attr(8, u32(1460)))),
      nlmsg(RTM_NEWROUTE, base, attr(8, attr(2, u32(1500))), attr(8, Buffer.from([9, 0, 2, 0, 1]))),
      // Wrong sizes: the attribute is as if absent.
      nlmsg(RTM_NEWROUTE, base, attr(4, u8(3)), attr(6, Buffer.alloc(8)), attr(15, Buffer.alloc(2)), attr(8, attr(2, u8(1)))),
      // Addresses of neither 4 nor 16 bytes come back as bytes.
      nlmsg(RTM_NEWROUTE, base, attr(1, Buffer.from('abcde')), attr(5, Buffer.from([1, 2])), attr(7, Buffer.alloc(0))),
      nlmsg(RTM_NEWROUTE, rtmsg([10, 0, 0, 0, 254, 3, 0, 1])),
      nlmsg(RTM_NEWROUTE, rtmsg([2, 16, 0, 0, 254, 3, 0, 1])),
      // Multipath: a hop with IPv6 and unknown attributes, a negative ifindex, trailing bytes.
      nlmsg(RTM_NEWROUTE, base, attr(9, hop(0, 255, -1, attr(5, v4([1, 2, 3, 4])), attr(30, u32(1))), Buffer.from([1, 2, 3]))),
      // Multipath that does not parse: the attribute is left out, the route stays.
      nlmsg(RTM_NEWROUTE, base, attr(9, hop(0, 0, 1).subarray(0, 8).fill(4, 0, 1))),
      nlmsg(RTM_NEWROUTE, base, attr(9, hop(0, 0, 1, Buffer.from([9, 0, 5, 0])))),
      nlmsg(RTM_NEWROUTE, base, attr(9, hop(0, 0, 1)), attr(9, Buffer.from([200, 0, 0, 0, 0, 0, 0, 0]))),
    ];
    sameRoutes(dump(msgs));
  });

  it('links with attributes of the wrong size and nests that do not parse', () => {
    const kind = (k: string) => attr(1, Buffer.from(`${k}\0`));
    const msgs = [
      nlmsg(RTM_NEWLINK, ifinfomsg(1, 1), attr(3, Buffer.from('n')), attr(4, u8(1)), attr(16, u32(6)), attr(33, u32(1)), attr(37, Buffer.alloc(2))),
      // A LINKINFO that does not parse is left out, an earlier good one stays.
      nlmsg(RTM_NEWLINK, ifinfomsg(2), attr(18, kind('veth')), attr(18, Buffer.from([200, 0, 1, 0]))),
      // A later good LINKINFO replaces the earlier one.
      nlmsg(RTM_NEWLINK, ifinfomsg(3), attr(18, kind('bridge'), attr(4, Buffer.from('bridge\0'))), attr(18, kind('vxlan'))),
      // Kind data that does not parse: the kind stays, its options do not.
      nlmsg(RTM_NEWLINK, ifinfomsg(4), attr(18, kind('vlan'), attr(2, Buffer.from([9, 0, 1, 0, 5])))),
      nlmsg(RTM_NEWLINK, ifinfomsg(5), attr(18, attr(4, Buffer.from('bridge\0')), attr(5, Buffer.from([1, 0])))),
      nlmsg(RTM_NEWLINK, ifinfomsg(6), attr(18, kind('vxlan'), attr(2, attr(28, u8(0)), attr(28, Buffer.alloc(2)), attr(10, Buffer.alloc(3))))),
      // Kinds with data the tables have no schema for: the kind alone.
      nlmsg(RTM_NEWLINK, ifinfomsg(7), attr(18, kind('dummy'), attr(2, attr(1, u32(1))))),
      // Nested-flag and byte-order bits are not part of the type.
      nlmsg(RTM_NEWLINK, ifinfomsg(8), attr(0x8000 | 18, kind('macvlan'), attr(0x8000 | 2, attr(0x4000 | 1, u32(16))))),
      // Trailing padding is fine; a string without its NUL is read to the end.
      Buffer.concat([nlmsg(RTM_NEWLINK, ifinfomsg(9), attr(3, Buffer.from('abc'))), Buffer.alloc(3)]),
    ];
    // Message lengths as written (the trailing padding one included in its own nlmsg_len).
    const last = msgs[msgs.length - 1]!;
    last.writeUInt32LE(last.length, 0);
    sameLinks(dump(msgs));
  });
});

describe('wire: broken bytes are skipped as the tables skip them, never read out of bounds', () => {
  /** Each message with its length cut to every size from the header to the full message. */
  function truncations(msgs: Buffer[], step: number): Buffer[] {
    return msgs.flatMap((m) => {
      const out: Buffer[] = [];
      for (let len = 16; len <= m.length; len += step) {
        const t = Buffer.from(m.subarray(0, len));
        t.writeUInt32LE(len, 0);
        out.push(t);
      }
      return out;
    });
  }

  it('links cut short at every length', () => {
    for (const t of truncations(linkMsgs, 1)) sameLinks(t);
  });

  it('routes cut short at every length', () => {
    for (const t of truncations(routeMsgs, 1)) sameRoutes(t);
  });

  /** Messages with bytes past the nlmsghdr replaced (attribute lengths and types among them). */
  function corrupted(msgs: Buffer[], n: number, seed: number): Buffer[] {
    const random = rng(seed);
    const out: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const m = Buffer.from(msgs[i % msgs.length]!);
      for (let k = 1 + Math.floor(random() * 4); k > 0; k--) m[16 + Math.floor(random() * (m.length - 16))] = Math.floor(random() * 256);
      out.push(m);
    }
    return out;
  }

  it('links with corrupted bytes', () => {
    for (const m of corrupted(linkMsgs, 3000, 7)) sameLinks(m);
  });

  it('routes with corrupted bytes', () => {
    for (const m of corrupted(routeMsgs, 5000, 9)) sameRoutes(m);
  });

  it('garbage, and framing that breaks, end the dump without throwing', () => {
    const random = rng(3);
    for (let i = 0; i < 2000; i++) {
      const g = Buffer.from(Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
      expect(Array.isArray(decodeLinks(g))).toBe(true);
      expect(Array.isArray(decodeRoutes(g))).toBe(true);
    }
    // A message claiming more bytes than there are ends the walk after the good ones.
    const good = routeMsgs[0]!;
    const long = Buffer.from(good);
    long.writeUInt32LE(good.length + 100, 0);
    expect(decodeRoutes(dump([good, long, good]))).toHaveLength(1);
    const short = Buffer.from(good);
    short.writeUInt32LE(8, 0);
    expect(decodeRoutes(dump([good, short, good]))).toHaveLength(1);
  });
});
