// The bridge driver's part of reconciliation (see ../../reconcile.ts): `br-` bridges this store
// made and no longer knows go, missing ones come back; then each network's firewall rules; then
// veths: strays of this store go, endpoints whose veth is missing or off its bridge come back.
import type { Link } from '../../../rtnl/link.js';
import type { Netlink } from '../../../rtnl/netlink.js';
import type { ReconcileReport } from '../../reconcile.js';
import { gatewayEndpoint, type NetworkRecord } from '../../model/sandbox.js';
import { configureSandbox, deleteLink, withNetlink } from '../common.js';
import type { DriverContext, Reconciler, ReconcileState } from '../driver.js';
import * as firewall from './firewall.js';
import { SETS, SETS6 } from './firewall.js';
import { bridgeSpec, createBridge, createVeth, firewallSpec, ICC, switchedOff, vethSpec, type EndpointSpec } from './veth.js';

const VETH_RE = /^veth[0-9a-f]{7}$/;
const BRIDGE_RE = /^br-[0-9a-f]{12}$/;

/** What the steps share: the bridge networks to repair and the names the store knows. */
interface Known {
  networks: readonly NetworkRecord[];
  bridges: ReadonlySet<string>;
  veths: ReadonlySet<string>;
}

// In this order: a veth is born on its bridge, so the bridges come first; the firewall rules name
// the bridges; the veths and endpoints last.
export const reconcileBridges: Reconciler = async (ctx, state, report) => {
  const { stored, networks: all, sandboxes } = state;
  const known: Known = {
    networks: all.filter((n) => n.driver === 'bridge'),
    bridges: new Set(stored.map((n) => n.bridge)),
    veths: new Set(sandboxes.flatMap((s) => s.endpoints.map((e) => e.hostIf))),
  };
  const recreatedBridges = await repairBridges(ctx, known, report);
  await repairFirewall(ctx.nl, known.networks, recreatedBridges, report);
  const links = await ctx.nl.link.list();
  await repairVeths(ctx, links, known, state, report);
  await repairEndpoints(ctx, links, state, report);
};

/**
 * 2. Bridges: stray `br-` bridges of this store go (with any firewall rules of theirs); missing
 * ones come back, half-made ones are finished. Returns the bridges made anew.
 */
async function repairBridges(ctx: DriverContext, known: Known, report: ReconcileReport): Promise<Set<string>> {
  const { nl } = ctx;
  const links = await nl.link.list();
  for (const l of links) {
    if (l.kind === 'bridge' && BRIDGE_RE.test(l.name) && !known.bridges.has(l.name) && l.alias === ctx.owner) {
      await firewall.removeNetwork(nl, l.name);
      await deleteLink(nl, l.name);
      report.removed.push(`bridge ${l.name}`);
    }
  }
  const recreated = new Set<string>();
  for (const n of known.networks) {
    const have = links.find((l) => l.name === n.bridge);
    // Up and marked is the last step of the batch that makes a bridge: without both, its maker
    // was killed inside that batch (or it is an older nlnet's): the gateway addresses it lacks,
    // then up and this store's mark, which later passes rely on.
    if (have !== undefined && (!have.up || (have.alias ?? '') === '')) {
      const spec = bridgeSpec(n, ctx.owner);
      const addrs = new Set((await nl.addr.list({ dev: have.index })).map((a) => a.address));
      await nl.batch((b) => {
        if (!addrs.has(`${spec.gateway}/${spec.prefixlen}`)) b.addr.add({ dev: n.bridge, address: `${spec.gateway}/${spec.prefixlen}` });
        if (spec.gateway6 !== undefined && !addrs.has(spec.gateway6)) b.addr.add({ dev: n.bridge, address: spec.gateway6, nodad: true });
        b.link.set(n.bridge, { up: true, alias: ctx.owner });
      });
      if (!have.up) report.recreated.push(`bridge ${n.bridge} of network ${n.name} (left half-made)`);
    }
    if (have !== undefined) continue;
    await createBridge(nl, bridgeSpec(n, ctx.owner));
    recreated.add(n.bridge);
    report.recreated.push(`bridge ${n.bridge} of network ${n.name}`);
  }
  return recreated;
}

