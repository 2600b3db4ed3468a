// A network's life: its record, then what its driver makes of it in the kernel (drivers/), made
// and removed in the order that lets a failure or a crash be undone or repaired (the engine's
// reconcile finishes what a dead process left `creating`).
import { ConflictError, ValidationError } from '../core/errors.js';
import { MTU, rollback, type Undo } from './drivers/common.js';
import { DEFAULT_DRIVER, driverFor, type DriverContext } from './drivers/driver.js';
import { AddressPool, allocateSubnet, claimSubnet } from './ipam/v4.js';
import { AddressPool6, allocateSubnet6, claimSubnet6 } from './ipam/v6.js';
import { recordsIn } from './model/collections.js';
import { networkIn, sandboxesIn } from './model/records.js';
import { checkName, randomId, type NetworkRecord } from './model/sandbox.js';
import type { FileStore } from './store/file.js';
import { thisProcess } from './store/lock.js';
import type { CreateNetworkOptions, NetworkStep } from './model/types.js';

/**
 * `docker network create`: the record first (marked `creating` with this process's pid, so
 * others wait for it or leave it alone), then what the driver makes (a bridge and its firewall,
 * a macvlan/ipvlan parent), then the record without the mark. Undone in reverse when a step
 * fails. What the driver makes carries `owner` (owner.ts).
 */
export async function makeNetwork(ctx: DriverContext, store: FileStore, opts: CreateNetworkOptions, step: (s: NetworkStep) => Promise<void> = async () => undefined): Promise<NetworkRecord> {
  const { nl } = ctx;
  const name = checkName('name', opts.name);
  // Docker's predefined networks: `--network host|none` always means the mode, never a network.
  if (name === 'host' || name === 'none') throw new ConflictError('network', name, `network with name ${name} already exists`);
  const driver = driverFor(opts.driver ?? DEFAULT_DRIVER);
  const options = { ...(opts.options ?? {}) };
  driver.checkOptions(options, opts);
  const mtu = options[MTU] === undefined ? undefined : Number(options[MTU]);
  if (mtu !== undefined && !(Number.isInteger(mtu) && mtu >= 68 && mtu <= 65535)) throw new ValidationError(`options.${MTU}`, options[MTU], 'expected an MTU from 68 to 65535');
  const hostRoutes = (await nl.route.list({ table: 'all', family: 'inet' })).map((r) => r.dst);
  await step('net-record');
  const rec = await store.update(async (raw) => {
    const tx = recordsIn(raw);
    if ((await tx.networks.get(name)) !== undefined) throw new ConflictError('network', name, `network with name ${name} already exists`);
    const others = await tx.networks.list();
    driver.checkConflicts?.(name, options, others);
    const subnet = opts.subnet === undefined ? allocateSubnet({ taken: others.map((o) => o.subnet), hostRoutes }) : claimSubnet(opts.subnet, others);
    const pool = new AddressPool({ subnet, ...(opts.gateway === undefined ? {} : { gateway: opts.gateway }), ...(opts.ipRange === undefined ? {} : { ipRange: opts.ipRange }) });
    let pool6: AddressPool6 | undefined;
    if (opts.ipv6 === true) {
      const subnet6 = opts.subnet6 === undefined ? allocateSubnet6(others.flatMap((o) => (o.subnet6 === undefined ? [] : [o.subnet6]))) : claimSubnet6(opts.subnet6, others);
      pool6 = new AddressPool6({ subnet: subnet6, ...(opts.gateway6 === undefined ? {} : { gateway: opts.gateway6 }) });
    }
    const id = randomId();
    const r: NetworkRecord = {
      name,
      id,
      driver: driver.name,
      subnet: pool.subnet,
      gateway: pool.gateway,
      ...(pool.ipRange === undefined ? {} : { ipRange: pool.ipRange }),
      internal: opts.internal === true,
      bridge: driver.deviceName(name, id),
      created: new Date().toISOString(),
      labels: { ...(opts.labels ?? {}) },
      options,
      pool: pool.toJSON(),
      ...(pool6 === undefined ? {} : { subnet6: pool6.subnet, gateway6: pool6.gateway, pool6: pool6.toJSON() }),
    };
    tx.networks.put({ ...r, creating: thisProcess() });
    return r;
  });
  const undo: Undo = [() => store.update((tx) => recordsIn(tx).networks.delete(name))];
  try {
    await driver.createNetwork(ctx, rec, undo, step);
    await store.update((tx) => recordsIn(tx).networks.put(rec));
  } catch (e) {
    await rollback(undo);
    throw e;
  }
  return rec;
}

/** `docker network rm NAME`, refused while a sandbox is connected. */
export async function dropNetwork(ctx: DriverContext, store: FileStore, name: string, step: (s: NetworkStep) => Promise<void> = async () => undefined): Promise<void> {
  // The record goes first, in the same transaction as the check, so no connect can slip in
  // between; it comes back if the kernel refuses the teardown.
  await step('net-unrecord');
  const rec = await store.update(async (tx) => {
    const r = await networkIn(tx, name);
    const users = (await sandboxesIn(tx)).filter((s) => s.endpoints.some((e) => e.network === name));
    if (users.length > 0) throw new ConflictError('network', name, `error while removing network: network ${name} has active endpoints (${users.map((u) => u.name).join(', ')})`);
    recordsIn(tx).networks.delete(name);
    return r;
  });
  try {
    await driverFor(rec.driver).deleteNetwork(ctx, rec, step);
  } catch (e) {
    await store.update((tx) => recordsIn(tx).networks.put(rec));
    throw e;
  }
}
