// Link messages against the bytes `ip link` sends, decoding (ip's requests and a kernel reply),
// and the checks made before anything is sent.
// Vectors: node test/tools/capture.mjs --setup 'ip link add p0 type veth peer name p1' -- CMD
// (plus `ip link add br0 type bridge` for master/bridge vectors), seq and pid zeroed. In that
// namespace p1 is ifindex 2, p0 3 and br0 4: the ops name links by those numbers, since names
// encode as 0 until the executor resolves them. NS is a scratch namespace that ip opened as fd 4.
import { describe, expect, it } from 'vitest';

import { native, type Body } from '../../../lib/core/binding.js';
import { NETLINK_ROUTE, NLM_F_ECHO } from '../../../lib/core/constants.js';
import { isKind, linkFromNative, linkOps, type LinkSpec } from '../../../lib/rtnl/link.js';
import { Netns } from '../../../lib/netns/namespace.js';
import type { AnyOp } from '../../../lib/core/op.js';
import { expectValidationError } from '../../helpers/validation.js';

const P0 = 3;
const BR0 = 4;
const NS = (): Netns => new Netns(4, '/run/netns/NS', 'NS');

interface Vector {
  cmd: string;
  op: AnyOp<unknown>;
  hex: string;
  /** For `ip link add` vectors: what the op was built from, to read back from the bytes. */
  spec?: LinkSpec;
}

const add = (spec: LinkSpec): Pick<Vector, 'op' | 'spec'> => ({ op: linkOps.add(spec), spec });

/** The bytes nlnet sends for an op; prepare() fills in namespace fds first (a Netns: no syscall). */
async function encode(op: AnyOp<unknown>): Promise<Buffer> {
  await op.prepare?.();
  try {
    return native.encode(NETLINK_ROUTE, op.type, op.flags, op.body);
  } finally {
    op.cleanup?.();
  }
}

/** ip's bytes as nlnet sends them: `link.add` also sets NLM_F_ECHO, to learn the new ifindex. */
function expected(v: Vector): Buffer {
  const b = Buffer.from(v.hex, 'hex');
  if (v.op.op === 'link.add') b.writeUInt16LE(b.readUInt16LE(6) | NLM_F_ECHO, 6);
  return b;
}

/** Rows for it.each whose test names are the whole command ($cmd would be cut at 40 characters). */
const named = (vectors: Vector[]): [string, Vector][] => vectors.map((v) => [v.cmd, v]);

function decodeOne(bytes: Buffer): { type: number; flags: number; body: Body } {
  const msgs = native.decode(NETLINK_ROUTE, bytes);
  expect(msgs).toHaveLength(1);
  return { ...msgs[0]!, body: msgs[0]!.body! };
}

const veth: Vector[] = [
  { cmd: 'ip link add v0 type veth', ...add({ name: 'v0', kind: 'veth' }), hex: '340000001000050600000000000000000000000000000000000000000000000007000300763000000c0012000800010076657468' },
  { cmd: 'ip link add v0 type veth peer name v1', ...add({ name: 'v0', kind: 'veth', peer: { name: 'v1' } }), hex: '540000001000050600000000000000000000000000000000000000000000000007000300763000002c0012000800010076657468200002001c000100000000000000000000000000000000000700030076310000' },
  {
    cmd: 'ip link add v0 txqlen 500 address 02:00:00:00:00:01 mtu 1400 type veth peer name v1 address 02:00:00:00:00:02 mtu 1300',
    ...add({ name: 'v0', kind: 'veth', txqlen: 500, address: '02:00:00:00:00:01', mtu: 1400, peer: { name: 'v1', address: '02:00:00:00:00:02', mtu: 1300 } }),
    hex: '840000001000050600000000000000000000000000000000000000000000000008000d00f40100000a0001000200000000010000080004007805000007000300763000004000120008000100766574683400020030000100000000000000000000000000000000000a000100020000000002000008000400140500000700030076310000',
  },
  { cmd: 'ip link add v0 up type veth peer name v1 up', ...add({ name: 'v0', kind: 'veth', up: true, peer: { name: 'v1', up: true } }), hex: '540000001000050600000000000000000000000000000000010000000100000007000300763000002c0012000800010076657468200002001c000100000000000000000001000000010000000700030076310000' },
  { cmd: 'ip link add v0 type veth peer name v1 netns NS', ...add({ name: 'v0', kind: 'veth', peer: { name: 'v1', netns: NS() } }), hex: '5c00000010000506000000000000000000000000000000000000000000000000070003007630000034001200080001007665746828000200240001000000000000000000000000000000000008001c00040000000700030076310000' },
  { cmd: 'ip link add v0 type veth peer name v1 netns 1', ...add({ name: 'v0', kind: 'veth', peer: { name: 'v1', netns: { pid: 1 } } }), hex: '5c00000010000506000000000000000000000000000000000000000000000000070003007630000034001200080001007665746828000200240001000000000000000000000000000000000008001300010000000700030076310000' },
  { cmd: 'ip link add v0 netns 1 type veth peer name v1', ...add({ name: 'v0', kind: 'veth', netns: { pid: 1 }, peer: { name: 'v1' } }), hex: '5c00000010000506000000000000000000000000000000000000000000000000080013000100000007000300763000002c0012000800010076657468200002001c000100000000000000000000000000000000000700030076310000' },
];

