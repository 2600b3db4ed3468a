// Address messages against the bytes `ip addr` sends, kernel dumps decoded, and the checks made
// before sending. Vectors: node test/tools/capture.mjs --setup "$SETUP" -- CMD, with
//   SETUP='ip link add v0 type veth peer name v1; ip link add w0 type veth peer name w1;
//          ip link set v0 up; ip link set v1 up; ip link set w0 up; ip link set w1 up;
//          ip addr add 10.0.0.1/24 dev v0; ip addr add 10.1.0.1/24 dev w0;
//          ip addr add 2001:db8::1/64 dev v0 nodad; ip addr add 2001:db8:1::1/64 dev w0 nodad'
// so that lo is ifindex 1 and v0 is 3; seq and pid are zeroed.
import { describe, expect, it } from 'vitest';

import { addrFromNative, addrOps, type AddrSpec } from '../../../lib/rtnl/addr.js';
import { native } from '../../../lib/core/binding.js';
import { ValidationError } from '../../../lib/core/errors.js';
import type { Op } from '../../../lib/core/op.js';
import { expectValidationError } from '../../helpers/validation.js';

const V0 = 3;
const encode = (op: Op<unknown>): string => native.encode(0, op.type, op.flags, op.body).toString('hex');
const decode = (hex: string) => native.decode(0, Buffer.from(hex, 'hex'));

interface Vector {
  cmd: string;
  op: Op<unknown>;
  hex: string;
}

