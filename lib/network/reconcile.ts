// Reconciliation on start: makes the kernel match the store, in the host namespace and in the
// sandboxes' namespaces. What the store knows and the kernel lacks is recreated (bridges with their
// gateway address and firewall rules, endpoints with the same names, MAC, address and routes,
// namespaces the sandbox owns, published ports); what this store made and does not know any more
// is removed: veths and `br-` bridges whose alias names this store's owner id, sandbox
// namespaces whose marker does (owner.ts), published-port map elements pointing into this
// store's networks. Nothing is removed for matching a name pattern alone: a store that did not
// make an object (another state directory, a mistyped one) leaves it alone. The store is the
// truth: no address or pool changes here.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

import type { Netlink } from '../netlink.js';
import { netns } from '../netns.js';
import type { Json, StoreTx } from './store/types.js';
import { others } from './store/presence.js';
import type { FileStore } from './store/file.js';
import * as firewall from './firewall.js';
import { SETS, SETS6 } from './firewall.js';
import { configureSandbox, createBridge, createVeth, deleteLink, type EndpointSpec } from './drivers/bridge.js';
import { createSubInterface, ensureParent, subOptions } from './drivers/macvlan.js';
import { processAlive } from './store/lock.js';
import { ETC_NETNS, removeSandboxEtc, writeSandboxFiles } from './etc.js';
import { contains, validateSubnet } from './ipam.js';
import { markedNetns, markNetns, unmarkNetns } from './owner.js';
import { bridgeSpec, configureSub, firewallPorts, firewallSpec, veth, withNetlink } from './plumbing.js';
import { gatewayEndpoint, type NetworkRecord, type SandboxRecord } from './sandbox.js';

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

const anyAddress = (ip: string | undefined): boolean => ip === undefined || ip === '0.0.0.0' || ip === '::';
const VETH_RE = /^veth[0-9a-f]{7}$/;
const BRIDGE_RE = /^br-[0-9a-f]{12}$/;


/** The map element a published port is, as 'key|value' text (how firewall.unpublish compares). */
function elementText(p: firewall.PublishedPort): string {
  const key = anyAddress(p.hostIp) ? [p.protocol, p.hostPort] : [p.hostIp, p.protocol, p.hostPort];
  return `${String(key)}|${String([p.containerIp, p.containerPort])}`;
}

