// Route messages against the bytes `ip route` sends, kernel dumps decoded, and the checks made
// before sending. Vectors: node test/tools/capture.mjs --setup "$SETUP" -- CMD, with
//   SETUP='ip link add v0 type veth peer name v1; ip link add w0 type veth peer name w1;
//          ip link set v0 up; ip link set v1 up; ip link set w0 up; ip link set w1 up;
//          ip addr add 10.0.0.1/24 dev v0; ip addr add 10.1.0.1/24 dev w0;
//          ip addr add 2001:db8::1/64 dev v0 nodad; ip addr add 2001:db8:1::1/64 dev w0 nodad'
// so that v0 is ifindex 3 and w0 is 5; seq and pid are zeroed.
import { describe, expect, it } from 'vitest';

import { native } from '../../../lib/core/binding.js';
import { ValidationError } from '../../../lib/core/errors.js';
import type { AnyOp } from '../../../lib/core/op.js';
import { routeFromNative, routeOps, type RouteSpec } from '../../../lib/rtnl/route.js';
import { expectValidationError } from '../../helpers/validation.js';

const V0 = 3;
const W0 = 5;
const encode = (op: AnyOp<unknown>): string => native.encode(0, op.type, op.flags, op.body).toString('hex');
const decode = (hex: string) => native.decode(0, Buffer.from(hex, 'hex'));

interface Vector {
  cmd: string;
  op: AnyOp<unknown>;
  hex: string;
}

