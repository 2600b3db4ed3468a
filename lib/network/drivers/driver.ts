// What a network driver is to the engine, and the registry the engine finds drivers in. The engine
// keeps the store, IPAM, sandboxes and rollback; a driver makes and removes what a network and an
// endpoint are in the kernel, and repairs that on start (reconcile.ts asks every driver). A new
// driver is one module implementing Driver and one line in DRIVERS.
import { ValidationError } from '../../core/errors.js';
import type { Netlink } from '../../rtnl/netlink.js';
import type { NetnsTarget } from '../../netns/namespace.js';
import type { ReconcileReport } from '../reconcile.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../model/sandbox.js';
import type { AttachStep, CreateNetworkOptions, NetworkStep } from '../model/types.js';
import type { Undo } from './common.js';
import type { AttachJob } from '../attach-job.js';
import type { JobNetns } from '../../netns/namespace.js';
import { bridge } from './bridge/index.js';
import { ipvlan } from './ipvlan.js';
import { macvlan } from './macvlan.js';
import { overlay } from './overlay.js';
import type { Peer } from '../overlay/devices.js';

/** What a driver works with: the host namespace's handle and the store's owner id (owner.ts), which goes into what it makes. */
export interface DriverContext {
  nl: Netlink;
  owner: string;
  /** The host namespace's name under /run/netns, '' for the caller's own (names what the overlay driver makes). */
  hostNetns: string;
  /** Overlay: the remote endpoints of a network, from the cluster store, when a host makes its part of it. */
  peersOf?: ((net: NetworkRecord) => Promise<Peer[]>) | undefined;
}

/** What reconcile.ts hands every driver after the namespaces and /etc files are right. */
export interface ReconcileState {
  /** Every stored network, those another live process is still making included. */
  stored: readonly NetworkRecord[];
  /** The networks to repair: all but those another live process is making. */
  networks: readonly NetworkRecord[];
  byNetwork: ReadonlyMap<string, NetworkRecord>;
  sandboxes: readonly SandboxRecord[];
  /** The named namespaces that exist now. */
  present: ReadonlySet<string>;
}

/** A driver's (or several drivers' shared) repair of what it owns; see reconcile.ts. */
export type Reconciler = (ctx: DriverContext, state: ReconcileState, report: ReconcileReport) => Promise<void>;

/**
 * The host's published ports (`docker run -p`), for drivers whose endpoints have them. They live
 * in one host-wide place, so drivers that publish the same way share one publisher.
 */
export interface PortPublisher {
  /** Publishes an endpoint's ports; ConflictError for a port published outside the store. */
  publish(nl: Netlink, ep: EndpointRecord): Promise<void>;
  /** publish() as a part of an attach job, undone with unpublish(). */
  publishParts(job: AttachJob, nl: Netlink, ep: EndpointRecord): void;
  /** Withdraws an endpoint's ports (those still pointing at it). */
  unpublish(nl: Netlink, ep: EndpointRecord): Promise<void>;
  /** The host ports published now, as 'tcp/8080' keys: what a random host port must avoid. */
  publishedKeys(nl: Netlink): Promise<Set<string>>;
  /** Runs after every driver's reconcile: stray elements go, missing ones come back. */
  reconcile: Reconciler;
}

/** A driver named N; a Driver without N is any registered one. */
export interface Driver<N extends string = DriverName> {
  /** `docker network create -d NAME` */
  readonly name: N;
  /** 'global': the network lives in the cluster store and spans hosts (overlay); else local to a host. */
  readonly scope?: 'global';
  /** The `-o` options it reads. Others are kept in the record (inspect shows them, as Docker's does) but change nothing: the CLI warns about them. */
  readonly options: readonly string[];
  /** Refuses what the driver cannot do with these options (`options` is `opts.options` or {}), before anything is recorded. */
  checkOptions(options: Record<string, string>, opts: CreateNetworkOptions): void;
  /** Refuses, inside the transaction that records it, a network that clashes with `others` (another network on the same parent). */
  checkConflicts?(name: string, options: Record<string, string>, others: readonly NetworkRecord[]): void;
  /** The network's device in the host namespace (NetworkRecord.bridge), '' for none. */
  deviceName(name: string, id: string): string;
  /** Whether sandboxes on the network use the embedded DNS (Docker: user-defined bridge networks). */
  embeddedDns(net: Pick<NetworkRecord, 'name'>): boolean;
  /** The host side of `docker network create`, after the record: pushes its undo; may set record fields it owns (parentCreated). */
  createNetwork(ctx: DriverContext, rec: NetworkRecord, undo: Undo, step: (s: NetworkStep) => Promise<void>): Promise<void>;
  /** The host side of `docker network rm`, after the record went. */
  deleteNetwork(ctx: DriverContext, rec: NetworkRecord, step: (s: NetworkStep) => Promise<void>): Promise<void>;
  /**
   * An endpoint's links and the sandbox side: address, up and, for the sandbox's gateway
   * endpoint (`gateway`), the default route. Pushes its undo as it goes.
   */
  join(ctx: DriverContext, ns: NetnsTarget, ep: EndpointRecord, net: NetworkRecord, gateway: boolean, undo: Undo, step: (s: AttachStep) => Promise<void>): Promise<void>;
  /**
   * join as parts of an attach job that also makes the sandbox's namespace `ns`: the same links
   * and sandbox side with no JS between them (attach-job.ts). Absent: the engine calls join.
   */
  joinParts?(ctx: DriverContext, job: AttachJob, ns: JobNetns, ep: EndpointRecord, net: NetworkRecord, gateway: boolean): void;
  /** Deletes an endpoint's link (a link already gone is fine). */
  leave(ctx: DriverContext, ns: NetnsTarget, ep: EndpointRecord): Promise<void>;
  /** Whether the default route is `dev IFNAME` with no gateway (ipvlan l3). */
  defaultDev(net: NetworkRecord): boolean;
  /** A new endpoint's host-side link name (bridge: `veth` + 7 hex); absent: the endpoint has none (''). */
  hostIfName?(): string;
  /** Absent: its endpoints publish nothing (macvlan, ipvlan: the sandbox is on the LAN itself). */
  readonly ports?: PortPublisher;
  /** Repairs what it owns in the host namespace and the sandboxes; drivers may share one. */
  readonly reconcile: Reconciler;
}

/** Every driver, in the order reconcile repairs them. */
export const DRIVERS = [bridge, macvlan, ipvlan, overlay] as const;

/** The name of a registered driver, as a network record keeps it: the registry says which there are. */
export type DriverName = (typeof DRIVERS)[number]['name'];

/** `docker network create` without `-d`. */
export const DEFAULT_DRIVER: DriverName = 'bridge';

const quoted = DRIVERS.map((d) => `'${d.name}'`);
const expected = `expected ${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)!}`;

/** The driver of that name; ValidationError (field `driver`) for any other value. */
export function driverFor(name: unknown): Driver {
  const d = DRIVERS.find((x) => x.name === name);
  if (d === undefined) throw new ValidationError('driver', name, expected);
  return d;
}

/** Each distinct reconciler of the registered drivers, then each distinct port publisher's. */
export function reconcilers(): Reconciler[] {
  return [...new Set(DRIVERS.map((d) => d.reconcile)), ...publishers().map((p) => p.reconcile)];
}

/** Each distinct port publisher of the registered drivers. */
export function publishers(): PortPublisher[] {
  return [...new Set(DRIVERS.flatMap((d) => (d.ports === undefined ? [] : [d.ports])))];
}
