// Tables, chains, rule operations, sets and elements against the bytes `nft` 1.0.6 sends: each
// captured message encodes back to the same bytes and is what the nftOps call beside it sends.
// Vectors: node test/tools/capture.mjs --setup "$SETUP" -- nsenter --net=/run/netns/%NS% nft CMD
// (seq and pid zeroed), SETUP making what each command needs (named in each group).
//
// Normalized: NFTA_SET_ID and NFTA_SET_ELEM_LIST_SET_ID. nft numbers the sets it knows from 1
// and names an element's set by that number as well as by name; nlnet numbers the sets of a
// process with a counter and names an element's set by name only, which the kernel looks up first.
import { describe, expect, it } from 'vitest';

import { native } from '../../../lib/core/binding.js';
import { NLM_F_CREATE, NLM_F_ECHO, NLM_F_REPLACE, NLM_F_REQUEST } from '../../../lib/core/constants.js';
import { ValidationError } from '../../../lib/core/errors.js';
import type { Expr, Verdict } from '../../../lib/nft/expr.js';
import { nftOps, setFromNative, type SetRef } from '../../../lib/nft/objects.js';
import type { Op } from '../../../lib/core/op.js';

const NETLINK_NETFILTER = 12;
const CREATE = NLM_F_REQUEST | NLM_F_CREATE;
const b = (hex: string): Buffer => Buffer.from(hex, 'hex');
const verdict = (code: Verdict['code']): Expr => ({ type: 'immediate', dreg: 0, data: { verdict: { code } as Verdict } });

const decode = (hex: string) => {
  const [m] = native.decode(NETLINK_NETFILTER, b(hex));
  if (!m?.body) throw new Error('no message');
  return { ...m, body: m.body };
};
const encode = (type: number, flags: number, body: object): string => native.encode(NETLINK_NETFILTER, type, flags, body).toString('hex');

interface Vector {
  cmd: string;
  op: Op<unknown>;
  /** nlnet's flags, where they differ from nft's. */
  flags?: number;
  /** Attributes nft sends and nlnet leaves out on purpose. */
  extra?: Record<string, unknown>;
  hex: string;
}

const allowed: SetRef = { family: 'ip', table: 't', name: 'allowed', key: 'ipv4_addr' };
const ports: SetRef = { family: 'ip', table: 't', name: 'ports', key: ['inet_proto', 'inet_service'], map: ['ipv4_addr', 'inet_service'] };
const v: SetRef = { family: 'ip', table: 't', name: 'v', key: 'ipv4_addr', map: 'verdict' };

// SETUP='nft add table ip t' for delete and flush; none for the others.
const tables: Vector[] = [
  {
    // nft sends no NLM_F_CREATE for tables (the kernel creates them without); nlnet does. nft
    // always sends NFTA_TABLE_FLAGS, and its 0 wakes an existing dormant table; nlnet sends them
    // only for `dormant`, so adding a table that exists leaves it as it is.
    cmd: 'nft add table ip t',
    op: nftOps.addTable({ family: 'ip', name: 't' }),
    flags: CREATE,
    extra: { flags: 0 },
    hex: '24000000000a010000000000000000000200000006000100740000000800020000000000',
  },
  {
    cmd: 'nft add table ip6 t',
    op: nftOps.addTable({ family: 'ip6', name: 't' }),
    flags: CREATE,
    extra: { flags: 0 },
    hex: '24000000000a010000000000000000000a00000006000100740000000800020000000000',
  },
  {
    cmd: 'nft add table inet t',
    op: nftOps.addTable({ family: 'inet', name: 't' }),
    flags: CREATE,
    extra: { flags: 0 },
    hex: '24000000000a010000000000000000000100000006000100740000000800020000000000',
  },
  {
    cmd: 'nft add table bridge t',
    op: nftOps.addTable({ family: 'bridge', name: 't' }),
    flags: CREATE,
    extra: { flags: 0 },
    hex: '24000000000a010000000000000000000700000006000100740000000800020000000000',
  },
  {
    cmd: 'nft add table netdev t',
    op: nftOps.addTable({ family: 'netdev', name: 't' }),
    flags: CREATE,
    extra: { flags: 0 },
    hex: '24000000000a010000000000000000000500000006000100740000000800020000000000',
  },
  {
    cmd: 'nft delete table ip t',
    op: nftOps.delTable({ family: 'ip', name: 't' }),
    hex: '1c000000020a01000000000000000000020000000600010074000000',
  },
  {
    cmd: 'nft flush table ip t',
    op: nftOps.flushTable({ family: 'ip', name: 't' }),
    hex: '1c000000080a01000000000000000000020000000600010074000000',
  },
];

