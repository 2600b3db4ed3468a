// What the macvlan and ipvlan drivers share: each endpoint is a sub-interface of a parent link of
// the host, born straight inside the sandbox, with an address of the parent's LAN. No bridge, no
// NAT, no published ports: the sandbox sits on the outside network itself, as with Docker's drivers
// of the same names. A parent named `PARENT.ID` that does not exist is made as an 802.1Q link of
// PARENT (Docker's `-o parent=eth0.10`) and removed with the network. macvlan.ts and ipvlan.ts
// add only how their link is made and what their options mean.
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.js';
import type { Netlink } from '../../rtnl/netlink.js';
import { Netns, type NetnsTarget } from '../../netns/namespace.js';
import type { MacvlanMode } from '../../rtnl/link/macvlan.js';
import type { IpvlanFlag, IpvlanMode } from '../../rtnl/link/ipvlan.js';
import { gatewayEndpoint, type EndpointRecord, type NetworkRecord } from '../model/sandbox.js';
import { batchMakingLink, checkIpv6Wish, configureSandbox, deleteLink, deleteSandboxLink, prefixlen, withNetlink } from './common.js';
import type { Driver, DriverName, Reconciler } from './driver.js';

export type SubDriver = 'macvlan' | 'ipvlan';

/** What createNetwork keeps of the driver options. */
export interface SubOptions {
  parent: string;
  macvlanMode: MacvlanMode;
  ipvlanMode: IpvlanMode;
  ipvlanFlag: IpvlanFlag;
}

const PARENT = 'parent';

/** Docker's `-o parent=IF [-o macvlan_mode=M] [-o ipvlan_mode=M] [-o ipvlan_flag=F]`. */
export function subOptions(driver: SubDriver, options: Record<string, string>): SubOptions {
  const parent = options[PARENT];
  if (parent === undefined || parent === '') throw new ValidationError(`options.${PARENT}`, parent, `the ${driver} driver needs -o parent=INTERFACE`);
  if (Buffer.byteLength(parent) > 15 || /[\s/:]/.test(parent)) throw new ValidationError(`options.${PARENT}`, parent, 'expected an interface name of at most 15 bytes');
  // The kernel makes a macvlan on lo (nothing ever reaches it) and refuses an ipvlan there: neither is a LAN.
  if (parent === 'lo' || parent.startsWith('lo.')) throw new ValidationError(`options.${PARENT}`, parent, 'the loopback interface is not a LAN: choose the interface of the network the containers should join');
  const pick = <T extends string>(key: string, allowed: readonly T[], dflt: T): T => {
    const v = options[key];
    if (v === undefined) return dflt;
    if (!(allowed as readonly string[]).includes(v)) throw new ValidationError(`options.${key}`, v, `expected one of ${allowed.join(', ')}`);
    return v as T;
  };
  return {
    parent,
    macvlanMode: pick<MacvlanMode>('macvlan_mode', ['bridge', 'private', 'vepa', 'passthru'], 'bridge'),
    ipvlanMode: pick<IpvlanMode>('ipvlan_mode', ['l2', 'l3', 'l3s'], 'l2'),
    ipvlanFlag: pick<IpvlanFlag>('ipvlan_flag', ['bridge', 'private', 'vepa'], 'bridge'),
  };
}

/**
 * Checks the parent exists, or makes `NAME.ID` as a VLAN of NAME (`ip link add link NAME name
 * NAME.ID type vlan id ID; ip link set NAME.ID up`). Returns whether it made it.
 */
export async function ensureParent(nl: Netlink, parent: string): Promise<boolean> {
  if ((await nl.link.list()).some((l) => l.name === parent)) return false;
  const m = /^(.+)\.(\d{1,4})$/.exec(parent);
  if (m === null || Number(m[2]) > 4094) throw new NotFoundError('parent interface', parent);
  // Neither group is optional: both matched.
  const [lower, id] = [m[1]!, m[2]!];
  if (!(await nl.link.list()).some((l) => l.name === lower)) throw new NotFoundError('parent interface', lower);
  await batchMakingLink(nl, parent, (b) => {
    const v = b.link.add({ kind: 'vlan', name: parent, link: lower, id: Number(id) });
    b.link.set(v, { up: true });
  });
  return true;
}

/** What differs between macvlan and ipvlan. */
export interface SubKind<N extends SubDriver = SubDriver> {
  name: N;
  options: readonly string[];
  /** Makes the endpoint's link in the host namespace (where the parent is), born in `netns`. */
  addLink(host: Netlink, e: SubEndpointSpec): Promise<unknown>;
  /** Whether the default route is the device, without a gateway. */
  defaultDev(options: SubOptions): boolean;
}

