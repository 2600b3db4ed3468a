// One host's side of the overlay networks, for the engine: the transactions on the cluster store
// (records.ts) together with the host's own store, in the order that lets a failure be undone.
// The cluster store is asked first in every operation that needs it, so with etcd down the
// operation fails within the cluster timeout (5 s unless set) with one line and changes nothing.
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.js';
import type { Netlink } from '../../rtnl/netlink.js';
import { advertiseAddress, type Cluster } from '../cluster.js';
import { DEFAULT_OVERLAY_MTU, overlaySpec } from '../drivers/overlay.js';
import { recordsIn, recordsOf, type RecordTx } from '../model/collections.js';
import { others } from '../store/presence.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../model/sandbox.js';
import { hostIfName, nextIfname } from '../model/sandbox.js';
import type { CreateNetworkOptions } from '../model/types.js';
import { inspectJson, type NetworkInspect } from '../model/inspect.js';
import type { EtcdStore } from '../store/etcd.js';
import type { FileStore } from '../store/file.js';
import { removeOverlay, VXLAN_OVERHEAD, type Peer } from './devices.js';
import { createGlobalNetwork, globalEndpoints, globalNetwork, releaseGlobalEndpoint, removeGlobalNetwork, reserveGlobalEndpoint, type GlobalEndpoint } from './records.js';

/** What the engine lends the overlay code. */
export interface OverlayHost {
  nl: Netlink;
  store: FileStore;
  owner: string;
  hostNetns: string;
  cluster: Cluster | undefined;
  /** `--cluster-advertise` as given. */
  advertise: string | undefined;
}

/** The cluster store, connected; a ValidationError without one configured. */
export async function clusterStore(host: Pick<OverlayHost, 'cluster'>): Promise<EtcdStore> {
  if (host.cluster === undefined) throw new ValidationError('store', undefined, 'overlay networks need a cluster store (--cluster-store etcd://HOST:2379)');
  return host.cluster.store();
}

/**
 * The cluster store, answering now: one round trip, for an operation whose first steps change the
 * kernel and only a later one etcd (a removal). A store connected earlier may be down since.
 */
export async function reachableClusterStore(host: Pick<OverlayHost, 'cluster'>): Promise<EtcdStore> {
  const etcd = await clusterStore(host);
  await etcd.snapshot();
  return etcd;
}

/** `docker network create -d overlay …`: only the cluster store changes (hosts make their part on first use). */
export async function createOverlayNetwork(host: OverlayHost, opts: CreateNetworkOptions): Promise<NetworkRecord> {
  const etcd = await clusterStore(host);
  const local = await recordsOf(host.store).networks.list();
  const hostRoutes = (await host.nl.route.list({ table: 'all', family: 'inet' })).map((r) => r.dst);
  return etcd.update((tx) => createGlobalNetwork(tx, opts, { networks: local.filter((n) => n.driver !== 'overlay'), hostRoutes }));
}

/** `docker network rm` of an overlay network: refused while any host has an endpoint on it. */
export async function removeOverlayNetwork(host: OverlayHost, name: string): Promise<void> {
  const etcd = await clusterStore(host);
  await etcd.update((tx) => removeGlobalNetwork(tx, name));
}

/** This host's underlay address and the MTU its overlay endpoints get (the underlay's − 50). */
export async function underlay(host: OverlayHost): Promise<{ vtep: string; mtu: number }> {
  if (host.advertise === undefined) throw new ValidationError('advertise', undefined, "an overlay endpoint needs this host's underlay address (--cluster-advertise IP|INTERFACE)");
  const vtep = await advertiseAddress(host.nl, host.advertise);
  const addr = (await host.nl.addr.list({ family: 'inet' })).find((a) => a.address.split('/')[0] === vtep);
  const link = addr === undefined ? undefined : (await host.nl.link.list()).find((l) => l.index === addr.dev);
  return { vtep, mtu: link?.mtu === undefined ? DEFAULT_OVERLAY_MTU : link.mtu - VXLAN_OVERHEAD };
}

/** A reserved overlay endpoint, not yet in the host's store. */
export interface OverlayReservation {
  endpoint: EndpointRecord;
  /** The host's copy of the network (with this host's MTU). */
  network: NetworkRecord;
  /** Gives the address back in the cluster store. */
  release(): Promise<void>;
}

/**
 * Reserves an endpoint of overlay network `network` for `sb` in the cluster store: an address
 * of the network's pool, the MAC from it, this host (`where`: underlay()) as its VTEP.
 */
