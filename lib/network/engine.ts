// The engine: Docker's networks and sandboxes (containers' network namespaces) over one host
// namespace and one store. Every operation that changes several things records its reservation in
// the store first (so concurrent callers see it), then changes the kernel, and undoes each finished
// step, in reverse, when a later one fails.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';

import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { Netlink } from '../rtnl/netlink.js';
import { netns, type Netns, type NetnsTarget } from '../netns/namespace.js';
import { advertiseAddress, Cluster, DEFAULT_CLUSTER_TIMEOUT_MS, DEFAULT_HOST_TTL } from './cluster.js';
import { FileStore } from './store/file.js';
import type { HostInfo, HostRegistration } from './store/etcd-lease.js';
import { processAlive } from './store/lock.js';
import { register } from './store/presence.js';
import { deleteNetns } from './drivers/common.js';
import { driverFor, publishers, type DriverContext } from './drivers/driver.js';
import { dropNetwork, makeNetwork } from './networks.js';
import { recordsIn, recordsOf, type RecordReader } from './model/collections.js';
import { checkMacFree, gatewayIn, networkIn, releaseEndpoint, reserveEndpoint, sandboxesIn, sandboxIn } from './model/records.js';
import { clusterStore, reachableClusterStore, createOverlayNetwork, dropUnusedOverlays, inspectOverlay, keepCopy, releaseOverlays, remotePeers, removeOverlayNetwork, reserveOverlay, underlay, type OverlayHost, type OverlayReservation } from './overlay/host.js';
import { GWBRIDGE_OPTIONS } from './drivers/bridge/veth.js';
import { globalEndpoints, globalNetworks } from './overlay/records.js';
import { OverlayAgent, type OverlayAgentOptions } from './overlay/agent.js';
import type { EtcdStore } from './store/etcd.js';
import { plumb, rollback, routeDefault, unplumb, withNetlink, type Undo } from './plumbing.js';
import { attachJob, jobCanAttach, sandboxJob } from './attach-job.js';
import { reapLink } from './link-reaper.js';
import { inspectJson, type NetworkInspect } from './model/inspect.js';
import { DnsService, type DnsServiceOptions } from './dns/service.js';
import { removeSandboxEtc, writeSandboxFiles } from './etc.js';
import { reconcile, type ReconcileReport } from './reconcile.js';
import { markNetns, ownerIn, unmarkNetns } from './owner.js';
import { parsePortRange, portSpecs, resolvePorts } from './ports/allocate.js';
import {
  checkAliases,
  checkMac,
  checkName,
  DEFAULT_NETWORK,
  GWBRIDGE,
  nextIfname,
  parseMode,
  randomId,
  sandboxNetnsName,
  type EndpointRecord,
  type NetworkRecord,
  type SandboxRecord,
} from './model/sandbox.js';

export type { AttachStep, ConnectOptions, CreateNetworkOptions, CreateSandboxOptions, DetachStep, EngineFaults, EngineOptions, Network, NetworkStep, Step } from './model/types.js';
import type { Step, ConnectOptions, CreateNetworkOptions, CreateSandboxOptions, EngineFaults, EngineOptions, Network } from './model/types.js';
import type { PublishedPort } from './ports/spec.js';


const strip = ({ pool: _pool, pool6: _pool6, ...network }: NetworkRecord): Network => network;

/** What Docker refuses on its predefined `bridge` network, in Docker's words. */
function defaultBridgeOnly(o: { ip?: string | undefined; ip6?: string | undefined; aliases: readonly string[] }): void {
  if (o.ip !== undefined || o.ip6 !== undefined) throw new ValidationError(o.ip === undefined ? 'ip6' : 'ip', o.ip ?? o.ip6, 'user specified IP address is supported on user defined networks only');
  if (o.aliases.length > 0) throw new ValidationError('aliases', o.aliases, 'network-scoped alias is supported only for containers in user defined networks');
}

export class Engine {
  /** Test-only fault injection; leave undefined. */
  faults: EngineFaults | undefined;
  /** A predefined network's creation (bridge, docker_gwbridge) while it runs, so concurrent first users wait for one. */
  readonly #creating = new Map<string, Promise<void>>();
  /** The sandbox creates of this process still running, by name: the next of a name waits for them. */
  readonly #sandboxCreates = new Map<string, Promise<void>>();
  /** The predefined networks known to exist. */
  readonly #exists = new Set<string>();
  /** Removes this process from the state's list of open engines (store/presence.ts). */
  #unregister: () => void = () => undefined;
  /** The DNS services serveDns started, closed with the engine. */
  readonly #dns: DnsService[] = [];
  #underlayOnce: Promise<{ vtep: string; mtu: number }> | undefined;
  /** The overlay agents serveOverlay started, closed with the engine. */
  readonly #agents: OverlayAgent[] = [];

  /** This store's owner id, written into what it makes (owner.ts); '' for a read-only engine. */
  #owner = '';

  /** The store's latest committed records, for reads outside a transaction. */
  readonly #records: RecordReader;

  private constructor(
    /** The host namespace's name under /run/netns; '' for the caller's own. */
    readonly hostNetns: string,
    readonly nl: Netlink,
    readonly store: FileStore,
    /** Opened with `readonly`: every change is refused. */
    readonly readonly: boolean,
    /** The store shared with other hosts (`store: 'etcd://…'`), connected on first use. */
    readonly cluster: Cluster | undefined,
    /** `advertise` as given: an address, or an interface resolved when the host registers. */
    readonly advertise: string | undefined,
  ) {
    this.#records = recordsOf(store);
  }

