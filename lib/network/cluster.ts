// The store shared by many hosts: etcd (`Engine.open({ store: 'etcd://…' })`, the CLI's
// `--cluster-store`, Docker's old daemon flag). As in Docker, only what is global lives there: the
// hosts of the cluster (each under a lease, store/etcd-lease.ts) and, with the overlay driver,
// global-scope networks and their addresses. Networks of the local drivers (bridge, macvlan,
// ipvlan) and their endpoints stay in the host's own file store, so they keep working while etcd
// is down.
//
// Hence etcd is opened on first use, not by Engine.open: a down etcd fails what needs it, with
// one line (`etcd at 10.0.0.5:2379: unreachable after 5 s`), and nothing else. The etcd client
// (etcd3 on grpc-js, ~160 ms to load) is loaded then too, so a host without a cluster never pays
// for it.
import { isIP } from 'node:net';

import { ValidationError } from '../core/errors.js';
import type { Netlink } from '../rtnl/netlink.js';
import { parseClusterStore } from './store/cluster-url.js';
import type { EtcdStore } from './store/etcd.js';
import type { HostInfo } from './store/etcd-lease.js';

/** How long a host stays listed after its last renewal, seconds: Docker's discovery TTL was 60 s. */
export const DEFAULT_HOST_TTL = 20;

/** How long a call to etcd waits before it fails as unreachable, ms. */
export const DEFAULT_CLUSTER_TIMEOUT_MS = 5000;

export class Cluster {
  /** The endpoints, `host:port`, as errors name them. */
  readonly endpoints: string[];
  #store: Promise<EtcdStore> | undefined;

  /** `url` as `--cluster-store` takes it; a bad one is a ValidationError here. */
  constructor(
    readonly url: string,
    readonly timeoutMs = DEFAULT_CLUSTER_TIMEOUT_MS,
  ) {
    this.endpoints = parseClusterStore(url).endpoints;
  }

  /** etcd, connected on first use; if it cannot be reached, this call fails and the next tries again. */
  store(): Promise<EtcdStore> {
    if (this.#store === undefined) {
      const opening = import('./store/etcd.js').then(({ EtcdStore }) => EtcdStore.open({ endpoints: this.endpoints, timeoutMs: this.timeoutMs }));
      this.#store = opening;
      opening.catch(() => {
        if (this.#store === opening) this.#store = undefined;
      });
    }
    return this.#store;
  }

  /** The hosts whose leases are alive. */
  async hosts(): Promise<HostInfo[]> {
    return (await this.store()).hosts();
  }

  /** Closes the connection, if one was opened: watches end, host leases are revoked. */
  async close(): Promise<void> {
    const opening = this.#store;
    this.#store = undefined;
    if (opening === undefined) return;
    let store: EtcdStore;
    try {
      store = await opening;
    } catch {
      return; // never connected: nothing to close
    }
    await store.close();
  }
}

/**
 * `--cluster-advertise`: this host's underlay address, where the other hosts reach it. An IPv4
 * address as it is, or an interface of the host namespace, whose first IPv4 address it takes (as
 * dockerd did). IPv6 underlays are not supported.
 */
export async function advertiseAddress(nl: Netlink, value: string): Promise<string> {
  if (typeof value !== 'string' || value === '') throw new ValidationError('cluster-advertise', value, 'must be an IPv4 address or an interface name');
  if (isIP(value) === 4) return value;
  if (isIP(value) === 6) throw new ValidationError('cluster-advertise', value, 'an IPv6 underlay is not supported: give an IPv4 address or an interface that has one');
  if (!(await nl.link.list()).some((l) => l.name === value)) throw new ValidationError('cluster-advertise', value, 'is neither an IPv4 address nor an interface of the host namespace');
  const addr = (await nl.addr.list({ dev: value, family: 'inet' }))[0];
  if (addr === undefined) throw new ValidationError('cluster-advertise', value, `interface ${value} has no IPv4 address`);
  return addr.address.split('/')[0]!;
}