export interface SubEndpointSpec {
  options: SubOptions;
  ifname: string;
  netns: NetnsTarget;
  mac: string;
}

// Every sub-interface driver made by subInterfaceDriver, by name: which networks use a parent.
const KINDS = new Map<DriverName, SubKind>();

/** The sandbox side of a sub-interface endpoint; ipvlan l3 has no gateway: the default route is the device. */
async function configureSub(kind: SubKind, ns: NetnsTarget, ep: EndpointRecord, net: NetworkRecord, gateway: boolean): Promise<void> {
  const l3 = kind.defaultDev(subOptions(kind.name, net.options));
  const spec = { ifname: ep.ifname, ip: ep.ip, prefixlen: prefixlen(net.subnet) };
  await withNetlink(ns, (s) => configureSandbox(s, spec, gateway && !l3 ? net.gateway : undefined, gateway && l3));
}

/** The sub-interface drivers' part of reconciliation: a parent nlnet made comes back; a sandbox without its link gets it anew. */
const reconcileSubInterfaces: Reconciler = async ({ nl }, { networks: all, byNetwork, sandboxes, present }, report) => {
  for (const n of all) if (KINDS.has(n.driver) && n.parentCreated === true && (await ensureParent(nl, n.options.parent!))) report.recreated.push(`parent ${n.options.parent} of network ${n.name}`);
  const internal = (network: string): boolean => byNetwork.get(network)?.internal ?? true;
  for (const sb of sandboxes) {
    if (!present.has(sb.netns)) continue;
    const gatewayEp = gatewayEndpoint(sb.endpoints, internal);
    for (const ep of sb.endpoints) {
      const net = byNetwork.get(ep.network);
      const kind = net === undefined ? undefined : KINDS.get(net.driver);
      if (net === undefined || kind === undefined) continue;
      if (await withNetlink(sb.netns, async (s) => (await s.link.list()).some((l) => l.name === ep.ifname))) continue;
      await kind.addLink(nl, { options: subOptions(kind.name, net.options), ifname: ep.ifname, netns: sb.netns, mac: ep.mac });
      await configureSub(kind, sb.netns, ep, net, ep === gatewayEp);
      report.recreated.push(`endpoint ${sb.name} on ${net.name} (${net.driver})`);
    }
  }
};

/** A driver whose endpoints are sub-interfaces of the network's parent. */
export function subInterfaceDriver<N extends SubDriver>(kind: SubKind<N>): Driver<N> {
  KINDS.set(kind.name, kind);
  const { name } = kind;
  return {
    name,
    options: kind.options,

    checkOptions(options, opts) {
      subOptions(name, options);
      if (opts.ipv6 === true) throw new ValidationError('ipv6', opts.ipv6, `IPv6 is supported on bridge networks, not on ${name}`);
      checkIpv6Wish(opts);
      if (opts.internal === true) throw new ValidationError('internal', opts.internal, `an internal ${name} network is not supported: it has no parent to be internal to`);
    },

    checkConflicts(net, options, others) {
      const { parent } = subOptions(name, options);
      const sharing = others.find((o) => KINDS.has(o.driver) && o.options.parent === parent);
      if (sharing !== undefined) throw new ConflictError('network', net, `network ${sharing.name} is already using parent interface ${parent}`);
    },

    deviceName: () => '',
    embeddedDns: () => false,

    async createNetwork({ nl }, rec, undo) {
      const { parent } = subOptions(name, rec.options);
      if (await ensureParent(nl, parent)) {
        undo.push(() => deleteLink(nl, parent));
        rec.parentCreated = true;
      }
    },

    async deleteNetwork({ nl }, rec) {
      if (rec.parentCreated === true) await deleteLink(nl, rec.options.parent!);
    },

    async join(ctx, ns, ep, net, gateway, undo, step) {
      await step('veth');
      const options = subOptions(name, net.options);
      await kind.addLink(ctx.nl, { options, ifname: ep.ifname, netns: ns, mac: ep.mac });
      // An open Netns may be closed by the time the undo runs: it reopens the namespace by path.
      const later: NetnsTarget = ns instanceof Netns ? { path: ns.path } : ns;
      undo.push(() => deleteSandboxLink(later, ep.ifname));
      await step('sandbox');
      await configureSub(kind, ns, ep, net, gateway);
    },

    // The link lives only in the sandbox.
    leave: (_ctx, ns, ep) => deleteSandboxLink(ns, ep.ifname),

    defaultDev: (net) => kind.defaultDev(subOptions(name, net.options)),
    reconcile: reconcileSubInterfaces,
  };
}