const vectors: Vector[] = [
  {
    cmd: 'ip addr add 10.0.0.5/24 dev v0',
    op: addrOps.add({ dev: V0, address: '10.0.0.5/24' }),
    hex: '280000001400050600000000000000000218000003000000080002000a000005080001000a000005',
  },
  {
    cmd: 'ip addr replace 10.0.0.5/24 dev v0',
    op: addrOps.replace({ dev: V0, address: '10.0.0.5/24' }),
    hex: '280000001400050500000000000000000218000003000000080002000a000005080001000a000005',
  },
  {
    cmd: 'ip addr del 10.0.0.1/24 dev v0',
    op: addrOps.del({ dev: V0, address: '10.0.0.1/24' }),
    hex: '280000001500050000000000000000000218000003000000080002000a000001080001000a000001',
  },
  {
    cmd: 'ip addr add 2001:db8::5/64 dev v0',
    op: addrOps.add({ dev: V0, address: '2001:db8::5/64' }),
    hex: '400000001400050600000000000000000a400000030000001400020020010db80000000000000000000000051400010020010db8000000000000000000000005',
  },
  {
    cmd: 'ip addr replace 2001:db8::5/64 dev v0',
    op: addrOps.replace({ dev: V0, address: '2001:db8::5/64' }),
    hex: '400000001400050500000000000000000a400000030000001400020020010db80000000000000000000000051400010020010db8000000000000000000000005',
  },
  {
    cmd: 'ip addr del 2001:db8::1/64 dev v0',
    op: addrOps.del({ dev: V0, address: '2001:db8::1/64' }),
    hex: '400000001500050000000000000000000a400000030000001400020020010db80000000000000000000000011400010020010db8000000000000000000000001',
  },
  {
    cmd: 'ip addr add 10.0.0.5/24 brd + dev v0',
    op: addrOps.add({ dev: V0, address: '10.0.0.5/24', broadcast: true }),
    hex: '300000001400050600000000000000000218000003000000080002000a000005080001000a000005080004000a0000ff',
  },
  {
    cmd: 'ip addr add 10.0.0.5/24 dev v0 label v0:1',
    op: addrOps.add({ dev: V0, address: '10.0.0.5/24', label: 'v0:1' }),
    hex: '340000001400050600000000000000000218000003000000080002000a0000050900030076303a3100000000080001000a000005',
  },
  {
    cmd: 'ip addr add 10.2.0.5/24 dev v0 scope link',
    op: addrOps.add({ dev: V0, address: '10.2.0.5/24', scope: 'link' }),
    hex: '28000000140005060000000000000000021800fd03000000080002000a020005080001000a020005',
  },
  {
    cmd: 'ip addr add 10.2.0.5/24 dev v0 scope host',
    op: addrOps.add({ dev: V0, address: '10.2.0.5/24', scope: 'host' }),
    hex: '28000000140005060000000000000000021800fe03000000080002000a020005080001000a020005',
  },
  {
    // ip gives addresses in 127.0.0.0/8 scope host when no scope is named; so do we.
    cmd: 'ip addr add 127.0.0.2/8 dev lo',
    op: addrOps.add({ dev: 1, address: '127.0.0.2/8' }),
    hex: '28000000140005060000000000000000020800fe01000000080002007f000002080001007f000002',
  },
  {
    // IFA_F_NODAD fits ifa_flags: ip sends it there and no IFA_FLAGS.
    cmd: 'ip addr add 2001:db8::5/64 dev v0 nodad',
    op: addrOps.add({ dev: V0, address: '2001:db8::5/64', nodad: true }),
    hex: '400000001400050600000000000000000a400200030000001400020020010db80000000000000000000000051400010020010db8000000000000000000000005',
  },
  {
    // IFA_F_NOPREFIXROUTE (0x200) does not fit: IFA_FLAGS only, ifa_flags left 0.
    cmd: 'ip addr add 10.0.0.5/24 dev v0 noprefixroute',
    op: addrOps.add({ dev: V0, address: '10.0.0.5/24', noprefixroute: true }),
    hex: '300000001400050600000000000000000218000003000000080002000a0000050800080000020000080001000a000005',
  },
  {
    cmd: 'ip addr add 2001:db8::5/64 dev v0 nodad noprefixroute',
    op: addrOps.add({ dev: V0, address: '2001:db8::5/64', nodad: true, noprefixroute: true }),
    hex: '480000001400050600000000000000000a400000030000001400020020010db800000000000000000000000508000800020200001400010020010db8000000000000000000000005',
  },
  {
    cmd: 'ip addr add 10.0.0.5/24 dev v0 valid_lft 300 preferred_lft 200',
    op: addrOps.add({ dev: V0, address: '10.0.0.5/24', validLifetime: 300, preferredLifetime: 200 }),
    hex: '3c0000001400050600000000000000000218000003000000080002000a000005080001000a00000514000600c80000002c0100000000000000000000',
  },
  {
    cmd: 'ip addr add 2001:db8::5/64 dev v0 valid_lft 300 preferred_lft 200',
    op: addrOps.add({ dev: V0, address: '2001:db8::5/64', validLifetime: 300, preferredLifetime: 200 }),
    hex: '540000001400050600000000000000000a400000030000001400020020010db80000000000000000000000051400010020010db800000000000000000000000514000600c80000002c0100000000000000000000',
  },
  {
    cmd: 'ip addr add 10.0.0.5/24 dev v0 valid_lft forever preferred_lft forever',
    op: addrOps.add({ dev: V0, address: '10.0.0.5/24', validLifetime: 'forever', preferredLifetime: 'forever' }),
    hex: '3c0000001400050600000000000000000218000003000000080002000a000005080001000a00000514000600ffffffffffffffff0000000000000000',
  },
  {
    cmd: 'ip addr add 10.0.0.5/24 dev v0 metric 100',
    op: addrOps.add({ dev: V0, address: '10.0.0.5/24', metric: 100 }),
    hex: '300000001400050600000000000000000218000003000000080002000a0000050800090064000000080001000a000005',
  },
  {
    cmd: 'ip addr add 10.9.0.1 peer 10.9.0.2/32 dev v0',
    op: addrOps.add({ dev: V0, address: '10.9.0.1', peer: '10.9.0.2/32' }),
    hex: '280000001400050600000000000000000220000003000000080002000a090001080001000a090002',
  },
  {
    cmd: 'ip addr add 2001:db8:9::1/128 peer 2001:db8:9::2/128 dev v0 nodad',
    op: addrOps.add({ dev: V0, address: '2001:db8:9::1', peer: '2001:db8:9::2', nodad: true }),
    hex: '400000001400050600000000000000000a800200030000001400020020010db80009000000000000000000011400010020010db8000900000000000000000002',
  },
  {
    cmd: 'ip addr del 10.9.0.1 peer 10.9.0.2/32 dev v0',
    op: addrOps.del({ dev: V0, address: '10.9.0.1', peer: '10.9.0.2/32' }),
    hex: '280000001500050000000000000000000220000003000000080002000a090001080001000a090002',
  },
  {
    cmd: 'ip addr add 10.0.0.5/24 brd + dev v0 label v0:a scope link noprefixroute valid_lft 100 preferred_lft 50 metric 10',
    op: addrOps.add({
      dev: V0, address: '10.0.0.5/24', broadcast: true, label: 'v0:a', scope: 'link',
      noprefixroute: true, validLifetime: 100, preferredLifetime: 50, metric: 10,
    }),
    hex: '60000000140005060000000000000000021800fd03000000080002000a0000050900030076303a6100000000080009000a0000000800080000020000080001000a000005080004000a0000ff1400060032000000640000000000000000000000',
  },
];

