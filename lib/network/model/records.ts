// Reading and changing the store's records inside a transaction: networks, sandboxes, and the
// endpoints that join them (an address from the network's pool, an entry in the sandbox).
import { ConflictError, NotFoundError } from '../../core/errors.js';
import { AddressPool, macFor, randomMac } from '../ipam/v4.js';
import { AddressPool6 } from '../ipam/v6.js';
import { driverFor } from '../drivers/driver.js';
import { gatewayEndpoint, nextIfname, randomId, type EndpointRecord, type NetworkRecord, type SandboxRecord } from './sandbox.js';
import type { Json, StoreTx } from '../store/types.js';

export const asJson = (v: object): Json => v as unknown as Json;

/** What reading needs: a transaction, or a snapshot of one commit (store.snapshot()). */
export type StoreReader = Pick<StoreTx, 'get' | 'list'>;

export async function networkIn(tx: StoreTx, name: string): Promise<NetworkRecord> {
  const r = await tx.get<Json>(`networks/${name}`);
  if (r === undefined) throw new NotFoundError('network', name);
  return r as unknown as NetworkRecord;
}

export async function sandboxIn(tx: StoreTx, name: string): Promise<SandboxRecord> {
  const r = await tx.get<Json>(`sandboxes/${name}`);
  if (r === undefined) throw new NotFoundError('sandbox', name);
  return r as unknown as SandboxRecord;
}

/** Every sandbox, to read only (not copied: changing one would change the transaction's snapshot). */
export async function sandboxesIn(tx: StoreReader): Promise<readonly SandboxRecord[]> {
  return (await tx.list<Json>('sandboxes/', { readonly: true })).map((e) => e.value as unknown as SandboxRecord);
}

/** The sandbox's gateway endpoint (sandbox.ts `gatewayEndpoint`), its networks read in `tx`. */
export async function gatewayIn(tx: StoreTx, sb: SandboxRecord): Promise<EndpointRecord | undefined> {
  const internal = new Map<string, boolean>();
  for (const e of sb.endpoints) internal.set(e.network, ((await tx.get<Json>(`networks/${e.network}`)) as unknown as NetworkRecord | undefined)?.internal ?? true);
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
  tx.put(`networks/${network}`, asJson(net));
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
  const net = (await tx.get<Json>(`networks/${ep.network}`)) as unknown as NetworkRecord | undefined;
  if (net !== undefined) {
    const pool = AddressPool.fromJSON(net.pool);
    pool.release(ep.ip);
    net.pool = pool.toJSON();
    if (net.pool6 !== undefined && ep.ip6 !== undefined) {
      const pool6 = AddressPool6.fromJSON(net.pool6);
      pool6.release(ep.ip6);
      net.pool6 = pool6.toJSON();
    }
    tx.put(`networks/${ep.network}`, asJson(net));
  }
  const sb = (await tx.get<Json>(`sandboxes/${sandbox}`)) as unknown as SandboxRecord | undefined;
  const i = sb?.endpoints.findIndex((x) => x.endpointId === ep.endpointId) ?? -1;
  if (sb === undefined || i < 0) return;
  sb.endpoints.splice(i, 1);
  tx.put(`sandboxes/${sandbox}`, asJson(sb));
}
