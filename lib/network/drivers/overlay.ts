// The overlay driver: networks that span the hosts of a cluster over VXLAN (Docker's `-d overlay`).
// The network itself lives in the cluster store (overlay/records.ts); a host makes its part, a
// namespace with br0 and vxlan0 (overlay/devices.ts), when the network's first endpoint lands on
// it and removes it when the last one leaves. Endpoints have no gateway on the overlay: a sandbox
// also joins docker_gwbridge for its default route and published ports, as in Docker.
import { ValidationError } from '../../core/errors.js';
import { Netns, netns, type NetnsTarget } from '../../netns/namespace.js';
import type { EndpointRecord, NetworkRecord } from '../model/sandbox.js';
import { hostIfName } from '../model/sandbox.js';
import { parseVni, VXLANID_LIST } from '../overlay/records.js';
import { createOverlayVeth, ensureOverlay, forgetOverlay, OVERLAY_BRIDGE, OVERLAY_VXLAN, overlayNetnsName, overlayPresent, programPeers, removeOverlay, VXLAN_OVERHEAD, type OverlaySpec } from '../overlay/devices.js';
import { isKind } from '../../rtnl/link.js';
import { configureSandbox, deleteLink, deleteSandboxLink, MTU, prefixlen, withNetlink } from './common.js';
import type { Driver, DriverContext, Reconciler } from './driver.js';

/** `--opt encrypted`: Docker's IPsec between hosts, which nlnet does not do. */
const ENCRYPTED = 'encrypted';

/** Docker's overlay MTU without an underlay to measure: 1500 − 50. */
export const DEFAULT_OVERLAY_MTU = 1500 - VXLAN_OVERHEAD;

/** The endpoint MTU of `net` on this host: its -o mtu minus the VXLAN overhead, else what the host measured when it joined. */
export function overlayMtu(net: NetworkRecord): number {
  if (net.options[MTU] !== undefined) return Number(net.options[MTU]) - VXLAN_OVERHEAD;
  return net.mtu ?? DEFAULT_OVERLAY_MTU;
}

/** What this host makes of `net`. */
export function overlaySpec(ctx: Pick<DriverContext, 'hostNetns' | 'owner'>, net: NetworkRecord): OverlaySpec {
  return { netns: overlayNetnsName(ctx.hostNetns, net.id), vni: net.vni ?? 0, gateway: net.gateway, subnet: net.subnet, mtu: overlayMtu(net), owner: ctx.owner };
}

/**
 * An endpoint's veth into the network's namespace and the sandbox side (address, up; never a
 * default route). The network's namespace is made first if this host has none yet; the host that
 * makes it programs every remote peer at once (ctx.peersOf), so a late joiner needs no daemon to
 * reach what was there before it.
 */
async function join(ctx: DriverContext, ns: NetnsTarget, ep: EndpointRecord, net: NetworkRecord, undo: (() => Promise<unknown>)[], step: (s: 'overlay' | 'veth' | 'sandbox' | 'peers') => Promise<void>): Promise<void> {
  const spec = overlaySpec(ctx, net);
  // A host about to make its part reads the remote peers from etcd while it makes the links.
  const peers = ctx.peersOf !== undefined && !netns.mounted(spec.netns) ? ctx.peersOf(net) : undefined;
  peers?.catch(() => undefined);
  await step('overlay');
  const made = await ensureOverlay(ctx.nl, spec);
  if (made) undo.push(() => removeOverlayIfBare(spec.netns));
  try {
    // The peers go onto vxlan0 (a socket of their own) while the endpoint's links are made; both
    // finish before the join returns or fails.
    const programming = made && ctx.peersOf !== undefined ? (async () => {
      await step('peers');
      await programPeers(spec.netns, await (peers ?? ctx.peersOf!(net)), []);
    })() : undefined;
    programming?.catch(() => undefined);
    try {
      const peerIf = ep.peerIf ?? hostIfName();
      await step('veth');
      await createOverlayVeth(spec.netns, { peerIf, ifname: ep.ifname, sandbox: ns, mac: ep.mac, mtu: spec.mtu });
      // The sandbox's end takes the pair with it; an open Netns may be closed by the time this runs.
      const later: NetnsTarget = ns instanceof Netns ? { path: ns.path } : ns;
      undo.push(() => deleteSandboxLink(later, ep.ifname));
      await step('sandbox');
      await withNetlink(ns, (s) => configureSandbox(s, { ifname: ep.ifname, ip: ep.ip, prefixlen: prefixlen(net.subnet) }, undefined));
    } finally {
      await programming?.catch(() => undefined);
    }
    await programming;
  } catch (e) {
    // Its br0 may be gone (by hand, by another process): the next attach looks again.
    forgetOverlay(spec.netns);
    throw e;
  }
}