const bridge: Vector[] = [
  { cmd: 'ip link add br0 type bridge', ...add({ name: 'br0', kind: 'bridge' }), hex: '38000000100005060000000000000000000000000000000000000000000000000800030062723000100012000a0001006272696467650000' },
  {
    cmd: 'ip link add br0 type bridge forward_delay 1500 hello_time 200 max_age 2000 ageing_time 30000 stp_state 1 priority 100',
    ...add({ name: 'br0', kind: 'bridge', forwardDelay: 1500, helloTime: 200, maxAge: 2000, ageingTime: 30000, stp: true, priority: 100 }),
    hex: '6c000000100005060000000000000000000000000000000000000000000000000800030062723000440012000a00010062726964676500003400020008000100dc05000008000200c800000008000300d0070000080004003075000008000500010000000600060064000000',
  },
  {
    // This kernel lacks vlan filtering; the bytes need no kernel.
    cmd: 'ip link add br0 type bridge stp_state 0 vlan_filtering 1 mcast_snooping 0',
    ...add({ name: 'br0', kind: 'bridge', stp: false, vlanFiltering: true, mcastSnooping: false }),
    hex: '540000001000050600000000000000000000000000000000000000000000000008000300627230002c0012000a00010062726964676500001c000200080005000000000005000700010000000500170000000000',
  },
  {
    cmd: 'ip link add br0 type bridge vlan_filtering 1 vlan_protocol 802.1ad group_fwd_mask 8 mcast_snooping 1 mcast_querier 1 nf_call_iptables 1 nf_call_ip6tables 0 vlan_default_pvid 10',
    ...add({
      name: 'br0', kind: 'bridge', vlanFiltering: true, vlanProtocol: '802.1ad', groupFwdMask: 8, mcastSnooping: true,
      mcastQuerier: true, nfCallIptables: true, nfCallIp6tables: false, vlanDefaultPvid: 10,
    }),
    hex: '7c000000100005060000000000000000000000000000000000000000000000000800030062723000540012000a00010062726964676500004400020005000700010000000600080088a8000006000900080000000500170001000000050019000100000005002400010000000500250000000000060027000a000000',
  },
];

// nlnet defaults dstport to 4789 where ip leaves the kernel's 8472: every vector names the port.
const vxlan: Vector[] = [
  { cmd: 'ip link add vx0 type vxlan id 42 dstport 4789', ...add({ name: 'vx0', kind: 'vxlan', vni: 42, dstport: 4789 }), hex: '540000001000050600000000000000000000000000000000000000000000000008000300767830002c0012000900010076786c616e0000001c000200080001002a000000050007000100000006000f0012b50000' },
  {
    cmd: 'ip link add vx0 type vxlan id 42 remote 10.0.0.2 local 10.0.0.1 dev p0 dstport 4789',
    ...add({ name: 'vx0', kind: 'vxlan', vni: 42, remote: '10.0.0.2', local: '10.0.0.1', dev: P0, dstport: 4789 }),
    hex: '6c000000100005060000000000000000000000000000000000000000000000000800030076783000440012000900010076786c616e000000340002000800030003000000080001002a000000080004000a000001080002000a000002050007000100000006000f0012b50000',
  },
  {
    cmd: 'ip link add vx0 type vxlan id 42 group 239.1.1.1 dev p0 dstport 4789',
    ...add({ name: 'vx0', kind: 'vxlan', vni: 42, group: '239.1.1.1', dev: P0, dstport: 4789 }),
    hex: '640000001000050600000000000000000000000000000000000000000000000008000300767830003c0012000900010076786c616e0000002c0002000800030003000000080001002a00000008000200ef010101050007000100000006000f0012b50000',
  },
  {
    cmd: 'ip link add vx0 type vxlan id 42 remote 2001:db8::2 local 2001:db8::1 dstport 4789',
    ...add({ name: 'vx0', kind: 'vxlan', vni: 42, remote: '2001:db8::2', local: '2001:db8::1', dstport: 4789 }),
    hex: '7c000000100005060000000000000000000000000000000000000000000000000800030076783000540012000900010076786c616e00000044000200080001002a0000001400110020010db80000000000000000000000011400100020010db8000000000000000000000002050007000100000006000f0012b50000',
  },
  {
    cmd: 'ip link add vx0 type vxlan id 42 ttl 64 tos 0x10 dev p0 srcport 1000 2000 proxy l2miss l3miss ageing 300 maxaddress 100 udpcsum nolearning dstport 4789',
    ...add({
      name: 'vx0', kind: 'vxlan', vni: 42, ttl: 64, tos: 16, dev: P0, srcport: { low: 1000, high: 2000 }, proxy: true, l2miss: true,
      l3miss: true, ageing: 300, limit: 100, udpCsum: true, learning: false, dstport: 4789,
    }),
    hex: 'a40000001000050600000000000000000000000000000000000000000000000008000300767830007c0012000900010076786c616e0000006c00020005000500400000000500060010000000080003000300000008000a0003e807d005000b000100000005000d000100000005000e0001000000080008002c01000008000900640000000500120001000000080001002a000000050007000000000006000f0012b50000',
  },
  {
    cmd: 'ip link add vx0 type vxlan id 42 ttl inherit noproxy nol2miss nol3miss noudpcsum learning dstport 8472',
    ...add({ name: 'vx0', kind: 'vxlan', vni: 42, ttl: 'inherit', proxy: false, l2miss: false, l3miss: false, udpCsum: false, learning: true, dstport: 8472 }),
    hex: '78000000100005060000000000000000000000000000000000000000000000000800030076783000500012000900010076786c616e0000004000020004001c0005000b000000000005000d000000000005000e00000000000500120000000000080001002a000000050007000100000006000f0021180000',
  },
  { cmd: 'ip link add vx0 type vxlan external dstport 4789', ...add({ name: 'vx0', kind: 'vxlan', external: true, dstport: 4789 }), hex: '540000001000050600000000000000000000000000000000000000000000000008000300767830002c0012000900010076786c616e0000001c0002000500190001000000050007000000000006000f0012b50000' },
  // A change sends only what it changes: no id, port or learning default.
  { cmd: 'ip link set dev p0 type vxlan ageing 600', op: linkOps.set(P0, { kind: 'vxlan', ageing: 600 }), hex: '3c000000100005000000000000000000000000000300000000000000000000001c0012000900010076786c616e0000000c0002000800080058020000' },
];

