// The engine's public option and result types (engine.ts re-exports them).
import type { NetworkRecord } from './sandbox.js';
import type { LockHolder } from '../store/errors.js';
import type { DriverName } from '../drivers/driver.js';

export interface EngineOptions {
  /** The namespace playing the host (a name under /run/netns); the caller's own when omitted. */
  hostNetns?: string;
  /** Where the file store keeps its state. */
  stateDir: string;
  /**
   * Only reads (`ls`, `inspect`, `port`): no reconcile, nothing written to the state or the
   * kernel, and a missing state directory is a NotFoundError (`no state at DIR`), not a new state.
   */
  readonly?: boolean;
  /** Whether a missing state directory is made (default: unless `readonly`). Only commands that create something should. */
  create?: boolean;
  /** How long a change waits for another process's lock on the state, ms, before a LockTimeoutError naming it (default 30 s; 0: not at all). */
  lockTimeoutMs?: number;
  /** Called once when a change has waited `lockNoticeMs` (default 0) for a lock another live process holds: who holds it. */
  onLockWait?: (holder: LockHolder) => void;
  lockNoticeMs?: number;
  /**
   * The store shared with other hosts, `etcd://host:2379[,host2:2379]` (`--cluster-store`). Only
   * what is global goes there (see cluster.ts); it is connected on first use, so Engine.open and
   * everything local work while it is down.
   */
  store?: string;
  /** This host's underlay address, or an interface of the host namespace (`--cluster-advertise`). */
  advertise?: string;
  /** How long a call to the cluster store waits before it fails as unreachable, ms (default 5000). */
  clusterTimeoutMs?: number;
}

export interface CreateNetworkOptions {
  name: string;
  /** `-d bridge` (default), `macvlan` or `ipvlan` (these need `options.parent`), `overlay` (needs a cluster store); any other name is a ValidationError. */
  driver?: DriverName;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal?: boolean;
  /** `--attachable` (overlay): recorded and shown; every overlay network takes standalone sandboxes. */
  attachable?: boolean;
  /** `--ipv6`: the network gets an IPv6 subnet too (`subnet6`, or a random ULA /64), bridge driver only. */
  ipv6?: boolean;
  /** `--subnet` of the IPv6 family (with `--ipv6`). */
  subnet6?: string;
  /** `--gateway` of the IPv6 family. */
  gateway6?: string;
  labels?: Record<string, string>;
  /**
   * Docker's driver options: `com.docker.network.bridge.enable_ip_masquerade`, `…enable_icc`,
   * `com.docker.network.driver.mtu`; for macvlan/ipvlan `parent`, `macvlan_mode`, `ipvlan_mode`, `ipvlan_flag`.
   */
  options?: Record<string, string>;
}

export interface CreateSandboxOptions {
  name: string;
  /** A network's name, or 'none', 'host', 'container:<name>'. Default 'bridge'. */
  network?: string;
  /** A static address on that network (`docker run --ip`). */
  ip?: string;
  /** A static IPv6 address on that network (`docker run --ip6`). */
  ip6?: string;
  /**
   * `docker run -p SPEC`: `[ip:]hostPort[-end]:containerPort[-end][/tcp|udp]` or `containerPort`
   * (a host port from ip_local_port_range). Ignored in host mode and with 'none', as dockerd
   * discards them; refused with 'container:<name>'.
   */
  publish?: string[];
  /**
   * `docker run -P`: publishes every port of `expose` on a host port of ip_local_port_range.
   * Docker takes the exposed ports from the image; a sandbox has none, so they are given here.
   */
  publishAll?: boolean;
  /** `docker run --expose PORT` (TCP): the ports `publishAll` publishes. */
  expose?: number[];
  /** `docker run --mac-address`: instead of 02:42 + the IPv4 bytes; 'random' for a random one. */
  mac?: string;
  /** `docker run --network-alias`: further names on the network, for the embedded DNS. */
  aliases?: string[];
}

/** `docker network connect [--ip IP] [--alias NAME]...` */
export interface ConnectOptions {
  ip?: string;
  ip6?: string;
  aliases?: string[];
}

/** A network as the engine hands it out: its record without the address pools. */
export type Network = Omit<NetworkRecord, 'pool' | 'pool6'>;

/** The steps of creating a sandbox or connecting one, in order. */
export type AttachStep = 'global' | 'allocate' | 'netns' | 'overlay' | 'veth' | 'sandbox' | 'peers' | 'publish' | 'finish';

/** The steps of removing a sandbox (all of them) or disconnecting one (no 'unnetns'), in order. */
export type DetachStep = 'unpublish' | 'unlink' | 'unnetns' | 'unglobal' | 'release';

/** The steps of `network create` and `network rm`, in order. */
export type NetworkStep = 'net-record' | 'net-bridge' | 'net-firewall' | 'net-finish' | 'net-unrecord' | 'net-unfirewall' | 'net-unbridge';

export type Step = AttachStep | DetachStep | NetworkStep;

/**
 * Test-only: `beforeStep` runs before each step of an operation that changes several things.
 * Throwing there checks the undo; a test process that SIGKILLs itself there checks reconcile.
 */
export interface EngineFaults {
  beforeStep?(step: Step): void | Promise<void>;
}
