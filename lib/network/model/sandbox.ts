// Sandboxes and endpoints as the store keeps them (plain JSON), and the pure rules about them:
// which mode a `--network` value means, names of namespaces, interfaces and ids.
import { createHash, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';

import { ValidationError } from '../../core/errors.js';
import type { AddressPoolState } from '../ipam/v4.js';
import type { AddressPool6State } from '../ipam/v6.js';
import type { PublishedPort } from '../ports/spec.js';
import type { DriverName } from '../drivers/driver.js';

/** One sandbox's attachment to one network. */
export interface EndpointRecord {
  network: string;
  /** 64 hex, random, as Docker's EndpointID. */
  endpointId: string;
  /** The interface inside the sandbox: eth0, eth1… */
  ifname: string;
  /** The host end of the veth pair; '' for macvlan/ipvlan, which have none, and for overlay, whose end is in the network's namespace. */
  hostIf: string;
  /** Overlay: the veth's end in the network's namespace (a port of its br0). */
  peerIf?: string;
  ip: string;
  /** Its IPv6 address, on a network with IPv6. */
  ip6?: string;
  mac: string;
  /** `docker run -p`: on the endpoint the sandbox was created with, with every host port known. */
  ports?: PublishedPort[];
  /** `--network-alias` / `network connect --alias`: further names the embedded DNS answers for. */
  aliases?: string[];
}

/**
 * `sandboxes/<name>`. `mode` is Docker's NetworkMode: 'none', 'host', 'container:<name>', or the
 * name of the first network. `netns` is the namespace the sandbox lives in (for 'host' the
 * engine's host namespace, for 'container:X' the one of X); `ownsNetns` says whether removing
 * the sandbox deletes it.
 */
export interface SandboxRecord {
  name: string;
  /** 64 hex, random, as a container id. */
  id: string;
  created: string;
  mode: string;
  netns: string;
  ownsNetns: boolean;
  endpoints: EndpointRecord[];
}

/** `networks/<name>`. */
export interface NetworkRecord {
  name: string;
  id: string;
  driver: DriverName;
  subnet: string;
  gateway: string;
  ipRange?: string;
  internal: boolean;
  /** The bridge device (bridge driver); '' for macvlan and ipvlan. */
  bridge: string;
  /**
   * Set while the process named here makes the network's bridge and rules: others wait for it to
   * go (the default network), refuse to attach, and reconcile leaves the network alone while
   * that process lives.
   */
  creating?: { pid: number; boot: string };
  /** macvlan/ipvlan: nlnet made the `-o parent` VLAN link and removes it with the network. */
  parentCreated?: boolean;
  /** Overlay: the network's VXLAN id, unique in the cluster. */
  vni?: number;
  /** Overlay: `--attachable` (Docker's flag; every nlnet overlay network takes standalone containers). */
  attachable?: boolean;
  /**
   * Overlay, in a host's own store only: the MTU of its endpoints on this host (the underlay's
   * − 50). The host keeps a copy of the cluster's record while it has endpoints on the network.
   */
  mtu?: number;
  created: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  pool: AddressPoolState;
  /** `--ipv6`: the IPv6 subnet, its gateway and address pool. */
  subnet6?: string;
  gateway6?: string;
  pool6?: AddressPool6State;
}

/**
 * The endpoint that gives a sandbox its default route (Docker's gateway endpoint): the first, in
 * the order they were joined, whose network is not internal. Docker's bridge driver sets no
 * gateway for an endpoint of an internal network (libnetwork drivers/bridge `Join` skips
 * `SetGateway` when the network is Internal), and the sandbox's endpoint ordering puts internal
 * networks last when it picks the gateway endpoint (libnetwork sandbox.go `getGatewayEndpoint`).
 * `internal` answers for a network name; an unknown network counts as internal (no route to give).
 */
export function gatewayEndpoint(endpoints: readonly EndpointRecord[], internal: (network: string) => boolean): EndpointRecord | undefined {
  return endpoints.find((e) => !internal(e.network));
}

/** Docker's predefined network (docker0's): made on first use, never removed, no embedded DNS. */
export const DEFAULT_NETWORK = 'bridge';

/**
 * Docker's bridge network for the egress of overlay sandboxes (their eth1, default route and
 * published ports): made on first use, with icc off and masquerade, from the local pools.
 */
export const GWBRIDGE = 'docker_gwbridge';

export type Mode = { kind: 'none' } | { kind: 'host' } | { kind: 'container'; target: string } | { kind: 'network'; network: string };

/** `docker run --network VALUE`; the default is Docker's: the network named 'bridge'. */
export function parseMode(network: string | undefined): Mode {
  const v = network ?? DEFAULT_NETWORK;
  if (typeof v !== 'string' || v === '') throw new ValidationError('network', network, "expected a network name, 'none', 'host' or 'container:<name>'");
  if (v === 'none') return { kind: 'none' };
  if (v === 'host') return { kind: 'host' };
  if (v.startsWith('container:')) {
    const target = v.slice('container:'.length);
    if (target === '') throw new ValidationError('network', network, "'container:' needs a sandbox name");
    return { kind: 'container', target };
  }
  return { kind: 'network', network: v };
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** Docker's rule for container and network names. */
export function checkName(field: string, name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) throw new ValidationError(field, name, 'expected [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters');
  return name;
}

/**
 * The namespace of sandbox NAME: `nlnet-<8 hex of the host namespace>-NAME`, the hash of its name
 * under /run/netns, or for an engine in its own namespace (`hostNetns` '') of that namespace's
 * inode. It keeps two engines from taking the same name: two tests, each with its own host
 * namespace, and two "hosts" on one machine, each running nlnet inside its namespace (nsenter), whose
 * sandboxes all go under the one /run/netns. The machine's own namespace has a fixed inode, so its
 * sandboxes keep their names across boots; the name is stored with each sandbox anyway.
 */
export function sandboxNetnsName(hostNetns: string, name: string): string {
  const host = hostNetns !== '' ? hostNetns : ownNetnsInode();
  const tag = createHash('sha256').update(host).digest('hex').slice(0, 8);
  return `nlnet-${tag}-${name}`;
}

/**
 * `ino:<n>` of this process's network namespace; '' where /proc cannot tell (as before). Read
 * once: nlnet's JS thread never changes namespace (ARCHITECTURE: dedicated native threads do).
 */
let ownInode: string | undefined;
function ownNetnsInode(): string {
  if (ownInode === undefined) {
    try {
      ownInode = `ino:${statSync('/proc/self/ns/net').ino}`;
    } catch {
      ownInode = '';
    }
  }
  return ownInode;
}

const ALIAS = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9_-]{0,62})(\.[a-zA-Z0-9]([a-zA-Z0-9_-]{0,62}))*$/;

