// A network's life: its record, its bridge and firewall (bridge driver) or its parent link
// (macvlan/ipvlan), made and removed in the order that lets a failure or a crash be undone or
// repaired (the engine's reconcile finishes what a dead process left `creating`).
import { ConflictError, ValidationError } from '../errors.js';
import type { Netlink } from '../netlink.js';
import * as firewall from './firewall.js';
import { createBridge, deleteLink } from './drivers/bridge.js';
import { ensureParent, subOptions } from './drivers/macvlan.js';
import { AddressPool, allocateSubnet, claimSubnet } from './ipam.js';
import { AddressPool6, allocateSubnet6, claimSubnet6 } from './ipam6.js';
import { bridgeSpec, firewallSpec, ICC, MASQUERADE, MTU, rollback, type Undo } from './plumbing.js';
import { asJson, networkIn, sandboxesIn } from './records.js';
import { checkName, randomId, type NetworkRecord } from './sandbox.js';
import type { FileStore } from './store/file.js';
import { thisProcess } from './store/lock.js';
import type { Json } from './store/types.js';
import type { CreateNetworkOptions, NetworkStep } from './types.js';

/**
 * The driver options each driver reads. Others are kept in the record (inspect shows them, as
 * Docker's does) but change nothing: the CLI warns about them.
 */
export const DRIVER_OPTIONS: Readonly<Record<NetworkRecord['driver'], readonly string[]>> = {
  bridge: [MASQUERADE, ICC, MTU],
  macvlan: ['parent', 'macvlan_mode'],
  ipvlan: ['parent', 'ipvlan_mode', 'ipvlan_flag'],
};

