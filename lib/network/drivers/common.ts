// What every driver shares: the sandbox side of an endpoint (its address, its up state, its
// default route), deleting a link that may be gone already, and the small helpers that run steps
// undoing themselves. Nothing here knows which driver made a link.
import { NotFoundError, ValidationError } from '../../core/errors.js';
import type { Batch } from '../../rtnl/batch.js';
import { Netlink } from '../../rtnl/netlink.js';
import { netns, type NetnsTarget } from '../../netns/namespace.js';

/** `com.docker.network.driver.mtu`: Docker's MTU option, read by any driver that makes links. */
export const MTU = 'com.docker.network.driver.mtu';

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

/** `ip netns del NAME`, where a namespace already gone is not an error (netns.delete throws NotFoundError then). */
export async function deleteNetns(name: string): Promise<void> {
  await netns.delete(name).catch((e: unknown) => (e instanceof NotFoundError ? undefined : Promise.reject(e)));
}

/** `ip link del DEV`, where a link already gone is not an error. */
export async function deleteLink(nl: Netlink, name: string): Promise<void> {
  try {
    await nl.link.del(name);
  } catch (e) {
    if (!(e instanceof NotFoundError) && (e as { code?: string }).code !== 'ENODEV') throw e;
  }
}

/**
 * Runs a batch whose first step makes link `name`. If a later step fails, the link is deleted
 * before the error is rethrown; if the first step fails, nothing was made (and the name may be
 * someone else's link), so nothing is deleted.
 */
export async function batchMakingLink(nl: Netlink, name: string, fill: (b: Batch) => void): Promise<void> {
  try {
    await nl.batch(fill);
  } catch (e) {
    if ((e as { step?: number }).step !== 0) await deleteLink(nl, name);
    throw e;
  }
}

/** The sandbox end of an endpoint as configureSandbox takes it. */
export interface SandboxSide {
  /** eth0, eth1… */
  ifname: string;
  ip: string;
  prefixlen: number;
  /** "fd00:1::2/64" on a network with IPv6. */
  ip6?: string;
}

/**
 * Sandbox side: `ip link set lo up; ip addr add IP/LEN dev IFNAME; ip link set IFNAME up` and,
 * for the sandbox's first network only (Docker's gateway endpoint), `ip route add default via GW`
 * (or `default dev IFNAME` when `defaultDev`: ipvlan l3 has no gateway). Every driver uses it.
 */
export async function configureSandbox(sandbox: Netlink, e: SandboxSide, gateway: string | undefined, defaultDev = false, gateway6?: string): Promise<void> {
  await sandbox.batch((b) => sandboxSteps(b, e, gateway, defaultDev, gateway6));
}

/** configureSandbox's steps, for a batch or an attach job. */
export function sandboxSteps(b: Batch, e: SandboxSide, gateway: string | undefined, defaultDev = false, gateway6?: string): void {
  b.link.set('lo', { up: true });
  b.addr.add({ dev: e.ifname, address: `${e.ip}/${e.prefixlen}` });
  // Docker's IPv6 endpoints skip duplicate address detection: the address is usable at once.
  if (e.ip6 !== undefined) b.addr.add({ dev: e.ifname, address: e.ip6, nodad: true });
  b.link.set(e.ifname, { up: true });
  if (gateway !== undefined) b.route.add({ dst: 'default', via: gateway, dev: e.ifname });
  else if (defaultDev) b.route.add({ dst: 'default', dev: e.ifname });
  if (gateway6 !== undefined) b.route.add({ family: 'inet6', dst: 'default', via: gateway6, dev: e.ifname });
}

/** `ip -n NS link del IFNAME`: an endpoint link that lives only in the sandbox (gone with it is fine). */
export async function deleteSandboxLink(ns: NetnsTarget, ifname: string): Promise<void> {
  await withNetlink(ns, (s) => deleteLink(s, ifname)).catch((e: unknown) => (e instanceof NotFoundError ? undefined : Promise.reject(e)));
}

/**
 * What every driver refuses of the IPv6 options alike: a subnet or gateway without `--ipv6`.
 * A driver calls it where its own checks put it, so each error keeps its precedence.
 */
export function checkIpv6Wish(opts: { ipv6?: boolean; subnet6?: string; gateway6?: string }): void {
  if (opts.ipv6 !== true && (opts.subnet6 !== undefined || opts.gateway6 !== undefined)) throw new ValidationError('subnet6', opts.subnet6 ?? opts.gateway6, 'an IPv6 subnet or gateway needs --ipv6');
}
