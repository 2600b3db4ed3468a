// A netlink handle bound to one network namespace: `ip -n NS …` as an object.
import { native, type NativeHandle } from '../core/binding.js';
import { AddrApi } from './addr.js';
import { Batch } from './batch.js';
import { BridgeApi } from './bridge.js';
import { NETLINK_ROUTE } from '../core/constants.js';
import { NetlinkError } from '../core/errors.js';
import { subscribe, type EventOptions, type EventStream } from './events.js';
import { FdbApi } from './fdb.js';
import { LinkApi } from './link.js';
import { NeighApi } from './neigh.js';
import { NftApi } from '../nft/index.js';
import { open, type Netns, type NetnsTarget } from '../netns/namespace.js';
import { execOps, type AnyOp, type Runner } from '../core/op.js';
import { RouteApi } from './route.js';
import { Sysctl } from './sysctl.js';
import { uint } from '../core/validate.js';

export interface OpenOptions {
  /** The namespace to work in; the caller's own when omitted. */
  netns?: NetnsTarget;
  /**
   * How often a dump interrupted by concurrent changes (NLM_F_DUMP_INTR) is read again before
   * it fails with a DumpInterruptedError carrying what was read. Default 10.
   */
  dumpRetries?: number;
}

export class Netlink implements Runner {
  readonly link: LinkApi;
  readonly addr: AddrApi;
  readonly route: RouteApi;
  readonly neigh: NeighApi;
  readonly fdb: FdbApi;
  readonly bridge: BridgeApi;
  readonly sysctl: Sysctl;
  /** nf_tables in this namespace (its own netlink socket, opened on first use). */
  readonly nft: NftApi;
  #handle: NativeHandle | undefined;
  #netns: Netns | undefined;
  readonly #ownsNetns: boolean;

  private constructor(handle: NativeHandle, netns: Netns | undefined, ownsNetns: boolean) {
    this.#handle = handle;
    this.#netns = netns;
    this.#ownsNetns = ownsNetns;
    this.link = new LinkApi(this);
    this.addr = new AddrApi(this);
    this.route = new RouteApi(this);
    this.neigh = new NeighApi(this);
    this.fdb = new FdbApi(this);
    this.bridge = new BridgeApi(this);
    this.sysctl = new Sysctl(() => this.#nsfd());
    this.nft = new NftApi(() => this.#nsfd());
  }

  /** Opens a handle in a namespace (`ip -n NAME`), or in the caller's own. */
  static async open(options: OpenOptions = {}): Promise<Netlink> {
    const retries = options.dumpRetries === undefined ? 10 : uint('dumpRetries', options.dumpRetries, 0, 1000);
    if (options.netns === undefined) return new Netlink(new native.Handle(-1, NETLINK_ROUTE, retries), undefined, false);
    const ns = await open(options.netns);
    try {
      return new Netlink(new native.Handle(ns.fd, NETLINK_ROUTE, retries), ns, ns !== options.netns);
    } catch (e) {
      if (ns !== options.netns) ns.close();
      throw e;
    }
  }

  /** The namespace this handle works in; undefined for the caller's own. */
  get netns(): Netns | undefined {
    return this.#netns;
  }

  #nsfd(): number {
    if (!this.#handle) throw new NetlinkError({ errno: 9, code: 'EBADF', op: 'netlink', message: 'handle is closed' });
    return this.#netns?.fd ?? -1;
  }

  /** @internal The native handle, for a job's parts (job.ts). */
  get nativeHandle(): NativeHandle {
    this.#nsfd();
    return this.#handle!;
  }

  /** Runs one operation. */
  async run<T>(op: AnyOp<T>): Promise<T> {
    const [result] = await this.runAll([op as AnyOp<unknown>]);
    return result as T;
  }

  /** Runs operations in order in one native call; stops at the first failure. */
  async runAll(ops: AnyOp<unknown>[]): Promise<unknown[]> {
    this.#nsfd();
    return execOps(this.#handle!, ops);
  }

  /**
   * Builds a batch and runs it in one native call (one trip to a worker thread). Resolves to
   * each step's result; on failure the NetlinkError's `step` says which step, and the steps
   * before it stay done (undo is the caller's, who knows what they meant).
   */
  async batch(build: (b: Batch) => void): Promise<unknown[]> {
    const b = new Batch();
    build(b);
    return this.runAll(b.ops);
  }

  /** `ip monitor link address route neigh`: changes in this namespace from now on. */
  events(options?: EventOptions): Promise<EventStream> {
    return subscribe(this.#nsfd(), options);
  }

  /** Closes the sockets (and the namespace, if this handle opened it). */
  close(): void {
    this.#handle?.close();
    this.#handle = undefined;
    this.nft.close();
    if (this.#ownsNetns) this.#netns?.close();
  }
}
