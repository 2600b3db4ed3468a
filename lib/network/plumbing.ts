// The kernel side of an endpoint, for every driver: the links that join a sandbox to its
// network and the sandbox's own configuration, and the small helpers the engine and reconcile
// share to run steps that undo themselves.
import { isIP } from 'node:net';

import { NotFoundError } from '../errors.js';
import { Netlink } from '../netlink.js';
import { Netns, type NetnsTarget } from '../netns.js';
import type * as firewall from './firewall.js';
import { configureSandbox, createVeth, deleteLink, type BridgeSpec, type EndpointSpec } from './drivers/bridge.js';
import { createSubInterface, subOptions } from './drivers/macvlan.js';
import type { EndpointRecord, NetworkRecord } from './sandbox.js';
import type { AttachStep } from './types.js';

export const MASQUERADE = 'com.docker.network.bridge.enable_ip_masquerade';
export const MTU = 'com.docker.network.driver.mtu';
export const ICC = 'com.docker.network.bridge.enable_icc';

/** A bridge switch turned off, in any spelling Go's strconv.ParseBool reads as false (networks.ts checks the value). */
export const switchedOff = (v: string | undefined): boolean => v !== undefined && ['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v);

/** Steps that undo what finished, run in reverse by rollback(). */
export type Undo = (() => Promise<unknown>)[];

/**
 * Runs the undo steps in reverse. Best effort: each runs even if one before it failed, and the
 * caller rethrows the error that started the rollback, which is the one the user needs.
 */
export async function rollback(undo: Undo): Promise<void> {
  for (const u of undo.reverse()) await u().catch(() => undefined);
}

export function prefixlen(subnet: string): number {
  return Number(subnet.slice(subnet.indexOf('/') + 1));
}

/** A Netlink handle in namespace `ns` ('' is the caller's own; an open Netns saves opening it) for the length of `fn`. */
export async function withNetlink<T>(ns: NetnsTarget, fn: (nl: Netlink) => Promise<T>): Promise<T> {
  const nl = await Netlink.open(ns === '' ? {} : { netns: ns });
  try {
    return await fn(nl);
  } finally {
    nl.close();
  }
}

/**
 * An endpoint's published ports as the firewall takes them. A port without a host address is
 * published on every IPv4 address and, when the endpoint has IPv6, on every IPv6 one too (as
 * Docker binds 0.0.0.0 and [::]); one with a host address only in that address's family.
 */
export function firewallPorts(ep: EndpointRecord): firewall.PublishedPort[] {
  return (ep.ports ?? []).flatMap((p) => {
    const base = { protocol: p.protocol, hostPort: p.hostPort, containerPort: p.containerPort };
    const v6Host = p.hostIp !== undefined && isIP(p.hostIp) === 6;
    const out: firewall.PublishedPort[] = [];
    if (!v6Host) out.push({ ...base, ...(p.hostIp === undefined ? {} : { hostIp: p.hostIp }), containerIp: ep.ip });
    if (ep.ip6 !== undefined && (p.hostIp === undefined || v6Host)) out.push({ ...base, ...(p.hostIp === undefined ? {} : { hostIp: p.hostIp }), containerIp: ep.ip6 });
    return out;
  });
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

/** The firewall's view of a bridge network record. */
export function firewallSpec(n: NetworkRecord): firewall.NetworkFirewall {
  return { bridge: n.bridge, subnet: n.subnet, ...(n.subnet6 === undefined ? {} : { subnet6: n.subnet6 }), internal: n.internal, masquerade: !switchedOff(n.options[MASQUERADE]) };
}

/** The bridge driver's view of an endpoint, its host end marked as made by `owner`. */
export function veth(ns: NetnsTarget, ep: EndpointRecord, net: NetworkRecord, owner: string): EndpointSpec {
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

/**
 * Makes an endpoint's links and configures the sandbox side: the veth pair (one host batch) or
 * the macvlan/ipvlan link, then address, up and, for the sandbox's first network (`gateway`),
 * the default route (one sandbox batch). Pushes its undo as it goes; `step` is the engine's
 * fault-injection hook; `owner` (owner.ts) goes into the alias of the veth's host end.
 */
export async function plumb(host: Netlink, ns: NetnsTarget, ep: EndpointRecord, net: NetworkRecord, owner: string, gateway: boolean, undo: Undo, step: (s: AttachStep) => Promise<void>): Promise<void> {
  if (net.driver === 'bridge') {
    const spec = veth(ns, ep, net, owner);
    await step('veth');
    await createVeth(host, spec);
    undo.push(() => deleteLink(host, ep.hostIf));
    await step('sandbox');
    await withNetlink(ns, (s) => configureSandbox(s, spec, gateway ? net.gateway : undefined, false, gateway ? net.gateway6 : undefined));
    return;
  }
  await step('veth');
  const options = subOptions(net.driver, net.options);
  await createSubInterface(host, { driver: net.driver, options, ifname: ep.ifname, netns: ns, mac: ep.mac });
  // An open Netns may be closed by the time the undo runs: it reopens the namespace by path.
  const later: NetnsTarget = ns instanceof Netns ? { path: ns.path } : ns;
  undo.push(() => unplumb(host, later, ep));
  await step('sandbox');
  await configureSub(ns, ep, net, gateway);
}

/** The sandbox side of a macvlan/ipvlan endpoint; ipvlan l3 has no gateway: the default route is the device. */
export async function configureSub(ns: NetnsTarget, ep: EndpointRecord, net: NetworkRecord, gateway: boolean): Promise<void> {
  const l3 = net.driver === 'ipvlan' && subOptions(net.driver, net.options).ipvlanMode !== 'l2';
  const spec = { ifname: ep.ifname, ip: ep.ip, prefixlen: prefixlen(net.subnet) };
  await withNetlink(ns, (s) => configureSandbox(s, spec, gateway && !l3 ? net.gateway : undefined, gateway && l3));
}

/**
 * `ip route replace default via GW dev IFNAME` (and its IPv6 twin) for an endpoint already in
 * place: the sandbox's new gateway endpoint after the old one left. ipvlan l3: `default dev IFNAME`.
 */
export async function routeDefault(ns: NetnsTarget, ep: EndpointRecord, net: NetworkRecord): Promise<void> {
  const l3 = net.driver === 'ipvlan' && subOptions(net.driver, net.options).ipvlanMode !== 'l2';
  await withNetlink(ns, (s) =>
    s.batch((b) => {
      b.route.replace(l3 ? { dst: 'default', dev: ep.ifname } : { dst: 'default', via: net.gateway, dev: ep.ifname });
      if (!l3 && ep.ip6 !== undefined && net.gateway6 !== undefined) b.route.replace({ family: 'inet6', dst: 'default', via: net.gateway6, dev: ep.ifname });
    }),
  );
}

/** Deletes an endpoint's link: the host end of its veth, or its macvlan/ipvlan link in the sandbox. */
export async function unplumb(host: Netlink, ns: NetnsTarget, ep: EndpointRecord): Promise<void> {
  if (ep.hostIf !== '') return deleteLink(host, ep.hostIf);
  await withNetlink(ns, (s) => deleteLink(s, ep.ifname)).catch((e: unknown) => (e instanceof NotFoundError ? undefined : Promise.reject(e)));
}