const showPort = (p: firewall.PublishedPort): string => {
  const v6 = isIP(p.containerIp) === 6;
  const host = p.hostIp ?? (v6 ? '::' : '0.0.0.0');
  return `${v6 ? `[${host}]` : host}:${p.hostPort}/${p.protocol} -> ${v6 ? `[${p.containerIp}]` : p.containerIp}:${p.containerPort}`;
};

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
  const { nl } = ctx;
  const report: ReconcileReport = { recreated: [], removed: [] };
  const stored = (await tx.list<Json>('networks/')).map((e) => e.value as unknown as NetworkRecord);
  // A network another live process is making is that process's to finish.
  const all = stored.filter((n) => n.creating === undefined || !processAlive(n.creating));
  const networks = all.filter((n) => n.driver === 'bridge');
  const sandboxes = (await tx.list<Json>('sandboxes/')).map((e) => e.value as unknown as SandboxRecord);
  const byNetwork = new Map(all.map((n) => [n.name, n]));
  const knownBridges = new Set(stored.map((n) => n.bridge));
  const knownVeths = new Set(sandboxes.flatMap((s) => s.endpoints.map((e) => e.hostIf)));

  // 1. Namespaces this store marked and no longer knows go, with their /etc/netns files and
  // then the marker (a crash in between leaves the marker, so the next pass finishes); owned
  // ones missing come back.
  const knownNs = new Set(sandboxes.map((s) => s.netns));
  const listed = await netns.list();
  // A file left by a delete killed between its umount and its unlink is no namespace: a known
  // one is made again, after the file goes.
  for (const ns of listed) if (knownNs.has(ns) && !netns.mounted(ns)) await netns.delete(ns);
  let present = new Set(listed.filter((ns) => netns.mounted(ns)));
  for (const ns of markedNetns(ctx.owner)) {
    if (knownNs.has(ns)) continue;
    if (listed.includes(ns)) {
      await netns.delete(ns).catch((e: { code?: string }) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
      report.removed.push(`netns ${ns}`);
    }
    if (existsSync(join(ETC_NETNS, ns))) {
      removeSandboxEtc(ns);
      report.removed.push(`/etc/netns/${ns}`);
    }
    unmarkNetns(ns);
  }
  for (const sb of sandboxes) {
    if (!sb.ownsNetns || present.has(sb.netns)) continue;
    markNetns(sb.netns, ctx.owner);
    await netns.create(sb.netns);
    await withNetlink(sb.netns, (s) => s.link.set('lo', { up: true }));
    report.recreated.push(`netns ${sb.netns} of sandbox ${sb.name}`);
  }
  present = new Set(await netns.list());

  // 1b. Their /etc/netns files: missing ones are written again.
  for (const sb of sandboxes) {
    if (!sb.ownsNetns || existsSync(join(ETC_NETNS, sb.netns, 'resolv.conf'))) continue;
    const first = sb.endpoints[0];
    writeSandboxFiles(sb, first === undefined ? undefined : byNetwork.get(first.network));
    report.recreated.push(`/etc/netns/${sb.netns} of sandbox ${sb.name}`);
  }

  // 2. Bridges: stray `br-` bridges of this store go (with any firewall rules of theirs); missing ones come back.
  let links = await nl.link.list();
  for (const l of links) {
    if (l.kind === 'bridge' && BRIDGE_RE.test(l.name) && !knownBridges.has(l.name) && l.alias === ctx.owner) {
      await firewall.removeNetwork(nl, l.name);
      await deleteLink(nl, l.name);
      report.removed.push(`bridge ${l.name}`);
    }
  }
  const recreatedBridges = new Set<string>();
  for (const n of networks) {
    const have = links.find((l) => l.name === n.bridge);
    // A bridge without a mark (made by an older nlnet, or its maker killed inside the batch
    // that makes it, before the alias) gets this store's, which later passes rely on.
    if (have !== undefined && (have.alias ?? '') === '') await nl.link.set(n.bridge, { alias: ctx.owner });
    if (have !== undefined) continue;
    await createBridge(nl, bridgeSpec(n, ctx.owner));
    recreatedBridges.add(n.bridge);
    report.recreated.push(`bridge ${n.bridge} of network ${n.name}`);
  }

  // 3. Network firewall rules: a network whose bridge is not in the `bridges` set gets its rules anew.
  if (networks.length > 0) {
    await firewall.ensure(nl);
    const inSet = new Set((await nl.nft.listElements(SETS.bridges)).map((e) => String(e.key)));
    if (networks.some((n) => n.subnet6 !== undefined)) await firewall.ensure(nl, 'ip6');
    const inSet6 = new Set((await firewall.listElementsIfAny(nl, SETS6.bridges)).map((e) => String(e.key)));
    for (const n of networks) {
      if (inSet.has(n.bridge) && (n.subnet6 === undefined || inSet6.has(n.bridge))) {
        // A new bridge device lost its per-device sysctl.
        if (recreatedBridges.has(n.bridge)) await nl.sysctl.set(`net/ipv4/conf/${n.bridge}/route_localnet`, 1);
        continue;
      }
      await firewall.removeNetwork(nl, n.bridge);
      await firewall.addNetwork(nl, firewallSpec(n));
      report.recreated.push(`firewall of network ${n.name}`);
    }
    await nl.sysctl.set('net.ipv4.ip_forward', 1);
    if (networks.some((n) => n.subnet6 !== undefined)) await nl.sysctl.set('net.ipv6.conf.all.forwarding', 1);
  }

  // 4. Veths: strays of this store go: marked with its owner id, or (killed inside the batch
  // that makes them, before the alias) ports of a bridge this store made, since a veth is born
  // on its bridge; endpoints whose veth is missing or off its bridge come back.
  links = await nl.link.list();
  const byIndex = new Map(links.map((l) => [l.index, l]));
  const ourBridge = (index: number | undefined): boolean => {
    const br = index === undefined ? undefined : byIndex.get(index);
    return br !== undefined && knownBridges.has(br.name) && br.alias === ctx.owner;
  };
  for (const l of links) {
    if (!VETH_RE.test(l.name) || l.master === undefined) continue;
    if (knownVeths.has(l.name)) {
      if ((l.alias ?? '') === '') await nl.link.set(l.name, { alias: ctx.owner });
    } else if (l.alias === ctx.owner || ((l.alias ?? '') === '' && ourBridge(l.master))) {
      await deleteLink(nl, l.name);
      report.removed.push(`veth ${l.name}`);
    }
  }
  const internal = (network: string): boolean => byNetwork.get(network)?.internal ?? true;
  for (const sb of sandboxes) {
    if (sb.endpoints.length === 0 || !present.has(sb.netns)) continue;
    const gatewayEp = gatewayEndpoint(sb.endpoints, internal);
    for (const ep of sb.endpoints) {
      const net = byNetwork.get(ep.network);
      if (net === undefined || net.driver !== 'bridge') continue;
      const host = links.find((l) => l.name === ep.hostIf);
      const br = links.find((l) => l.name === net.bridge);
      const spec = veth(sb.netns, ep, net, ctx.owner);
      const isGateway = ep === gatewayEp;
      const gateway = isGateway ? net.gateway : undefined;
      if (host !== undefined && br !== undefined && host.master === br.index) {
        // The pair is there; the sandbox side may not be configured (a start killed half-way).
        // No peer: the host end is the leftover of a namespace being torn down, made anew below.
        const fixed = await fixSandboxSide(spec, gateway);
        if (fixed === 'fixed') report.recreated.push(`address of ${sb.name} on ${net.name}`);
        if (fixed !== 'no peer') continue;
      }
      if (host !== undefined) await deleteLink(nl, ep.hostIf);
      // A peer left behind in the sandbox (its host end renamed or moved) would block the name.
      await withNetlink(sb.netns, async (s) => {
        if ((await s.link.list()).some((l) => l.name === ep.ifname)) await s.link.del(ep.ifname);
      });
      await createVeth(nl, spec);
      await withNetlink(sb.netns, (s) => configureSandbox(s, spec, gateway, false, isGateway ? net.gateway6 : undefined));
      report.recreated.push(`endpoint ${sb.name} on ${net.name} (${ep.hostIf})`);
    }
  }

  // 4b. macvlan/ipvlan: a parent nlnet made comes back; a sandbox without its link gets it anew.
  for (const n of all) if (n.driver !== 'bridge' && n.parentCreated === true && (await ensureParent(nl, n.options.parent!))) report.recreated.push(`parent ${n.options.parent} of network ${n.name}`);
  for (const sb of sandboxes) {
    if (!present.has(sb.netns)) continue;
    const gatewayEp = gatewayEndpoint(sb.endpoints, internal);
    for (const ep of sb.endpoints) {
      const net = byNetwork.get(ep.network);
      if (net === undefined || net.driver === 'bridge') continue;
      if (await withNetlink(sb.netns, async (s) => (await s.link.list()).some((l) => l.name === ep.ifname))) continue;
      await createSubInterface(nl, { driver: net.driver, options: subOptions(net.driver, net.options), ifname: ep.ifname, netns: sb.netns, mac: ep.mac });
      await configureSub(sb.netns, ep, net, ep === gatewayEp);
      report.recreated.push(`endpoint ${sb.name} on ${net.name} (${net.driver})`);
    }
  }

  // 5. Published ports: elements into this store's networks without an endpoint go, missing ones come back.
  const wanted = sandboxes.flatMap((s) => s.endpoints.flatMap((e) => firewallPorts(e)));
  const have = await firewall.listPublished(nl);
  const wantedText = new Set(wanted.map(elementText));
  const ours = networks.flatMap((n) => [n.subnet, ...(n.subnet6 === undefined ? [] : [n.subnet6])].map((s) => validateSubnet(s)));
  const intoOurs = (ip: string): boolean => ours.some((s) => contains(s, validateSubnet(`${ip}/${isIP(ip) === 6 ? 128 : 32}`)));
  const stray = have.filter((p) => !wantedText.has(elementText(p)) && intoOurs(p.containerIp));
  if (stray.length > 0) {
    await firewall.unpublish(nl, stray);
    for (const p of stray) report.removed.push(`published port ${showPort(p)}`);
  }
  const haveText = new Set(have.map(elementText));
  const missing = wanted.filter((p) => !haveText.has(elementText(p)));
  if (missing.length > 0) {
    await firewall.ensure(nl);
    if (missing.some((p) => isIP(p.containerIp) === 6)) await firewall.ensure(nl, 'ip6');
    await firewall.publish(nl, missing);
    for (const p of missing) report.recreated.push(`published port ${showPort(p)}`);
  }
  // 6. Networks whose maker died half-way are whole now.
  const repaired = all.filter((n) => n.creating !== undefined);
  if (repaired.length > 0) {
    for (const { creating: _dead, ...n } of repaired) tx.put(`networks/${n.name}`, n as unknown as Json);
    for (const n of repaired) report.recreated.push(`network ${n.name} left half-made`);
  }
  return report;
}