const macvlanMode = (mode: 'private' | 'vepa' | 'bridge' | 'passthru' | 'source', hex: string): Vector => ({
  cmd: `ip link add link p0 name mv0 type macvlan mode ${mode}`,
  ...add({ name: 'mv0', kind: 'macvlan', link: P0, mode }),
  hex,
});

const macvlan: Vector[] = [
  { cmd: 'ip link add link p0 name mv0 type macvlan', ...add({ name: 'mv0', kind: 'macvlan', link: P0 }), hex: '40000000100005060000000000000000000000000000000000000000000000000800050003000000080003006d763000100012000b0001006d6163766c616e00' },
  macvlanMode('private', '4c000000100005060000000000000000000000000000000000000000000000000800050003000000080003006d7630001c0012000b0001006d6163766c616e000c0002000800010001000000'),
  macvlanMode('vepa', '4c000000100005060000000000000000000000000000000000000000000000000800050003000000080003006d7630001c0012000b0001006d6163766c616e000c0002000800010002000000'),
  macvlanMode('bridge', '4c000000100005060000000000000000000000000000000000000000000000000800050003000000080003006d7630001c0012000b0001006d6163766c616e000c0002000800010004000000'),
  macvlanMode('passthru', '4c000000100005060000000000000000000000000000000000000000000000000800050003000000080003006d7630001c0012000b0001006d6163766c616e000c0002000800010008000000'),
  macvlanMode('source', '4c000000100005060000000000000000000000000000000000000000000000000800050003000000080003006d7630001c0012000b0001006d6163766c616e000c0002000800010010000000'),
  { cmd: 'ip link add link p0 name mv0 type macvtap mode bridge', ...add({ name: 'mv0', kind: 'macvtap', link: P0, mode: 'bridge' }), hex: '4c000000100005060000000000000000000000000000000000000000000000000800050003000000080003006d7630001c0012000b0001006d616376746170000c0002000800010004000000' },
  {
    cmd: 'ip link add link p0 name mv0 master br0 type macvlan mode bridge',
    ...add({ name: 'mv0', kind: 'macvlan', link: P0, master: BR0, mode: 'bridge' }),
    hex: '540000001000050600000000000000000000000000000000000000000000000008000a00040000000800050003000000080003006d7630001c0012000b0001006d6163766c616e000c0002000800010004000000',
  },
];