const ipv4: Vector[] = [
  {
    cmd: 'ip route add default via 10.0.0.2',
    op: routeOps.add({ dst: 'default', via: '10.0.0.2' }),
    hex: '2400000018000506000000000000000002000000fe03000100000000080005000a000002',
  },
  {
    cmd: 'ip route add 192.168.0.0/16 via 10.0.0.2 dev v0',
    op: routeOps.add({ dst: '192.168.0.0/16', via: '10.0.0.2', dev: V0 }),
    hex: '3400000018000506000000000000000002100000fe0300010000000008000100c0a80000080005000a0000020800040003000000',
  },
  {
    // No gateway: ip sends scope link.
    cmd: 'ip route add 192.168.0.0/16 dev v0',
    op: routeOps.add({ dst: '192.168.0.0/16', dev: V0 }),
    hex: '2c00000018000506000000000000000002100000fe03fd010000000008000100c0a800000800040003000000',
  },
  {
    cmd: 'ip route add default dev v0',
    op: routeOps.add({ dst: 'default', dev: V0 }),
    hex: '2400000018000506000000000000000002000000fe03fd01000000000800040003000000',
  },
  {
    // Tables below 256 go in rtm_table only.
    cmd: 'ip route add 192.168.0.0/16 via 10.0.0.2 table 100',
    op: routeOps.add({ dst: '192.168.0.0/16', via: '10.0.0.2', table: 100 }),
    hex: '2c00000018000506000000000000000002100000640300010000000008000100c0a80000080005000a000002',
  },
  {
    cmd: 'ip route add 192.168.0.0/16 dev v0 table 100',
    op: routeOps.add({ dst: '192.168.0.0/16', dev: V0, table: 100 }),
    hex: '2c000000180005060000000000000000021000006403fd010000000008000100c0a800000800040003000000',
  },
  {
    // From 256 on: rtm_table RT_TABLE_UNSPEC and RTA_TABLE.
    cmd: 'ip route add 192.168.0.0/16 via 10.0.0.2 table 1000',
    op: routeOps.add({ dst: '192.168.0.0/16', via: '10.0.0.2', table: 1000 }),
    hex: '3400000018000506000000000000000002100000000300010000000008000100c0a80000080005000a00000208000f00e8030000',
  },
  {
    cmd: 'ip route add 192.168.0.0/16 via 10.0.0.2 metric 50',
    op: routeOps.add({ dst: '192.168.0.0/16', via: '10.0.0.2', metric: 50 }),
    hex: '3400000018000506000000000000000002100000fe0300010000000008000100c0a80000080005000a0000020800060032000000',
  },
  {
    cmd: 'ip route add 192.168.0.0/16 dev v0 src 10.0.0.1',
    op: routeOps.add({ dst: '192.168.0.0/16', dev: V0, src: '10.0.0.1' }),
    hex: '3400000018000506000000000000000002100000fe03fd010000000008000100c0a80000080007000a0000010800040003000000',
  },
  {
    cmd: 'ip route add 192.168.0.0/16 via 10.0.0.2 proto static',
    op: routeOps.add({ dst: '192.168.0.0/16', via: '10.0.0.2', protocol: 'static' }),
    hex: '2c00000018000506000000000000000002100000fe0400010000000008000100c0a80000080005000a000002',
  },
  {
    cmd: 'ip route add 192.168.0.0/16 dev v0 scope global',
    op: routeOps.add({ dst: '192.168.0.0/16', dev: V0, scope: 'global' }),
    hex: '2c00000018000506000000000000000002100000fe0300010000000008000100c0a800000800040003000000',
  },
  {
    cmd: 'ip route add blackhole 192.168.0.0/16',
    op: routeOps.add({ dst: '192.168.0.0/16', type: 'blackhole' }),
    hex: '2400000018000506000000000000000002100000fe0300060000000008000100c0a80000',
  },
  {
    cmd: 'ip route add unreachable 192.168.0.0/16',
    op: routeOps.add({ dst: '192.168.0.0/16', type: 'unreachable' }),
    hex: '2400000018000506000000000000000002100000fe0300070000000008000100c0a80000',
  },
  {
    cmd: 'ip route add prohibit 192.168.0.0/16',
    op: routeOps.add({ dst: '192.168.0.0/16', type: 'prohibit' }),
    hex: '2400000018000506000000000000000002100000fe0300080000000008000100c0a80000',
  },
  {
    cmd: 'ip route add throw 192.168.0.0/16 table 100',
    op: routeOps.add({ dst: '192.168.0.0/16', type: 'throw', table: 100 }),
    hex: '2400000018000506000000000000000002100000640300090000000008000100c0a80000',
  },
  {
    // Local routes go to the local table with scope host unless told otherwise.
    cmd: 'ip route add local 192.168.1.1 dev v0',
    op: routeOps.add({ dst: '192.168.1.1', type: 'local', dev: V0 }),
    hex: '2c00000018000506000000000000000002200000ff03fe020000000008000100c0a801010800040003000000',
  },
  {
    cmd: 'ip route add broadcast 10.0.0.255 dev v0',
    op: routeOps.add({ dst: '10.0.0.255', type: 'broadcast', dev: V0 }),
    hex: '2c00000018000506000000000000000002200000ff03fd0300000000080001000a0000ff0800040003000000',
  },
  {
    cmd: 'ip route add 192.168.0.0/16 via 10.9.9.9 dev v0 onlink',
    op: routeOps.add({ dst: '192.168.0.0/16', via: '10.9.9.9', dev: V0, onlink: true }),
    hex: '3400000018000506000000000000000002100000fe0300010400000008000100c0a80000080005000a0909090800040003000000',
  },
  {
    cmd: 'ip route add 192.168.0.0/16 via 10.0.0.2 mtu 1400 advmss 1360',
    op: routeOps.add({ dst: '192.168.0.0/16', via: '10.0.0.2', mtu: 1400, advmss: 1360 }),
    hex: '4000000018000506000000000000000002100000fe0300010000000008000100c0a80000080005000a0000021400080008000200780500000800080050050000',
  },
  {
    // rtnh_hops is the weight minus one.
    cmd: 'ip route add 192.168.0.0/16 nexthop via 10.0.0.2 dev v0 weight 1 nexthop via 10.1.0.2 dev w0 weight 3',
    op: routeOps.add({ dst: '192.168.0.0/16', nexthops: [{ via: '10.0.0.2', dev: V0, weight: 1 }, { via: '10.1.0.2', dev: W0, weight: 3 }] }),
    hex: '4800000018000506000000000000000002100000fe0300010000000008000100c0a80000240009001000000003000000080005000a0000021000000205000000080005000a010002',
  },
  {
    cmd: 'ip route add 192.168.0.0/16 table 1000 nexthop via 10.0.0.2 dev v0 weight 1 nexthop via 10.1.0.2 dev w0 weight 3',
    op: routeOps.add({ dst: '192.168.0.0/16', table: 1000, nexthops: [{ via: '10.0.0.2', dev: V0, weight: 1 }, { via: '10.1.0.2', dev: W0, weight: 3 }] }),
    hex: '5000000018000506000000000000000002100000000300010000000008000100c0a8000008000f00e8030000240009001000000003000000080005000a0000021000000205000000080005000a010002',
  },
  {
    cmd: 'ip route add 192.168.0.0/16 nexthop via 10.9.9.9 dev v0 onlink nexthop via 10.1.0.2 dev w0',
    op: routeOps.add({ dst: '192.168.0.0/16', nexthops: [{ via: '10.9.9.9', dev: V0, onlink: true }, { via: '10.1.0.2', dev: W0 }] }),
    hex: '4800000018000506000000000000000002100000fe0300010000000008000100c0a80000240009001000040003000000080005000a0909091000000005000000080005000a010002',
  },
  {
    cmd: 'ip route add 192.168.0.0/16 via 10.0.0.2 dev v0 src 10.0.0.1 table 1000 metric 50 proto static mtu 1400 advmss 1360',
    op: routeOps.add({ dst: '192.168.0.0/16', via: '10.0.0.2', dev: V0, src: '10.0.0.1', table: 1000, metric: 50, protocol: 'static', mtu: 1400, advmss: 1360 }),
    hex: '6000000018000506000000000000000002100000000400010000000008000100c0a80000080005000a000002080007000a00000108000f00e8030000080006003200000008000400030000001400080008000200780500000800080050050000',
  },
  {
    cmd: 'ip route replace 192.168.0.0/16 via 10.0.0.2 dev v0',
    op: routeOps.replace({ dst: '192.168.0.0/16', via: '10.0.0.2', dev: V0 }),
    hex: '3400000018000505000000000000000002100000fe0300010000000008000100c0a80000080005000a0000020800040003000000',
  },
  {
    // A delete sends no protocol and no type, and scope nowhere: any route of that prefix matches.
    cmd: 'ip route del 192.168.0.0/16 via 10.0.0.2 dev v0',
    op: routeOps.del({ dst: '192.168.0.0/16', via: '10.0.0.2', dev: V0 }),
    hex: '3400000019000500000000000000000002100000fe00ff000000000008000100c0a80000080005000a0000020800040003000000',
  },
  {
    cmd: 'ip route del 192.168.0.0/16',
    op: routeOps.del({ dst: '192.168.0.0/16' }),
    hex: '2400000019000500000000000000000002100000fe00ff000000000008000100c0a80000',
  },
  {
    cmd: 'ip route del default via 10.0.0.2',
    op: routeOps.del({ dst: 'default', via: '10.0.0.2' }),
    hex: '2400000019000500000000000000000002000000fe00ff0000000000080005000a000002',
  },
  {
    cmd: 'ip route del 192.168.0.0/16 table 1000',
    op: routeOps.del({ dst: '192.168.0.0/16', table: 1000 }),
    hex: '2c000000190005000000000000000000021000000000ff000000000008000100c0a8000008000f00e8030000',
  },
  {
    cmd: 'ip route del blackhole 192.168.0.0/16',
    op: routeOps.del({ dst: '192.168.0.0/16', type: 'blackhole' }),
    hex: '2400000019000500000000000000000002100000fe00ff060000000008000100c0a80000',
  },
  {
    cmd: 'ip route del local 192.168.1.1 dev v0',
    op: routeOps.del({ dst: '192.168.1.1', type: 'local', dev: V0 }),
    hex: '2c00000019000500000000000000000002200000ff00fe020000000008000100c0a801010800040003000000',
  },
];

