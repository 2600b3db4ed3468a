// Reading and changing the store's records inside a transaction: networks, sandboxes, and the
// endpoints that join them (an address from the network's pool, an entry in the sandbox).
import { ConflictError, NotFoundError } from '../errors.js';
import { AddressPool, macFor } from './ipam.js';
import { hostIfName, nextIfname, randomId, type EndpointRecord, type NetworkRecord, type SandboxRecord } from './sandbox.js';
import type { Json, StoreTx } from './store/types.js';

export const asJson = (v: object): Json => v as unknown as Json;

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

export async function sandboxesIn(tx: StoreTx): Promise<SandboxRecord[]> {
  return (await tx.list<Json>('sandboxes/')).map((e) => e.value as unknown as SandboxRecord);
}

/** What a new endpoint asks for: `--ip`, `--mac-address`, `--alias`. */
export interface EndpointWish {
  ip?: string;
  mac?: string;
  aliases: string[];
}

/** Allocates an address on `network` and adds the endpoint to `sb` (the caller puts `sb`). */
export async function reserveEndpoint(tx: StoreTx, sb: SandboxRecord, network: string, want: EndpointWish): Promise<[EndpointRecord, NetworkRecord]> {
  const net = await networkIn(tx, network);
  if (net.creating !== undefined) throw new ConflictError('network', network, `network ${network} is still being created`);
  if (sb.endpoints.some((e) => e.network === network)) throw new ConflictError('endpoint', `${sb.name} on ${network}`, `endpoint with name ${sb.name} already exists in network ${network}`);
  const pool = AddressPool.fromJSON(net.pool);
  const address = want.ip === undefined ? pool.allocate() : pool.allocateStatic(want.ip);
  net.pool = pool.toJSON();
  tx.put(`networks/${network}`, asJson(net));
  const ep: EndpointRecord = {
    network,
    endpointId: randomId(),
    ifname: nextIfname(sb.endpoints),
    hostIf: net.driver === 'bridge' ? hostIfName() : '',
    ip: address,
    mac: want.mac ?? macFor(address),
    ...(want.aliases.length === 0 ? {} : { aliases: want.aliases }),
  };
  sb.endpoints.push(ep);
  return [ep, net];
}

/** Gives the endpoint's address back and drops it from its sandbox's record. */
export async function releaseEndpoint(tx: StoreTx, ep: EndpointRecord): Promise<void> {
  const net = (await tx.get<Json>(`networks/${ep.network}`)) as unknown as NetworkRecord | undefined;
  if (net !== undefined) {
    const pool = AddressPool.fromJSON(net.pool);
    pool.release(ep.ip);
    net.pool = pool.toJSON();
    tx.put(`networks/${ep.network}`, asJson(net));
  }
  for (const e of await sandboxesIn(tx)) {
    const i = e.endpoints.findIndex((x) => x.endpointId === ep.endpointId);
    if (i < 0) continue;
    e.endpoints.splice(i, 1);
    tx.put(`sandboxes/${e.name}`, asJson(e));
  }
}
