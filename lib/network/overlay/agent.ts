// A host's running part of the overlay networks (dockerd's with a cluster store; `nlnet daemon`
// runs it): for every overlay network this host has endpoints on, vxlan0 holds an FDB and a
// neighbour entry for each endpoint on another host whose lease is alive, and a name server on
// the network's gateway, inside the network's namespace, answers for every host's containers.
//
// What it programs follows etcd's watches of `endpoints/` and `hosts/` (a container leaving, a
// host's lease expiring) and the host's own store (a network's namespace made or removed here by
// any nlnet process), coalesced into one pass at a time. The first pass compares vxlan0 with etcd,
// so a restarted daemon removes what went stale while it was down; later passes change only what
// changed since the last.
import { watch, type FSWatcher } from 'node:fs';

import { netns } from '../../netns/namespace.js';
import { DnsServer } from '../dns/index.js';
import type { DnsSource } from '../dns/types.js';
import { overlaySpec } from '../drivers/overlay.js';
import { recordsOf } from '../model/collections.js';
import type { NetworkRecord } from '../model/sandbox.js';
import type { EtcdStore } from '../store/etcd.js';
import type { StoreWatch, WatchEvent } from '../store/etcd-watch.js';
import type { StoreEntry } from '../store/types.js';
import { peerDiff, programmedPeers, programPeers, type Peer } from './devices.js';
import { peerOf, releaseOrphans, type OverlayHost } from './host.js';
import { asGlobalEndpoint, endpointKey, type GlobalEndpoint } from './records.js';

/** Also retried this often: a name server whose address was not up yet, a failed programming. */
const RETRY_MS = 2000;
/**
 * A host's copy of a network is committed before its namespace is made (engine.ts): while one is
 * waiting for its namespace or its name server, passes run this often, for at most PENDING_MS.
 */
const PENDING_RETRY_MS = 20;
/**
 * A pass reads each vxlan0 from the kernel again at least this often, so an entry changed by
 * hand (or by anything but this agent) is repaired while the daemon runs, not only at its start.
 */
const KERNEL_RESYNC_MS = 30_000;
const PENDING_MS = 10_000;

export interface OverlayAgentOptions {
  /** Where the overlay networks' name servers send names they do not know; default the host's /etc/resolv.conf. */
  upstream?: string[];
}

/** One overlay network this host has a namespace of. */
interface Local {
  net: NetworkRecord;
  netns: string;
}

export class OverlayAgent {
  /** Every overlay endpoint of the cluster, by its etcd document key. */
  readonly #endpoints = new Map<string, GlobalEndpoint>();
  /** The ids of the hosts whose leases are alive. */
  readonly #hosts = new Set<string>();
  /** What vxlan0 of each local network holds now, by network name. */
  readonly #programmed = new Map<string, Peer[]>();
  readonly #dns = new Map<string, DnsServer>();
  readonly #watches: StoreWatch[] = [];
  #files: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> | undefined;
  /** When the passes last compared with the kernel instead of with what they programmed. */
  #kernelRead = 0;
  /** Networks with a copy here but no namespace or name server yet, since when (ms). */
  readonly #pending = new Map<string, number>();
  #again = false;
  /** Until the first pass: what start() reads needs no pass of its own. */
  #starting = true;
  #closed = false;
  /** The last pass's error, if it failed (retried every RETRY_MS). */
  lastError: unknown;

  private constructor(
    private readonly host: OverlayHost & { etcd: EtcdStore },
    private readonly opts: OverlayAgentOptions,
    private readonly onClose: () => void,
  ) {}

