// Neighbour messages against the bytes `ip neigh` sends, and the checks made before sending.
// Vectors: node test/tools/capture.mjs --setup 'ip link add v0 type veth peer name v1' -- CMD,
// where v0 gets ifindex 3; seq and pid are zeroed.
import { describe, expect, it } from 'vitest';

import { native } from '../../../lib/core/binding.js';
import { neighOps, stateNames } from '../../../lib/rtnl/neigh.js';
import type { Op } from '../../../lib/core/op.js';
import { expectValidationError } from '../../helpers/validation.js';

const encode = (op: Op<unknown>): string => native.encode(0, op.type, op.flags, op.body).toString('hex');

interface Vector {
  cmd: string;
  op: Op<unknown>;
  hex: string;
}

const vectors: Vector[] = [
  {
    cmd: 'ip neigh add 192.0.2.1 lladdr 02:00:00:00:00:01 dev v0',
    op: neighOps.add({ dev: 3, address: '192.0.2.1', lladdr: '02:00:00:00:00:01' }),
    hex: '300000001c000506000000000000000002000000030000008000000008000100c00002010a0002000200000000010000',
  },
  {
    cmd: 'ip -6 neigh add 2001:db8::1 lladdr 02:00:00:00:00:01 dev v0 nud noarp',
    op: neighOps.add({ dev: 3, address: '2001:db8::1', lladdr: '02:00:00:00:00:01', state: 'noarp' }),
    hex: '3c0000001c00050600000000000000000a00000003000000400000001400010020010db80000000000000000000000010a0002000200000000010000',
  },
  {
    cmd: 'ip neigh replace 192.0.2.1 lladdr 02:00:00:00:00:01 dev v0 nud reachable',
    op: neighOps.replace({ dev: 3, address: '192.0.2.1', lladdr: '02:00:00:00:00:01', state: 'reachable' }),
    hex: '300000001c000505000000000000000002000000030000000200000008000100c00002010a0002000200000000010000',
  },
  {
    cmd: 'ip neigh add 192.0.2.2 lladdr 02:00:00:00:00:02 dev v0 nud stale',
    op: neighOps.add({ dev: 3, address: '192.0.2.2', lladdr: '02:00:00:00:00:02', state: 'stale' }),
    hex: '300000001c000506000000000000000002000000030000000400000008000100c00002020a0002000200000000020000',
  },
  {
    cmd: 'ip -6 neigh replace 2001:db8::2 lladdr 02:00:00:00:00:02 dev v0 nud permanent',
    op: neighOps.replace({ dev: 3, address: '2001:db8::2', lladdr: '02:00:00:00:00:02', state: 'permanent' }),
    hex: '3c0000001c00050500000000000000000a00000003000000800000001400010020010db80000000000000000000000020a0002000200000000020000',
  },
  {
    // `ip neigh del` sends NUD_PERMANENT too (the kernel ignores the state on delete).
    cmd: 'ip neigh del 192.0.2.1 dev v0',
    op: neighOps.del({ dev: 3, address: '192.0.2.1' }),
    hex: '240000001d000500000000000000000002000000030000008000000008000100c0000201',
  },
  {
    cmd: 'ip -6 neigh del 2001:db8::2 dev v0',
    op: neighOps.del({ dev: 3, address: '2001:db8::2' }),
    hex: '300000001d00050000000000000000000a00000003000000800000001400010020010db8000000000000000000000002',
  },
  {
    cmd: 'ip neigh add proxy 192.0.2.1 dev v0',
    op: neighOps.add({ dev: 3, address: '192.0.2.1', proxy: true }),
    hex: '240000001c000506000000000000000002000000030000008000080008000100c0000201',
  },
  {
    cmd: 'ip neigh add proxy 2001:db8::5 dev v0',
    op: neighOps.add({ dev: 3, address: '2001:db8::5', proxy: true }),
    hex: '300000001c00050600000000000000000a00000003000000800008001400010020010db8000000000000000000000005',
  },
  {
    cmd: 'ip neigh del proxy 192.0.2.1 dev v0',
    op: neighOps.del({ dev: 3, address: '192.0.2.1', proxy: true }),
    hex: '240000001d000500000000000000000002000000030000008000080008000100c0000201',
  },
  {
    cmd: 'ip neigh add 2001:db8::1 lladdr 02:00:00:00:00:01 dev v0 router',
    op: neighOps.add({ dev: 3, address: '2001:db8::1', lladdr: '02:00:00:00:00:01', router: true }),
    hex: '3c0000001c00050600000000000000000a00000003000000800080001400010020010db80000000000000000000000010a0002000200000000010000',
  },
  {
    cmd: 'ip neigh add 192.0.2.3 lladdr 02:00:00:00:00:03 dev v0 extern_learn',
    op: neighOps.add({ dev: 3, address: '192.0.2.3', lladdr: '02:00:00:00:00:03', externLearn: true }),
    hex: '300000001c000506000000000000000002000000030000008000100008000100c00002030a0002000200000000030000',
  },
  // Dump requests: with NETLINK_GET_STRICT_CHK the device goes in NDA_IFINDEX, not the header.
  { cmd: 'ip neigh show', op: neighOps.list(), hex: '1c0000001e0001030000000000000000000000000000000000000000' },
  {
    cmd: 'ip neigh show dev v0 (v0 is ifindex 5 in that capture)',
    op: neighOps.list({ dev: 5 }),
    hex: '240000001e00010300000000000000000000000000000000000000000800080005000000',
  },
  { cmd: 'ip -6 neigh show', op: neighOps.list({ family: 'inet6' }), hex: '1c0000001e00010300000000000000000a0000000000000000000000' },
  { cmd: 'ip neigh show proxy', op: neighOps.list({ proxy: true }), hex: '1c0000001e0001030000000000000000000000000000000000000800' },
];

