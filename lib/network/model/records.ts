// Reading and changing the store's records inside a transaction: networks, sandboxes, and the
// endpoints that join them (an address from the network's pool, an entry in the sandbox).
import { ConflictError, NotFoundError } from '../../core/errors.js';
import { AddressPool, macFor, randomMac } from '../ipam/v4.js';
import { AddressPool6 } from '../ipam/v6.js';
import { driverFor } from '../drivers/driver.js';
import { gatewayEndpoint, nextIfname, randomId, type EndpointRecord, type NetworkRecord, type SandboxRecord } from './sandbox.js';
import { recordsIn, recordsOf, type StoreReader } from './collections.js';
import type { StoreTx } from '../store/types.js';

export async function networkIn(tx: StoreTx, name: string): Promise<NetworkRecord> {
  const r = await recordsIn(tx).networks.get(name);
  if (r === undefined) throw new NotFoundError('network', name);
  return r;
}

export async function sandboxIn(tx: StoreTx, name: string): Promise<SandboxRecord> {
  const r = await recordsIn(tx).sandboxes.get(name);
  if (r === undefined) throw new NotFoundError('sandbox', name);
  return r;
}

/** Every sandbox, to read only (not copied: changing one would change the transaction's snapshot). */
export async function sandboxesIn(tx: StoreReader): Promise<readonly SandboxRecord[]> {
  return recordsOf(tx).sandboxes.list({ readonly: true });
}

/** The sandbox's gateway endpoint (sandbox.ts `gatewayEndpoint`), its networks read in `tx` (or a snapshot). */
export async function gatewayIn(tx: StoreReader, sb: SandboxRecord): Promise<EndpointRecord | undefined> {
  const { networks } = recordsOf(tx);
  const internal = new Map<string, boolean>();
  // An overlay network gives no gateway (Docker's overlay driver sets none): docker_gwbridge does.
  for (const e of sb.endpoints) {
    const net = await networks.get(e.network);
    internal.set(e.network, net === undefined || net.internal || driverFor(net.driver).scope === 'global');
  }
  return gatewayEndpoint(sb.endpoints, (n) => internal.get(n) ?? true);
}

/**
 * Refuses a `--mac-address` another endpoint of `network` has: two equal MACs on one segment
 * make both unreachable. Scans only when a MAC is given (derived ones follow the unique address).
 */
export async function checkMacFree(tx: StoreReader, network: string, mac: string): Promise<void> {
  if (mac === 'random') return;
  for (const s of await sandboxesIn(tx)) {
    if (s.endpoints.some((e) => e.network === network && e.mac === mac)) throw new ConflictError('endpoint', mac, `MAC address ${mac} is already in use on network ${network} (by ${s.name})`);
  }
}

/** What a new endpoint asks for: `--ip`, `--mac-address`, `--alias`. */
export interface EndpointWish {
  ip?: string;
  ip6?: string;
  mac?: string;
  aliases: string[];
}

/** Allocates an address on `network` and adds the endpoint to `sb` (the caller puts `sb`). */
export async function reserveEndpoint(tx: StoreTx, sb: SandboxRecord, network: string, want: EndpointWish): Promise<[EndpointRecord, NetworkRecord]> {
  const net = await networkIn(tx, network);
  // Its addresses are the cluster's (overlay/records.ts reserveGlobalEndpoint): a host's copy has none to give.
  if (driverFor(net.driver).scope === 'global') throw new ConflictError('network', network, `network ${network} is a global (overlay) network: its endpoints are reserved in the cluster store`);
  if (net.creating !== undefined) throw new ConflictError('network', network, `network ${network} is still being created`);
  if (want.mac !== undefined) await checkMacFree(tx, network, want.mac);
  if (sb.endpoints.some((e) => e.network === network)) throw new ConflictError('endpoint', `${sb.name} on ${network}`, `endpoint with name ${sb.name} already exists in network ${network}`);
  const pool = AddressPool.fromJSON(net.pool);
  const address = want.ip === undefined ? pool.allocate() : pool.allocateStatic(want.ip);
  net.pool = pool.toJSON();
  let ip6: string | undefined;
  if (net.pool6 !== undefined) {
    const pool6 = AddressPool6.fromJSON(net.pool6);
    ip6 = want.ip6 === undefined ? pool6.allocate() : pool6.allocateStatic(want.ip6);
    net.pool6 = pool6.toJSON();
  } else if (want.ip6 !== undefined) {
    throw new ConflictError('network', network, `network ${network} has no IPv6: --ip6 needs a network made with --ipv6`);
  }
  recordsIn(tx).networks.put(net);
  const ep: EndpointRecord = {
    network,
    endpointId: randomId(),
    ifname: nextIfname(sb.endpoints),
    hostIf: driverFor(net.driver).hostIfName?.() ?? '',
    ip: address,
    ...(ip6 === undefined ? {} : { ip6 }),
    mac: want.mac === 'random' ? randomMac() : (want.mac ?? macFor(address)),
    ...(want.aliases.length === 0 ? {} : { aliases: want.aliases }),
  };
  sb.endpoints.push(ep);
  return [ep, net];
}

/** Gives the endpoint's address back and drops it from the record of `sandbox` (if still there). */
export async function releaseEndpoint(tx: StoreTx, ep: EndpointRecord, sandbox: string): Promise<void> {
  const { networks, sandboxes } = recordsIn(tx);
  const net = await networks.get(ep.network);
  if (net !== undefined && driverFor(net.driver).scope !== 'global') {
    const pool = AddressPool.fromJSON(net.pool);
    pool.release(ep.ip);
    net.pool = pool.toJSON();
    if (net.pool6 !== undefined && ep.ip6 !== undefined) {
      const pool6 = AddressPool6.fromJSON(net.pool6);
      pool6.release(ep.ip6);
      net.pool6 = pool6.toJSON();
    }
    networks.put(net);
  }
  const sb = await sandboxes.get(sandbox);
  const i = sb?.endpoints.findIndex((x) => x.endpointId === ep.endpointId) ?? -1;
  if (sb === undefined || i < 0) return;
  sb.endpoints.splice(i, 1);
  sandboxes.put(sb);
}
