// Bridge port messages against the bytes `bridge link set` sends, and the checks made before
// sending. Vectors: node test/tools/capture.mjs --setup 'ip link add br0 type bridge; ip link add
// v0 type veth peer name v1; ip link set v0 master br0' -- bridge -n @ link set dev v0 OPTIONS,
// where v0 is ifindex 4; seq and pid are zeroed.
import { describe, expect, it } from 'vitest';

import { native } from '../../../lib/core/binding.js';
import { bridgeOps, type BridgePort } from '../../../lib/rtnl/bridge.js';
import { linkOps } from '../../../lib/rtnl/link.js';
import { expectValidationError } from '../../helpers/validation.js';

// RTM_SETLINK, NLM_F_REQUEST|NLM_F_ACK; ifinfomsg of family AF_BRIDGE for ifindex 4; then
// IFLA_PROTINFO flagged NLA_F_NESTED holding the IFLA_BRPORT_* attributes.
const HEAD = '13000500' + '00000000'.repeat(2) + '07000000' + '04000000' + '00000000'.repeat(2);

const vectors: [string, BridgePort, string][] = [
  ['learning off', { learning: false }, '2c000000' + HEAD + '0c000c800500080000000000'],
  ['learning on', { learning: true }, '2c000000' + HEAD + '0c000c800500080001000000'],
  ['flood off', { flood: false }, '2c000000' + HEAD + '0c000c800500090000000000'],
  ['flood on', { flood: true }, '2c000000' + HEAD + '0c000c800500090001000000'],
  ['mcast_flood off', { mcastFlood: false }, '2c000000' + HEAD + '0c000c8005001b0000000000'],
  ['mcast_flood on', { mcastFlood: true }, '2c000000' + HEAD + '0c000c8005001b0001000000'],
  ['hairpin on', { hairpin: true }, '2c000000' + HEAD + '0c000c800500040001000000'],
  ['hairpin off', { hairpin: false }, '2c000000' + HEAD + '0c000c800500040000000000'],
  ['isolated on', { isolated: true }, '2c000000' + HEAD + '0c000c800500210001000000'],
  ['isolated off', { isolated: false }, '2c000000' + HEAD + '0c000c800500210000000000'],
  ['neigh_suppress on', { neighSuppress: true }, '2c000000' + HEAD + '0c000c800500200001000000'],
  ['neigh_suppress off', { neighSuppress: false }, '2c000000' + HEAD + '0c000c800500200000000000'],
  [
    // `bridge` writes its attributes in a fixed order whatever the order of its arguments.
    'learning on flood off mcast_flood off hairpin on isolated on neigh_suppress on',
    { learning: true, flood: false, mcastFlood: false, hairpin: true, isolated: true, neighSuppress: true },
    '54000000' + HEAD + '34000c800500040001000000050009000000000005001b0000000000050008000100000005002000010000000500210001000000',
  ],
  [
    'guard on hairpin on fastleave on root_block on flood off mcast_flood off bcast_flood off mcast_to_unicast on ' +
      'learning off cost 5 priority 3 state 3 neigh_suppress on vlan_tunnel on isolated on locked on',
    {
      isolated: true, locked: true, vlanTunnel: true, neighSuppress: true, state: 3, priority: 3, cost: 5, learning: false,
      mcastToUnicast: true, bcastFlood: false, mcastFlood: false, flood: false, rootBlock: true, fastLeave: true, hairpin: true, guard: true,
    },
    'a4000000' + HEAD + '84000c800500050001000000050004000100000005000700010000000500060001000000050009000000000005001b0000000000' +
      '05001e000000000005001c00010000000500080000000000080003000500000006000200030000000500010003000000050020000100000005001d0001000000' +
      '05002100010000000500270001000000',
  ],
];