describe('addr messages match what ip sends', () => {
  it.each(vectors)('$cmd', ({ op, hex }) => {
    expect(encode(op)).toBe(hex);
  });

  it.each(vectors)('decode → encode gives the same bytes: $cmd', ({ hex }) => {
    const [m] = decode(hex);
    expect(native.encode(0, m!.type, m!.flags, m!.body!).toString('hex')).toBe(hex);
  });

  it('an explicit broadcast: the same attributes, written after IFA_ADDRESS rather than before', () => {
    // ip addr add 10.0.0.5/24 broadcast 10.0.0.200 dev v0 (ip writes it where it parses it)
    const ip = '300000001400050600000000000000000218000003000000080002000a000005080004000a0000c8080001000a000005';
    const ours = encode(addrOps.add({ dev: V0, address: '10.0.0.5/24', broadcast: '10.0.0.200' }));
    expect(ours.length).toBe(ip.length);
    expect(decode(ours)).toEqual(decode(ip));
  });

  it('a peer without a prefix takes the address\'s (ip would use /32)', () => {
    const op = addrOps.add({ dev: V0, address: '10.9.0.1/24', peer: '10.9.0.2' });
    expect(op.body).toMatchObject({ prefixlen: 24, local: '10.9.0.1', address: '10.9.0.2' });
    expect(addrOps.add({ dev: V0, address: '10.9.0.1/24', peer: '10.9.0.2/24' }).body).toMatchObject({ prefixlen: 24 });
  });

  it('a preferred lifetime defaults to the valid one', () => {
    expect(addrOps.add({ dev: V0, address: '10.0.0.5/24', validLifetime: 60 }).body).toMatchObject({ cacheinfo: { valid: 60, preferred: 60 } });
    expect(addrOps.add({ dev: V0, address: '10.0.0.5/24', preferredLifetime: 60 }).body).toMatchObject({ cacheinfo: { valid: 0xffffffff, preferred: 60 } });
  });

  it('brd + on /31 and /32 follows ip', () => {
    expect(addrOps.add({ dev: V0, address: '10.0.0.4/31', broadcast: true }).body).toMatchObject({ broadcast: '10.0.0.5' });
    expect(addrOps.add({ dev: V0, address: '10.0.0.4/32', broadcast: true }).body).toMatchObject({ broadcast: '10.0.0.4' });
    expect(addrOps.add({ dev: V0, address: '10.0.0.4/0', broadcast: true }).body).toMatchObject({ broadcast: '255.255.255.255' });
  });

  it('interface names are left for the executor to resolve', () => {
    const op = addrOps.add({ dev: 'v0', address: '10.0.0.5/24' });
    expect(encode(op)).toBe(vectors[0]!.hex.replace('0218000003000000', '0218000000000000'));
  });

  it('list asks the kernel to filter by family and device', () => {
    // ip -4 addr show dev v0
    expect(encode(addrOps.list({ family: 'inet', dev: V0 }))).toBe('180000001600010300000000000000000200000003000000');
    // ip addr show
    expect(encode(addrOps.list())).toBe('180000001600010300000000000000000000000000000000');
  });
});