// ip sends IFLA_IPVLAN_FLAGS whenever it gets any ipvlan option (0: bridge), and so does nlnet.
// This kernel has no ipvlan; ip still sends the request, which is all these vectors need.
const ipvlan: Vector[] = [
  { cmd: 'ip link add link p0 name iv0 type ipvlan', ...add({ name: 'iv0', kind: 'ipvlan', link: P0 }), hex: '400000001000050600000000000000000000000000000000000000000000000008000500030000000800030069763000100012000a0001006970766c616e0000' },
  { cmd: 'ip link add link p0 name iv0 type ipvlan mode l2', ...add({ name: 'iv0', kind: 'ipvlan', link: P0, mode: 'l2' }), hex: '540000001000050600000000000000000000000000000000000000000000000008000500030000000800030069763000240012000a0001006970766c616e00001400020006000100000000000600020000000000' },
  { cmd: 'ip link add link p0 name iv0 type ipvlan mode l3', ...add({ name: 'iv0', kind: 'ipvlan', link: P0, mode: 'l3' }), hex: '540000001000050600000000000000000000000000000000000000000000000008000500030000000800030069763000240012000a0001006970766c616e00001400020006000100010000000600020000000000' },
  { cmd: 'ip link add link p0 name iv0 type ipvlan mode l3s', ...add({ name: 'iv0', kind: 'ipvlan', link: P0, mode: 'l3s' }), hex: '540000001000050600000000000000000000000000000000000000000000000008000500030000000800030069763000240012000a0001006970766c616e00001400020006000100020000000600020000000000' },
  { cmd: 'ip link add link p0 name iv0 type ipvlan mode l2 private', ...add({ name: 'iv0', kind: 'ipvlan', link: P0, mode: 'l2', flag: 'private' }), hex: '540000001000050600000000000000000000000000000000000000000000000008000500030000000800030069763000240012000a0001006970766c616e00001400020006000100000000000600020001000000' },
  { cmd: 'ip link add link p0 name iv0 type ipvlan mode l3 vepa', ...add({ name: 'iv0', kind: 'ipvlan', link: P0, mode: 'l3', flag: 'vepa' }), hex: '540000001000050600000000000000000000000000000000000000000000000008000500030000000800030069763000240012000a0001006970766c616e00001400020006000100010000000600020002000000' },
  { cmd: 'ip link add link p0 name iv0 type ipvlan private', ...add({ name: 'iv0', kind: 'ipvlan', link: P0, flag: 'private' }), hex: '4c00000010000506000000000000000000000000000000000000000000000000080005000300000008000300697630001c0012000a0001006970766c616e00000c0002000600020001000000' },
];

// This kernel has no 8021q either; the request bytes need none.
const vlan: Vector[] = [
  { cmd: 'ip link add link p0 name p0.10 type vlan id 10', ...add({ name: 'p0.10', kind: 'vlan', link: P0, id: 10 }), hex: '4c0000001000050600000000000000000000000000000000000000000000000008000500030000000a00030070302e31300000001800120008000100766c616e0c000200060001000a000000' },
  {
    cmd: 'ip link add link p0 name p0.10 type vlan protocol 802.1ad id 4094',
    ...add({ name: 'p0.10', kind: 'vlan', link: P0, protocol: '802.1ad', id: 4094 }),
    hex: '540000001000050600000000000000000000000000000000000000000000000008000500030000000a00030070302e31300000002000120008000100766c616e140002000600050088a8000006000100fe0f0000',
  },
];

const delAndSet: Vector[] = [
  { cmd: 'ip link del dev p0', op: linkOps.del(P0), hex: '2000000011000500000000000000000000000000030000000000000000000000' },
  { cmd: 'ip link set dev p0 up', op: linkOps.set(P0, { up: true }), hex: '2000000010000500000000000000000000000000030000000100000001000000' },
  { cmd: 'ip link set dev p0 down', op: linkOps.set(P0, { up: false }), hex: '2000000010000500000000000000000000000000030000000000000001000000' },
  { cmd: 'ip link set dev p0 mtu 1400', op: linkOps.set(P0, { mtu: 1400 }), hex: '28000000100005000000000000000000000000000300000000000000000000000800040078050000' },
  { cmd: 'ip link set dev p0 address 02:00:00:00:00:09', op: linkOps.set(P0, { address: '02:00:00:00:00:09' }), hex: '2c000000100005000000000000000000000000000300000000000000000000000a0001000200000000090000' },
  { cmd: 'ip link set dev p0 name p9', op: linkOps.set(P0, { name: 'p9' }), hex: '28000000100005000000000000000000000000000300000000000000000000000700030070390000' },
  { cmd: 'ip link set dev p0 master br0', op: linkOps.set(P0, { master: BR0 }), hex: '280000001000050000000000000000000000000003000000000000000000000008000a0004000000' },
  { cmd: 'ip link set dev p0 nomaster', op: linkOps.set(P0, { master: null }), hex: '280000001000050000000000000000000000000003000000000000000000000008000a0000000000' },
  // ip writes the alias without a NUL (the kernel dumps it back with one).
  { cmd: 'ip link set dev p0 alias hello', op: linkOps.set(P0, { alias: 'hello' }), hex: '2c000000100005000000000000000000000000000300000000000000000000000900140068656c6c6f000000' },
  { cmd: 'ip link set dev p0 txqlen 100', op: linkOps.set(P0, { txqlen: 100 }), hex: '280000001000050000000000000000000000000003000000000000000000000008000d0064000000' },
  { cmd: 'ip link set dev p0 group 5', op: linkOps.set(P0, { devgroup: 5 }), hex: '280000001000050000000000000000000000000003000000000000000000000008001b0005000000' },
  { cmd: 'ip link set dev p0 netns 1', op: linkOps.set(P0, { netns: { pid: 1 } }), hex: '28000000100005000000000000000000000000000300000000000000000000000800130001000000' },
  { cmd: 'ip link set dev p0 netns NS', op: linkOps.set(P0, { netns: NS() }), hex: '280000001000050000000000000000000000000003000000000000000000000008001c0004000000' },
  {
    cmd: 'ip link set dev p0 up txqlen 5 address 02:00:00:00:00:09 mtu 1400 alias x name p9',
    op: linkOps.set(P0, { up: true, txqlen: 5, address: '02:00:00:00:00:09', mtu: 1400, alias: 'x', name: 'p9' }),
    hex: '4c0000001000050000000000000000000000000003000000010000000100000008000d00050000000a0001000200000000090000080004007805000005001400780000000700030070390000',
  },
  {
    cmd: 'ip link set dev br0 type bridge ageing_time 500 stp_state 1',
    op: linkOps.set(BR0, { kind: 'bridge', ageingTime: 500, stp: true }),
    hex: '4400000010000500000000000000000000000000040000000000000000000000240012000a00010062726964676500001400020008000400f40100000800050001000000',
  },
];