export async function reserveOverlay(
  host: OverlayHost,
  etcd: EtcdStore,
  where: { vtep: string; mtu: number },
  sb: Pick<SandboxRecord, 'name' | 'id' | 'endpoints'>,
  network: string,
  want: { ip?: string; mac?: string; aliases: string[] },
): Promise<OverlayReservation> {
  const { vtep, mtu } = where;
  const { ep, net } = await etcd.update((tx) =>
    reserveGlobalEndpoint(tx, network, { sandbox: sb.name, sandboxId: sb.id, host: host.owner, vtep, aliases: want.aliases, ...(want.ip === undefined ? {} : { ip: want.ip }), ...(want.mac === undefined ? {} : { mac: want.mac }) }),
  );
  const endpoint: EndpointRecord = {
    network,
    endpointId: ep.endpointId,
    ifname: nextIfname(sb.endpoints),
    hostIf: '',
    peerIf: hostIfName(),
    ip: ep.ip,
    mac: ep.mac,
    ...(ep.aliases === undefined ? {} : { aliases: ep.aliases }),
  };
  return { endpoint, network: { ...net, mtu }, release: () => etcd.update((tx) => releaseGlobalEndpoint(tx, network, ep.endpointId, ep.ip)) };
}

/** Puts the host's copy of an overlay network (kept while it has endpoints here). */
export async function keepCopy(tx: RecordTx, net: NetworkRecord): Promise<void> {
  const have = await tx.networks.get(net.name);
  if (have !== undefined && have.driver !== 'overlay') throw new ConflictError('network', net.name, `network ${net.name} is a local ${have.driver} network on this host: the overlay network of that name cannot be used here`);
  if (have?.id !== net.id) tx.networks.put(net);
}

/** Gives the overlay endpoints' addresses back in the cluster store (an endpoint gone already is fine). */
export async function releaseOverlays(etcd: EtcdStore, eps: readonly EndpointRecord[]): Promise<void> {
  if (eps.length === 0) return;
  await etcd.update(async (tx) => {
    for (const ep of eps) await releaseGlobalEndpoint(tx, ep.network, ep.endpointId, ep.ip);
  });
}

/**
 * After endpoints left: each overlay network in `networks` that no sandbox of this host uses any
 * more loses its copy in the host's store and its namespace (inside the transaction, so an attach
 * of another process waits for the removal and makes the namespace again).
 */
export async function dropUnusedOverlays(ctx: Pick<OverlayHost, 'hostNetns' | 'owner'>, tx: RecordTx, networks: readonly string[]): Promise<void> {
  if (networks.length === 0) return;
  const sandboxes = await tx.sandboxes.list({ readonly: true });
  for (const name of new Set(networks)) {
    const net = await tx.networks.get(name);
    if (net === undefined || net.driver !== 'overlay') continue;
    if (sandboxes.some((s) => s.endpoints.some((e) => e.network === name))) continue;
    tx.networks.delete(name);
    await removeOverlay(overlaySpec(ctx, net).netns);
  }
}

/** The endpoints of `net` on other hosts whose leases are alive, as vxlan0 needs them. */
export async function remotePeers(etcd: EtcdStore, owner: string, net: Pick<NetworkRecord, 'name'>): Promise<Peer[]> {
  const snap = await etcd.snapshot();
  const [hosts, endpoints] = await Promise.all([snap.list<{ id: string }>('hosts/'), globalEndpoints(snap, net.name)]);
  const alive = new Set(hosts.map((h) => h.value.id));
  return endpoints.filter((e) => e.host !== owner && alive.has(e.host)).map(peerOf);
}

export const peerOf = (e: GlobalEndpoint): Peer => ({ mac: e.mac, ip: e.ip, vtep: e.vtep });

/**
 * `docker network inspect` of an overlay network: its Containers are `sandboxes`' (a host's own),
 * its Peers the hosts with endpoints on it (their ids and underlay addresses).
 */
export async function inspectOverlay(etcd: EtcdStore, name: string, sandboxes: readonly SandboxRecord[]): Promise<NetworkInspect> {
  const snap = await etcd.snapshot();
  const net = await globalNetwork(snap, name);
  if (net === undefined) throw new NotFoundError('network', name);
  const peers = new Map<string, string>();
  for (const e of await globalEndpoints(snap, name)) peers.set(e.host, e.vtep);
  return inspectJson(net, sandboxes, [...peers].map(([id, ip]) => ({ Name: id, IP: ip })));
}

/**
 * Gives back the cluster's addresses that this host reserved and never recorded: an attach killed
 * between its reservation in etcd and its commit here. Only while no other process has an engine
 * open on this host's state (one may be between those two steps right now), under its lock.
 * `endpoints` are the cluster's, as just read. Returns the endpoints released. The daemon's agent
 * runs it when it starts (agent.ts).
 */
export async function releaseOrphans(host: Pick<OverlayHost, 'store' | 'owner'>, etcd: EtcdStore, endpoints: readonly GlobalEndpoint[]): Promise<GlobalEndpoint[]> {
  const candidates = endpoints.filter((e) => e.host === host.owner);
  if (candidates.length === 0) return [];
  return host.store.update(async (raw) => {
    if (others(host.store.dir).length > 0) return [];
    const mine = new Set((await recordsIn(raw).sandboxes.list({ readonly: true })).flatMap((s) => s.endpoints.map((e) => e.endpointId)));
    const orphans = candidates.filter((e) => !mine.has(e.endpointId));
    if (orphans.length > 0) {
      await etcd.update(async (tx) => {
        for (const o of orphans) await releaseGlobalEndpoint(tx, o.network, o.endpointId, o.ip);
      });
    }
    return orphans;
  });
}
