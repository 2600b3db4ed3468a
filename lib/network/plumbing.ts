// The kernel side of an endpoint, whatever its driver: the links that join a sandbox to its
// network (each driver's join and leave, drivers/driver.ts), the sandbox's default route, and the
// small helpers the engine and reconcile share to run steps that undo themselves.
import type { Netlink } from '../rtnl/netlink.js';
import type { NetnsTarget } from '../netns/namespace.js';
import { deleteLink, deleteSandboxLink, withNetlink, type Undo } from './drivers/common.js';
import { driverFor, type DriverContext } from './drivers/driver.js';
import type { EndpointRecord, NetworkRecord } from './model/sandbox.js';
import type { AttachStep } from './model/types.js';

export { prefixlen, rollback, withNetlink, type Undo } from './drivers/common.js';

/**
 * Makes an endpoint's links and configures the sandbox side through its network's driver: the
 * links, then address, up and, for the sandbox's first network (`gateway`), the default route.
 * Pushes its undo as it goes; `step` is the engine's fault-injection hook; `owner` (owner.ts)
 * goes into what the driver makes.
 */
export async function plumb(ctx: DriverContext, ns: NetnsTarget, ep: EndpointRecord, net: NetworkRecord, gateway: boolean, undo: Undo, step: (s: AttachStep) => Promise<void>): Promise<void> {
  await driverFor(net.driver).join(ctx, ns, ep, net, gateway, undo, step);
}

/**
 * `ip route replace default via GW dev IFNAME` (and its IPv6 twin) for an endpoint already in
 * place: the sandbox's new gateway endpoint after the old one left. ipvlan l3: `default dev IFNAME`.
 */
export async function routeDefault(ns: NetnsTarget, ep: EndpointRecord, net: NetworkRecord): Promise<void> {
  const l3 = driverFor(net.driver).defaultDev(net);
  await withNetlink(ns, (s) =>
    s.batch((b) => {
      b.route.replace(l3 ? { dst: 'default', dev: ep.ifname } : { dst: 'default', via: net.gateway, dev: ep.ifname });
      if (!l3 && ep.ip6 !== undefined && net.gateway6 !== undefined) b.route.replace({ family: 'inet6', dst: 'default', via: net.gateway6, dev: ep.ifname });
    }),
  );
}

/**
 * Deletes an endpoint's link, found from its record alone (no network record needed): the host
 * end of a link that has one (a veth takes its peer with it), else its link in the sandbox.
 */
export async function unplumb(host: Netlink, ns: NetnsTarget, ep: EndpointRecord): Promise<void> {
  if (ep.hostIf !== '') return deleteLink(host, ep.hostIf);
  await deleteSandboxLink(ns, ep.ifname);
}
