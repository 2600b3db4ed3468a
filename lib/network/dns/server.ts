// The embedded name server of user-defined networks (dockerd's resolver at 127.0.0.11, here on
// each network's gateway address). One UDP endpoint and one TCP listener on port 53 per network,
// made inside the host namespace; never a wildcard address, so nothing answers on the host's
// other interfaces. What to answer is decided in answer.ts; this file only moves bytes.
import { readFile } from 'node:fs/promises';
import { isIP, type Server, type Socket } from 'node:net';

import { ValidationError } from '../../core/errors.js';
import { netns } from '../../netns/namespace.js';
import { listenTcp, openUdp, type UdpEndpoint, type UdpRemote } from '../../netns/socket.js';
import { uint } from '../../core/validate.js';
import { answerQuery, serverFailure } from './answer.js';
import { Forwarder } from './forward.js';
import { canonicalIPv6, parseResolvConf, parseUpstream, type Upstream } from './resolv-conf.js';
import { TcpConnection, type Slots } from './tcp.js';
import type { DnsListener, DnsServerOptions, DnsSource, Transport } from './types.js';

export const DNS_PORT = 53;
/**
 * Queries being answered at once, over all listeners: more UDP queries are dropped, as a busy
 * resolver does; more TCP queries wait, their connection no longer read.
 */
const MAX_IN_FLIGHT = 1024;
/**
 * TCP idle timeout: RFC 7766 §6.2.3 asks for one "of the order of seconds". 8 s is what Docker's
 * embedded resolver has (miekg/dns's default for TCP): long enough for a stub resolver that asks
 * A then AAAA over one connection, short enough that idle connections do not pile up.
 */
const DEFAULT_TCP_IDLE_MS = 8000;
/**
 * TCP connections per listener (BIND's tcp-clients default is 150): sandboxes ask over UDP and
 * come to TCP for truncated answers, so a hundred at once on one network is already a crowd.
 */
const DEFAULT_MAX_TCP_CONNECTIONS = 128;

interface OpenListener extends DnsListener {
  udp: UdpEndpoint;
  tcp: Server;
  connections: Set<TcpConnection>;
}

export interface DnsListenerFailure extends DnsListener {
  error: Error;
}

const canonical = (address: string): string => (isIP(address) === 6 ? canonicalIPv6(address) : address);
const keyOf = (l: DnsListener): string => `${l.network}\0${canonical(l.address)}`;

/** A network name and one concrete address: a wildcard would answer on every address of the host. */
function validListener(l: DnsListener | undefined): l is DnsListener {
  if (typeof l?.network !== 'string' || l.network === '' || typeof l.address !== 'string' || isIP(l.address) === 0 || l.address.includes('%')) return false;
  return l.address !== '0.0.0.0' && canonical(l.address) !== '::';
}

function checkSource(v: unknown): DnsSource {
  const s = v as Partial<DnsSource> | undefined;
  if (typeof s !== 'object' || s === null || typeof s.listeners !== 'function' || typeof s.lookup !== 'function' || typeof s.reverse !== 'function')
    throw new ValidationError('source', v, 'expected an object with listeners(), lookup() and reverse()');
  return s as DnsSource;
}

async function hostUpstreams(): Promise<Upstream[]> {
  const text = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  // A link-local resolver with a zone index names an interface of the host: not usable elsewhere.
  return parseResolvConf(text).nameservers.filter((n) => !n.includes('%')).map((n) => parseUpstream(n.includes(':') ? `[${n}]:53` : n));
}