// SETUP='nft add table ip t', and for delete and flush 'nft add chain ip t c; nft add chain ip t x'.
const chains: Vector[] = [
  {
    cmd: 'nft add chain ip t c { type filter hook input priority 0; policy drop; }',
    op: nftOps.addChain({ family: 'ip', table: 't', name: 'c', type: 'filter', hook: 'input', priority: 0, policy: 'drop' }),
    hex: '4c000000030a0104000000000000000002000000060001007400000006000300630000000b00070066696c746572000008000500000000001400048008000100000000010800020000000000',
  },
  {
    cmd: 'nft add chain ip t f { type filter hook forward priority filter; policy accept; }',
    op: nftOps.addChain({ family: 'ip', table: 't', name: 'f', type: 'filter', hook: 'forward', priority: 'filter', policy: 'accept' }),
    hex: '4c000000030a0104000000000000000002000000060001007400000006000300660000000b00070066696c746572000008000500000000011400048008000100000000020800020000000000',
  },
  {
    cmd: 'nft add chain ip t pre { type nat hook prerouting priority dstnat; }',
    op: nftOps.addChain({ family: 'ip', table: 't', name: 'pre', type: 'nat', hook: 'prerouting', priority: 'dstnat' }),
    hex: '40000000030a010400000000000000000200000006000100740000000800030070726500080007006e61740014000480080001000000000008000200ffffff9c',
  },
  {
    cmd: 'nft add chain ip t post { type nat hook postrouting priority srcnat; }',
    op: nftOps.addChain({ family: 'ip', table: 't', name: 'post', type: 'nat', hook: 'postrouting', priority: 'srcnat' }),
    hex: '44000000030a0104000000000000000002000000060001007400000009000300706f737400000000080007006e6174001400048008000100000000040800020000000064',
  },
  {
    cmd: 'nft add chain ip t out { type route hook output priority mangle; }',
    op: nftOps.addChain({ family: 'ip', table: 't', name: 'out', type: 'route', hook: 'output', priority: 'mangle' }),
    hex: '44000000030a01040000000000000000020000000600010074000000080003006f7574000a000700726f75746500000014000480080001000000000308000200ffffff6a',
  },
  {
    cmd: 'nft add chain ip t x',
    op: nftOps.addChain({ family: 'ip', table: 't', name: 'x' }),
    hex: '24000000030a010400000000000000000200000006000100740000000600030078000000',
  },
  {
    cmd: 'nft delete chain ip t x',
    op: nftOps.delChain({ family: 'ip', table: 't', name: 'x' }),
    hex: '24000000050a010000000000000000000200000006000100740000000600030078000000',
  },
  {
    cmd: 'nft flush chain ip t c',
    op: nftOps.flushChain({ family: 'ip', table: 't', name: 'c' }),
    hex: '24000000080a010000000000000000000200000006000100740000000600020063000000',
  },
];

// SETUP='nft add table ip t; nft add chain ip t c', and rule 3 in it.
const rules: Vector[] = [
  {
    // nlnet asks for an echo (NLM_F_ECHO) of every new rule to learn its handle.
    cmd: 'nft insert rule ip t c accept',
    op: nftOps.insertRule({ family: 'ip', table: 't', chain: 'c', exprs: [verdict('accept')] }),
    flags: CREATE | NLM_F_ECHO,
    hex: '58000000060a01040000000000000000020000000600010074000000060002006300000034000480300001800e000100696d6d6564696174650000001c0002800800010000000000100002800c0002800800010000000001',
  },
  {
    cmd: 'nft replace rule ip t c handle 3 drop',
    op: nftOps.replaceRule({ family: 'ip', table: 't', chain: 'c', exprs: [verdict('drop')] }, 3),
    flags: NLM_F_REQUEST | NLM_F_REPLACE | NLM_F_ECHO,
    hex: '64000000060a0101000000000000000002000000060001007400000006000200630000000c000300000000000000000334000480300001800e000100696d6d6564696174650000001c0002800800010000000000100002800c0002800800010000000000',
  },
  {
    cmd: 'nft delete rule ip t c handle 3',
    op: nftOps.delRule({ family: 'ip', table: 't', chain: 'c', handle: 3 }),
    hex: '30000000080a0100000000000000000002000000060001007400000006000200630000000c0003000000000000000003',
  },
];