describe('bridge port golden bytes', () => {
  it.each(vectors)('bridge link set dev v0 %s', (_cmd, options, hex) => {
    const op = bridgeOps.setPort(4, options);
    expect(native.encode(0, op.type, op.flags, op.body).toString('hex')).toBe(hex);
  });

  it.each(vectors)('decode → encode: %s', (_cmd, options, hex) => {
    const [msg] = native.decode(0, Buffer.from(hex, 'hex'));
    expect(msg!.body).toMatchObject({ family: 'bridge', index: 4, protinfo: options });
    expect(native.encode(0, msg!.type, msg!.flags, msg!.body!).toString('hex')).toBe(hex);
  });
});

describe('bridge port replies', () => {
  // An RTM_NEWLINK for v0 holding the IFLA_LINKINFO the kernel sent for `ip -d link show dev v0`
  // after `bridge link set dev v0 learning off hairpin on isolated on neigh_suppress on
  // mcast_flood off cost 7 priority 5` (the rest of that reply is left out).
  const linkinfo =
    '6c0112000900010076657468000000000b000400627269646765000050010500050001000000000006000200050000000800030007000000' +
    '050004000100000005000500000000000500060000000000050007000000000005001c0000000000050008000000000005000900010000000500' +
    '1b000000000005001e000100000005000a000000000005000c00000000000c000d0080003effa395a9350c000e0080003effa395a93506000f00' +
    '011400000600100000000000060011000114000006001200010000000500130000000000050014000000000005001d000000000006001f000000' +
    '000005002000010000000500230000000000050024000000000005002100010000000500270000000000050028000000000005002b0000000000' +
    '0c00150000000000000000000c00160000000000000000000c0017000000000000000000050019000100000008002500000200000800260000000000' +
    '080029000000000008002a0000000000';
  const hex = '94010000100000000000000000000000' + '00000100040000000210000000000000' + '0700030076300000' + linkinfo;

  it('reads the port options as `bridge -d link show` prints them', () => {
    const [msg] = native.decode(0, Buffer.from(hex, 'hex'));
    const link = linkOps.get('v0').parse([msg!.body!]);
    expect(link.slaveKind).toBe('bridge');
    // bridge -j -d link show dev v0: "state":"disabled","priority":5,"cost":7,"hairpin":true,
    // "guard":false,"root_block":false,"fastleave":false,"learning":false,"flood":true,
    // "mcast_flood":false,"bcast_flood":true,"mcast_to_unicast":false,"neigh_suppress":true,
    // "vlan_tunnel":false,"isolated":true,"locked":false
    expect(link.bridgePort).toEqual({
      state: 0, priority: 5, cost: 7, hairpin: true, guard: false, rootBlock: false, fastLeave: false,
      learning: false, flood: true, mcastFlood: false, bcastFlood: true, mcastToUnicast: false,
      neighSuppress: true, vlanTunnel: false, isolated: true, locked: false, proxyArp: false,
    });
  });
});

describe('bridge port validation', () => {
  const cases: [string, () => unknown][] = [
    ['dev', () => bridgeOps.setPort('', { learning: false })],
    ['dev', () => bridgeOps.setPort(0, { learning: false })],
    ['dev', () => bridgeOps.setPort(null as never, { learning: false })],
    ['options', () => bridgeOps.setPort('v0', null as never)],
    ['options', () => bridgeOps.setPort('v0', 'learning off' as never)],
    ['options.learning', () => bridgeOps.setPort('v0', { learning: 'off' as never })],
    ['options.isolated', () => bridgeOps.setPort('v0', { isolated: 1 as never })],
    ['options.hairpin', () => bridgeOps.setPort('v0', { hairpin: null as never })],
    ['options.neigh_suppress', () => bridgeOps.setPort('v0', { neigh_suppress: true } as never)],
    ['options.toString', () => bridgeOps.setPort('v0', { toString: 1 } as never)],
    ['options.state', () => bridgeOps.setPort('v0', { state: 5 })],
    ['options.priority', () => bridgeOps.setPort('v0', { priority: 64 })],
    ['options.cost', () => bridgeOps.setPort('v0', { cost: 0 })],
    ['options.cost', () => bridgeOps.setPort('v0', { cost: 65536 })],
  ];
  it.each(cases)('%s', (field, call) => expectValidationError(call, field));
});