export class DnsServer {
  readonly #listeners = new Map<string, OpenListener>();
  readonly #failures = new Map<string, DnsListenerFailure>();
  #syncing: Promise<void> = Promise.resolve();
  #inFlight = 0;
  /** TCP connections that found every slot taken, woken when one is free. */
  readonly #waiting = new Set<TcpConnection>();
  readonly #slots: Slots = {
    take: (waiter) => {
      if (this.#inFlight >= MAX_IN_FLIGHT) {
        this.#waiting.add(waiter);
        return false;
      }
      this.#inFlight++;
      return true;
    },
    release: () => this.#release(),
  };
  #closed = false;

  private constructor(
    private readonly source: DnsSource,
    private readonly hostNetns: string | undefined,
    private readonly forwarder: Forwarder,
    private readonly tcpIdleMs: number,
    private readonly maxTcp: number,
  ) {}

  /** Starts serving every network `source.listeners()` lists (like dockerd's embedded resolver). */
  static async start(opts: DnsServerOptions): Promise<DnsServer> {
    const source = checkSource(opts?.source);
    const timeout = opts.upstreamTimeoutMs === undefined ? 2000 : uint('upstreamTimeoutMs', opts.upstreamTimeoutMs, 1, 60_000);
    const idle = opts.tcpIdleTimeoutMs === undefined ? DEFAULT_TCP_IDLE_MS : uint('tcpIdleTimeoutMs', opts.tcpIdleTimeoutMs, 1, 3_600_000);
    const maxTcp = opts.maxTcpConnections === undefined ? DEFAULT_MAX_TCP_CONNECTIONS : uint('maxTcpConnections', opts.maxTcpConnections, 1, 65_535);
    if (opts.upstream !== undefined && !Array.isArray(opts.upstream)) throw new ValidationError('upstream', opts.upstream, "expected a list of 'ip', 'ip:port' or '[ipv6]:port'");
    const upstreams = opts.upstream === undefined ? await hostUpstreams() : opts.upstream.map(parseUpstream);
    // Unknown namespaces are refused here, not discovered later as a failure per listener.
    for (const ns of [opts.hostNetns, opts.upstreamNetns]) if (ns !== undefined) (await netns.open(ns)).close();
    let server: DnsServer | undefined;
    // A relay to one of our own listeners would come straight back: leave such upstreams out.
    const loops = (u: Upstream): boolean =>
      opts.upstreamNetns === opts.hostNetns && u.port === DNS_PORT && server !== undefined && server.listening().some((l) => canonical(l.address) === u.address);
    server = new DnsServer(source, opts.hostNetns, new Forwarder(upstreams, opts.upstreamNetns, timeout, loops), idle, maxTcp);
    await server.sync();
    return server;
  }

  /**
   * Opens listeners for new entries of source.listeners() and closes those no longer listed.
   * Working listeners stay as they are. A listener that cannot open (its address is not there
   * yet) does not stop the others: it is in failures() and is tried again at the next sync().
   */
  sync(): Promise<void> {
    const run = this.#syncing.then(() => this.#sync());
    this.#syncing = run.catch(() => undefined);
    return run;
  }

  /** The listeners that are open now. */
  listening(): DnsListener[] {
    return [...this.#listeners.values()].map(({ network, address }) => ({ network, address }));
  }

  /** The listeners the last sync() could not open, with why. */
  failures(): DnsListenerFailure[] {
    return [...this.#failures.values()];
  }

  /** Stops answering: closes every listener and connection, ends relays in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#syncing;
    this.forwarder.close();
    await Promise.all([...this.#listeners.values()].map((l) => closeListener(l)));
    this.#listeners.clear();
    this.#failures.clear();
  }

  async #sync(): Promise<void> {
    if (this.#closed) return;
    const wanted = new Map<string, DnsListener>();
    const invalid: DnsListenerFailure[] = [];
    for (const l of await this.source.listeners()) {
      if (validListener(l)) wanted.set(keyOf(l), { network: l.network, address: l.address });
      else {
        const bad = l as Partial<DnsListener> | undefined;
        invalid.push({ network: String(bad?.network), address: String(bad?.address), error: new ValidationError('listener', l, 'expected { network, address } with a unicast IP address') });
      }
    }
    for (const [key, l] of this.#listeners)
      if (!wanted.has(key)) {
        this.#listeners.delete(key);
        await closeListener(l);
      }
    this.#failures.clear();
    for (const f of invalid) this.#failures.set(`${f.network}\0${f.address}`, f);
    const opened = new Map<string, OpenListener>();
    await Promise.all(
      [...wanted].filter(([key]) => !this.#listeners.has(key)).map(async ([key, l]) => {
        try {
          opened.set(key, await this.#open(l));
        } catch (e) {
          this.#failures.set(key, { ...l, error: e as Error });
        }
      }),
    );
    // Keep the source's order, so that listening() reads like the list it came from.
    const kept = new Map(this.#listeners);
    this.#listeners.clear();
    for (const key of wanted.keys()) {
      const l = kept.get(key) ?? opened.get(key);
      if (l) this.#listeners.set(key, l);
    }
  }

  async #open(l: DnsListener): Promise<OpenListener> {
    const udp = await openUdp(this.hostNetns, l.address, DNS_PORT);
    let tcp: Server;
    try {
      tcp = await listenTcp(this.hostNetns, l.address, DNS_PORT);
    } catch (e) {
      udp.close();
      throw e;
    }
    const open: OpenListener = { ...l, udp, tcp, connections: new Set() };
    udp.on('message', (data, from) => void this.#onDatagram(open, data, from));
    tcp.on('connection', (socket) => this.#onConnection(open, socket));
    return open;
  }

  async #resolve(raw: Buffer, network: string, transport: Transport): Promise<Buffer | undefined> {
    const verdict = await answerQuery(raw, network, this.source, { forwarding: this.forwarder.enabled, transport });
    switch (verdict.action) {
      case 'drop':
        return undefined;
      case 'reply':
        return verdict.reply;
      case 'forward':
        return (await this.forwarder.relay(raw, verdict.query, transport)) ?? serverFailure(verdict.query, transport);
      default:
        return verdict satisfies never;
    }
  }

  async #onDatagram(l: OpenListener, data: Buffer, from: UdpRemote): Promise<void> {
    if (this.#inFlight >= MAX_IN_FLIGHT) return;
    this.#inFlight++;
    try {
      const out = await this.#resolve(data, l.network, 'udp');
      if (out && !l.udp.closed) l.udp.send(out, from.port, from.address);
    } catch {
      // A reply that cannot be sent (the client's port 0, a full buffer) is lost like any datagram.
    } finally {
      this.#release();
    }
  }

  #release(): void {
    this.#inFlight--;
    for (const c of this.#waiting) {
      if (this.#inFlight >= MAX_IN_FLIGHT) break;
      this.#waiting.delete(c);
      c.pump();
    }
  }

  /**
   * At the cap, a new connection takes the place of the one idle the longest; only when every
   * connection has a query in progress is the new one closed at once. Refusing new connections
   * while the old are merely idle would let anyone who opens `cap` connections and sends nothing
   * shut every other client out of TCP, which is where truncated UDP answers send them; closing
   * an idle connection costs its client one reconnect, and RFC 7766 §6.2.3 lets a server do it
   * whenever it is short of resources. Work in progress is never thrown away for a newcomer.
   */
  #onConnection(l: OpenListener, socket: Socket): void {
    if (l.connections.size >= this.maxTcp) {
      let victim: TcpConnection | undefined;
      for (const c of l.connections) if (c.idle && (victim === undefined || c.idleSince < victim.idleSince)) victim = c;
      if (!victim) {
        socket.destroy();
        return;
      }
      victim.close();
    }
    const c = new TcpConnection(socket, (m) => this.#resolve(m, l.network, 'tcp'), this.#slots, this.tcpIdleMs, (gone) => {
      l.connections.delete(gone);
      this.#waiting.delete(gone);
    });
    l.connections.add(c);
  }
}

async function closeListener(l: OpenListener): Promise<void> {
  l.udp.close();
  const closed = new Promise<void>((resolve) => l.tcp.close(() => resolve()));
  for (const c of l.connections) c.close();
  await closed;
}
