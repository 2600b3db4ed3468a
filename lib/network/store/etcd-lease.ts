// A host's presence in the cluster: `hosts/<id>` put under an etcd lease, as flannel keeps its
// subnet leases. While the process lives it renews the lease every ttl/3; when it dies, etcd
// deletes the key once the ttl has run out, and every watcher of hosts/ sees the host go.
//
// Renewal is one LeaseKeepAlive exchange on a fresh stream each time, with a deadline, not
// etcd3's long-lived keep-alive stream: that one reports a lost lease only after 2 × ttl without
// an answer, a whole ttl after etcd has dropped the key (microsoft/etcd3#110, #186), and a stream
// held for hours is what breaks with RST_STREAM (#153). An answer with TTL 0 means etcd no longer
// knows the lease (it expired while etcd was out of reach, or someone revoked it): the host then
// registers again, with a new lease and the same `since`.
import { ValidationError } from '../../core/errors.js';
import type { EtcdConnection } from './etcd-client.js';

/** A live host, as `hosts()` lists it. */
export interface HostInfo {
  id: string;
  /** Its underlay address, where peers send VXLAN. */
  address: string;
  /** When it first registered, ISO 8601. */
  since: string;
}

export interface HostRegistration {
  readonly id: string;
  /** The etcd lease the key lives under now (it changes when the host registers again). */
  readonly leaseId: string;
  /** How many times the lease was found lost and the host registered again. */
  readonly reregistrations: number;
  /** Stops renewing and revokes the lease: the host is gone at once, not after its ttl. */
  close(): Promise<void>;
}

export interface RegisterHostOptions {
  /** The host's name in the cluster: one key segment (no '/'). */
  id: string;
  address: string;
  /** The lease's ttl, whole seconds (etcd raises anything under its minimum, about 2 s). */
  ttlSeconds: number;
}

export function checkHost(opts: RegisterHostOptions): void {
  if (typeof opts !== 'object' || opts === null) throw new ValidationError('host', opts, 'must be { id, address, ttlSeconds }');
  if (typeof opts.id !== 'string' || !/^[^/\0-\x1f]+$/.test(opts.id)) throw new ValidationError('id', opts.id, "must be a non-empty name without '/' or control characters");
  if (typeof opts.address !== 'string' || opts.address === '') throw new ValidationError('address', opts.address, 'must be a non-empty address');
  if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds < 1) throw new ValidationError('ttlSeconds', opts.ttlSeconds, 'must be a whole number of seconds, at least 1');
}

export class HostLease implements HostRegistration {
  leaseId = '0';
  reregistrations = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #info: HostInfo;

  private constructor(private readonly conn: EtcdConnection, private readonly ttl: number, info: HostInfo, private readonly onClose: () => void) {
    this.#info = info;
  }

  get id(): string {
    return this.#info.id;
  }

  /** Registers the host (failing like any store call if etcd cannot be reached), then renews. */
  static async register(conn: EtcdConnection, opts: RegisterHostOptions, onClose: () => void): Promise<HostLease> {
    const lease = new HostLease(conn, opts.ttlSeconds, { id: opts.id, address: opts.address, since: new Date().toISOString() }, onClose);
    await lease.#grantAndPut(false);
    lease.#schedule();
    return lease;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.onClose();
    try {
      await this.conn.call('read', (options) => this.conn.client.leaseClient.leaseRevoke({ ID: this.leaseId }, options));
    } catch {
      // Unreachable (or already gone): the lease then expires on its own within its ttl.
    }
  }

  /** A new lease and the key under it; `again` when an earlier lease was lost. */
  async #grantAndPut(again: boolean): Promise<void> {
    const { ID } = await this.conn.call('commit', (options) => this.conn.client.leaseClient.leaseGrant({ TTL: this.ttl }, options));
    if (this.#closed) {
      // close() ran while this renewal re-registered: it revoked the old lease, not this one.
      await this.conn.call('read', (options) => this.conn.client.leaseClient.leaseRevoke({ ID }, options));
      return;
    }
    // Set before the key appears, so that whoever sees the new key sees the new lease too.
    this.leaseId = ID;
    if (again) this.reregistrations++;
    // A put under a lease is idempotent: sending it twice writes the same key and value.
    await this.conn.call('read', (options) =>
      this.conn.client.kv.put({ key: this.conn.key(`hosts/${this.#info.id}`), value: Buffer.from(JSON.stringify(this.#info)), lease: ID }, options),
    );
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#renew(), (this.ttl * 1000) / 3);
  }

  async #renew(): Promise<void> {
    try {
      if ((await this.#keepAliveOnce()) === '0') {
        await this.#grantAndPut(true);
      }
    } catch {
      // etcd out of reach: try again at the next tick. If that outlasts the ttl, etcd has dropped
      // the lease, and the first answer after it (TTL 0) makes the host register again.
    }
    this.#schedule();
  }

  /** One keep-alive exchange: the TTL etcd answers ('0': it does not know the lease any more). */
  async #keepAliveOnce(): Promise<string> {
    const stream = await this.conn.client.leaseClient.leaseKeepAlive({ deadline: Date.now() + this.conn.timeoutMs });
    try {
      return await new Promise<string>((resolve, reject) => {
        stream.on('data', (res) => resolve(res.TTL));
        stream.on('error', reject);
        stream.on('end', () => reject(this.conn.unreachable()));
        stream.write({ ID: this.leaseId });
      });
    } finally {
      stream.end();
    }
  }
}