const ipv6: Vector[] = [
  {
    cmd: 'ip route add default via 2001:db8::2',
    op: routeOps.add({ dst: 'default', via: '2001:db8::2' }),
    hex: '300000001800050600000000000000000a000000fe030001000000001400050020010db8000000000000000000000002',
  },
  {
    cmd: 'ip route add 2001:db8:5::/48 via 2001:db8::2 dev v0',
    op: routeOps.add({ dst: '2001:db8:5::/48', via: '2001:db8::2', dev: V0 }),
    hex: '4c0000001800050600000000000000000a300000fe030001000000001400010020010db80005000000000000000000001400050020010db80000000000000000000000020800040003000000',
  },
  {
    // IPv6 routes have no scope: ip sends universe even without a gateway.
    cmd: 'ip route add 2001:db8:5::/48 dev v0',
    op: routeOps.add({ dst: '2001:db8:5::/48', dev: V0 }),
    hex: '380000001800050600000000000000000a300000fe030001000000001400010020010db80005000000000000000000000800040003000000',
  },
  {
    cmd: 'ip route add 2001:db8:5::/48 via 2001:db8::2 table 1000 metric 50',
    op: routeOps.add({ dst: '2001:db8:5::/48', via: '2001:db8::2', table: 1000, metric: 50 }),
    hex: '540000001800050600000000000000000a30000000030001000000001400010020010db80005000000000000000000001400050020010db800000000000000000000000208000f00e80300000800060032000000',
  },
  {
    cmd: 'ip route add 2001:db8:5::/48 dev v0 src 2001:db8::1 proto static',
    op: routeOps.add({ dst: '2001:db8:5::/48', dev: V0, src: '2001:db8::1', protocol: 'static' }),
    hex: '4c0000001800050600000000000000000a300000fe040001000000001400010020010db80005000000000000000000001400070020010db80000000000000000000000010800040003000000',
  },
  {
    cmd: 'ip route add blackhole 2001:db8:5::/48',
    op: routeOps.add({ dst: '2001:db8:5::/48', type: 'blackhole' }),
    hex: '300000001800050600000000000000000a300000fe030006000000001400010020010db8000500000000000000000000',
  },
  {
    cmd: 'ip route add unreachable 2001:db8:5::/48',
    op: routeOps.add({ dst: '2001:db8:5::/48', type: 'unreachable' }),
    hex: '300000001800050600000000000000000a300000fe030007000000001400010020010db8000500000000000000000000',
  },
  {
    cmd: 'ip route add 2001:db8:5::/48 nexthop via 2001:db8::2 dev v0 weight 2 nexthop via 2001:db8:1::2 dev w0 weight 5',
    op: routeOps.add({ dst: '2001:db8:5::/48', nexthops: [{ via: '2001:db8::2', dev: V0, weight: 2 }, { via: '2001:db8:1::2', dev: W0, weight: 5 }] }),
    hex: '6c0000001800050600000000000000000a300000fe030001000000001400010020010db80005000000000000000000003c0009001c000001030000001400050020010db80000000000000000000000021c000004050000001400050020010db8000100000000000000000002',
  },
  {
    cmd: 'ip route replace 2001:db8:5::/48 via 2001:db8::2 dev v0',
    op: routeOps.replace({ dst: '2001:db8:5::/48', via: '2001:db8::2', dev: V0 }),
    hex: '4c0000001800050500000000000000000a300000fe030001000000001400010020010db80005000000000000000000001400050020010db80000000000000000000000020800040003000000',
  },
  {
    cmd: 'ip route del 2001:db8:5::/48 via 2001:db8::2 dev v0',
    op: routeOps.del({ dst: '2001:db8:5::/48', via: '2001:db8::2', dev: V0 }),
    hex: '4c0000001900050000000000000000000a300000fe000000000000001400010020010db80005000000000000000000001400050020010db80000000000000000000000020800040003000000',
  },
  {
    cmd: 'ip route del 2001:db8:5::/48',
    op: routeOps.del({ dst: '2001:db8:5::/48' }),
    hex: '300000001900050000000000000000000a300000fe000000000000001400010020010db8000500000000000000000000',
  },
];