const groups = { veth, bridge, vxlan, macvlan, ipvlan, vlan, 'del and set': delAndSet };
const all = Object.values(groups).flat();

describe('link: golden bytes from ip', () => {
  for (const [group, vectors] of Object.entries(groups)) {
    describe(group, () => {
      it.each(named(vectors))('%s', async (_cmd, v) => {
        expect((await encode(v.op)).toString('hex')).toBe(expected(v).toString('hex'));
      });
    });
  }
});

describe('link: decoding what ip sends', () => {
  it.each(named(all))('decode → encode gives the same bytes: %s', (_cmd, v) => {
    const bytes = Buffer.from(v.hex, 'hex');
    const m = decodeOne(bytes);
    expect(native.encode(NETLINK_ROUTE, m.type, m.flags, m.body).toString('hex')).toBe(v.hex);
  });

  // The spec read back from the request bytes, less what a link does not report about itself.
  it.each(named(all.filter((v) => v.spec)))('reads back the spec: %s', (_cmd, v) => {
    const { peer: _peer, netns: _netns, ...readable } = v.spec as LinkSpec & { peer?: unknown };
    expect(linkFromNative(decodeOne(Buffer.from(v.hex, 'hex')).body)).toMatchObject(readable);
  });

  it('reads the veth peer, its namespace included, from the nested ifinfomsg', () => {
    const v = veth.find((x) => x.cmd.endsWith('netns NS'))!;
    const body = decodeOne(Buffer.from(v.hex, 'hex')).body as { info: { data: { peer: Body } } };
    expect(body.info.data.peer).toMatchObject({ name: 'v1', netnsFd: 4 });
  });
});

// `ip link show` asks with family AF_PACKET and RTEXT_FILTER_VF; nlnet with AF_UNSPEC and
// RTEXT_FILTER_SKIP_STATS, and wants an ACK for a single get. Everything that selects is the same.
describe('link: get and list select as ip link show does', () => {
  const shows: Vector[] = [
    { cmd: 'ip link show dev p0', op: linkOps.get('p0'), hex: '3000000012000100000000000000000011000000000000000000000000000000070003007030000008001d0001000000' },
    { cmd: 'ip link show', op: linkOps.list(), hex: '280000001200010300000000000000001100000000000000000000000000000008001d0001000000' },
    { cmd: 'ip link show type veth', op: linkOps.list({ kind: 'veth' }), hex: '340000001200010300000000000000001100000000000000000000000000000008001d00010000000c0012000800010076657468' },
    { cmd: 'ip link show master br0', op: linkOps.list({ master: BR0 }), hex: '300000001200010300000000000000001100000000000000000000000000000008001d000100000008000a0004000000' },
  ];
  const selectors = (bytes: Buffer): { type: number; dump: boolean; body: Body } => {
    const { type, flags, body } = decodeOne(bytes);
    const { family: _f, extMask: _e, ...rest } = body;
    return { type, dump: (flags & 0x300) === 0x300, body: rest };
  };

  it.each(named(shows))('%s', async (_cmd, v) => {
    expect(selectors(await encode(v.op))).toEqual(selectors(Buffer.from(v.hex, 'hex')));
  });
});

describe('link: decoding a kernel reply', () => {
  // The kernel's RTM_NEWLINK for `ip link add vx0 type vxlan id 42 remote 10.0.0.2 local 10.0.0.1
  // dev p0 dstport 4789 ttl 64` (p0 ifindex 3), answering an RTM_GETLINK for vx0 with
  // IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS; seq and pid zeroed.
  const bytes = Buffer.from(KERNEL_VXLAN.replace(/\s+/g, ''), 'hex');

  it('reads the link and its vxlan options as ip -d link show does', () => {
    const link = linkFromNative(decodeOne(bytes).body);
    // IFLA_VXLAN_TTL_INHERIT comes as a u8 0 on this link: the ttl stays 64, not 'inherit'.
    expect(link).toMatchObject({
      index: 4, name: 'vx0', up: false, mtu: 1450, txqlen: 1000, operstate: 'down', hwType: 1, address: '6e:73:61:3c:2d:b9',
      minMtu: 68, maxMtu: 65535, kind: 'vxlan', vni: 42, remote: '10.0.0.2', local: '10.0.0.1', dev: 3, dstport: 4789,
      ttl: 64, learning: true, ageing: 300, udpCsum: true, proxy: false,
    });
    expect(isKind(link, 'vxlan')).toBe(true);
    expect(isKind(link, 'bridge')).toBe(false);
    // IFLA_VXLAN_GROUP holds the remote; a unicast address there is no multicast group.
    expect(link).not.toHaveProperty('group');
  });

  it('keeps attributes it has no name for', () => {
    const { body } = decodeOne(bytes);
    expect(Array.isArray(body.unknown)).toBe(true);
    expect((body.info as { data: Body }).data.unknown).toBeDefined();
  });

  it('rejects a message cut short', () => {
    expect(() => native.decode(NETLINK_ROUTE, bytes.subarray(0, 100))).toThrow(RangeError);
  });
});