/** Docker's bridge driver parses its switches with Go's strconv.ParseBool. */
function checkBool(options: Record<string, string>, key: string): void {
  const v = options[key];
  if (v !== undefined && !['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) throw new ValidationError(`options.${key}`, v, 'expected true or false');
}

/**
 * `docker network create`: the record first (marked `creating` with this process's pid, so
 * others wait for it or leave it alone), then the bridge and its firewall (or the macvlan/ipvlan
 * parent), then the record without the mark. Undone in reverse when a step fails. The bridge
 * carries `owner` (owner.ts) as its alias.
 */
export async function makeNetwork(nl: Netlink, store: FileStore, opts: CreateNetworkOptions, owner: string, step: (s: NetworkStep) => Promise<void> = async () => undefined): Promise<NetworkRecord> {
  const name = checkName('name', opts.name);
  // Docker's predefined networks: `--network host|none` always means the mode, never a network.
  if (name === 'host' || name === 'none') throw new ConflictError('network', name, `network with name ${name} already exists`);
  const driver = opts.driver ?? 'bridge';
  if (driver !== 'bridge' && driver !== 'macvlan' && driver !== 'ipvlan') throw new ValidationError('driver', opts.driver, "expected 'bridge', 'macvlan' or 'ipvlan'");
  const options = { ...(opts.options ?? {}) };
  const sub = driver === 'bridge' ? undefined : subOptions(driver, options);
  if (sub !== undefined && opts.ipv6 === true) throw new ValidationError('ipv6', opts.ipv6, `IPv6 is supported on bridge networks, not on ${driver}`);
  if (opts.ipv6 !== true && (opts.subnet6 !== undefined || opts.gateway6 !== undefined)) throw new ValidationError('subnet6', opts.subnet6 ?? opts.gateway6, 'an IPv6 subnet or gateway needs --ipv6');
  if (sub !== undefined && opts.internal === true) throw new ValidationError('internal', opts.internal, `an internal ${driver} network is not supported: it has no parent to be internal to`);
  if (driver === 'bridge') for (const k of [MASQUERADE, ICC]) checkBool(options, k);
  const mtu = options[MTU] === undefined ? undefined : Number(options[MTU]);
  if (mtu !== undefined && !(Number.isInteger(mtu) && mtu >= 68 && mtu <= 65535)) throw new ValidationError(`options.${MTU}`, options[MTU], 'expected an MTU from 68 to 65535');
  const hostRoutes = (await nl.route.list({ table: 'all', family: 'inet' })).map((r) => r.dst);
  await step('net-record');
  const rec = await store.update(async (tx) => {
    if ((await tx.get(`networks/${name}`)) !== undefined) throw new ConflictError('network', name, `network with name ${name} already exists`);
    const others = (await tx.list<Json>('networks/')).map((e) => e.value as unknown as NetworkRecord);
    const sharing = sub === undefined ? undefined : others.find((o) => o.driver !== 'bridge' && o.options.parent === sub.parent);
    if (sharing !== undefined) throw new ConflictError('network', name, `network ${sharing.name} is already using parent interface ${sub!.parent}`);
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
      driver,
      subnet: pool.subnet,
      gateway: pool.gateway,
      ...(pool.ipRange === undefined ? {} : { ipRange: pool.ipRange }),
      internal: opts.internal === true,
      // Docker's default network has its own device name (docker0); ours is nlnet0.
      bridge: sub !== undefined ? '' : name === 'bridge' ? 'nlnet0' : `br-${id.slice(0, 12)}`,
      created: new Date().toISOString(),
      labels: { ...(opts.labels ?? {}) },
      options,
      pool: pool.toJSON(),
      ...(pool6 === undefined ? {} : { subnet6: pool6.subnet, gateway6: pool6.gateway, pool6: pool6.toJSON() }),
    };
    tx.put(`networks/${name}`, asJson({ ...r, creating: thisProcess() }));
    return r;
  });
  const undo: Undo = [() => store.update((tx) => tx.delete(`networks/${name}`))];
  if (sub !== undefined) {
    try {
      if (await ensureParent(nl, sub.parent)) {
        undo.push(() => deleteLink(nl, sub.parent));
        rec.parentCreated = true;
      }
      await store.update((tx) => tx.put(`networks/${rec.name}`, asJson(rec)));
    } catch (e) {
      await rollback(undo);
      throw e;
    }
    return rec;
  }
  try {
    await step('net-bridge');
    await createBridge(nl, bridgeSpec(rec, owner));
    undo.push(() => deleteLink(nl, rec.bridge));
    undo.push(() => firewall.removeNetwork(nl, rec.bridge));
    await step('net-firewall');
    await firewall.addNetwork(nl, firewallSpec(rec));
    await nl.sysctl.set('net.ipv4.ip_forward', 1);
    if (rec.subnet6 !== undefined) await nl.sysctl.set('net.ipv6.conf.all.forwarding', 1);
    await step('net-finish');
    await store.update((tx) => tx.put(`networks/${rec.name}`, asJson(rec)));
  } catch (e) {
    await rollback(undo);
    throw e;
  }
  return rec;
}

/** `docker network rm NAME`, refused while a sandbox is connected. */
export async function dropNetwork(nl: Netlink, store: FileStore, name: string, step: (s: NetworkStep) => Promise<void> = async () => undefined): Promise<void> {
  // The record goes first, in the same transaction as the check, so no connect can slip in
  // between; it comes back if the kernel refuses the teardown.
  await step('net-unrecord');
  const rec = await store.update(async (tx) => {
    const r = await networkIn(tx, name);
    const users = (await sandboxesIn(tx)).filter((s) => s.endpoints.some((e) => e.network === name));
    if (users.length > 0) throw new ConflictError('network', name, `error while removing network: network ${name} has active endpoints (${users.map((u) => u.name).join(', ')})`);
    tx.delete(`networks/${name}`);
    return r;
  });
  try {
    if (rec.driver === 'bridge') {
      await step('net-unfirewall');
      await firewall.removeNetwork(nl, rec.bridge);
      await step('net-unbridge');
      await deleteLink(nl, rec.bridge);
    } else if (rec.parentCreated === true) {
      await deleteLink(nl, rec.options.parent!);
    }
  } catch (e) {
    await store.update((tx) => tx.put(`networks/${name}`, asJson(rec)));
    throw e;
  }
}