const lookups: Vector[] = [
  {
    // A plain request (no NLM_F_ACK); IPv4 asks for the table with RTM_F_LOOKUP_TABLE.
    cmd: 'ip route get 10.0.0.2',
    op: routeOps.get('10.0.0.2'),
    hex: '240000001a0001000000000000000000022000000000000000100000080001000a000002',
  },
  {
    cmd: 'ip route get 2001:db8::2',
    op: routeOps.get('2001:db8::2'),
    hex: '300000001a00010000000000000000000a80000000000000000000001400010020010db8000000000000000000000002',
  },
  {
    cmd: 'ip route get 10.0.0.2 from 10.0.0.1 oif v0 mark 7',
    op: routeOps.get('10.0.0.2', { from: '10.0.0.1', oif: V0, mark: 7 }),
    hex: '3c0000001a0001000000000000000000022020000000000000100000080001000a000002080002000a00000108000400030000000800100007000000',
  },
  {
    cmd: 'ip route get 10.0.0.2 from 10.1.0.2 iif w0',
    op: routeOps.get('10.0.0.2', { from: '10.1.0.2', iif: W0 }),
    hex: '340000001a0001000000000000000000022020000000000000100000080001000a000002080002000a0100020800030005000000',
  },
];

const listings: Vector[] = [
  {
    // ip puts the table in RTA_TABLE for a dump, whatever its number.
    cmd: 'ip -6 route show',
    op: routeOps.list({ family: 'inet6' }),
    hex: '240000001a00010300000000000000000a000000000000000000000008000f00fe000000',
  },
  {
    cmd: 'ip route show table 1000',
    op: routeOps.list({ family: 'inet', table: 1000 }),
    hex: '240000001a000103000000000000000002000000000000000000000008000f00e8030000',
  },
  {
    cmd: 'ip route show table all (ip leaves the family unspecified here too)',
    op: routeOps.list({ table: 'all' }),
    hex: '1c0000001a0001030000000000000000000000000000000000000000',
  },
  {
    cmd: 'ip route show dev v0 proto kernel',
    op: routeOps.list({ family: 'inet', dev: V0, protocol: 'kernel' }),
    hex: '2c0000001a000103000000000000000002000000000200000000000008000f00fe0000000800040003000000',
  },
  {
    cmd: 'ip -4 route show table 100 dev v0',
    op: routeOps.list({ family: 'inet', table: 100, dev: V0 }),
    hex: '2c0000001a000103000000000000000002000000000000000000000008000f00640000000800040003000000',
  },
];