  /** See Engine.serveOverlay. Resolves once the first pass has programmed every local network. */
  static async start(host: OverlayHost & { etcd: EtcdStore }, opts: OverlayAgentOptions, onClose: () => void): Promise<OverlayAgent> {
    const agent = new OverlayAgent(host, opts, onClose);
    try {
      const snap = await host.etcd.snapshot();
      const [hosts, endpoints] = await Promise.all([snap.list('hosts/'), snap.list('endpoints/')]);
      for (const e of hosts) agent.#host({ type: 'put', key: e.key, value: e.value, revision: 0 });
      for (const e of endpoints) agent.#endpoint({ type: 'put', key: e.key, value: e.value, revision: 0 });
      // What an attach killed half-way left reserved for this host goes first (host.ts).
      for (const gone of await releaseOrphans(host, host.etcd, [...agent.#endpoints.values()])) agent.#endpoints.delete(endpointKey(gone.network, gone.endpointId));
      // The watches start at the snapshot's next revision, so they may be set up while the first
      // pass programs what the snapshot says: nothing between the two is missed.
      const from = Number(snap.revision) + 1;
      const onError = (err: unknown): void => void (agent.lastError = err);
      // A watch set up after a failed start closed the agent is closed at once.
      const keep = async (w: StoreWatch): Promise<void> => {
        if (agent.#closed) await w.close();
        else agent.#watches.push(w);
      };
      const watching = Promise.all([
        host.etcd.watch('hosts/', { fromRevision: from, onError }, (ev) => agent.#host(ev)).then(keep),
        host.etcd.watch('endpoints/', { fromRevision: from, onError }, (ev) => agent.#endpoint(ev)).then(keep),
      ]);
      agent.#files = watch(host.store.dir, () => agent.#soon());
      agent.#files.on('error', () => undefined);
      agent.#timer = setInterval(() => agent.#soon(), RETRY_MS);
      agent.#timer.unref();
      agent.#starting = false;
      const [first] = await Promise.allSettled([agent.sync(), watching]);
      await watching;
      if (first.status === 'rejected') throw first.reason;
    } catch (e) {
      await agent.close();
      throw e;
    }
    return agent;
  }

  /** Runs a pass now (after the one running, if any) and resolves when it is done. */
  async sync(): Promise<void> {
    while (this.#pass !== undefined) await this.#pass.catch(() => undefined);
    this.#pass = this.#run().finally(() => (this.#pass = undefined));
    await this.#pass;
  }

  /** What vxlan0 of `network` holds now, as far as this agent programmed it. */
  peers(network: string): Peer[] {
    return [...(this.#programmed.get(network) ?? [])];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.onClose();
    this.#files?.close();
    clearInterval(this.#timer);
    await Promise.all(this.#watches.splice(0).map((w) => w.close()));
    await this.#pass?.catch(() => undefined);
    await Promise.all([...this.#dns.values()].map((d) => d.close()));
    this.#dns.clear();
  }

  #host(ev: WatchEvent): void {
    applyEvent(ev, (k, v) => (v === undefined ? this.#hosts.delete(idOf(k)) : this.#hosts.add(idOf(k))), () => this.#hosts.clear());
    this.#soon();
  }

  #endpoint(ev: WatchEvent): void {
    applyEvent(ev, (k, v) => (v === undefined ? this.#endpoints.delete(k) : this.#endpoints.set(k, asGlobalEndpoint(v))), () => this.#endpoints.clear());
    this.#soon();
  }

  /** A pass soon: changes that arrive together (one etcd response, one commit) make one pass. */
  #soon(): void {
    if (this.#closed || this.#starting) return;
    if (this.#pass !== undefined) {
      this.#again = true;
      return;
    }
    this.#pass = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#run()).finally(() => {
      this.#pass = undefined;
      if (this.#again) {
        this.#again = false;
        this.#soon();
      }
    });
    this.#pass.catch(() => undefined);
  }

  async #run(): Promise<void> {
    if (this.#closed) return;
    const waiting = new Set<string>();
    try {
      if (Date.now() - this.#kernelRead >= KERNEL_RESYNC_MS) {
        this.#programmed.clear();
        this.#kernelRead = Date.now();
      }
      const copies = await this.#copies();
      for (const l of copies) if (!netns.mounted(l.netns)) waiting.add(l.net.name);
      const locals = copies.filter((l) => !waiting.has(l.net.name));
      // The name servers start while vxlan0s are programmed: neither needs the other.
      const [, failed] = await Promise.all([(async () => {
        for (const l of locals) await this.#program(l);
      })(), this.#serveDns(locals)]);
      for (const name of [...this.#programmed.keys()]) if (!locals.some((l) => l.net.name === name)) this.#programmed.delete(name);
      for (const name of failed) waiting.add(name);
      this.lastError = undefined;
    } catch (e) {
      this.lastError = e;
      throw e;
    } finally {
      this.#retryPending(waiting);
    }
  }

  /** Runs another pass shortly while a network made here just now is not ready yet. */
  #retryPending(waiting: ReadonlySet<string>): void {
    const now = Date.now();
    for (const name of [...this.#pending.keys()]) if (!waiting.has(name)) this.#pending.delete(name);
    for (const name of waiting) if (!this.#pending.has(name)) this.#pending.set(name, now);
    if ([...this.#pending.values()].some((since) => now - since < PENDING_MS)) setTimeout(() => this.#soon(), PENDING_RETRY_MS).unref();
  }

  /** The overlay networks this host keeps a copy of (it has or is making endpoints on them). */
  async #copies(): Promise<Local[]> {
    const nets = (await recordsOf(this.host.store).networks.list({ readonly: true })).filter((n) => n.driver === 'overlay');
    return nets.map((net) => ({ net, netns: overlaySpec(this.host, net).netns }));
  }

  /** Brings vxlan0 of one network to what etcd says: first from the kernel's own table, then from what was programmed. */
  async #program(l: Local): Promise<void> {
    const want = this.#remote(l.net.name).map(peerOf);
    const have = this.#programmed.get(l.net.name) ?? (await programmedPeers(l.netns));
    const { add, remove } = peerDiff(have, want);
    if (add.length > 0 || remove.length > 0) {
      // Unknown until it succeeds: the next pass reads the kernel again.
      this.#programmed.delete(l.net.name);
      await programPeers(l.netns, add, remove);
    }
    this.#programmed.set(l.net.name, want);
  }

  /** The endpoints of `network` on other hosts that are alive. */
  #remote(network: string): GlobalEndpoint[] {
    return [...this.#endpoints.values()].filter((e) => e.network === network && e.host !== this.host.owner && this.#hosts.has(e.host));
  }

  /** The endpoints of `network` that resolve: this host's and live hosts'. */
  #named(network: string): GlobalEndpoint[] {
    return [...this.#endpoints.values()].filter((e) => e.network === network && (e.host === this.host.owner || this.#hosts.has(e.host)));
  }

  /**
   * A name server per local network, on its gateway inside its namespace; those of networks gone
   * close. Returns the networks whose server could not start yet (retried).
   */
  async #serveDns(locals: readonly Local[]): Promise<string[]> {
    const failed: string[] = [];
    for (const [name, server] of this.#dns) {
      if (locals.some((l) => l.net.name === name)) continue;
      this.#dns.delete(name);
      await server.close();
    }
    for (const l of locals) {
      if (this.#dns.has(l.net.name)) continue;
      const server = await DnsServer.start({
        hostNetns: l.netns,
        source: this.#source(l.net),
        ...(this.host.hostNetns === '' ? {} : { upstreamNetns: this.host.hostNetns }),
        ...(this.opts.upstream === undefined ? {} : { upstream: this.opts.upstream }),
      }).catch(() => undefined);
      // The namespace is there but br0 may not have its address yet.
      if (server === undefined || server.failures().length > 0) {
        await server?.close();
        failed.push(l.net.name);
        continue;
      }
      this.#dns.set(l.net.name, server);
    }
    return failed;
  }

  #source(net: NetworkRecord): DnsSource {
    const matches = (e: GlobalEndpoint, name: string): boolean => e.sandbox.toLowerCase() === name || (e.aliases ?? []).some((a) => a.toLowerCase() === name);
    return {
      listeners: async () => [{ network: net.name, address: net.gateway }],
      lookup: async (network, name) => {
        const ipv4 = this.#named(network).filter((e) => matches(e, name)).map((e) => e.ip);
        return ipv4.length === 0 ? undefined : { ipv4, ipv6: [] };
      },
      reverse: async (network, address) => this.#named(network).filter((e) => e.ip === address).map((e) => e.sandbox),
    };
  }
}

/** `hosts/<id>` → id. */
const idOf = (key: string): string => key.slice(key.indexOf('/') + 1);

function applyEvent(ev: WatchEvent, set: (key: string, value: StoreEntry['value'] | undefined) => unknown, clear: () => void): void {
  switch (ev.type) {
    case 'put':
      set(ev.key, ev.value);
      break;
    case 'delete':
      set(ev.key, undefined);
      break;
    case 'resync':
      clear();
      for (const e of ev.entries) set(e.key, e.value);
      break;
    default:
      ev satisfies never;
  }
}