describe('link: validation before sending', () => {
  const veth0 = { name: 'v0', kind: 'veth' } as const;
  const vx = { name: 'vx0', kind: 'vxlan', vni: 1 } as const;
  const bad = (spec: object): (() => unknown) => () => linkOps.add(spec as LinkSpec);
  const cases: [string, () => unknown, string][] = [
    ['a spec that is not an object', bad(null as unknown as object), 'link'],
    ['a name of 16 bytes', bad({ ...veth0, name: 'a'.repeat(16) }), 'link.name'],
    ['a name with /', bad({ ...veth0, name: 'a/b' }), 'link.name'],
    ['a name with a space', bad({ ...veth0, name: 'a b' }), 'link.name'],
    ['a name with a tab', bad({ ...veth0, name: 'a\tb' }), 'link.name'],
    ['a name with :', bad({ ...veth0, name: 'a:b' }), 'link.name'],
    ['an empty name', bad({ ...veth0, name: '' }), 'link.name'],
    ['the name ..', bad({ ...veth0, name: '..' }), 'link.name'],
    ['no name', bad({ kind: 'veth' }), 'link.name'],
    ['an mtu below 68', bad({ ...veth0, mtu: 67 }), 'link.mtu'],
    ['an mtu above 65535', bad({ ...veth0, mtu: 65536 }), 'link.mtu'],
    ['a fractional mtu', bad({ ...veth0, mtu: 1500.5 }), 'link.mtu'],
    ['a MAC with 5 bytes', bad({ ...veth0, address: '02:00:00:00:00' }), 'link.address'],
    ['a MAC with a bad digit', bad({ ...veth0, address: '02:00:00:00:00:0g' }), 'link.address'],
    ['a bad broadcast address', bad({ ...veth0, broadcast: 'ff-ff-ff-ff-ff-ff' }), 'link.broadcast'],
    ['a negative txqlen', bad({ ...veth0, txqlen: -1 }), 'link.txqlen'],
    ['an alias, which the kernel would ignore on create', bad({ ...veth0, alias: 'x' }), 'link.alias'],
    ['master ifindex 0', bad({ ...veth0, master: 0 }), 'link.master'],
    ['a bad master name', bad({ ...veth0, master: 'a b' }), 'link.master'],
    ['a bad parent', bad({ name: 'mv0', kind: 'macvlan', link: -2 }), 'link.link'],
    ['up as a string', bad({ ...veth0, up: 'yes' }), 'link.up'],
    ['zero tx queues', bad({ ...veth0, numTxQueues: 0 }), 'link.numTxQueues'],
    ['too many rx queues', bad({ ...veth0, numRxQueues: 5000 }), 'link.numRxQueues'],
    ['a device group above u32', bad({ ...veth0, devgroup: 2 ** 32 }), 'link.devgroup'],
    ['netns pid 0', bad({ ...veth0, netns: { pid: 0 } }), 'link.netns.pid'],
    ['an unknown kind', bad({ name: 'd0', kind: 'dummy' }), 'link.kind'],
    ['no kind', bad({ name: 'd0' }), 'link.kind'],
    ['an unknown option', bad({ ...veth0, colour: 'red' }), 'link.colour'],
    ["another kind's option", bad({ name: 'br0', kind: 'bridge', vni: 1 }), 'link.vni'],
    // veth
    ['a peer that is not an object', bad({ ...veth0, peer: 'v1' }), 'link.peer'],
    ['a bad peer name', bad({ ...veth0, peer: { name: 'x'.repeat(16) } }), 'link.peer.name'],
    ['a bad peer mtu', bad({ ...veth0, peer: { mtu: 10 } }), 'link.peer.mtu'],
    ['a bad peer MAC', bad({ ...veth0, peer: { address: 'nope' } }), 'link.peer.address'],
    ['a bad peer txqlen', bad({ ...veth0, peer: { txqlen: 1.5 } }), 'link.peer.txqlen'],
    ['a bad peer up', bad({ ...veth0, peer: { up: 1 } }), 'link.peer.up'],
    ['a bad peer netns pid', bad({ ...veth0, peer: { netns: { pid: -1 } } }), 'link.peer.netns.pid'],
    ['an unknown peer option', bad({ ...veth0, peer: { master: 'br0' } }), 'link.peer.master'],
    // bridge
    ['stp as a number', bad({ name: 'br0', kind: 'bridge', stp: 1 }), 'link.stp'],
    ['a negative forward delay', bad({ name: 'br0', kind: 'bridge', forwardDelay: -1 }), 'link.forwardDelay'],
    ['a bad hello time', bad({ name: 'br0', kind: 'bridge', helloTime: 'x' }), 'link.helloTime'],
    ['a bad max age', bad({ name: 'br0', kind: 'bridge', maxAge: 2 ** 32 }), 'link.maxAge'],
    ['a bad ageing time', bad({ name: 'br0', kind: 'bridge', ageingTime: 0.5 }), 'link.ageingTime'],
    ['a priority above u16', bad({ name: 'br0', kind: 'bridge', priority: 65536 }), 'link.priority'],
    ['vlan filtering as a string', bad({ name: 'br0', kind: 'bridge', vlanFiltering: 'on' }), 'link.vlanFiltering'],
    ['an unknown vlan protocol', bad({ name: 'br0', kind: 'bridge', vlanProtocol: '802.1x' }), 'link.vlanProtocol'],
    ['default pvid 4095', bad({ name: 'br0', kind: 'bridge', vlanDefaultPvid: 4095 }), 'link.vlanDefaultPvid'],
    ['mcast snooping as a number', bad({ name: 'br0', kind: 'bridge', mcastSnooping: 0 }), 'link.mcastSnooping'],
    ['mcast querier as a string', bad({ name: 'br0', kind: 'bridge', mcastQuerier: 'no' }), 'link.mcastQuerier'],
    ['nf_call_iptables as a number', bad({ name: 'br0', kind: 'bridge', nfCallIptables: 1 }), 'link.nfCallIptables'],
    ['nf_call_ip6tables as null', bad({ name: 'br0', kind: 'bridge', nfCallIp6tables: null }), 'link.nfCallIp6tables'],
    ['a bad group forward mask', bad({ name: 'br0', kind: 'bridge', groupFwdMask: -1 }), 'link.groupFwdMask'],
    // vxlan
    ['no vni', bad({ name: 'vx0', kind: 'vxlan' }), 'link.vni'],
    ['vni 2^24', bad({ ...vx, vni: 0x1000000 }), 'link.vni'],
    ['a negative vni', bad({ ...vx, vni: -1 }), 'link.vni'],
    ['a vni in external mode', bad({ ...vx, external: true }), 'link.vni'],
    ['remote and group together', bad({ ...vx, remote: '10.0.0.2', group: '239.1.1.1' }), 'link.group'],
    ['a unicast group', bad({ ...vx, group: '10.0.0.2' }), 'link.group'],
    ['a unicast IPv6 group', bad({ ...vx, group: '2001:db8::1' }), 'link.group'],
    ['a multicast remote', bad({ ...vx, remote: '239.1.1.1' }), 'link.remote'],
    ['a remote that is no address', bad({ ...vx, remote: '10.0.0' }), 'link.remote'],
    ['a bad local', bad({ ...vx, local: 'here' }), 'link.local'],
    ['a bad dev', bad({ ...vx, dev: '' }), 'link.dev'],
    ['ttl 256', bad({ ...vx, ttl: 256 }), 'link.ttl'],
    ['ttl as a word other than inherit', bad({ ...vx, ttl: 'auto' }), 'link.ttl'],
    ['tos 256', bad({ ...vx, tos: 256 }), 'link.tos'],
    ['learning as a number', bad({ ...vx, learning: 1 }), 'link.learning'],
    ['udpCsum as a string', bad({ ...vx, udpCsum: 'yes' }), 'link.udpCsum'],
    ['a negative ageing', bad({ ...vx, ageing: -1 }), 'link.ageing'],
    ['a bad limit', bad({ ...vx, limit: 'many' }), 'link.limit'],
    ['srcport low 0', bad({ ...vx, srcport: { low: 0, high: 10 } }), 'link.srcport.low'],
    ['srcport high above 65535', bad({ ...vx, srcport: { low: 1, high: 65536 } }), 'link.srcport.high'],
    ['srcport high below low', bad({ ...vx, srcport: { low: 2000, high: 1000 } }), 'link.srcport'],
    ['dstport 0', bad({ ...vx, dstport: 0 }), 'link.dstport'],
    ['dstport 65536', bad({ ...vx, dstport: 65536 }), 'link.dstport'],
    // macvlan, ipvlan, vlan
    ['an unknown macvlan mode', bad({ name: 'mv0', kind: 'macvlan', link: 3, mode: 'bridged' }), 'link.mode'],
    ['an unknown macvtap mode', bad({ name: 'mv0', kind: 'macvtap', link: 3, mode: 'l2' }), 'link.mode'],
    ['an unknown ipvlan mode', bad({ name: 'iv0', kind: 'ipvlan', link: 3, mode: 'l4' }), 'link.mode'],
    ['an unknown ipvlan flag', bad({ name: 'iv0', kind: 'ipvlan', link: 3, flag: 'passthru' }), 'link.flag'],
    ['vlan id 4095', bad({ name: 'p0.1', kind: 'vlan', link: 3, id: 4095 }), 'link.id'],
    ['no vlan id', bad({ name: 'p0.1', kind: 'vlan', link: 3 }), 'link.id'],
    ['a negative vlan id', bad({ name: 'p0.1', kind: 'vlan', link: 3, id: -1 }), 'link.id'],
    ['an unknown vlan protocol', bad({ name: 'p0.1', kind: 'vlan', link: 3, id: 1, protocol: '8021q' }), 'link.protocol'],
    // del, set, get, list
    ['del of ifindex 0', () => linkOps.del(0), 'dev'],
    ['del of a bad name', () => linkOps.del('a/b'), 'dev'],
    ['del of a negative batch ref', () => linkOps.del({ ref: -1 }), 'dev.ref'],
    ['set with changes that are not an object', () => linkOps.set(3, 'up' as never), 'changes'],
    ['set of a bad dev', () => linkOps.set('', { up: true }), 'dev'],
    ['a rename to a bad name', () => linkOps.set(3, { name: 'x'.repeat(16) }), 'changes.name'],
    ['a rename of a bad dev', () => linkOps.set(0, { name: 'v9' }), 'dev'],
    ['set of an unknown kind', () => linkOps.set(3, { kind: 'dummy' } as never), 'changes.kind'],
    ['set of a bad mtu', () => linkOps.set(3, { mtu: 0 }), 'changes.mtu'],
    ['set of an empty alias', () => linkOps.set(3, { alias: '' }), 'changes.alias'],
    ['set of an alias over 255 bytes', () => linkOps.set(3, { alias: 'x'.repeat(256) }), 'changes.alias'],
    ['set of an unknown option', () => linkOps.set(3, { colour: 'red' } as never), 'changes.colour'],
    ['set of a kind option without the kind', () => linkOps.set(3, { stp: true } as never), 'changes.stp'],
    ['set of a veth peer', () => linkOps.set(3, { kind: 'veth', peer: { name: 'v1' } }), 'changes.peer'],
    ['set of a bad vni', () => linkOps.set(3, { kind: 'vxlan', vni: 2 ** 24 }), 'changes.vni'],
    ['set of a bad netns pid', () => linkOps.set(3, { netns: { pid: 1.5 } }), 'changes.netns.pid'],
    ['get of a bad dev', () => linkOps.get({} as never), 'dev'],
    ['list with a filter that is not an object', () => linkOps.list([] as never), 'filter'],
    ['list with an unknown filter', () => linkOps.list({ name: 'v0' } as never), 'filter.name'],
    ['list by a kind name too long', () => linkOps.list({ kind: 'k'.repeat(16) }), 'filter.kind'],
    ['list by a bad master', () => linkOps.list({ master: 0 }), 'filter.master'],
  ];

  it.each(cases)('rejects %s', (_what, build, field) => {
    expectValidationError(build, field);
  });

  it('does not require vni in external mode, nor anything in a change', () => {
    expect(() => linkOps.add({ name: 'vx0', kind: 'vxlan', external: true })).not.toThrow();
    expect(() => linkOps.set(3, { kind: 'vxlan', ttl: 5 })).not.toThrow();
    expect(() => linkOps.set(3, { kind: 'vlan', protocol: '802.1ad' })).not.toThrow();
  });
});