const all = [...ipv4, ...ipv6, ...lookups, ...listings];

describe('route messages match what ip sends', () => {
  it.each(ipv4)('$cmd', ({ op, hex }) => expect(encode(op)).toBe(hex));
  it.each(ipv6)('$cmd', ({ op, hex }) => expect(encode(op)).toBe(hex));
  it.each(lookups)('$cmd', ({ op, hex }) => expect(encode(op)).toBe(hex));
  it.each(listings)('$cmd', ({ op, hex }) => expect(encode(op)).toBe(hex));

  it.each(all)('decode → encode gives the same bytes: $cmd', ({ hex }) => {
    const [m] = decode(hex);
    expect(native.encode(0, m!.type, m!.flags, m!.body!).toString('hex')).toBe(hex);
  });

  it('an IPv6 default route carries no RTA_DST (ip -6 … default sends ::/0 as one; the kernel reads both alike)', () => {
    // ip -6 route add default dev v0
    const ip = '380000001800050600000000000000000a000000fe0300010000000014000100000000000000000000000000000000000800040003000000';
    const [theirs] = decode(ip);
    const [ours] = decode(encode(routeOps.add({ dst: 'default', family: 'inet6', dev: V0 })));
    const { dst, ...rest } = theirs!.body!;
    expect(dst).toBe('::');
    expect(ours!.body).toEqual(rest);
  });

  it('interface names are left for the executor to resolve', () => {
    const op = routeOps.add({ dst: '192.168.0.0/16', via: '10.0.0.2', dev: 'v0' });
    expect(encode(op)).toBe(ipv4[1]!.hex.replace(/03000000$/, '00000000'));
  });

  it('protocols carry the names of iproute2\'s rt_protos, and numbers otherwise', () => {
    // ip route add 192.168.0.0/16 dev v0 proto openr (99); … proto 250
    const openr = decode(encode(routeOps.add({ dst: '192.168.0.0/16', dev: V0, protocol: 'openr' })));
    expect(openr[0]!.body).toMatchObject({ protocol: 'openr' });
    expect(encode(routeOps.add({ dst: '192.168.0.0/16', dev: V0, protocol: 99 }))).toBe(encode(routeOps.add({ dst: '192.168.0.0/16', dev: V0, protocol: 'openr' })));
    expect(routeFromNative(decode(encode(routeOps.add({ dst: '192.168.0.0/16', dev: V0, protocol: 250 })))[0]!.body!).protocol).toBe(250);
  });

  it('a default route without a gateway is IPv4 unless told', () => {
    expect(routeOps.add({ dst: 'default', dev: V0 }).body).toMatchObject({ family: 'inet', dstLen: 0 });
    expect(routeOps.add({ dst: 'default', family: 'inet6', dev: V0 }).body).toMatchObject({ family: 'inet6', dstLen: 0 });
  });
});

