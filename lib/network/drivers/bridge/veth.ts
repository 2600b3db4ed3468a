// The bridge driver's links: one Linux bridge per network with the gateway address on it, and one
// veth pair per endpoint, the host end enslaved to the bridge, the other end born inside the
// sandbox. Each side of an attachment is one batch (one native call); the caller undoes what finished.
import { randomBytes } from 'node:crypto';

import type { Batch } from '../../../rtnl/batch.js';
import type { Netlink } from '../../../rtnl/netlink.js';
import type { NetnsTarget } from '../../../netns/namespace.js';
import type { EndpointRecord, NetworkRecord } from '../../model/sandbox.js';
import { batchMakingLink, MTU, prefixlen } from '../common.js';
import type { NetworkFirewall } from './ruleset.js';

export const MASQUERADE = 'com.docker.network.bridge.enable_ip_masquerade';
export const ICC = 'com.docker.network.bridge.enable_icc';

/** docker_gwbridge's options, as Docker's overlay driver makes it: its endpoints reach only the gateway, egress is masqueraded. */
export const GWBRIDGE_OPTIONS: Readonly<Record<string, string>> = { [ICC]: 'false', [MASQUERADE]: 'true' };

// Docker's bridge driver parses its switches with Go's strconv.ParseBool: these spellings only.
const SWITCH_OFF = ['0', 'f', 'F', 'FALSE', 'false', 'False'];
const SWITCH_ON = ['1', 't', 'T', 'TRUE', 'true', 'True'];

/** Whether a switch's value is one ParseBool reads (checkOptions refuses others). */
export const isSwitch = (v: string): boolean => SWITCH_OFF.includes(v) || SWITCH_ON.includes(v);

/** A bridge switch turned off, in any spelling ParseBool reads as false. */
export const switchedOff = (v: string | undefined): boolean => v !== undefined && SWITCH_OFF.includes(v);

/** 02:42 and four random bytes, locally administered and unicast, as dockerd gives docker0. */
function bridgeMac(): string {
  return ['02', '42', ...randomBytes(4).toString('hex').match(/../g)!].join(':');
}

export interface BridgeSpec {
  bridge: string;
  /** The gateway address, "172.17.0.1". */
  gateway: string;
  prefixlen: number;
  /** The IPv6 gateway with its prefix, "fd00:1::1/64", on a network with IPv6. */
  gateway6?: string;
  mtu?: number;
  /** Written as the bridge's alias: which store made it (network/owner.ts). */
  owner?: string;
}

/**
 * `ip link add BR address 02:42:… type bridge; ip addr add GW/LEN dev BR; [ip addr add GW6/LEN dev
 * BR nodad;] ip link set BR up alias OWNER`. The MAC is set, as dockerd sets it: a bridge without one takes
 * the lowest MAC of its ports, so it would change as veths come and go, and every container's
 * ARP entry for the gateway would go stale (its traffic to the gateway lost until it expires).
 */
export async function createBridge(nl: Netlink, spec: BridgeSpec): Promise<void> {
  await batchMakingLink(nl, spec.bridge, (b) => {
    const br = b.link.add({ kind: 'bridge', name: spec.bridge, address: bridgeMac(), ...(spec.mtu === undefined ? {} : { mtu: spec.mtu }) });
    b.addr.add({ dev: br, address: `${spec.gateway}/${spec.prefixlen}` });
    // nodad: the gateway must answer at once, not after duplicate address detection.
    if (spec.gateway6 !== undefined) b.addr.add({ dev: br, address: spec.gateway6, nodad: true });
    // The kernel ignores an alias on a new link: it is set with the link up.
    b.link.set(br, { up: true, ...(spec.owner === undefined ? {} : { alias: spec.owner }) });
  });
}

export interface EndpointSpec {
  bridge: string;
  /** The host end, `veth` + 7 hex. */
  hostIf: string;
  /** The sandbox end, eth0, eth1… */
  ifname: string;
  /** The sandbox's namespace: its name, or already open. */
  netns: NetnsTarget;
  ip: string;
  prefixlen: number;
  /** "fd00:1::2/64" on a network with IPv6. */
  ip6?: string;
  mac: string;
  mtu: number;
  /** `enable_icc=false`: the host end is an isolated bridge port, so endpoints reach only the gateway. */
  isolated?: boolean;
  /** Written as the host end's alias: which store made it (network/owner.ts). */
  owner?: string;
}

/**
 * Host side of `docker network connect`: `ip link add HOSTIF mtu M master BR type veth peer name
 * IFNAME netns NS address MAC mtu M; [bridge link set dev HOSTIF isolated on;] ip link set HOSTIF up alias OWNER`.
 * The port is isolated before it comes up, so no frame passes between endpoints. A pair made by a batch that then
 * failed is deleted before the error is rethrown.
 */
export async function createVeth(host: Netlink, e: EndpointSpec): Promise<void> {
  await batchMakingLink(host, e.hostIf, (b) => vethSteps(b, e));
}

/**
 * createVeth's steps, for a batch or an attach job (the pair is its first step). The later steps
 * name the host end rather than refer to the first, so the kernel need not echo the new link.
 */
export function vethSteps(b: Batch, e: EndpointSpec): void {
  b.link.add({ kind: 'veth', name: e.hostIf, mtu: e.mtu, master: e.bridge, peer: { name: e.ifname, netns: e.netns, address: e.mac, mtu: e.mtu } }, { echo: false });
  if (e.isolated === true) b.bridge.setPort(e.hostIf, { isolated: true });
  b.link.set(e.hostIf, { up: true, ...(e.owner === undefined ? {} : { alias: e.owner }) });
}

/** The bridge of a network record, as createBridge takes it, marked as made by `owner`. */
export function bridgeSpec(n: NetworkRecord, owner: string): BridgeSpec {
  const mtu = n.options[MTU] === undefined ? undefined : Number(n.options[MTU]);
  return {
    bridge: n.bridge,
    owner,
    gateway: n.gateway,
    prefixlen: prefixlen(n.subnet),
    ...(n.gateway6 === undefined || n.subnet6 === undefined ? {} : { gateway6: `${n.gateway6}/${prefixlen(n.subnet6)}` }),
    ...(mtu === undefined ? {} : { mtu }),
  };
}

/** The bridge driver's view of an endpoint, its host end marked as made by `owner`. */
export function vethSpec(ns: NetnsTarget, ep: EndpointRecord, net: NetworkRecord, owner: string): EndpointSpec {
  return {
    bridge: net.bridge,
    hostIf: ep.hostIf,
    owner,
    ifname: ep.ifname,
    netns: ns,
    ip: ep.ip,
    prefixlen: prefixlen(net.subnet),
    ...(ep.ip6 === undefined || net.subnet6 === undefined ? {} : { ip6: `${ep.ip6}/${prefixlen(net.subnet6)}` }),
    mac: ep.mac,
    // The bridge was made with this MTU (Docker's default 1500): no need to ask the kernel.
    mtu: Number(net.options[MTU] ?? 1500),
    isolated: switchedOff(net.options[ICC]),
  };
}

/** The firewall's view of a bridge network record. */
export function firewallSpec(n: NetworkRecord): NetworkFirewall {
  return { bridge: n.bridge, subnet: n.subnet, ...(n.subnet6 === undefined ? {} : { subnet6: n.subnet6 }), internal: n.internal, masquerade: !switchedOff(n.options[MASQUERADE]) };
}