const KERNEL_VXLAN = `
3c05000010000000000000000000000000000100040000000210000000000000080003007678300008000d00e8030000
05001000020000000500110000000000050043000000000008000400aa050000080032004400000008003300ffff0000
08001b000000000008001e000000000008003d000000000008001f000100000008002800ffff00000800290000000100
08003a000000010008003f0000000100080040000000010008003b00f8ff070008003c00ffff00000800420000000000
08002000010000000500210001000000080023000000000008002f000000000008003000000000000600440040000000
060045000000000005002700000000000a0001006e73613c2db900000a000200ffffffffffff0000cc00170000000000
000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
000000006400070000000000000000000000000000000000000000000000000000000000000000000000000000000000
000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
00000000000000000c002b000500020000000000f00012000a00010076786c616e000000e0000200080001002a000000
080002000a0000020800030003000000080004000a000001050005004000000005001c00000000000500060000000000
05001d000000000008001a00000000000800200000000000050007000100000005000b000000000005000c0000000000
05000d000000000005000e00000000000500190000000000080008002c010000080009000000000006000f0012b50000
0500120001000000050013000000000005001400000000000500150000000000050016000000000005001f0001000000
08000a00000000000c002100f7ffffff000000ff090006006e6f6f7000000000c0011a008c0002008800010000000000
000000000000000001000000010000000100000001000000000000000100000000000000000000000000000000000000
000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
0000000010270000e8030000000000000000000000000000000000000100000030010a00080001000000000014000500
ffff0000b0ac0100188c0000e8030000f40002000000000040000000aa05000001000000010000000100000001000000
ffffffffa00f0000e803000000000000803a090080510100030000005802000010000000000000000100000001000000
0100000060ea000000000000000000000000000000000000000000000000000001000000000000000000000010270000
e80300000100000000000000000000000100000000000000000000000100000000000000000000000000000000000000
80ee360000000000000000000100000000000000000000000000000000000000000000000004000000000000ffff0000
ffffffff0100000000000000000000000000000014000700000000000000000000000000000000000500080000000000
24000e00000000000000000000000000000000000000000000000000000000000000000004003e8004004180
`;
