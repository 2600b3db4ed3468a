// The engine's embedded DNS, running: a DnsServer answering from the store (names.ts), which
// follows the networks as they come and go, whichever process changes them. Every commit appends
// to the store's journal (or renames a new snapshot in), so watching its directory sees every
// change; a slow timer also retries listeners that could not open yet.
import { watch, type FSWatcher } from 'node:fs';

import { DnsServer, type DnsListener, type DnsListenerFailure } from './index.js';
import { StoreNames } from '../model/names.js';
import type { FileStore } from '../store/file.js';

const RETRY_MS = 2000;
const DEBOUNCE_MS = 20;

export interface DnsServiceOptions {
  /** Where unknown names go ('ip', 'ip:port', '[v6]:port'); default: /etc/resolv.conf's nameservers. */
  upstream?: string[];
  /** The namespace the forwarded queries leave from; default: this process's own. */
  upstreamNetns?: string;
}

export class DnsService {
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;

  private constructor(
    private readonly server: DnsServer,
    private readonly onClose: () => void,
  ) {}

  /** See Engine.serveDns; `onClose` runs when the service is closed. */
  static async start(hostNetns: string, store: FileStore, opts: DnsServiceOptions, onClose: () => void): Promise<DnsService> {
    const server = await DnsServer.start({
      ...(hostNetns === '' ? {} : { hostNetns }),
      source: new StoreNames(store),
      ...(opts.upstream === undefined ? {} : { upstream: opts.upstream }),
      ...(opts.upstreamNetns === undefined ? {} : { upstreamNetns: opts.upstreamNetns }),
    });
    const service = new DnsService(server, onClose);
    service.#watcher = watch(store.dir, () => service.#soon());
    service.#watcher.on('error', () => undefined);
    service.#timer = setInterval(() => void service.sync().catch(() => undefined), RETRY_MS);
    // The service must not keep a process alive by itself (a CLI `run` exits when its command does).
    service.#timer.unref();
    return service;
  }

  /** Opens listeners for networks that appeared, closes those of networks that went. */
  sync(): Promise<void> {
    return this.server.sync();
  }

  /** The networks and addresses answered on now. */
  listening(): DnsListener[] {
    return this.server.listening();
  }

  /** Listeners that could not open (their address not there yet…), retried every 2 s. */
  failures(): DnsListenerFailure[] {
    return this.server.failures();
  }

  async close(): Promise<void> {
    this.onClose();
    this.#watcher?.close();
    clearInterval(this.#timer);
    clearTimeout(this.#debounce);
    await this.server.close();
  }

  #soon(): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.sync().catch(() => undefined), DEBOUNCE_MS);
  }
}