// SETUP='nft add table ip t; nft add chain ip t c; nft add chain ip t x'.
const sets: Vector[] = [
  {
    // User data: the key's byte order (NFTNL_UDATA_SET_KEYBYTEORDER), big-endian (2).
    cmd: 'nft add set ip t allowed { type ipv4_addr; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'allowed', key: 'ipv4_addr' }),
    hex: '54000000090a010400000000000000000200000006000100740000000c000200616c6c6f7765640008000300000000000800040000000007080005000000000408000a00000000010a000d000004020000000000',
  },
  {
    // Marks are host-endian (1): without that, `nft list` prints 0x10 as 0x10000000.
    cmd: 'nft add set ip t marks { type mark; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'marks', key: 'mark' }),
    hex: '54000000090a010400000000000000000200000006000100740000000a0002006d61726b7300000008000300000000000800040000000013080005000000000408000a00000000010a000d000004010000000000',
  },
  {
    cmd: 'nft add set ip t ifs { type ifname; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'ifs', key: 'ifname' }),
    hex: '50000000090a01040000000000000000020000000600010074000000080002006966730008000300000000000800040000000029080005000000001008000a00000000010a000d000004010000000000',
  },
  {
    cmd: 'nft add set ip t s6 { type ipv6_addr; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 's6', key: 'ipv6_addr' }),
    hex: '50000000090a01040000000000000000020000000600010074000000070002007336000008000300000000000800040000000008080005000000001008000a00000000010a000d000004020000000000',
  },
  {
    cmd: 'nft add set ip t se { type ether_addr; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'se', key: 'ether_addr' }),
    hex: '50000000090a01040000000000000000020000000600010074000000070002007365000008000300000000000800040000000009080005000000000608000a00000000010a000d000004020000000000',
  },
  {
    // nft leaves a one-byte type's byte order unset (0).
    cmd: 'nft add set ip t sp { type inet_proto; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'sp', key: 'inet_proto' }),
    hex: '50000000090a0104000000000000000002000000060001007400000007000200737000000800030000000000080004000000000c080005000000000108000a00000000010a000d000004000000000000',
  },
  {
    cmd: 'nft add set ip t ss { type inet_service; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'ss', key: 'inet_service' }),
    hex: '50000000090a0104000000000000000002000000060001007400000007000200737300000800030000000000080004000000000d080005000000000208000a00000000010a000d000004020000000000',
  },
  {
    // nft sizes a set declared with its elements (desc size 1).
    cmd: 'nft add set ip t k { type ipv4_addr; flags constant; elements = { 10.0.0.1 }; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'k', key: 'ipv4_addr', flags: ['constant'], size: 1 }),
    hex: '5c000000090a01040000000000000000020000000600010074000000060002006b00000008000300000000020800040000000007080005000000000408000a00000000010c00098008000100000000010a000d000004020000000000',
  },
  {
    cmd: 'nft add set ip t nets { type ipv4_addr; flags interval; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'nets', key: 'ipv4_addr', flags: ['interval'] }),
    hex: '54000000090a01040000000000000000020000000600010074000000090002006e6574730000000008000300000000040800040000000007080005000000000408000a00000000010a000d000004020000000000',
  },
  {
    cmd: 'nft add set ip t tmo { type ipv4_addr; flags timeout; timeout 30s; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'tmo', key: 'ipv4_addr', flags: ['timeout'], timeout: 30_000 }),
    hex: '5c000000090a0104000000000000000002000000060001007400000008000200746d6f0008000300000000100800040000000007080005000000000408000a00000000010c000b0000000000000075300a000d000004020000000000',
  },
  {
    cmd: 'nft add set ip t dyn { type ipv4_addr; flags dynamic,timeout; timeout 30s; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'dyn', key: 'ipv4_addr', flags: ['dynamic', 'timeout'], timeout: 30_000 }),
    hex: '5c000000090a010400000000000000000200000006000100740000000800020064796e0008000300000000300800040000000007080005000000000408000a00000000010c000b0000000000000075300a000d000004020000000000',
  },
  {
    cmd: 'nft add set ip t sz { type ipv4_addr; size 1024; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'sz', key: 'ipv4_addr', size: 1024 }),
    hex: '5c000000090a0104000000000000000002000000060001007400000007000200737a000008000300000000000800040000000007080005000000000408000a00000000010c00098008000100000004000a000d000004020000000000',
  },
  {
    cmd: 'nft add set ip t cmt { type ipv4_addr; comment "x"; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'cmt', key: 'ipv4_addr', comment: 'x' }),
    hex: '54000000090a0104000000000000000002000000060001007400000008000200636d740008000300000000000800040000000007080005000000000408000a00000000010e000d00000402000000070278000000',
  },
  {
    // A concatenation: no byte order (0), and a typeof entry naming nft's EXPR_CONCAT (13) with no fields.
    cmd: 'nft add set ip t svc { type inet_proto . inet_service; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'svc', key: ['inet_proto', 'inet_service'] }),
    hex: '58000000090a0104000000000000000002000000060001007400000008000200737663000800030000000000080004000000030d080005000000000808000a000000000114000d00000400000000030800040d0000000100',
  },
  {
    // Concatenated intervals: NFT_SET_CONCAT and the field lengths.
    cmd: 'nft add set ip t svci { type ipv4_addr . inet_service; flags interval; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'svci', key: ['ipv4_addr', 'inet_service'], flags: ['interval'] }),
    hex: '7c000000090a01040000000000000000020000000600010074000000090002007376636900000000080003000000008408000400000001cd080005000000000808000a0000000001200009801c0002800c00018008000100000000040c000180080001000000000214000d00000400000000030800040d0000000100',
  },
  {
    // Maps add the value's byte order, its typeof entry and NFTNL_UDATA_SET_DATA_INTERVAL (0).
    cmd: 'nft add map ip t ports { type inet_proto . inet_service : ipv4_addr . inet_service; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'ports', key: ['inet_proto', 'inet_service'], map: ['ipv4_addr', 'inet_service'] }),
    hex: '84000000090a010400000000000000000200000006000100740000000a000200706f7274730000000800030000000008080004000000030d080005000000000808000600000001cd080007000000000808000a00000000012a000d00000400000000010400000000030800040d0000000100040800040d00000001000604000000000000',
  },
  {
    cmd: 'nft add map ip t v { type ipv4_addr : verdict; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'v', key: 'ipv4_addr', map: 'verdict' }),
    hex: '6c000000090a01040000000000000000020000000600010074000000060002007600000008000300000000080800040000000007080005000000000408000600ffffff00080007000000000008000a000000000116000d000004020000000104000000000604000000000000',
  },
  {
    cmd: 'nft add map ip t ifv { type ifname : verdict; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'ifv', key: 'ifname', map: 'verdict' }),
    hex: '6c000000090a01040000000000000000020000000600010074000000080002006966760008000300000000080800040000000029080005000000001008000600ffffff00080007000000000008000a000000000116000d000004010000000104000000000604000000000000',
  },
  {
    cmd: 'nft add map ip t m { type ipv4_addr : mark; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'm', key: 'ipv4_addr', map: 'mark' }),
    hex: '6c000000090a01040000000000000000020000000600010074000000060002006d0000000800030000000008080004000000000708000500000000040800060000000013080007000000000408000a000000000116000d000004020000000104010000000604000000000000',
  },
  {
    cmd: 'nft add map ip t ms { type inet_service : inet_service; }',
    op: nftOps.addSet({ family: 'ip', table: 't', name: 'ms', key: 'inet_service', map: 'inet_service' }),
    hex: '6c000000090a01040000000000000000020000000600010074000000070002006d7300000800030000000008080004000000000d0800050000000002080006000000000d080007000000000208000a000000000116000d000004020000000104020000000604000000000000',
  },
];