// Replies to a plain RTM_GETROUTE dump, as the kernel sent them (read off a raw netlink socket,
// seq and pid zeroed), v0 being ifindex 3 and w0 5.
const dumps = {
  // ip route add 192.168.0.0/16 via 10.0.0.2 dev v0 proto static metric 50 mtu 1400 advmss 1360
  v4Gateway: '5800000018002200000000000000000002100000fe0400010000000008000f00fe00000008000100c0a8000008000600320000001400080008000200780500000800080050050000080005000a0000020800040003000000',
  // the kernel's route for 10.0.0.1/24 on v0
  v4Kernel: '3c00000018002200000000000000000002180000fe02fd010000000008000f00fe000000080001000a000000080007000a0000010800040003000000',
  // ip route add 172.16.0.0/12 nexthop via 10.0.0.2 dev v0 weight 1 nexthop via 10.1.0.2 dev w0 weight 3
  v4Multipath: '50000000180022000000000000000000020c0000fe0300010000000008000f00fe00000008000100ac100000240009001000000003000000080005000a0000021000000205000000080005000a010002',
  // ip route add blackhole 10.201.0.0/16
  v4Blackhole: '2c00000018002200000000000000000002100000fe0300060000000008000f00fe000000080001000ac90000',
  // ip route add 10.200.0.0/16 dev v0 table 1000 src 10.0.0.1 (rtm_table says RT_TABLE_COMPAT)
  v4Table: '3c00000018002200000000000000000002100000fc03fd010000000008000f00e8030000080001000ac80000080007000a0000010800040003000000',
  // ip route add 2001:db8:5::/48 via 2001:db8:2::2 dev v0 metric 50 proto static
  v6Gateway: '880000001800220000000000000000000a300000fe0400010000000008000f00fe0000001400010020010db800050000000000000000000008000600320000001400050020010db8000200000000000000000002080004000300000024000c0000000000000000000000000000000000000000000000000000000000000000000500140000000000',
  // ip route add 2001:db8:6::/48 nexthop via 2001:db8:2::2 dev v0 weight 2 nexthop via 2001:db8:1::2 dev w0
  v6Multipath: 'a80000001800220000000000000000000a300000fe0300010000000008000f00fe0000001400010020010db800060000000000000000000008000600000400003c0009001c000001030000001400050020010db80002000000000000000000021c000000050000001400050020010db800010000000000000000000224000c0000000000000000000000000000000000000000000000000000000000000000000500140000000000',
};

