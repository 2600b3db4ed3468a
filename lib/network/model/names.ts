// What the embedded DNS server answers, read from the store at each query, so a sandbox removed
// or disconnected stops resolving at once: on a user-defined bridge network, a sandbox's name and
// its endpoint's aliases resolve to its address on that network.
import { driverFor } from '../drivers/driver.js';
import type { FileStore } from '../store/file.js';
import { recordsOf, type RecordReader } from './collections.js';
import type { NetworkRecord, SandboxRecord } from './sandbox.js';

/** Whether a network's sandboxes use the embedded DNS (Docker: user-defined networks only). */
export function hasEmbeddedDns(net: Pick<NetworkRecord, 'name' | 'driver'>): boolean {
  return driverFor(net.driver).embeddedDns(net);
}

/** The engine's side of lib/network/dns's DnsSource. */
export class StoreNames {
  readonly #records: RecordReader;

  constructor(store: FileStore) {
    this.#records = recordsOf(store);
  }

  /**
   * Each user-defined bridge network's gateway, where its sandboxes' resolv.conf points. An
   * overlay network's gateway is inside its own namespace: overlay/agent.ts answers there.
   */
  async listeners(): Promise<{ network: string; address: string }[]> {
    return (await this.#networks()).filter((n) => hasEmbeddedDns(n) && driverFor(n.driver).scope !== 'global').map((n) => ({ network: n.name, address: n.gateway }));
  }

  /** `name` comes lower-cased, without a trailing dot (the DnsSource contract); records may not be. */
  async lookup(network: string, name: string): Promise<{ ipv4: string[]; ipv6: string[] } | undefined> {
    const ipv4: string[] = [];
    const ipv6: string[] = [];
    for (const sb of await this.#sandboxes()) {
      for (const ep of sb.endpoints) {
        if (ep.network !== network) continue;
        if (sb.name.toLowerCase() !== name && !(ep.aliases ?? []).some((a) => a.toLowerCase() === name)) continue;
        ipv4.push(ep.ip);
        if (ep.ip6 !== undefined) ipv6.push(ep.ip6);
      }
    }
    return ipv4.length === 0 ? undefined : { ipv4, ipv6 };
  }

  async reverse(network: string, address: string): Promise<string[]> {
    return (await this.#sandboxes()).filter((sb) => sb.endpoints.some((ep) => ep.network === network && (ep.ip === address || ep.ip6 === address))).map((sb) => sb.name);
  }

  // Read at every query: not copied, only looked at.
  async #networks(): Promise<readonly NetworkRecord[]> {
    return this.#records.networks.list({ readonly: true });
  }

  async #sandboxes(): Promise<readonly SandboxRecord[]> {
    return this.#records.sandboxes.list({ readonly: true });
  }
}