/** 3. Network firewall rules: a network whose bridge is not in the `bridges` set gets its rules anew. */
async function repairFirewall(nl: Netlink, networks: readonly NetworkRecord[], recreatedBridges: ReadonlySet<string>, report: ReconcileReport): Promise<void> {
  if (networks.length === 0) return;
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

/**
 * 4. Veths: strays of this store go: marked with its owner id, or (killed inside the batch that
 * makes them, before the alias) ports of a bridge this store made, since a veth is born on its
 * bridge. Known ones left half-made are finished.
 */
async function repairVeths(ctx: DriverContext, links: readonly Link[], known: Known, { sandboxes, byNetwork }: ReconcileState, report: ReconcileReport): Promise<void> {
  const { nl } = ctx;
  const byIndex = new Map(links.map((l) => [l.index, l]));
  const ourBridge = (index: number | undefined): boolean => {
    const br = index === undefined ? undefined : byIndex.get(index);
    return br !== undefined && known.bridges.has(br.name) && br.alias === ctx.owner;
  };
  const networkOfVeth = new Map(sandboxes.flatMap((s) => s.endpoints.map((e) => [e.hostIf, byNetwork.get(e.network)] as const)));
  for (const l of links) {
    if (!VETH_RE.test(l.name) || l.master === undefined) continue;
    if (known.veths.has(l.name)) {
      // Up and marked is the last step of the batch that makes a veth (isolated before it, for
      // enable_icc=false): a veth down was left inside that batch, and is finished here.
      if (!l.up || (l.alias ?? '') === '') {
        const net = networkOfVeth.get(l.name);
        await nl.batch((b) => {
          if (net !== undefined && switchedOff(net.options[ICC])) b.bridge.setPort(l.name, { isolated: true });
          b.link.set(l.name, { up: true, alias: ctx.owner });
        });
        if (!l.up) report.recreated.push(`veth ${l.name} left down`);
      }
    } else if (l.alias === ctx.owner || ((l.alias ?? '') === '' && ourBridge(l.master))) {
      await deleteLink(nl, l.name);
      report.removed.push(`veth ${l.name}`);
    }
  }
}

/** 4b. Endpoints of bridge networks whose veth is missing or off its bridge come back; a pair that is there gets its sandbox side checked. */
async function repairEndpoints(ctx: DriverContext, links: readonly Link[], { byNetwork, sandboxes, present }: ReconcileState, report: ReconcileReport): Promise<void> {
  const internal = (network: string): boolean => byNetwork.get(network)?.internal ?? true;
  for (const sb of sandboxes) {
    if (sb.endpoints.length === 0 || !present.has(sb.netns)) continue;
    const gatewayEp = gatewayEndpoint(sb.endpoints, internal);
    for (const ep of sb.endpoints) {
      const net = byNetwork.get(ep.network);
      if (net === undefined || net.driver !== 'bridge') continue;
      const host = links.find((l) => l.name === ep.hostIf);
      const br = links.find((l) => l.name === net.bridge);
      const spec = vethSpec(sb.netns, ep, net, ctx.owner);
      const isGateway = ep === gatewayEp;
      const gateway = isGateway ? net.gateway : undefined;
      if (host !== undefined && br !== undefined && host.master === br.index) {
        // The pair is there; the sandbox side may not be configured (a start killed half-way).
        // No peer: the host end is the leftover of a namespace being torn down, made anew below.
        const fixed = await fixSandboxSide(spec, gateway);
        if (fixed === 'fixed') report.recreated.push(`address of ${sb.name} on ${net.name}`);
        if (fixed !== 'no peer') continue;
      }
      await remakeEndpoint(ctx.nl, spec, host !== undefined, gateway, isGateway ? net.gateway6 : undefined);
      report.recreated.push(`endpoint ${sb.name} on ${net.name} (${ep.hostIf})`);
    }
  }
}

/** An endpoint's veth pair made anew: whatever is left of the old one goes first, or it would block the names. */
async function remakeEndpoint(nl: Netlink, spec: EndpointSpec, hostLeft: boolean, gateway: string | undefined, gateway6: string | undefined): Promise<void> {
  if (hostLeft) await deleteLink(nl, spec.hostIf);
  // A peer left behind in the sandbox (its host end renamed or moved) would block the name.
  await withNetlink(spec.netns, async (s) => {
    if ((await s.link.list()).some((l) => l.name === spec.ifname)) await s.link.del(spec.ifname);
  });
  await createVeth(nl, spec);
  await withNetlink(spec.netns, (s) => configureSandbox(s, spec, gateway, false, gateway6));
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
