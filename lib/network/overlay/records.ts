// What the cluster store (etcd) keeps of overlay networks, and the transactions on it. As in Docker,
// global-scope networks live there and nowhere else: `networks/<name>` (the record with its address
// pool and VNI, so an allocation is a compare-and-swap on one document and two hosts never hand out
// the same address or VNI), and one document per endpoint, `endpoints/<network>/<endpoint id>`,
// saying which host has it and where that host's VTEP is. Hosts are `hosts/<id>` under their
// leases (store/etcd-lease.ts): a host whose lease is gone has no peers anywhere.
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.js';
import { AddressPool, allocateSubnet, claimSubnet, globalPools, macFor, randomMac } from '../ipam/v4.js';
import { checkName, DEFAULT_NETWORK, GWBRIDGE, randomId, type NetworkRecord } from '../model/sandbox.js';
import type { StoreReader } from '../model/collections.js';
import type { Json, StoreTx } from '../store/types.js';
import type { CreateNetworkOptions } from '../model/types.js';

/** `-o com.docker.network.driver.overlay.vxlanid_list=N`: Docker's VNI option (one VNI: one subnet). */
export const VXLANID_LIST = 'com.docker.network.driver.overlay.vxlanid_list';
/** Docker allocates VNIs from 256 up (lower ones are left to the user's vxlanid_list). */
export const FIRST_VNI = 256;
export const MAX_VNI = 0xffffff;

const NETWORKS = 'networks/';
const PREDEFINED = ['host', 'none', DEFAULT_NETWORK, GWBRIDGE];
const ENDPOINTS = 'endpoints/';

/** One endpoint of an overlay network, on any host: what the other hosts program and resolve. */
export interface GlobalEndpoint {
  network: string;
  endpointId: string;
  /** The sandbox's name (what the embedded DNS answers for) and id. */
  sandbox: string;
  sandboxId: string;
  /** The host's id (its store's owner id) and underlay address. */
  host: string;
  vtep: string;
  ip: string;
  mac: string;
  aliases?: string[];
}

// Documents under these keys are written only from these types, which are plain JSON data: the
// same reasoning as model/collections.ts's one conversion.
const asNetwork = (v: Json): NetworkRecord => v as unknown as NetworkRecord;
const asEndpoint = (v: Json): GlobalEndpoint => v as unknown as GlobalEndpoint;
const toJson = (v: NetworkRecord | GlobalEndpoint): Json => v as unknown as Json;

export async function globalNetwork(r: StoreReader, name: string): Promise<NetworkRecord | undefined> {
  const v = await r.get(NETWORKS + name);
  return v === undefined ? undefined : asNetwork(v);
}

export async function globalNetworks(r: StoreReader): Promise<NetworkRecord[]> {
  return (await r.list(NETWORKS)).map((e) => asNetwork(e.value));
}

/** The endpoints of one network (all hosts), or of every network. */
export async function globalEndpoints(r: StoreReader, network?: string): Promise<GlobalEndpoint[]> {
  return (await r.list(network === undefined ? ENDPOINTS : `${ENDPOINTS}${network}/`)).map((e) => asEndpoint(e.value));
}

export const endpointKey = (network: string, endpointId: string): string => `${ENDPOINTS}${network}/${endpointId}`;
export const asGlobalEndpoint = asEndpoint;

/** The VNI a `vxlanid_list` value names; Docker takes a list, one per subnet, and nlnet has one subnet. */
export function parseVni(value: string): number {
  if (!/^\d+$/.test(value)) throw new ValidationError(`options.${VXLANID_LIST}`, value, `expected one VXLAN id from 1 to ${MAX_VNI} (nlnet networks have one subnet, so one id)`);
  const n = Number(value);
  if (n < 1 || n > MAX_VNI) throw new ValidationError(`options.${VXLANID_LIST}`, value, `expected a VXLAN id from 1 to ${MAX_VNI}`);
  return n;
}

/** The lowest VNI from 256 that no network has. */
function freeVni(taken: ReadonlySet<number>): number {
  for (let v = FIRST_VNI; v <= MAX_VNI; v++) if (!taken.has(v)) return v;
  throw new ConflictError('vni', 'overlay', 'every VXLAN id is taken');
}

/**
 * `docker network create -d overlay` in the cluster store: the name unique across the cluster
 * (and `localNames`, this host's local networks), the subnet from `--subnet` or the first /24 of
 * 10.0.0.0/8 that overlaps no global network, no local one of this host and no route of it, the
 * VNI from vxlanid_list or the lowest free one from 256.
 */