describe('neigh golden bytes', () => {
  it.each(vectors)('$cmd', ({ op, hex }) => {
    expect(encode(op)).toBe(hex);
  });

  it.each(vectors)('decode → encode: $cmd', ({ hex }) => {
    const [msg] = native.decode(0, Buffer.from(hex, 'hex'));
    expect(msg?.body).toBeDefined();
    expect(native.encode(0, msg!.type, msg!.flags, msg!.body!).toString('hex')).toBe(hex);
  });

  it('leaves an interface name for the executor to resolve', () => {
    const byName = neighOps.add({ dev: 'v0', address: '192.0.2.1', lladdr: '02:00:00:00:00:01' });
    expect(byName.body).toMatchObject({ index: 'v0' });
    // ifindex 0 in the bytes: the executor writes the real one in at run time.
    const byIndex = neighOps.add({ dev: 3, address: '192.0.2.1', lladdr: '02:00:00:00:00:01' });
    expect(encode(byName)).toBe(encode({ ...byIndex, body: { ...byIndex.body, index: 0 } }));
  });
});

// Replies the kernel sent for `ip neigh show` and `ip neigh show proxy` (read with strace) after
//   ip neigh add 192.0.2.1 lladdr 02:00:00:00:00:01 dev v0
//   ip -6 neigh add 2001:db8::1 lladdr 02:00:00:00:00:01 dev v0 router nud stale
//   ip neigh add proxy 192.0.2.7 dev v0
// They carry NDA_PROBES and NDA_CACHEINFO, which `ip` does not print: decode keeps them.
const replies = [
  {
    hex: '4c0000001c000200000000000000000002000000030000008000000308000100c00002010a0002000200000000010000080004000000000014000300c3020000c3020000c302000000000000',
    neigh: { family: 'inet', dev: 3, address: '192.0.2.1', lladdr: '02:00:00:00:00:01', state: ['permanent'], proxy: false, router: false, externLearn: false },
  },
  {
    hex: '580000001c00020000000000000000000a00000003000000040080011400010020010db80000000000000000000000010a000200020000000001000008000400000000001400030072170000020000000200000000000000',
    neigh: { family: 'inet6', dev: 3, address: '2001:db8::1', lladdr: '02:00:00:00:00:01', state: ['stale'], proxy: false, router: true, externLearn: false },
  },
  {
    hex: '240000001c000200000000000000000002000000030000000000080108000100c0000207',
    neigh: { family: 'inet', dev: 3, address: '192.0.2.7', state: ['none'], proxy: true, router: false, externLearn: false },
  },
];

describe('neigh replies', () => {
  it.each(replies)('reads $neigh.address as `ip neigh show` prints it', ({ hex, neigh }) => {
    const [msg] = native.decode(0, Buffer.from(hex, 'hex'));
    expect(neighOps.list().parse([msg!.body!])).toEqual([neigh]);
    expect(native.encode(0, msg!.type, msg!.flags, msg!.body!).toString('hex')).toBe(hex);
  });

  it('leaves bridge FDB entries out of a neighbour list', () => {
    expect(neighOps.list().parse([{ family: 'bridge', index: 2, lladdr: '02:00:00:00:00:0b', state: 'noarp', flags: 0 }])).toEqual([]);
  });

  it('splits a state bitmask into names', () => {
    expect(stateNames(0xc0)).toEqual(['noarp', 'permanent']);
    expect(stateNames('reachable')).toEqual(['reachable']);
    expect(stateNames(0)).toEqual(['none']);
    expect(stateNames(undefined)).toEqual(['none']);
  });
});

describe('neigh validation', () => {
  const good = { dev: 'v0', address: '192.0.2.1', lladdr: '02:00:00:00:00:01' };
  const cases: [string, () => unknown][] = [
    ['neigh', () => neighOps.add(null as never)],
    ['neigh', () => neighOps.add([] as never)],
    ['neigh.nud', () => neighOps.add({ ...good, nud: 'permanent' } as never)],
    ['neigh.address', () => neighOps.add({ ...good, address: '192.0.2.300' })],
    ['neigh.address', () => neighOps.del({ dev: 'v0', address: undefined as never })],
    ['neigh.dev', () => neighOps.add({ ...good, dev: 'a/b' })],
    ['neigh.dev', () => neighOps.add({ ...good, dev: 'sixteen-bytes-xx' })],
    ['neigh.dev', () => neighOps.add({ ...good, dev: 0 })],
    ['neigh.dev', () => neighOps.replace({ ...good, dev: {} as never })],
    ['neigh.lladdr', () => neighOps.add({ ...good, lladdr: '02:00:00:00:00' })],
    ['neigh.lladdr', () => neighOps.add({ ...good, proxy: true })],
    ['neigh.state', () => neighOps.add({ ...good, state: 'PERMANENT' as never })],
    ['neigh.proxy', () => neighOps.add({ ...good, proxy: 1 as never })],
    ['neigh.router', () => neighOps.add({ ...good, router: 'yes' as never })],
    ['neigh.externLearn', () => neighOps.add({ ...good, externLearn: null as never })],
    ['filter', () => neighOps.list('v0' as never)],
    ['filter.devs', () => neighOps.list({ devs: 'v0' } as never)],
    ['filter.family', () => neighOps.list({ family: 'bridge' as never })],
    ['filter.dev', () => neighOps.list({ dev: '' })],
    ['filter.proxy', () => neighOps.list({ proxy: 'true' as never })],
  ];
  it.each(cases)('%s', (field, call) => expectValidationError(call, field));
});
