// A real etcd for the store tests: one member on 127.0.0.1, client and peer URLs on free ports,
// its data in a fresh temp dir. It can be stopped, restarted on the same ports and data, and
// killed with SIGKILL; only the pid this helper started is ever signalled.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, openSync, closeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface TestEtcd {
  /** `127.0.0.1:<client port>`. */
  endpoint: string;
  dir: string;
  /** The running etcd's pid (changes on restart); undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL, at once. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data dir (stopping it first if it runs). */
  restart(): Promise<void>;
  /** Stops it and removes its data dir. */
  remove(): Promise<void>;
}

const onPath = (cmd: string): string | undefined => {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir || '.', cmd), constants.X_OK);
      return join(dir || '.', cmd);
    } catch {
      // not in this one
    }
  }
  return undefined;
};

/**
 * The etcd binary, installed from Debian's etcd-server as root if missing (as
 * test/tools/oracles.mjs does for `npm test`); undefined only if neither worked.
 */
export function findEtcd(): string | undefined {
  const found = onPath('etcd');
  if (found !== undefined || process.getuid?.() !== 0 || onPath('apt-get') === undefined || process.env.NLNET_NO_INSTALL === '1') return found;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]): boolean => spawnSync('apt-get', args, { stdio: 'ignore', env }).status === 0;
  if (apt(['install', '-y', '-qq', '--no-install-recommends', 'etcd-server']) || (apt(['update', '-qq']) && apt(['install', '-y', '-qq', '--no-install-recommends', 'etcd-server']))) return onPath('etcd');
  return undefined;
}

export const ETCD = findEtcd();
export const ETCD_SKIP_REASON = 'etcd store tests need etcd: it is not on PATH and could not be installed (apt-get install etcd-server, as root)';
if (ETCD === undefined) console.warn(`skipped: ${ETCD_SKIP_REASON}`);

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startEtcd(): Promise<TestEtcd> {
  if (ETCD === undefined) throw new Error(ETCD_SKIP_REASON);
  const [client, peer] = [await freePort(), await freePort()];
  const dir = await mkdtemp(join(tmpdir(), 'nlnet-etcd-'));
  const endpoint = `127.0.0.1:${client}`;
  const args = [
    '--name', 'nlnet-test',
    '--data-dir', join(dir, 'data'),
    '--listen-client-urls', `http://${endpoint}`,
    '--advertise-client-urls', `http://${endpoint}`,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `nlnet-test=http://127.0.0.1:${peer}`,
    '--logger', 'zap', '--log-level', 'error', '--log-outputs', join(dir, 'etcd.log'),
  ];
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const log = openSync(join(dir, 'stderr.log'), 'a');
    const started = spawn(ETCD, args, { stdio: ['ignore', 'ignore', log] });
    closeSync(log);
    child = started;
    const exited = new Promise<never>((_, reject) => started.once('exit', (code, sig) => reject(new Error(`etcd exited (${code ?? sig}) before it was healthy; see ${dir}/stderr.log`))));
    exited.catch(() => undefined);
    await Promise.race([waitHealthy(endpoint, 20_000), exited]);
  };

  const signal = async (sig: NodeJS.Signals, graceMs: number): Promise<void> => {
    const running = child;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) {
      child = undefined;
      return;
    }
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(sig);
    const timer = setTimeout(() => running.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    child = undefined;
  };

  const etcd: TestEtcd = {
    endpoint,
    dir,
    get pid() {
      return child?.pid;
    },
    stop: (graceMs = 5_000) => signal('SIGTERM', graceMs),
    kill: () => signal('SIGKILL', 0),
    restart: async () => {
      await signal('SIGTERM', 5_000);
      await launch();
    },
    remove: async () => {
      await signal('SIGTERM', 5_000);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await launch();
  } catch (err) {
    await etcd.remove();
    throw err;
  }
  return etcd;
}

/** Polls etcd's /health until it says true (a fresh member has elected itself leader). */
async function waitHealthy(endpoint: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(`http://${endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
      if (((await res.json()) as { health?: string }).health === 'true') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`etcd at ${endpoint} not healthy after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