export async function createGlobalNetwork(tx: StoreTx, opts: CreateNetworkOptions, local: { networks: readonly NetworkRecord[]; hostRoutes: readonly string[] }): Promise<NetworkRecord> {
  const name = checkName('name', opts.name);
  // The predefined names: `--network host|none` are modes, and `bridge` and docker_gwbridge are
  // the host's own networks, made on first use: an overlay network of that name would take
  // every sandbox meant for them.
  if (PREDEFINED.includes(name) || local.networks.some((n) => n.name === name) || (await globalNetwork(tx, name)) !== undefined) throw new ConflictError('network', name, `network with name ${name} already exists`);
  const others = await globalNetworks(tx);
  const options = { ...(opts.options ?? {}) };
  const taken = new Set(others.map((n) => n.vni ?? 0));
  const wanted = options[VXLANID_LIST];
  const vni = wanted === undefined ? freeVni(taken) : parseVni(wanted);
  if (wanted !== undefined && taken.has(vni)) throw new ConflictError('network', name, `VXLAN id ${vni} is already in use by network ${others.find((n) => n.vni === vni)!.name}`);
  options[VXLANID_LIST] = String(vni);
  const all = [...others, ...local.networks];
  const subnet = opts.subnet === undefined ? allocateSubnet({ taken: all.map((n) => n.subnet), hostRoutes: local.hostRoutes, pools: globalPools() }) : claimSubnet(opts.subnet, all);
  const pool = new AddressPool({ subnet, ...(opts.gateway === undefined ? {} : { gateway: opts.gateway }), ...(opts.ipRange === undefined ? {} : { ipRange: opts.ipRange }) });
  const rec: NetworkRecord = {
    name,
    id: randomId(),
    driver: 'overlay',
    subnet: pool.subnet,
    gateway: pool.gateway,
    ...(pool.ipRange === undefined ? {} : { ipRange: pool.ipRange }),
    internal: opts.internal === true,
    ...(opts.attachable === true ? { attachable: true } : {}),
    bridge: '',
    vni,
    created: new Date().toISOString(),
    labels: { ...(opts.labels ?? {}) },
    options,
    pool: pool.toJSON(),
  };
  tx.put(NETWORKS + name, toJson(rec));
  return rec;
}

/**
 * `docker network rm` of an overlay network: refused while a live host (one whose lease is
 * there) has an endpoint on it, naming the containers and their hosts (by address). Endpoints of
 * hosts that are gone hold nothing: a host that died with containers would otherwise keep the
 * network for ever (Docker's stale endpoints). They go with the network.
 */
export async function removeGlobalNetwork(tx: StoreTx, name: string): Promise<NetworkRecord> {
  const rec = await globalNetwork(tx, name);
  if (rec === undefined) throw new NotFoundError('network', name);
  const eps = await globalEndpoints(tx, name);
  const alive = new Set((await tx.list('hosts/')).map((h) => h.key.slice('hosts/'.length)));
  const active = eps.filter((e) => alive.has(e.host));
  if (active.length > 0) {
    const where = [...new Set(active.map((e) => `${e.sandbox} on host ${e.vtep}`))].join(', ');
    throw new ConflictError('network', name, `error while removing network: network ${name} has active endpoints (${where})`);
  }
  for (const e of eps) tx.delete(endpointKey(name, e.endpointId));
  tx.delete(NETWORKS + name);
  return rec;
}

/** What an overlay endpoint asks for. */
export interface GlobalWish {
  sandbox: string;
  sandboxId: string;
  host: string;
  vtep: string;
  ip?: string;
  mac?: string;
  aliases: string[];
}

/**
 * Reserves an address of the network's cluster-wide pool and records the endpoint, in one
 * transaction: another host allocating at the same time makes this one run again on fresh reads.
 */
export async function reserveGlobalEndpoint(tx: StoreTx, network: string, want: GlobalWish): Promise<{ ep: GlobalEndpoint; net: NetworkRecord }> {
  const net = await globalNetwork(tx, network);
  if (net === undefined) throw new NotFoundError('network', network);
  // Only a given MAC can clash (a derived one follows the unique address): the endpoints are
  // read, and compared at commit, only then.
  if (want.mac !== undefined && want.mac !== 'random') {
    const clash = (await globalEndpoints(tx, network)).find((e) => e.mac === want.mac);
    if (clash !== undefined) throw new ConflictError('endpoint', want.mac, `MAC address ${want.mac} is already in use on network ${network} (by ${clash.sandbox} on host ${clash.vtep})`);
  }
  const pool = AddressPool.fromJSON(net.pool);
  const ip = want.ip === undefined ? pool.allocate() : pool.allocateStatic(want.ip);
  net.pool = pool.toJSON();
  tx.put(NETWORKS + network, toJson(net));
  const ep: GlobalEndpoint = {
    network,
    endpointId: randomId(),
    sandbox: want.sandbox,
    sandboxId: want.sandboxId,
    host: want.host,
    vtep: want.vtep,
    ip,
    mac: want.mac === 'random' ? randomMac() : (want.mac ?? macFor(ip)),
    ...(want.aliases.length === 0 ? {} : { aliases: want.aliases }),
  };
  tx.put(endpointKey(network, ep.endpointId), toJson(ep));
  return { ep, net };
}

/**
 * Gives the endpoint's address back and drops its document, if the document is still there: a
 * release run again (a removal retried) must not free an address handed out since.
 */
export async function releaseGlobalEndpoint(tx: StoreTx, network: string, endpointId: string, ip: string): Promise<void> {
  const doc = await tx.get(endpointKey(network, endpointId));
  if (doc === undefined || asEndpoint(doc).ip !== ip) return;
  tx.delete(endpointKey(network, endpointId));
  const net = await globalNetwork(tx, network);
  if (net === undefined) return;
  const pool = AddressPool.fromJSON(net.pool);
  pool.release(ip);
  net.pool = pool.toJSON();
  tx.put(NETWORKS + network, toJson(net));
}
