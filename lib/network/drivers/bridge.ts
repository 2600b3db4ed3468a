// The bridge driver: one Linux bridge per network with the gateway address on it, and one veth
// pair per endpoint, the host end enslaved to the bridge, the other end born inside the sandbox.
// Each side of an attachment is one batch (one native call); the caller undoes what finished.
import { randomBytes } from 'node:crypto';

import { NotFoundError } from '../../errors.js';
import type { Netlink } from '../../netlink.js';
import type { NetnsTarget } from '../../netns.js';

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
  try {
    await nl.batch((b) => {
      const br = b.link.add({ kind: 'bridge', name: spec.bridge, address: randomMac(), ...(spec.mtu === undefined ? {} : { mtu: spec.mtu }) });
      b.addr.add({ dev: br, address: `${spec.gateway}/${spec.prefixlen}` });
      // nodad: the gateway must answer at once, not after duplicate address detection.
      if (spec.gateway6 !== undefined) b.addr.add({ dev: br, address: spec.gateway6, nodad: true });
      // The kernel ignores an alias on a new link: it is set with the link up.
      b.link.set(br, { up: true, ...(spec.owner === undefined ? {} : { alias: spec.owner }) });
    });
  } catch (e) {
    // The bridge is the first step: if a later step failed, it exists and is ours to remove.
    if ((e as { step?: number }).step !== 0) await deleteLink(nl, spec.bridge);
    throw e;
  }
}

/** 02:42 and four random bytes: locally administered, unicast, like docker0's. */
function randomMac(): string {
  return ['02', '42', ...randomBytes(4).toString('hex').match(/../g)!].join(':');
}

/** `ip link del DEV`, where a link already gone is not an error. */
export async function deleteLink(nl: Netlink, name: string): Promise<void> {
  try {
    await nl.link.del(name);
  } catch (e) {
    if (!(e instanceof NotFoundError) && (e as { code?: string }).code !== 'ENODEV') throw e;
  }
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
  try {
    await host.batch((b) => {
      const v = b.link.add({
        kind: 'veth',
        name: e.hostIf,
        mtu: e.mtu,
        master: e.bridge,
        peer: { name: e.ifname, netns: e.netns, address: e.mac, mtu: e.mtu },
      });
      if (e.isolated === true) b.bridge.setPort(v, { isolated: true });
      b.link.set(v, { up: true, ...(e.owner === undefined ? {} : { alias: e.owner }) });
    });
  } catch (err) {
    // Step 0 failing means no pair was made (and the name may be someone else's link).
    if ((err as { step?: number }).step !== 0) await deleteLink(host, e.hostIf);
    throw err;
  }
}

/**
 * Sandbox side: `ip link set lo up; ip addr add IP/LEN dev IFNAME; ip link set IFNAME up` and,
 * for the sandbox's first network only (Docker's gateway endpoint), `ip route add default via GW`
 * (or `default dev IFNAME` when `defaultDev`: ipvlan l3 has no gateway). Every driver uses it.
 */
export async function configureSandbox(sandbox: Netlink, e: Pick<EndpointSpec, 'ifname' | 'ip' | 'prefixlen' | 'ip6'>, gateway: string | undefined, defaultDev = false, gateway6?: string): Promise<void> {
  await sandbox.batch((b) => {
    b.link.set('lo', { up: true });
    b.addr.add({ dev: e.ifname, address: `${e.ip}/${e.prefixlen}` });
    // Docker's IPv6 endpoints skip duplicate address detection: the address is usable at once.
    if (e.ip6 !== undefined) b.addr.add({ dev: e.ifname, address: e.ip6, nodad: true });
    b.link.set(e.ifname, { up: true });
    if (gateway !== undefined) b.route.add({ dst: 'default', via: gateway, dev: e.ifname });
    else if (defaultDev) b.route.add({ dst: 'default', dev: e.ifname });
    if (gateway6 !== undefined) b.route.add({ family: 'inet6', dst: 'default', via: gateway6, dev: e.ifname });
  });
}