// Replies to a plain RTM_GETADDR dump, as the kernel sent them (read off a raw netlink socket,
// seq and pid zeroed)
// after: ip addr add 10.0.0.1/24 brd + dev v0 label v0:a;
// ip addr add 10.9.0.1 peer 10.9.0.2/32 dev w0 valid_lft 3000 preferred_lft 2000 metric 7 (w0 is 5);
// ip addr add 2001:db8::1/64 dev v0 nodad noprefixroute.
const dumps = {
  v4Label: '580000001400020000000000000000000218800003000000080001000a000001080002000a000001080004000a0000ff0900030076303a6100000000080008008000000014000600ffffffffffffffff34a5010034a50100',
  v4Peer: '540000001400020000000000000000000220000005000000080001000a090002080002000a09000107000300773000000800080000000000080009000700000014000600d0070000b80b000034a5010034a50100',
  v6Flags: '480000001400020000000000000000000a408200030000001400010020010db800000000000000000000000114000600ffffffffffffffff34a5010034a501000800080082020000',
  v6LinkLocal: '500000001400020000000000000000000a40c0fd0200000014000100fe80000000000000ec554bfffe7d0d8e14000600ffffffffffffffff32a5010032a5010008000800c000000005000b0003000000',
};

describe('addr replies from the kernel', () => {
  const parse = (hex: string) => addrFromNative(decode(hex)[0]!.body!);

  it('an IPv4 address with broadcast and label', () => {
    expect(parse(dumps.v4Label)).toEqual({
      family: 'inet', dev: 3, address: '10.0.0.1/24', prefixlen: 24, broadcast: '10.0.0.255', label: 'v0:a',
      scope: 'global', flags: ['permanent'], validLifetime: 'forever', preferredLifetime: 'forever',
    });
  });

  it('a point-to-point address with lifetimes and a metric', () => {
    expect(parse(dumps.v4Peer)).toEqual({
      family: 'inet', dev: 5, address: '10.9.0.1/32', prefixlen: 32, peer: '10.9.0.2', label: 'w0',
      scope: 'global', flags: [], validLifetime: 3000, preferredLifetime: 2000, metric: 7,
    });
  });

  it('IPv6 flags beyond eight bits come from IFA_FLAGS', () => {
    expect(parse(dumps.v6Flags)).toEqual({
      family: 'inet6', dev: 3, address: '2001:db8::1/64', prefixlen: 64, scope: 'global',
      flags: ['nodad', 'permanent', 'noprefixroute'], validLifetime: 'forever', preferredLifetime: 'forever',
    });
  });

  it('a link-local address, with IFA_PROTO (3: made by the kernel for the link)', () => {
    const [m] = decode(dumps.v6LinkLocal);
    expect(m!.body).toMatchObject({ family: 'inet6', prefixlen: 64, scope: 'link', index: 2, address: 'fe80::ec55:4bff:fe7d:d8e', proto: 3 });
    expect(parse(dumps.v6LinkLocal).flags).toEqual(['tentative', 'permanent']);
  });

  it.each(Object.entries(dumps))('decode → encode → decode keeps everything: %s', (_, hex) => {
    // The kernel orders attributes its own way; ours is ip's, so compare what they say.
    const [m] = decode(hex);
    const again = native.encode(0, m!.type, m!.flags, m!.body!);
    expect(again.length).toBe(hex.length / 2);
    expect(native.decode(0, again)).toEqual(decode(hex));
  });
});