describe('route replies from the kernel', () => {
  const parse = (hex: string) => routeFromNative(decode(hex)[0]!.body!);

  it('a static route with a gateway, metric and metrics', () => {
    expect(parse(dumps.v4Gateway)).toEqual({
      family: 'inet', dst: '192.168.0.0/16', type: 'unicast', table: 254, protocol: 'static', scope: 'global',
      via: '10.0.0.2', dev: 3, metric: 50, mtu: 1400, advmss: 1360,
    });
  });

  it('a prefix route the kernel made', () => {
    expect(parse(dumps.v4Kernel)).toEqual({
      family: 'inet', dst: '10.0.0.0/24', type: 'unicast', table: 254, protocol: 'kernel', scope: 'link', dev: 3, src: '10.0.0.1',
    });
  });

  it('IPv4 multipath with weights', () => {
    expect(parse(dumps.v4Multipath)).toEqual({
      family: 'inet', dst: '172.16.0.0/12', type: 'unicast', table: 254, protocol: 'boot', scope: 'global',
      nexthops: [{ via: '10.0.0.2', dev: 3, weight: 1 }, { via: '10.1.0.2', dev: 5, weight: 3 }],
    });
  });

  it('a blackhole route', () => {
    expect(parse(dumps.v4Blackhole)).toEqual({ family: 'inet', dst: '10.201.0.0/16', type: 'blackhole', table: 254, protocol: 'boot', scope: 'global' });
  });

  it('a table of 256 or more comes from RTA_TABLE', () => {
    expect(parse(dumps.v4Table)).toMatchObject({ dst: '10.200.0.0/16', table: 1000, dev: 3, src: '10.0.0.1', scope: 'link' });
  });

  it('IPv6, with the RTA_PREF and RTA_CACHEINFO the kernel adds', () => {
    expect(parse(dumps.v6Gateway)).toEqual({
      family: 'inet6', dst: '2001:db8:5::/48', type: 'unicast', table: 254, protocol: 'static', scope: 'global',
      via: '2001:db8:2::2', dev: 3, metric: 50,
    });
    expect(decode(dumps.v6Gateway)[0]!.body).toMatchObject({ pref: 0 });
  });

  it('IPv6 multipath', () => {
    expect(parse(dumps.v6Multipath).nexthops).toEqual([{ via: '2001:db8:2::2', dev: 3, weight: 2 }, { via: '2001:db8:1::2', dev: 5, weight: 1 }]);
  });

  it.each(Object.entries(dumps))('decode → encode → decode keeps everything: %s', (_, hex) => {
    // The kernel orders attributes its own way; ours is ip's, so compare what they say.
    const [m] = decode(hex);
    const again = native.encode(0, m!.type, m!.flags, m!.body!);
    expect(again.length).toBe(hex.length / 2);
    expect(native.decode(0, again)).toEqual(decode(hex));
  });

  it('an onlink flag in rtm_flags', () => {
    const hex = encode(routeOps.add({ dst: '192.168.0.0/16', via: '10.9.9.9', dev: V0, onlink: true }));
    expect(parse(hex).onlink).toBe(true);
  });
});

