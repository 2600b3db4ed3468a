// What the embedded DNS server answers, read from the store at each query, so a sandbox removed
// or disconnected stops resolving at once: on a user-defined bridge network, a sandbox's name and
// its endpoint's aliases resolve to its address on that network.
import type { FileStore } from './store/file.js';
import type { Json } from './store/types.js';
import type { NetworkRecord, SandboxRecord } from './sandbox.js';

/** Docker's predefined network has no embedded DNS: its containers get the host's resolvers. */
const DEFAULT_NETWORK = 'bridge';

/** Whether a network's sandboxes use the embedded DNS (Docker: user-defined networks only). */
export function hasEmbeddedDns(net: Pick<NetworkRecord, 'name' | 'driver'>): boolean {
  return net.driver === 'bridge' && net.name !== DEFAULT_NETWORK;
}

const canonical = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** The engine's side of lib/network/dns's DnsSource. */
export class StoreNames {
  constructor(private readonly store: FileStore) {}

  /** Each user-defined bridge network's gateway, where its sandboxes' resolv.conf points. */
  async listeners(): Promise<{ network: string; address: string }[]> {
    return (await this.#networks()).filter(hasEmbeddedDns).map((n) => ({ network: n.name, address: n.gateway }));
  }

  async lookup(network: string, name: string): Promise<{ ipv4: string[]; ipv6: string[] } | undefined> {
    const want = canonical(name);
    const ipv4: string[] = [];
    for (const sb of await this.#sandboxes()) {
      for (const ep of sb.endpoints) {
        if (ep.network !== network) continue;
        if (sb.name.toLowerCase() === want || (ep.aliases ?? []).some((a) => a.toLowerCase() === want)) ipv4.push(ep.ip);
      }
    }
    return ipv4.length === 0 ? undefined : { ipv4, ipv6: [] };
  }

  async reverse(network: string, address: string): Promise<string[]> {
    return (await this.#sandboxes()).filter((sb) => sb.endpoints.some((ep) => ep.network === network && ep.ip === address)).map((sb) => sb.name);
  }

  async #networks(): Promise<NetworkRecord[]> {
    return (await this.store.list<Json>('networks/')).map((e) => e.value as unknown as NetworkRecord);
  }

  async #sandboxes(): Promise<SandboxRecord[]> {
    return (await this.store.list<Json>('sandboxes/')).map((e) => e.value as unknown as SandboxRecord);
  }
}