/** `--alias NAME`: a DNS name the embedded resolver answers for (labels of at most 63 bytes). */
export function checkAliases(field: string, aliases: unknown): string[] {
  if (aliases === undefined) return [];
  if (!Array.isArray(aliases)) throw new ValidationError(field, aliases, 'expected a list of names');
  for (const a of aliases) if (typeof a !== 'string' || !ALIAS.test(a)) throw new ValidationError(field, a, 'expected a DNS name: letters, digits, - and _, dot-separated labels of at most 63 bytes');
  return [...new Set(aliases as string[])];
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** `--mac-address`: six bytes, unicast (the low bit of the first byte clear), or 'random'. */
export function checkMac(field: string, mac: unknown): string {
  if (mac === 'random') return mac;
  if (typeof mac !== 'string' || !MAC.test(mac.toLowerCase())) throw new ValidationError(field, mac, 'expected a MAC address such as 02:42:ac:11:00:02');
  if ((parseInt(mac.slice(0, 2), 16) & 1) !== 0) throw new ValidationError(field, mac, 'expected a unicast MAC address (the first byte must be even)');
  // The kernel refuses it for a link (EADDRNOTAVAIL): say so before asking.
  if (/^0{2}(:0{2}){5}$/.test(mac)) throw new ValidationError(field, mac, 'the all-zero MAC address is not a valid link address');
  return mac.toLowerCase();
}

/** A random id of 64 hex, as Docker's network and endpoint ids. */
export function randomId(): string {
  return randomBytes(32).toString('hex');
}

/** Docker's host-side veth name: `veth` + 7 hex. */
export function hostIfName(): string {
  return `veth${randomBytes(4).toString('hex').slice(0, 7)}`;
}

/** The lowest free ethN among a sandbox's endpoints. */
export function nextIfname(endpoints: readonly EndpointRecord[]): string {
  const used = new Set(endpoints.map((e) => e.ifname));
  for (let i = 0; ; i++) if (!used.has(`eth${i}`)) return `eth${i}`;
}