describe('addr input checks (nothing reaches the kernel)', () => {
  const ok: AddrSpec = { dev: 'v0', address: '10.0.0.5/24' };
  const cases: [string, () => unknown, string][] = [
    ['spec not an object', () => addrOps.add(null as unknown as AddrSpec), 'addr'],
    ['unknown option', () => addrOps.add({ ...ok, mask: 24 } as AddrSpec), 'addr.mask'],
    ['no address', () => addrOps.add({ dev: 'v0' } as AddrSpec), 'addr.address'],
    ['bad address', () => addrOps.add({ ...ok, address: '10.0.0.256/24' }), 'addr.address'],
    ['prefix too long', () => addrOps.add({ ...ok, address: '10.0.0.1/33' }), 'addr.address'],
    ['IPv6 prefix too long', () => addrOps.add({ ...ok, address: '2001:db8::1/129' }), 'addr.address'],
    ['no dev', () => addrOps.add({ address: '10.0.0.5/24' } as AddrSpec), 'addr.dev'],
    ['dev name too long', () => addrOps.add({ ...ok, dev: 'a-very-long-interface' }), 'addr.dev'],
    ['dev index 0', () => addrOps.add({ ...ok, dev: 0 }), 'addr.dev'],
    ['peer of the other family', () => addrOps.add({ ...ok, peer: '2001:db8::2' }), 'addr.peer'],
    ['peer prefix disagrees', () => addrOps.add({ ...ok, peer: '10.0.0.6/30' }), 'addr.peer'],
    ['peer on delete', () => addrOps.del({ dev: 'v0', address: '10.0.0.5', peer: 'x' }), 'addr.peer'],
    ['nodad not a boolean', () => addrOps.add({ ...ok, nodad: 1 as unknown as boolean }), 'addr.nodad'],
    ['noprefixroute not a boolean', () => addrOps.add({ ...ok, noprefixroute: 'yes' as unknown as boolean }), 'addr.noprefixroute'],
    ['empty label', () => addrOps.add({ ...ok, label: '' }), 'addr.label'],
    ['label too long', () => addrOps.add({ ...ok, label: 'v0:0123456789abc' }), 'addr.label'],
    ['label of another device', () => addrOps.add({ ...ok, label: 'eth0:1' }), 'addr.label'],
    ['IPv6 broadcast', () => addrOps.add({ ...ok, address: '2001:db8::1/64', broadcast: true }), 'addr.broadcast'],
    ['bad broadcast', () => addrOps.add({ ...ok, broadcast: '2001:db8::ff' }), 'addr.broadcast'],
    ['unknown scope', () => addrOps.add({ ...ok, scope: 'universe' as unknown as 'global' }), 'addr.scope'],
    ['valid lifetime 0', () => addrOps.add({ ...ok, validLifetime: 0 }), 'addr.validLifetime'],
    ['valid lifetime not a number', () => addrOps.add({ ...ok, validLifetime: 'never' as unknown as number }), 'addr.validLifetime'],
    ['preferred lifetime negative', () => addrOps.add({ ...ok, preferredLifetime: -1 }), 'addr.preferredLifetime'],
    ['preferred over valid', () => addrOps.add({ ...ok, validLifetime: 10, preferredLifetime: 20 }), 'addr.preferredLifetime'],
    ['metric too big', () => addrOps.add({ ...ok, metric: 2 ** 32 }), 'addr.metric'],
    ['metric not an integer', () => addrOps.add({ ...ok, metric: 1.5 }), 'addr.metric'],
    ['filter not an object', () => addrOps.list('v0' as unknown as object), 'filter'],
    ['filter unknown key', () => addrOps.list({ table: 1 } as object), 'filter.table'],
    ['filter family', () => addrOps.list({ family: 'inet4' as unknown as 'inet' }), 'filter.family'],
    ['filter dev', () => addrOps.list({ dev: 'bad/name' }), 'filter.dev'],
  ];
  it.each(cases)('%s', (_, call, field) => expectValidationError(call, field));

  it('replace and del check the same way', () => {
    expect(() => addrOps.replace({ ...ok, metric: -1 })).toThrow(ValidationError);
    expect(() => addrOps.del({ dev: 'v0', address: 'nope' })).toThrow(ValidationError);
  });
});