// SETUP='nft add table ip t; nft add chain ip t c; nft add chain ip t x', the sets and maps above
// (allowed, marks, nets, tmo, svc, ports, v, m, ifv, in that order), and a few elements.
const elements: Vector[] = [
  {
    // The elements of a set declared with them, in the same batch.
    cmd: 'nft add set ip t k { type ipv4_addr; flags constant; elements = { 10.0.0.1 }; }',
    op: nftOps.addElements({ family: 'ip', table: 't', name: 'k', key: 'ipv4_addr' }, [{ key: '10.0.0.1' }]),
    hex: '400000000c0a01040000000000000000020000000600010074000000060002006b000000080004000000000114000380100001800c000180080001000a000001',
  },
  {
    cmd: 'nft add element ip t allowed { 10.0.0.3 }',
    op: nftOps.addElements(allowed, [{ key: '10.0.0.3' }]),
    hex: '440000000c0a010400000000000000000200000006000100740000000c000200616c6c6f77656400080004000000000114000380100001800c000180080001000a000003',
  },
  {
    cmd: 'nft add element ip t marks { 0x10 }',
    op: nftOps.addElements({ family: 'ip', table: 't', name: 'marks', key: 'mark' }, [{ key: 0x10 }]),
    hex: '440000000c0a010400000000000000000200000006000100740000000a0002006d61726b73000000080004000000000214000380100001800c0001800800010010000000',
  },
  {
    cmd: 'nft add element ip t tmo { 10.0.0.1 timeout 10s }',
    op: nftOps.addElements({ family: 'ip', table: 't', name: 'tmo', key: 'ipv4_addr' }, [{ key: '10.0.0.1', timeout: 10_000 }]),
    hex: '4c0000000c0a0104000000000000000002000000060001007400000008000200746d6f000800040000000004200003801c0001800c00040000000000000027100c000180080001000a000001',
  },
  {
    // Each field of a concatenation padded to 4 bytes.
    cmd: 'nft add element ip t svc { tcp . 80 }',
    op: nftOps.addElements({ family: 'ip', table: 't', name: 'svc', key: ['inet_proto', 'inet_service'] }, [{ key: ['tcp', 80] }]),
    hex: '440000000c0a01040000000000000000020000000600010074000000080002007376630008000400000000051800038014000180100001800c0001000600000000500000',
  },
  {
    cmd: 'nft add element ip t ports { udp . 53 : 172.17.0.3 . 5353 }',
    op: nftOps.addElements(ports, [{ key: ['udp', 53], value: ['172.17.0.3', 5353] }]),
    hex: '580000000c0a010400000000000000000200000006000100740000000a000200706f72747300000008000400000000062800038024000180100001800c0001001100000000350000100002800c000100ac11000314e90000',
  },
  {
    cmd: 'nft add element ip t v { 10.0.0.2 : drop }',
    op: nftOps.addElements(v, [{ key: '10.0.0.2', value: { code: 'drop' } }]),
    hex: '500000000c0a010400000000000000000200000006000100740000000600020076000000080004000000000724000380200001800c000180080001000a000002100002800c0002800800010000000000',
  },
  {
    cmd: 'nft add element ip t v { 10.0.0.3 : jump x }',
    op: nftOps.addElements(v, [{ key: '10.0.0.3', value: { code: 'jump', chain: 'x' } }]),
    hex: '580000000c0a01040000000000000000020000000600010074000000060002007600000008000400000000072c000380280001800c000180080001000a000003180002801400028008000100fffffffd0600020078000000',
  },
  {
    cmd: 'nft add element ip t m { 10.0.0.4 : 0x2a }',
    op: nftOps.addElements({ family: 'ip', table: 't', name: 'm', key: 'ipv4_addr', map: 'mark' }, [{ key: '10.0.0.4', value: 0x2a }]),
    hex: '4c0000000c0a01040000000000000000020000000600010074000000060002006d0000000800040000000008200003801c0001800c000180080001000a0000040c000280080001002a000000',
  },
  {
    cmd: 'nft add element ip t ifv { "eth0" : accept }',
    op: nftOps.addElements({ family: 'ip', table: 't', name: 'ifv', key: 'ifname', map: 'verdict' }, [{ key: 'eth0', value: { code: 'accept' } }]),
    hex: '5c0000000c0a0104000000000000000002000000060001007400000008000200696676000800040000000009300003802c000180180001801400010065746830000000000000000000000000100002800c0002800800010000000001',
  },
  {
    cmd: 'nft delete element ip t allowed { 10.0.0.1 }',
    op: nftOps.delElements(allowed, [{ key: '10.0.0.1' }]),
    hex: '3c0000000e0a010000000000000000000200000006000100740000000c000200616c6c6f7765640014000380100001800c000180080001000a000001',
  },
  {
    // Deleting needs the key only, a map's too.
    cmd: 'nft delete element ip t ports { tcp . 8080 }',
    op: nftOps.delElements(ports, [{ key: ['tcp', 8080] }]),
    hex: '400000000e0a010000000000000000000200000006000100740000000a000200706f7274730000001800038014000180100001800c000100060000001f900000',
  },
  {
    cmd: 'nft delete element ip t v { 10.0.0.1 }',
    op: nftOps.delElements(v, [{ key: '10.0.0.1' }]),
    hex: '380000000e0a01000000000000000000020000000600010074000000060002007600000014000380100001800c000180080001000a000001',
  },
];