/** Removes the network's namespace if no endpoint is in it (only lo, br0 and vxlan0 left). */
export async function removeOverlayIfBare(ns: string): Promise<void> {
  const names = await withNetlink(ns, async (n) => (await n.link.list()).map((l) => l.name)).catch(() => undefined);
  if (names === undefined || names.every((n) => n === 'lo' || n === OVERLAY_BRIDGE || n === OVERLAY_VXLAN)) await removeOverlay(ns);
}

/**
 * On start: the namespace of every overlay network this host has endpoints on comes back with
 * br0 and vxlan0, a sandbox that lost its eth0 gets it again, and a veth in the namespace that no
 * endpoint has (an attach killed before its record) goes. Networks without endpoints here lose
 * their namespace and copy in reconcile.ts. Peers are the daemon's (overlay/agent.ts): it
 * compares vxlan0 with etcd.
 */
const reconcileOverlays: Reconciler = async (ctx, { networks, sandboxes, present }, report) => {
  for (const net of networks) {
    if (net.driver !== 'overlay') continue;
    const spec = overlaySpec(ctx, net);
    const users = sandboxes.filter((s) => present.has(s.netns) && s.endpoints.some((e) => e.network === net.name));
    if (users.length === 0) continue;
    if (!(await overlayPresent(spec))) {
      await ensureOverlay(ctx.nl, spec);
      report.recreated.push(`overlay namespace ${spec.netns} of network ${net.name}`);
    }
    const known = new Set(users.map((s) => s.endpoints.find((e) => e.network === net.name)!.peerIf));
    for (const link of await withNetlink(spec.netns, (n) => n.link.list())) {
      if (!isKind(link, 'veth') || known.has(link.name)) continue;
      await withNetlink(spec.netns, (n) => deleteLink(n, link.name));
      report.removed.push(`veth ${link.name} in ${spec.netns} (no endpoint of network ${net.name} has it)`);
    }
    for (const sb of users) {
      const ep = sb.endpoints.find((e) => e.network === net.name)!;
      if (await withNetlink(sb.netns, async (s) => (await s.link.list()).some((l) => l.name === ep.ifname))) continue;
      await join({ ...ctx, peersOf: undefined }, sb.netns, ep, net, [], async () => undefined);
      report.recreated.push(`endpoint ${sb.name} on ${net.name} (overlay)`);
    }
  }
};

export const overlay: Driver<'overlay'> = {
  name: 'overlay',
  options: [MTU, VXLANID_LIST],
  scope: 'global',

  checkOptions(options, opts) {
    if (opts.ipv6 === true || opts.subnet6 !== undefined) throw new ValidationError('ipv6', opts.ipv6 ?? opts.subnet6, 'IPv6 is not supported on overlay networks (nor an IPv6 underlay)');
    if (options[ENCRYPTED] !== undefined) throw new ValidationError(`options.${ENCRYPTED}`, options[ENCRYPTED], 'encrypted overlay networks (IPsec between hosts) are not supported');
    if (options[VXLANID_LIST] !== undefined) parseVni(options[VXLANID_LIST]);
    const mtu = options[MTU];
    if (mtu !== undefined && !(/^\d+$/.test(mtu) && Number(mtu) - VXLAN_OVERHEAD >= 68 && Number(mtu) <= 65535)) throw new ValidationError(`options.${MTU}`, mtu, `expected an MTU from ${68 + VXLAN_OVERHEAD} to 65535 (the endpoints get ${VXLAN_OVERHEAD} less)`);
  },

  deviceName: () => '',
  embeddedDns: () => true,

  // The cluster store holds the network (overlay/records.ts): nothing to make at create.
  createNetwork: async () => undefined,
  deleteNetwork: async () => undefined,

  join: (ctx, ns, ep, net, _gateway, undo, step) => join(ctx, ns, ep, net, undo, step),

  // The sandbox's end takes its pair with it.
  leave: (_ctx, ns, ep) => deleteSandboxLink(ns, ep.ifname),

  defaultDev: () => false,
  reconcile: reconcileOverlays,
};