  /**
   * Opens a Netlink handle in `hostNetns` (default: the caller's namespace) and the file store in
   * `stateDir`, then reconciles, unless `readonly`.
   */
  static async open(options: EngineOptions): Promise<Engine> {
    const host = options?.hostNetns;
    if (host !== undefined && (typeof host !== 'string' || host === '')) throw new ValidationError('hostNetns', host, 'expected a namespace name');
    const { store: url, advertise, clusterTimeoutMs = DEFAULT_CLUSTER_TIMEOUT_MS } = options;
    if (url !== undefined && typeof url !== 'string') throw new ValidationError('store', url, 'expected etcd://host:2379[,host2:2379]');
    if (advertise !== undefined && (typeof advertise !== 'string' || advertise === '')) throw new ValidationError('advertise', advertise, 'expected an IPv4 address or an interface name');
    if (advertise !== undefined && url === undefined) throw new ValidationError('advertise', advertise, 'a cluster address needs a cluster store (--cluster-store)');
    if (!Number.isInteger(clusterTimeoutMs) || clusterTimeoutMs < 1) throw new ValidationError('clusterTimeoutMs', clusterTimeoutMs, 'must be a whole number of milliseconds, at least 1');
    const cluster = url === undefined ? undefined : new Cluster(url, clusterTimeoutMs);
    const readonly = options.readonly === true;
    const create = options.create ?? !readonly;
    // A mistyped --state-dir must not become a new, empty state: its reconcile would see every
    // object the real state made as unknown.
    if (!create && typeof options.stateDir === 'string' && options.stateDir !== '' && !existsSync(options.stateDir)) {
      throw new NotFoundError('state', options.stateDir, `no state at ${options.stateDir} (nothing was made with this --state-dir)`);
    }
    // A read-only engine reads only the store: its handle stays in the caller's namespace, so
    // a user who may read the state but not enter the host namespace can still list it.
    if (readonly && host !== undefined && !netns.mounted(host)) throw new NotFoundError('network namespace', host);
    const nl = await Netlink.open(host === undefined || readonly ? {} : { netns: host });
    try {
      const store = await FileStore.open({
        dir: options.stateDir,
        readonly,
        create,
        ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }),
        ...(options.onLockWait === undefined ? {} : { onLockWait: options.onLockWait }),
        ...(options.lockNoticeMs === undefined ? {} : { lockNoticeMs: options.lockNoticeMs }),
      });
      const engine = new Engine(host ?? '', nl, store, readonly, cluster, advertise);
      if (readonly) return engine;
      engine.#unregister = register(engine.store.dir);
      try {
        engine.#owner = (await engine.store.update((tx) => ownerIn(tx, true)))!;
        await engine.reconcile();
      } catch (e) {
        engine.#unregister();
        await engine.store.close();
        throw e;
      }
      return engine;
    } catch (e) {
      nl.close();
      throw e;
    }
  }

  /** This store's owner id (owner.ts), as it is written into the links and namespaces it makes. */
  get owner(): string {
    this.#writable();
    return this.#owner;
  }

  #writable(): void {
    if (this.readonly) throw new ConflictError('engine', this.store.dir, 'opened read-only: it cannot change anything');
  }

  /**
   * Makes the kernel match the store (see reconcile.ts); Engine.open runs it. Skipped, saying
   * why, while another process has an engine open on the same state.
   */
  async reconcile(): Promise<ReconcileReport> {
    this.#writable();
    return reconcile(this);
  }

  async close(): Promise<void> {
    for (const a of this.#agents.splice(0)) await a.close();
    for (const d of this.#dns.splice(0)) await d.close();
    this.#unregister();
    try {
      await this.cluster?.close();
    } finally {
      await this.store.close();
      this.nl.close();
    }
  }

  /**
   * Joins the cluster: puts this host (its owner id, its `advertise` address) under an etcd lease
   * that the returned handle renews until closed (`nlnet daemon` does this). A host whose process
   * dies is gone from every host's list once `ttlSeconds` have passed.
   */
  async registerHost(opts: { ttlSeconds?: number } = {}): Promise<HostRegistration> {
    this.#writable();
    const cluster = this.#needCluster();
    if (this.advertise === undefined) throw new ValidationError('advertise', undefined, 'joining a cluster needs this host\'s underlay address (--cluster-advertise IP|INTERFACE)');
    const address = await advertiseAddress(this.nl, this.advertise);
    return (await cluster.store()).registerHost({ id: this.#owner, address, ttlSeconds: opts.ttlSeconds ?? DEFAULT_HOST_TTL });
  }

  /** The hosts of the cluster whose leases are alive (`docker info`'s view of the cluster). */
  async clusterHosts(): Promise<HostInfo[]> {
    return this.#needCluster().hosts();
  }

  #needCluster(): Cluster {
    if (this.cluster === undefined) throw new ValidationError('store', undefined, 'no cluster store is configured (--cluster-store etcd://HOST:2379)');
    return this.cluster;
  }

  /**
   * Serves the embedded DNS of user-defined networks (dockerd's resolver) from this process, on
   * each network's gateway address in the host namespace, until closed (or the engine is). It
   * follows networks made or removed by any process; answers come from the store at each query.
   */
  async serveDns(opts: DnsServiceOptions = {}): Promise<DnsService> {
    this.#writable();
    const service = await DnsService.start(this.hostNetns, this.store, opts, () => this.#dns.splice(this.#dns.indexOf(service) >>> 0, 1));
    this.#dns.push(service);
    return service;
  }

  /**
   * The host's part of the overlay networks (dockerd's, with a cluster store): programs every
   * remote endpoint of the overlay networks this host has endpoints on into their vxlan0, as
   * etcd's watches report them and as hosts' leases expire, and answers the embedded DNS of
   * those networks on their gateways, by any host's container names. Until closed (or the
   * engine is). `nlnet daemon` runs it. First it gives back the addresses an attach killed
   * half-way left reserved in etcd for this host (overlay/host.ts releaseOrphans).
   */
  async serveOverlay(opts: OverlayAgentOptions = {}): Promise<OverlayAgent> {
    this.#writable();
    const etcd = await clusterStore(this.#overlayHost());
    const agent = await OverlayAgent.start({ ...this.#overlayHost(), etcd }, opts, () => this.#agents.splice(this.#agents.indexOf(agent) >>> 0, 1));
    this.#agents.push(agent);
    return agent;
  }

  /** `docker network create [-d DRIVER] [--subnet S] [--gateway G] [--ip-range R] [--ipv6] [--internal] NAME` */
  async createNetwork(opts: CreateNetworkOptions): Promise<Network> {
    this.#writable();
    if (opts?.driver !== undefined && driverFor(opts.driver).scope === 'global') {
      if (this.cluster === undefined) throw new ValidationError('driver', opts.driver, `${opts.driver} networks need a cluster store (--cluster-store etcd://HOST:2379)`);
      driverFor(opts.driver).checkOptions(opts.options ?? {}, opts);
      return strip(await createOverlayNetwork(this.#overlayHost(), opts));
    }
    const rec = await makeNetwork(this.#ctx(), this.store, opts, (st) => this.#step(st));
    // This process's DNS answers on it before the call returns (others follow the store shortly).
    await this.#syncDns();
    return strip(rec);
  }

  async #syncDns(): Promise<void> {
    for (const d of this.#dns) await d.sync();
  }

  /** `docker network rm NAME`: refused while a sandbox is connected, and for `bridge`. */
  async removeNetwork(name: string): Promise<void> {
    this.#writable();
    checkName('name', name);
    if (name === DEFAULT_NETWORK) throw new ConflictError('network', name, `${name} is a pre-defined network and cannot be removed`);
    if (await this.#isGlobal(name)) {
      await removeOverlayNetwork(this.#overlayHost(), name);
      // This host's copy, if a failed attach left one behind.
      await this.store.update((tx) => dropUnusedOverlays(this.#overlayHost(), recordsIn(tx), [name]));
      return;
    }
    await dropNetwork(this.#ctx(), this.store, name, (st) => this.#step(st));
    this.#exists.delete(name);
    await this.#syncDns();
  }

  /**
   * `docker network ls`: this host's networks and, with a cluster store, the cluster's overlay
   * networks (etcd down: it fails, and `{ scope: 'local' }` still lists the host's own).
   */
  async listNetworks(opts: { scope?: 'local' } = {}): Promise<Network[]> {
    const local = (await this.#records.networks.list()).filter((n) => driverFor(n.driver).scope !== 'global');
    if (this.cluster === undefined || opts.scope === 'local') return local.map(strip);
    const global = await globalNetworks(await this.cluster.store());
    return [...local, ...global].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(strip);
  }

  /**
   * The networks `sb`'s endpoints are on, from this host's records alone (it keeps a copy of every
   * overlay network it has endpoints on): `docker inspect` of a container needs no cluster store.
   */
  async sandboxNetworks(sb: Pick<SandboxRecord, 'endpoints'>): Promise<Network[]> {
    const names = new Set(sb.endpoints.map((e) => e.network));
    return (await this.#records.networks.list()).filter((n) => names.has(n.name)).map(strip);
  }

  /** `docker network inspect NAME`; an overlay network's Containers are this host's, its Peers the hosts with endpoints. */
  async inspectNetwork(name: string): Promise<NetworkInspect> {
    checkName('name', name);
    const rec = await this.#records.networks.get(name);
    if (rec !== undefined && driverFor(rec.driver).scope !== 'global') return inspectJson(rec, await this.#records.sandboxes.list());
    if (this.cluster === undefined) throw new NotFoundError('network', name);
    return inspectOverlay(await this.cluster.store(), name, await this.#records.sandboxes.list());
  }

  /**
   * Whether `name` is not a local network of this host but (with a cluster store) a global one.
   * The predefined networks are always the host's own, made on first use.
   */
  async #isGlobal(name: string): Promise<boolean> {
    if (this.cluster === undefined || name === DEFAULT_NETWORK || name === GWBRIDGE) return false;
    const rec = await this.#records.networks.get(name);
    return rec === undefined || driverFor(rec.driver).scope === 'global';
  }

  /** The stored records of every sandbox (`docker ps -a`, network side). */
  async listSandboxes(): Promise<SandboxRecord[]> {
    return this.#records.sandboxes.list();
  }

  /** The stored record of a sandbox. */
  async inspectSandbox(name: string): Promise<SandboxRecord> {
    checkName('name', name);
    const rec = await this.#records.sandboxes.get(name);
    if (rec === undefined) throw new NotFoundError('sandbox', name);
    return rec;
  }

  /** `docker run --network none|host|container:X|NETWORK [--ip IP]`, without the process. */
  async createSandbox(opts: CreateSandboxOptions): Promise<SandboxRecord> {
    this.#writable();
    const name = checkName('name', opts.name);
    // Creates of one name in this process go one after the other: each makes the namespace
    // named after the sandbox before the store says whether the name is free (below).
    const before = this.#sandboxCreates.get(name);
    const mine = before === undefined ? this.#createSandbox(name, opts) : before.then(() => this.#createSandbox(name, opts));
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.#sandboxCreates.set(name, settled);
    void settled.then(() => {
      if (this.#sandboxCreates.get(name) === settled) this.#sandboxCreates.delete(name);
    });
    return mine;
  }

  async #createSandbox(name: string, opts: CreateSandboxOptions): Promise<SandboxRecord> {
    const mode = parseMode(opts.network);
    if (mode.kind === 'network') checkName('network', mode.network);
    if (mode.kind === 'container') checkName('network', mode.target);
    if (opts.ip !== undefined && mode.kind !== 'network') throw new ValidationError('ip', opts.ip, 'a static address needs a network');
    const mac = opts.mac === undefined ? undefined : checkMac('mac', opts.mac);
    const aliases = checkAliases('aliases', opts.aliases);
    if ((mac !== undefined || aliases.length > 0) && mode.kind !== 'network') throw new ValidationError(mac === undefined ? 'aliases' : 'mac', mac ?? aliases, 'needs a network: not with none, host or container:<name>');
    const specs = portSpecs(opts.publish, opts.publishAll, opts.expose);
    if (specs.length > 0 && mode.kind === 'container') throw new ValidationError(opts.publish === undefined || opts.publish.length === 0 ? 'publishAll' : 'publish', opts.publish?.length ? opts.publish : undefined, 'conflicting options: port publishing and the container type network mode');
    // Host and none: dockerd discards published ports ("Published ports are discarded when using host network mode").
    const wanted = mode.kind === 'network' ? specs : [];
    if (mode.kind === 'network' && mode.network === DEFAULT_NETWORK) defaultBridgeOnly({ ...opts, aliases });
    const global = mode.kind === 'network' && (await this.#isGlobal(mode.network));
    if (opts.ip6 !== undefined && global) throw new ValidationError('ip6', opts.ip6, 'overlay networks have no IPv6');
    // Read outside the transaction: the kernel's range and what the firewall already holds.
    const range = wanted.some((s) => s.hostPort === undefined && s.hostPortRange === undefined) ? parsePortRange(await this.nl.sysctl.get('net.ipv4.ip_local_port_range')) : undefined;
    const firewallTaken = wanted.some((s) => s.hostPort === undefined) ? await this.#publishedKeys() : undefined;
    const portsFor = (existing: readonly PublishedPort[]): PublishedPort[] => resolvePorts(wanted, existing, { range: range ?? [1, 65535], ...(firewallTaken === undefined ? {} : { alsoTaken: firewallTaken }) });
    const undo: Undo = [];
    // The start of the sandbox's job while the store decides: awaited before anything is undone.
    let started: Promise<void> | undefined;
    try {
      // An overlay network's endpoint is reserved in the cluster store first (etcd down: nothing
      // changed yet), and the sandbox joins docker_gwbridge too unless the network is internal.
      const sandboxId = randomId();
      const overlay = mode.kind === 'network' && global ? await this.#reserveOverlay({ name, id: sandboxId, endpoints: [] }, mode.network, { ...(opts.ip === undefined ? {} : { ip: opts.ip }), ...(mac === undefined ? {} : { mac }), aliases }, undo) : undefined;
      const first = overlay === undefined ? (mode.kind === 'network' ? mode.network : undefined) : overlay.network.internal ? undefined : GWBRIDGE;
      // A taken port or MAC is refused before a predefined network is made for this sandbox: a
      // refused create changes nothing. Read from a snapshot, without the lock: the transaction
      // below checks again, so when no network is to be made this first look is skipped (it
      // reads every sandbox: a cost that grows with them).
      const predefined = first === DEFAULT_NETWORK || first === GWBRIDGE ? first : undefined;
      if (predefined !== undefined && !this.#exists.has(predefined) && (wanted.length > 0 || (mac !== undefined && overlay === undefined))) {
        const now = await this.store.snapshot();
        if (wanted.length > 0) portsFor((await sandboxesIn(now)).flatMap((s) => s.endpoints.flatMap((e) => e.ports ?? [])));
        if (mac !== undefined && mode.kind === 'network' && overlay === undefined) await checkMacFree(now, mode.network, mac);
      }
      if (predefined !== undefined && (await this.#ensurePredefined(predefined))) undo.push(() => this.#dropPredefinedIfUnused(predefined));
      await this.#step('allocate');
      // The sandbox's namespace is named after it: its job starts making it (marker, `ip netns
      // add`) while the store decides what goes in it. Not with the fault hooks (tests), which
      // keep every step in order; not for a name the store has (the transaction refuses it, and
      // its sandbox's marker must stay).
      const early =
        this.faults === undefined && (mode.kind === 'none' || (mode.kind === 'network' && !global)) && (await this.#records.sandboxes.get(name)) === undefined
          ? sandboxJob(this.#owner, sandboxNetnsName(this.hostNetns, name))
          : undefined;
      started = early?.run(undo, { more: true });
      started?.catch(() => undefined);
      // The kernel work overlaps the store's write of this decision; `written` is awaited before
      // the attach counts as done. A crash before the write leaves kernel objects the store does
      // not know, which reconcile removes.
      const {
        value: { sandbox, attachments },
        written,
      } = await this.store.decide(async (raw) => {
        const tx = recordsIn(raw);
        if ((await tx.sandboxes.get(name)) !== undefined) throw new ConflictError('sandbox', name, `the container name ${name} is already in use`);
        const sb: SandboxRecord = { name, id: sandboxId, created: new Date().toISOString(), mode: '', netns: sandboxNetnsName(this.hostNetns, name), ownsNetns: true, endpoints: [] };
        const joined: [EndpointRecord, NetworkRecord][] = [];
        switch (mode.kind) {
          case 'none':
            sb.mode = 'none';
            break;
          case 'host':
            Object.assign(sb, { mode: 'host', netns: this.hostNetns, ownsNetns: false });
            break;
          case 'container': {
            const target = await sandboxIn(tx, mode.target);
            Object.assign(sb, { mode: `container:${mode.target}`, netns: target.netns, ownsNetns: false });
            break;
          }
          case 'network': {
            sb.mode = mode.network;
            if (overlay !== undefined) {
              await keepCopy(tx, overlay.network);
              sb.endpoints.push(overlay.endpoint);
              joined.push([overlay.endpoint, overlay.network]);
            }
            if (first !== undefined) joined.push(await reserveEndpoint(tx, sb, first, overlay !== undefined ? { aliases: [] } : { ...(opts.ip === undefined ? {} : { ip: opts.ip }), ...(opts.ip6 === undefined ? {} : { ip6: opts.ip6 }), ...(mac === undefined ? {} : { mac }), aliases }));
            // The ports go on the endpoint whose driver publishes (an overlay sandbox's docker_gwbridge
            // endpoint); Docker's macvlan and ipvlan drivers publish nothing: the sandbox is on the LAN itself.
            const carrier = joined.find(([, n]) => driverFor(n.driver).ports !== undefined);
            if (wanted.length > 0 && carrier !== undefined) {
              const [ep, net] = carrier;
              ep.ports = portsFor((await sandboxesIn(tx)).flatMap((s) => s.endpoints.flatMap((e) => e.ports ?? [])));
              const v6 = ep.ports.find((p) => p.hostIp !== undefined && isIP(p.hostIp) === 6);
              if (v6 !== undefined && net.subnet6 === undefined) throw new ValidationError('publish', `[${v6.hostIp}]:${v6.hostPort}:${v6.containerPort}`, `an IPv6 host address needs a network with IPv6; ${net.name} has none (create it with --ipv6)`);
            }
            break;
          }
          default: {
            const unknown: never = mode;
            throw new ValidationError('network', unknown, 'unknown network mode');
          }
        }
        tx.sandboxes.put(sb);
        return { sandbox: sb, attachments: joined };
      });
      undo.push(() => this.#release(name, attachments, true));
      // Awaited below; until then its failure is only held for that await.
      written.catch(() => undefined);
      await started;
      if (jobCanAttach(sandbox, attachments)) {
        // One native job, no JS between the kernel steps (attach-job.ts).
        await attachJob(this.#ctx(), early ?? sandboxJob(this.#owner, sandbox.netns), sandbox, attachments, undo, this.faults === undefined ? undefined : (st) => this.#step(st));
        await written;
        await this.#step('finish');
        return sandbox;
      }
      // Kept open while the links are made: the veth's peer and the sandbox's socket need no
      // opening of their own.
      let opened: Netns | undefined;
      try {
        if (early !== undefined) {
          opened = await netns.open(sandbox.netns);
        } else if (sandbox.ownsNetns) {
          await this.#step('netns');
          // The marker first: a crash right after it leaves a marker without a namespace, never
          // a namespace that reconcile cannot prove is ours.
          markNetns(sandbox.netns, this.#owner);
          undo.push(async () => unmarkNetns(sandbox.netns));
          opened = await netns.createOpen(sandbox.netns);
          undo.push(() => netns.delete(sandbox.netns));
        }
        if (opened !== undefined && attachments.length === 0) await withNetlink(opened, (s) => s.link.set('lo', { up: true }));
        await allOf(attachments.map(([endpoint, network]) => this.#attach(opened ?? sandbox.netns, endpoint, network, undo, overlay?.etcd)));
      } finally {
        opened?.close();
      }
      if (sandbox.ownsNetns) {
        // Its /etc/resolv.conf and /etc/hosts, where `ip netns exec` and `nlnet exec` bind them.
        writeSandboxFiles(sandbox, attachments[0]?.[1]);
        undo.push(() => removeSandboxEtc(sandbox.netns));
      }
      await written;
      await this.#step('finish');
      return sandbox;
    } catch (e) {
      await started?.catch(() => undefined);
      await rollback(undo);
      throw e;
    }
  }

  /**
   * Undoes an attach's decision in the host's store: the endpoints' addresses back, the sandbox's
   * record gone with `dropSandbox` (a create), copies of overlay networks no endpoint uses now.
   */
  #release(sandbox: string, joined: readonly (readonly [EndpointRecord, NetworkRecord, ...unknown[]])[], dropSandbox: boolean): Promise<void> {
    return this.store.update(async (raw) => {
      const tx = recordsIn(raw);
      for (const [ep] of joined) await releaseEndpoint(tx, ep, sandbox);
      if (dropSandbox) tx.sandboxes.delete(sandbox);
      await dropUnusedOverlays(this.#overlayHost(), tx, joined.map(([, n]) => n.name));
    });
  }

  /**
   * An endpoint of overlay network `network` reserved in the cluster store for `sb` (undone by
   * `undo`), with the store it was reserved in.
   */
  async #reserveOverlay(sb: Pick<SandboxRecord, 'name' | 'id' | 'endpoints'>, network: string, want: { ip?: string; mac?: string; aliases: string[] }, undo: Undo): Promise<OverlayReservation & { etcd: EtcdStore }> {
    const host = this.#overlayHost();
    const etcd = await clusterStore(host);
    await this.#step('global');
    const r = await reserveOverlay(host, etcd, await this.#underlay(), sb, network, want);
    undo.push(() => r.release());
    return { ...r, etcd };
  }

  /**
   * One endpoint's links and its published ports: the default route comes from it when its
   * network gives one (not internal, not overlay) and no endpoint before it did. `etcd` is the
   * cluster store an overlay endpoint's peers are read from.
   */
  async #attach(ns: NetnsTarget, endpoint: EndpointRecord, network: NetworkRecord, undo: Undo, etcd?: EtcdStore, gateway = !network.internal && driverFor(network.driver).scope !== 'global'): Promise<void> {
    // The map elements do not depend on the links: they go in while the links are made
    // (another socket), and both finish before anything is undone or returned.
    const ports = endpoint.ports === undefined ? undefined : driverFor(network.driver).ports;
    const publishing =
      ports === undefined
        ? undefined
        : (async () => {
            await this.#step('publish');
            // A port someone else published outside the store is refused: ConflictError.
            await ports.publish(this.nl, endpoint);
            undo.push(() => ports.unpublish(this.nl, endpoint));
          })();
    publishing?.catch(() => undefined);
    try {
      await plumb(this.#ctx(etcd), ns, endpoint, network, gateway, undo, (st) => this.#step(st));
    } finally {
      await publishing?.catch(() => undefined);
    }
    await publishing;
  }

  /** `docker rm -f NAME`, network side: every endpoint, its addresses, and its own namespace. */
  async removeSandbox(name: string): Promise<void> {
    this.#writable();
    const sb = await this.inspectSandbox(name);
    const sharers = (await this.#records.sandboxes.list({ readonly: true })).filter((s) => s.mode === `container:${name}`);
    if (sharers.length > 0) throw new ConflictError('sandbox', name, `its namespace is shared by ${sharers.map((s) => s.name).join(', ')}`);
    // An overlay endpoint's address is the cluster's: with etcd down nothing is removed.
    const global = sb.endpoints.filter(isOverlayEndpoint);
    const etcd = global.length > 0 ? await reachableClusterStore(this.#overlayHost()) : undefined;
    // The kernel first: a removal that fails half-way leaves the record, and running it again
    // finishes the job (links and namespaces already gone are not errors).
    await this.#step('unpublish');
    for (const ep of sb.endpoints) await this.#unpublish(ep);
    await this.#step('unlink');
    // Its /etc files go on a pool thread while the kernel deletes the links: removing them takes
    // a millisecond on some disks, and a sandbox found again without them gets them back.
    const etcGone = sb.ownsNetns ? removeSandboxEtc(sb.netns) : undefined;
    etcGone?.catch(() => undefined);
    // A macvlan/ipvlan or overlay endpoint's link goes with the namespace.
    for (const ep of sb.endpoints) if (ep.hostIf !== '') await reapLink(this.nl, ep.hostIf);
    if (sb.ownsNetns) {
      await this.#step('unnetns');
      await deleteNetns(sb.netns);
      await etcGone;
      unmarkNetns(sb.netns);
    }
    if (etcd !== undefined) {
      await this.#step('unglobal');
      await releaseOverlays(etcd, global);
    }
    await this.#step('release');
    await this.store.update(async (raw) => {
      const tx = recordsIn(raw);
      const now = await sandboxIn(tx, name);
      for (const ep of now.endpoints) await releaseEndpoint(tx, ep, name);
      tx.sandboxes.delete(name);
      await dropUnusedOverlays(this.#overlayHost(), tx, global.map((e) => e.network));
    });
  }

  /** `docker network connect [--ip IP] [--alias NAME]... NETWORK SANDBOX`; an overlay network brings docker_gwbridge along when the sandbox has no default route yet. */
  async connect(network: string, sandbox: string, opts: ConnectOptions = {}): Promise<EndpointRecord> {
    this.#writable();
    checkName('network', network);
    checkName('sandbox', sandbox);
    const aliases = checkAliases('aliases', opts.aliases);
    if (network === DEFAULT_NETWORK) defaultBridgeOnly({ ...opts, aliases });
    const undo: Undo = [];
    try {
      let overlay: (OverlayReservation & { etcd: EtcdStore }) | undefined;
      let gw: typeof GWBRIDGE | undefined;
      if (await this.#isGlobal(network)) {
        if (opts.ip6 !== undefined) throw new ValidationError('ip6', opts.ip6, 'overlay networks have no IPv6');
        const sb = await this.inspectSandbox(sandbox);
        if (!sb.ownsNetns || sb.mode === 'none') throw new ConflictError('sandbox', sandbox, `a sandbox in network mode ${sb.mode} cannot be connected to networks`);
        if (sb.endpoints.some((e) => e.network === network)) throw new ConflictError('endpoint', `${sandbox} on ${network}`, `endpoint with name ${sandbox} already exists in network ${network}`);
        overlay = await this.#reserveOverlay(sb, network, { ...(opts.ip === undefined ? {} : { ip: opts.ip }), aliases }, undo);
        // Read outside the transaction, to know whether docker_gwbridge must exist before it.
        if (!overlay.network.internal && (await gatewayIn(await this.store.snapshot(), sb)) === undefined) gw = GWBRIDGE;
      }
      const predefined = overlay === undefined ? (network === DEFAULT_NETWORK ? DEFAULT_NETWORK : undefined) : gw;
      if (predefined !== undefined && (await this.#ensurePredefined(predefined))) undo.push(() => this.#dropPredefinedIfUnused(predefined));
      await this.#step('allocate');
      const {
        value: { sb, joined },
        written,
      } = await this.store.decide(async (raw) => {
        const tx = recordsIn(raw);
        const s = await sandboxIn(tx, sandbox);
        if (!s.ownsNetns || s.mode === 'none') throw new ConflictError('sandbox', sandbox, `a sandbox in network mode ${s.mode} cannot be connected to networks`);
        const eps: [EndpointRecord, NetworkRecord, boolean][] = [];
        if (overlay !== undefined) {
          if (s.endpoints.some((e) => e.network === network)) throw new ConflictError('endpoint', `${sandbox} on ${network}`, `endpoint with name ${sandbox} already exists in network ${network}`);
          await keepCopy(tx, overlay.network);
          const ep = { ...overlay.endpoint, ifname: nextIfname(s.endpoints) };
          s.endpoints.push(ep);
          eps.push([ep, overlay.network, false]);
        }
        const local = overlay === undefined ? network : gw;
        if (local !== undefined) {
          const [ep, n] = await reserveEndpoint(tx, s, local, overlay !== undefined ? { aliases: [] } : { ...(opts.ip === undefined ? {} : { ip: opts.ip }), ...(opts.ip6 === undefined ? {} : { ip6: opts.ip6 }), aliases });
          // The default route comes from this endpoint if none before it is on a non-internal network.
          eps.push([ep, n, (await gatewayIn(tx, s)) === ep]);
        }
        tx.sandboxes.put(s);
        return { sb: s, joined: eps };
      });
      undo.push(() => this.#release(sandbox, joined, false));
      written.catch(() => undefined);
      await allOf(joined.map(([ep, net, first]) => this.#attach(sb.netns, ep, net, undo, overlay?.etcd, first)));
      await written;
      await this.#step('finish');
      return joined[0]![0];
    } catch (e) {
      await rollback(undo);
      throw e;
    }
  }

  /** `docker network disconnect NETWORK SANDBOX`; the last overlay endpoint takes the docker_gwbridge one along. */
  async disconnect(network: string, sandbox: string): Promise<void> {
    this.#writable();
    checkName('network', network);
    const sb = await this.inspectSandbox(sandbox);
    const ep = sb.endpoints.find((e) => e.network === network);
    if (ep === undefined) throw new NotFoundError('endpoint', `${sandbox} on ${network}`);
    const etcd = isOverlayEndpoint(ep) ? await reachableClusterStore(this.#overlayHost()) : undefined;
    // The ports and the veth go first (its peer with it); a retry after a failed store update
    // finds them gone.
    await this.#step('unpublish');
    await this.#unpublish(ep);
    await this.#step('unlink');
    await unplumb(this.nl, sb.netns, ep);
    if (etcd !== undefined) {
      await this.#step('unglobal');
      await releaseOverlays(etcd, [ep]);
    }
    await this.#step('release');
    const next = await this.store.update(async (raw) => {
      const tx = recordsIn(raw);
      const was = await tx.sandboxes.get(sandbox);
      const before = was === undefined ? undefined : await gatewayIn(tx, await sandboxIn(tx, sandbox));
      await releaseEndpoint(tx, ep, sandbox);
      await dropUnusedOverlays(this.#overlayHost(), tx, etcd === undefined ? [] : [network]);
      // The default route went with the gateway endpoint's link: the next candidate takes it
      // over, as Docker's sandbox moves its gateway when that endpoint leaves (updateGateway).
      if (before === undefined || before.endpointId !== ep.endpointId) return undefined;
      const after = await gatewayIn(tx, await sandboxIn(tx, sandbox));
      return after === undefined ? undefined : { ep: after, net: await networkIn(tx, after.network) };
    });
    if (next !== undefined) await routeDefault(sb.netns, next.ep, next.net);
    const left = await this.inspectSandbox(sandbox);
    if (etcd !== undefined && !left.endpoints.some(isOverlayEndpoint) && left.endpoints.some((e) => e.network === GWBRIDGE)) await this.disconnect(GWBRIDGE, sandbox);
  }

  /** `docker port SANDBOX`: the published ports of its endpoints (none in host mode), every host address spelled out (`80/tcp -> 0.0.0.0:32768`). */
  async listPorts(sandbox: string): Promise<Required<PublishedPort>[]> {
    const sb = await this.inspectSandbox(sandbox);
    return sb.endpoints.flatMap((e) => (e.ports ?? []).map((p) => ({ containerPort: p.containerPort, protocol: p.protocol, hostIp: p.hostIp ?? '0.0.0.0', hostPort: p.hostPort })));
  }

  /**
   * `docker network prune`: removes every network of this host without endpoints, except the
   * predefined `bridge` and docker_gwbridge, and returns their names. A network someone connects
   * to meanwhile is kept. Overlay networks are the cluster's: `network rm` removes them.
   */
  async prune(): Promise<string[]> {
    this.#writable();
    const used = new Set((await this.#records.sandboxes.list()).flatMap((s) => s.endpoints.map((ep) => ep.network)));
    const removed: string[] = [];
    for (const n of await this.listNetworks({ scope: 'local' })) {
      if (n.name === DEFAULT_NETWORK || n.name === GWBRIDGE || used.has(n.name)) continue;
      // removeNetwork checks for endpoints again in its own transaction.
      try {
        await this.removeNetwork(n.name);
        removed.push(n.name);
      } catch (e) {
        if (!(e instanceof ConflictError || e instanceof NotFoundError)) throw e;
      }
    }
    return removed;
  }

  /**
   * Creates a predefined network if it does not exist: Docker's default network (`bridge` on
   * nlnet0, the first free pool) or docker_gwbridge (icc off, masquerade, the next free pool).
   * Callers in this process share one creation; another process creating it at the same time
   * makes ours fail with ConflictError, which is fine: it exists. Returns whether this call made it.
   */
  async #ensurePredefined(name: typeof DEFAULT_NETWORK | typeof GWBRIDGE): Promise<boolean> {
    if (this.#exists.has(name)) return false;
    let made = false;
    for (let waited = 0; ; waited += 10) {
      const rec = await this.#records.networks.get(name);
      if (rec === undefined) {
        const first = !this.#creating.has(name);
        if (first) {
          const options = name === GWBRIDGE ? GWBRIDGE_OPTIONS : {};
          const creating = this.createNetwork({ name, options })
            .then(() => undefined, (e: unknown) => (e instanceof ConflictError && e.kind === 'network' && e.id === name ? undefined : Promise.reject(e)))
            .finally(() => this.#creating.delete(name));
          this.#creating.set(name, creating);
        }
        await this.#creating.get(name);
        made ||= first;
        continue;
      }
      if (rec.creating === undefined) break;
      // Another process is making it: wait for its bridge, unless that process died at it.
      if (!processAlive(rec.creating) || waited > 30_000) throw new ConflictError('network', name, `network ${name} was left half-made by process ${rec.creating.pid}: open the engine again to repair it`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.#exists.add(name);
    return made;
  }

  /**
   * Undoes the predefined network a failed create made for itself, as if the create never ran;
   * kept when any sandbox uses it by then (dropNetwork checks that in its own transaction).
   */
  async #dropPredefinedIfUnused(name: string): Promise<void> {
    try {
      await dropNetwork(this.#ctx(), this.store, name);
      this.#exists.delete(name);
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
    }
  }

  /**
   * Withdraws an endpoint's published ports (only those still pointing at it), through every
   * publisher: the record alone says it has ports, not whose.
   */
  async #unpublish(ep: EndpointRecord): Promise<void> {
    if (ep.ports !== undefined && ep.ports.length > 0) for (const p of publishers()) await p.unpublish(this.nl, ep);
  }

  /** The host ports published now (outside the store too), as 'tcp/8080' keys. */
  async #publishedKeys(): Promise<Set<string>> {
    const keys = new Set<string>();
    for (const p of publishers()) for (const k of await p.publishedKeys(this.nl)) keys.add(k);
    return keys;
  }

  /** What the drivers work with; with `etcd`, an overlay network made here gets its remote peers from it. */
  #ctx(etcd?: EtcdStore): DriverContext {
    return { nl: this.nl, owner: this.#owner, hostNetns: this.hostNetns, ...(etcd === undefined ? {} : { peersOf: (net: NetworkRecord) => remotePeers(etcd, this.#owner, net) }) };
  }

  /**
   * This host's underlay address and overlay MTU, resolved once per engine (four dumps of the
   * host namespace otherwise on each attach); a failure is not kept.
   */
  #underlay(): Promise<{ vtep: string; mtu: number }> {
    if (this.#underlayOnce === undefined) {
      const once = underlay(this.#overlayHost());
      this.#underlayOnce = once;
      once.catch(() => (this.#underlayOnce = undefined));
    }
    return this.#underlayOnce;
  }

  /** What the overlay code works with (overlay/host.ts). */
  #overlayHost(): OverlayHost {
    return { nl: this.nl, store: this.store, owner: this.#owner, hostNetns: this.hostNetns, cluster: this.cluster, advertise: this.advertise };
  }

  async #step(step: Step): Promise<void> {
    await this.faults?.beforeStep?.(step);
  }
}

/** An overlay endpoint, known from its record alone: its veth's other end is in the network's namespace. */
const isOverlayEndpoint = (ep: EndpointRecord): boolean => ep.peerIf !== undefined;

/**
 * Runs an overlay sandbox's endpoints at once (eth0 in the network's namespace, eth1 on
 * docker_gwbridge: different namespaces, nothing shared), waits for all, then fails with the
 * first error: nothing is undone while a step still runs.
 */
async function allOf(work: readonly Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