function check(t: Vector): void {
  describe(t.cmd, () => {
    it('encodes back to the same bytes', () => {
      const m = decode(t.hex);
      expect(encode(m.type, m.flags, m.body)).toBe(t.hex);
    });

    it('is what nlnet sends', () => {
      const m = decode(t.hex);
      expect(t.op.type).toBe(m.type);
      expect(t.op.flags).toBe(t.flags ?? m.flags);
      const ids = Object.fromEntries(Object.entries(m.body).filter(([k]) => k === 'id' || k === 'setId'));
      expect(encode(t.op.type, m.flags, { ...t.op.body, ...ids, ...t.extra })).toBe(t.hex);
    });
  });
}

describe('nft tables: golden bytes from nft', () => tables.forEach(check));
describe('nft chains: golden bytes from nft', () => chains.forEach(check));
describe('nft rule operations: golden bytes from nft', () => rules.forEach(check));
describe('nft sets and maps: golden bytes from nft', () => sets.forEach(check));
describe('nft elements: golden bytes from nft', () => elements.forEach(check));

describe('nft sets: what nlnet reads back', () => {
  const read = (cmd: string) => setFromNative(decode(sets.find((t) => t.cmd.startsWith(cmd))!.hex).body);

  it('key and value types, concatenations included', () => {
    expect(read('nft add set ip t marks')).toMatchObject({ key: ['mark'], flags: [] });
    expect(read('nft add map ip t ports')).toMatchObject({ key: ['inet_proto', 'inet_service'], map: ['ipv4_addr', 'inet_service'], flags: ['map'] });
    expect(read('nft add map ip t v')).toMatchObject({ key: ['ipv4_addr'], map: 'verdict' });
  });

  it('flags, timeout, size and comment', () => {
    expect(read('nft add set ip t dyn')).toMatchObject({ flags: ['timeout', 'dynamic'], timeout: 30_000 });
    expect(read('nft add set ip t svci')).toMatchObject({ key: ['ipv4_addr', 'inet_service'], flags: ['interval', 'concat'] });
    expect(read('nft add set ip t sz')).toMatchObject({ size: 1024 });
    expect(read('nft add set ip t cmt')).toMatchObject({ comment: 'x' });
  });
});

