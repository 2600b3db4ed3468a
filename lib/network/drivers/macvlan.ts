// The macvlan and ipvlan drivers: each endpoint is a sub-interface of a parent link of the host,
// born straight inside the sandbox, with an address of the parent's LAN. No bridge, no NAT, no
// published ports: the sandbox sits on the outside network itself, as with Docker's drivers of
// the same names. A parent named `PARENT.ID` that does not exist is made as an 802.1Q link of
// PARENT (Docker's `-o parent=eth0.10`) and removed with the network.
import { NotFoundError, ValidationError } from '../../errors.js';
import type { Netlink } from '../../netlink.js';
import type { NetnsTarget } from '../../netns.js';
import type { MacvlanMode } from '../../link/macvlan.js';
import type { IpvlanFlag, IpvlanMode } from '../../link/ipvlan.js';
import { deleteLink } from './bridge.js';

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
  const [, lower, id] = m as unknown as [string, string, string];
  if (!(await nl.link.list()).some((l) => l.name === lower)) throw new NotFoundError('parent interface', lower);
  try {
    await nl.batch((b) => {
      const v = b.link.add({ kind: 'vlan', name: parent, link: lower, id: Number(id) });
      b.link.set(v, { up: true });
    });
  } catch (e) {
    if ((e as { step?: number }).step !== 0) await deleteLink(nl, parent);
    throw e;
  }
  return true;
}

export interface SubEndpointSpec {
  driver: SubDriver;
  options: SubOptions;
  ifname: string;
  netns: NetnsTarget;
  mac: string;
}

/**
 * `ip link add link PARENT name IFNAME netns NS [address MAC] type macvlan mode M` (or ipvlan,
 * which shares the parent's MAC). Made in the host namespace, where the parent is, and born in
 * the sandbox: nothing of it is ever visible on the host.
 */
export async function createSubInterface(host: Netlink, e: SubEndpointSpec): Promise<void> {
  const common = { name: e.ifname, link: e.options.parent, netns: e.netns };
  if (e.driver === 'macvlan') await host.link.add({ kind: 'macvlan', ...common, address: e.mac, mode: e.options.macvlanMode });
  else await host.link.add({ kind: 'ipvlan', ...common, mode: e.options.ipvlanMode, flag: e.options.ipvlanFlag });
}