describe('route input checks (nothing reaches the kernel)', () => {
  const ok: RouteSpec = { dst: '192.168.0.0/16', via: '10.0.0.2' };
  const as = <T>(v: unknown): T => v as T;
  const cases: [string, () => unknown, string][] = [
    ['spec not an object', () => routeOps.add(as<RouteSpec>('10.0.0.0/8')), 'route'],
    ['unknown option', () => routeOps.add(as<RouteSpec>({ ...ok, gateway: '10.0.0.2' })), 'route.gateway'],
    ['no dst', () => routeOps.add(as<RouteSpec>({ via: '10.0.0.2' })), 'route.dst'],
    ['bad dst', () => routeOps.add({ ...ok, dst: '192.168.0.0/40' }), 'route.dst'],
    ['dst of another family', () => routeOps.add({ ...ok, dst: '2001:db8::/32', family: 'inet' }), 'route.dst'],
    ['default with a bad gateway', () => routeOps.add({ dst: 'default', via: 'router' }), 'route.via'],
    ['gateway of the other family', () => routeOps.add({ ...ok, via: '2001:db8::2' }), 'route.via'],
    ['bad table name', () => routeOps.add({ ...ok, table: as<'main'>('mine') }), 'route.table'],
    ['table 0', () => routeOps.add({ ...ok, table: 0 }), 'route.table'],
    ['table too big', () => routeOps.add({ ...ok, table: 2 ** 32 }), 'route.table'],
    ['unknown type', () => routeOps.add({ ...ok, type: as<'local'>('drop') }), 'route.type'],
    ['unknown protocol', () => routeOps.add({ ...ok, protocol: as<'static'>('quagga') }), 'route.protocol'],
    ['protocol over 255', () => routeOps.add({ ...ok, protocol: 256 }), 'route.protocol'],
    ['unknown scope', () => routeOps.add({ ...ok, scope: as<'link'>('universe') }), 'route.scope'],
    ['src of the other family', () => routeOps.add({ ...ok, src: '2001:db8::1' }), 'route.src'],
    ['negative metric', () => routeOps.add({ ...ok, metric: -1 }), 'route.metric'],
    ['bad dev', () => routeOps.add({ ...ok, dev: 'has space' }), 'route.dev'],
    ['onlink not a boolean', () => routeOps.add({ ...ok, onlink: as<boolean>('yes') }), 'route.onlink'],
    ['mtu too small', () => routeOps.add({ ...ok, mtu: 67 }), 'route.mtu'],
    ['advmss 0', () => routeOps.add({ ...ok, advmss: 0 }), 'route.advmss'],
    ['nexthops not an array', () => routeOps.add({ dst: '10.0.0.0/8', nexthops: as<[]>({}) }), 'route.nexthops'],
    ['nexthops empty', () => routeOps.add({ dst: '10.0.0.0/8', nexthops: [] }), 'route.nexthops'],
    ['nexthop not an object', () => routeOps.add({ dst: '10.0.0.0/8', nexthops: [as<object>(7)] }), 'route.nexthops[0]'],
    ['nexthop unknown key', () => routeOps.add({ dst: '10.0.0.0/8', nexthops: [as<object>({ gw: '10.0.0.2' })] }), 'route.nexthops[0].gw'],
    ['nexthop gateway family', () => routeOps.add({ dst: '10.0.0.0/8', nexthops: [{ via: '10.0.0.2' }, { via: '2001:db8::2' }] }), 'route.nexthops[1].via'],
    ['nexthop dev', () => routeOps.add({ dst: '10.0.0.0/8', nexthops: [{ dev: -1 }] }), 'route.nexthops[0].dev'],
    ['nexthop weight 0', () => routeOps.add({ dst: '10.0.0.0/8', nexthops: [{ via: '10.0.0.2', weight: 0 }] }), 'route.nexthops[0].weight'],
    ['nexthop weight 257', () => routeOps.add({ dst: '10.0.0.0/8', nexthops: [{ via: '10.0.0.2', weight: 257 }] }), 'route.nexthops[0].weight'],
    ['nexthop onlink', () => routeOps.add({ dst: '10.0.0.0/8', nexthops: [{ via: '10.0.0.2', onlink: as<boolean>(1) }] }), 'route.nexthops[0].onlink'],
    ['filter not an object', () => routeOps.list(as<object>(254)), 'filter'],
    ['filter unknown key', () => routeOps.list(as<object>({ scope: 'link' })), 'filter.scope'],
    ['filter family', () => routeOps.list({ family: as<'inet'>('ipv4') }), 'filter.family'],
    ['filter table', () => routeOps.list({ table: as<'all'>('every') }), 'filter.table'],
    ['filter dev', () => routeOps.list({ dev: '' }), 'filter.dev'],
    ['filter protocol', () => routeOps.list({ protocol: as<'boot'>('frr') }), 'filter.protocol'],
    ['filter protocol number', () => routeOps.list({ protocol: 300 }), 'filter.protocol'],
    ['get: bad address', () => routeOps.get('10.0.0.0/8'), 'dst'],
    ['get: opts not an object', () => routeOps.get('10.0.0.2', as<object>('v0')), 'opts'],
    ['get: unknown option', () => routeOps.get('10.0.0.2', as<object>({ dev: 'v0' })), 'opts.dev'],
    ['get: from of the other family', () => routeOps.get('10.0.0.2', { from: '2001:db8::1' }), 'opts.from'],
    ['get: iif', () => routeOps.get('10.0.0.2', { iif: 1.5 }), 'opts.iif'],
    ['get: oif', () => routeOps.get('10.0.0.2', { oif: 'a/b' }), 'opts.oif'],
    ['get: mark', () => routeOps.get('10.0.0.2', { mark: -1 }), 'opts.mark'],
  ];
  it.each(cases)('%s', (_, call, field) => expectValidationError(call, field));

  it('replace and del check the same way', () => {
    expect(() => routeOps.replace({ ...ok, metric: 1.5 })).toThrow(ValidationError);
    expect(() => routeOps.del({ ...ok, table: -1 })).toThrow(ValidationError);
  });
});
