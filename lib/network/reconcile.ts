// Reconciliation on start: makes the kernel match the store, in the host namespace and in the
// sandboxes' namespaces. This file repairs the namespaces and their /etc/netns files, then asks
// each driver (drivers/driver.ts `reconcile`) to repair what it owns. What the store knows and the kernel lacks is recreated (bridges with their
// gateway address and firewall rules, endpoints with the same names, MAC, address and routes,
// namespaces the sandbox owns, published ports); what this store made and does not know any more
// is removed: veths and `br-` bridges whose alias names this store's owner id, sandbox
// namespaces whose marker does (owner.ts), published-port map elements pointing into this
// store's networks. Nothing is removed for matching a name pattern alone: a store that did not
// make an object (another state directory, a mistyped one) leaves it alone. The store is the
// truth: no address or pool changes here.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type { Netlink } from '../rtnl/netlink.js';
import { netns } from '../netns/namespace.js';
import type { StoreTx } from './store/types.js';
import { others } from './store/presence.js';
import type { FileStore } from './store/file.js';
import { deleteNetns, withNetlink } from './drivers/common.js';
import { driverFor, reconcilers } from './drivers/driver.js';
import { dropUnusedOverlays } from './overlay/host.js';
import { processAlive } from './store/lock.js';
import { ETC_NETNS, removeSandboxEtc, writeSandboxFiles } from './etc.js';
import { markedNetns, markNetns, unmarkNetns } from './owner.js';
import { overlayNetnsName } from './overlay/devices.js';
import { recordsIn, type Collection } from './model/collections.js';
import type { NetworkRecord, SandboxRecord } from './model/sandbox.js';

export interface ReconcileReport {
  recreated: string[];
  removed: string[];
  /** Why nothing was checked: other processes have an engine open on the same state. */
  skipped?: string;
}

export interface ReconcileContext {
  hostNetns: string;
  nl: Netlink;
  store: FileStore;
  /** The store's owner id (owner.ts): only objects carrying it are removed. */
  owner: string;
}

/**
 * One pass. Safe to run again: a second pass over a consistent state changes nothing and reports
 * nothing. It holds the store's lock throughout and does nothing while another process has an
 * engine open on the same state (see store/presence.ts): that process may be half-way through an
 * attach, which would look like damage.
 */
export async function reconcile(ctx: ReconcileContext): Promise<ReconcileReport> {
  return ctx.store.update(async (tx) => {
    const busy = others(ctx.store.dir);
    if (busy.length > 0) return { recreated: [], removed: [], skipped: `processes ${busy.join(', ')} have an engine open on ${ctx.store.dir}` };
    return pass(ctx, tx);
  });
}

async function pass(ctx: ReconcileContext, tx: StoreTx): Promise<ReconcileReport> {
  const report: ReconcileReport = { recreated: [], removed: [] };
  const records = recordsIn(tx);
  const stored = await records.networks.list();
  // A network another live process is making is that process's to finish.
  const all = stored.filter((n) => n.creating === undefined || !processAlive(n.creating));
  const sandboxes = await records.sandboxes.list();
  const byNetwork = new Map(all.map((n) => [n.name, n]));
  // The namespaces first: the /etc files and every driver's endpoints live in them.
  // An overlay network's namespace on this host is known while its copy of the network is.
  const overlays = all.filter((n) => n.driver === 'overlay').map((n) => overlayNetnsName(ctx.hostNetns, n.id));
  const present = await repairNamespaces(ctx.owner, sandboxes, overlays, report);
  repairEtc(sandboxes, byNetwork, report);
  // 2. Each driver's own objects (bridge: bridges, firewall rules, veths; macvlan/ipvlan:
  // parents and sub-interfaces), then the published ports.
  const state = { stored, networks: all, byNetwork, sandboxes, present };
  for (const r of reconcilers()) await r(ctx, state, report);
  finishNetworks(records.networks, all, report);
  // 4. A host's copy of an overlay network it has no endpoint on any more goes, with the network's namespace.
  const unused = overlays.filter((ns) => present.has(ns));
  await dropUnusedOverlays(ctx, records, all.filter((n) => driverFor(n.driver).scope === 'global').map((n) => n.name));
  for (const ns of unused) if (!netns.mounted(ns)) report.removed.push(`overlay namespace ${ns} (no endpoints on this host)`);
  return report;
}

/**
 * 1. Namespaces this store marked and no longer knows go, with their /etc/netns files and then
 * the marker (a crash in between leaves the marker, so the next pass finishes); owned ones
 * missing come back. Returns the named namespaces that exist afterwards.
 */
async function repairNamespaces(owner: string, sandboxes: readonly SandboxRecord[], overlays: readonly string[], report: ReconcileReport): Promise<Set<string>> {
  const knownNs = new Set([...sandboxes.map((s) => s.netns), ...overlays]);
  const listed = await netns.list();
  // A file left by a delete killed between its umount and its unlink is no namespace: a known
  // one is made again, after the file goes.
  for (const ns of listed) if (knownNs.has(ns) && !netns.mounted(ns)) await netns.delete(ns);
  const present = new Set(listed.filter((ns) => netns.mounted(ns)));
  for (const ns of markedNetns(owner)) {
    if (knownNs.has(ns)) continue;
    if (listed.includes(ns)) {
      await deleteNetns(ns);
      report.removed.push(`netns ${ns}`);
    }
    if (existsSync(join(ETC_NETNS, ns))) {
      await removeSandboxEtc(ns);
      report.removed.push(`/etc/netns/${ns}`);
    }
    unmarkNetns(ns);
  }
  for (const sb of sandboxes) {
    if (!sb.ownsNetns || present.has(sb.netns)) continue;
    markNetns(sb.netns, owner);
    await netns.create(sb.netns);
    await withNetlink(sb.netns, (s) => s.link.set('lo', { up: true }));
    report.recreated.push(`netns ${sb.netns} of sandbox ${sb.name}`);
  }
  return new Set(await netns.list());
}

/** 1b. Their /etc/netns files: missing ones are written again. */
function repairEtc(sandboxes: readonly SandboxRecord[], byNetwork: ReadonlyMap<string, NetworkRecord>, report: ReconcileReport): void {
  for (const sb of sandboxes) {
    if (!sb.ownsNetns || existsSync(join(ETC_NETNS, sb.netns, 'resolv.conf'))) continue;
    const first = sb.endpoints[0];
    writeSandboxFiles(sb, first === undefined ? undefined : byNetwork.get(first.network));
    report.recreated.push(`/etc/netns/${sb.netns} of sandbox ${sb.name}`);
  }
}

/** 3. Networks whose maker died half-way are whole now: their records lose the `creating` mark. */
function finishNetworks(networks: Collection<NetworkRecord>, all: readonly NetworkRecord[], report: ReconcileReport): void {
  const repaired = all.filter((n) => n.creating !== undefined);
  for (const { creating: _dead, ...n } of repaired) networks.put(n);
  for (const n of repaired) report.recreated.push(`network ${n.name} left half-made`);
}