/** Configures the sandbox end where it lacks its address, its up state or (gateway endpoint) its default route. */
async function fixSandboxSide(spec: EndpointSpec, gateway: string | undefined): Promise<'ok' | 'fixed' | 'no peer'> {
  return withNetlink(spec.netns, async (s) => {
    const links = await s.link.list();
    const dev = links.find((l) => l.name === spec.ifname);
    const lo = links.find((l) => l.name === 'lo');
    if (dev === undefined) return 'no peer';
    const hasAddr = (await s.addr.list({ dev: dev.index, family: 'inet' })).some((a) => a.address === `${spec.ip}/${spec.prefixlen}`);
    const hasDefault = gateway === undefined || (await s.route.list({ family: 'inet' }).catch((e: { code?: string }) => (e.code === 'ENOENT' ? [] : Promise.reject(e)))).some((r) => r.dst === 'default' || r.dst === '0.0.0.0/0');
    if (hasAddr && hasDefault && dev.up && lo?.up === true) return 'ok';
    await s.batch((b) => {
      b.link.set('lo', { up: true });
      if (!hasAddr) b.addr.add({ dev: spec.ifname, address: `${spec.ip}/${spec.prefixlen}` });
      b.link.set(spec.ifname, { up: true });
      if (!hasDefault && gateway !== undefined) b.route.add({ dst: 'default', via: gateway, dev: spec.ifname });
    });
    return 'fixed';
  });
}