describe('nft elements: what nlnet reads back', () => {
  const read = (set: SetRef, cmd: string) => nftOps.listElements(set).parse([decode(elements.find((t) => t.cmd === cmd)!.hex).body]);

  it('typed keys and values', () => {
    expect(read({ ...allowed, name: 'marks', key: 'mark' }, 'nft add element ip t marks { 0x10 }')).toEqual([{ key: 0x10 }]);
    expect(read(ports, 'nft add element ip t ports { udp . 53 : 172.17.0.3 . 5353 }')).toEqual([{ key: ['udp', 53], value: ['172.17.0.3', 5353] }]);
    expect(read(v, 'nft add element ip t v { 10.0.0.3 : jump x }')).toEqual([{ key: '10.0.0.3', value: { code: 'jump', chain: 'x' } }]);
    expect(read({ ...allowed, name: 'tmo' }, 'nft add element ip t tmo { 10.0.0.1 timeout 10s }')).toEqual([{ key: '10.0.0.1', timeout: 10_000 }]);
  });

  it('every element of a list: nft numbers them 1, 2… where nlnet writes NFTA_LIST_ELEM each time', () => {
    // nft add element ip t allowed { 10.0.0.4, 10.0.0.5 }
    const nft = decode('540000000c0a010400000000000000000200000006000100740000000c000200616c6c6f77656400080004000000000124000380100001800c000180080001000a000004100002800c000180080001000a000005');
    const ours = nftOps.addElements(allowed, [{ key: '10.0.0.4' }, { key: '10.0.0.5' }]);
    expect(decode(encode(ours.type, ours.flags, { ...ours.body, setId: 1 })).body).toEqual(nft.body);
  });
});

describe('nft sets: what encoding refuses', () => {
  const base = { family: 'ip', table: 't', name: 's', key: 'ipv4_addr' } as const;

  it('a comment longer than nft keeps', () => {
    expect(() => nftOps.addSet({ ...base, comment: 'x'.repeat(128) })).toThrow(ValidationError);
  });

  it('a flag nft does not know', () => {
    expect(() => nftOps.addSet({ ...base, flags: ['eval' as 'dynamic'] })).toThrow(/set.flags/);
  });
});
