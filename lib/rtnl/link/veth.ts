// veth: a pair of linked interfaces. The peer can be born straight into another namespace
// (VETH_INFO_PEER carries its own IFLA_NET_NS_FD), which is how a container gets its eth0.
import type { Body } from '../../core/binding.js';
import { ValidationError } from '../../core/errors.js';
import type { NetnsTarget } from '../../netns/namespace.js';
import { bool, ifname, knownKeys, mac, object, uint } from '../../core/validate.js';
import type { KindCodec } from './kinds.js';

export interface VethPeer {
  /** The peer's name; the kernel picks vethN when omitted. */
  name?: string;
  /** Create the peer in this namespace instead of the caller's. */
  netns?: NetnsTarget;
  mtu?: number;
  address?: string;
  txqlen?: number;
  up?: boolean;
}

export interface VethOptions {
  peer?: VethPeer;
}

const PEER_KEYS = ['name', 'netns', 'mtu', 'address', 'txqlen', 'up'] as const;

export const vethKind: KindCodec<VethOptions> = {
  keys: ['peer'],
  toNative(spec, field, ctx) {
    if (spec.peer === undefined) return {};
    if (ctx.forChange) throw new ValidationError(`${field}.peer`, spec.peer, 'a veth peer can only be given when the pair is created');
    const p = object(`${field}.peer`, spec.peer) as VethPeer;
    knownKeys(`${field}.peer`, p, PEER_KEYS);
    const peer: Body = {};
    if (p.name !== undefined) peer.name = ifname(`${field}.peer.name`, p.name);
    if (p.mtu !== undefined) peer.mtu = uint(`${field}.peer.mtu`, p.mtu, 68, 65535);
    if (p.address !== undefined) peer.address = mac(`${field}.peer.address`, p.address);
    if (p.txqlen !== undefined) peer.txqlen = uint(`${field}.peer.txqlen`, p.txqlen, 0, 0xffffffff);
    if (p.up !== undefined) peer.up = bool(`${field}.peer.up`, p.up);
    if (p.netns !== undefined) ctx.netns(peer, p.netns, `${field}.peer.netns`);
    return { peer };
  },
  // A dump shows each end as its own link; the peer is not inside IFLA_INFO_DATA.
  fromNative: () => ({}),
  wire: [],
};
