// `nlnet daemon`: holds the engine and serves the embedded DNS of the user-defined networks in
// the foreground until SIGTERM or SIGINT (fit for a systemd unit with Type=simple), then closes
// the name server and the engine before exiting 0.
import { EXIT, type Command } from './command.js';

const STOP = ['SIGTERM', 'SIGINT'] as const;

/** Resolves with the first of SIGTERM/SIGINT, and stops listening for both. */
export function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    const handlers = STOP.map((sig) => {
      const h = (): void => {
        for (const [s, x] of handlers) process.off(s, x);
        resolve(sig);
      };
      process.on(sig, h);
      return [sig, h] as const;
    });
  });
}

export const daemonCommand: Command = {
  name: 'daemon',
  state: 'create',
  usage: '',
  summary: "Serve the user-defined networks' DNS (and, in a cluster, the overlay networks' peers) in the foreground until SIGTERM or SIGINT",
  args: [],
  min: 0,
  max: 0,
  flags: [],
  notes:
    'Prints "nlnet daemon: ready" on stderr once it answers. The name server follows network\nchanges made meanwhile by other nlnet commands.\n\n' +
    'With --cluster-store and --cluster-advertise it also joins the cluster: this host is listed\nin etcd under a lease it renews, and drops out of every host\'s list once its daemon has\nstopped renewing for discovery.ttl seconds (--cluster-store-opt discovery.ttl=N, default 20).\n\n' +
    'In a cluster it also runs this host\'s part of the overlay networks: it programs the\nendpoints of the other hosts into each overlay network\'s vxlan0 as etcd reports them (and\nremoves those of a host whose lease expired), and answers the overlay networks\' DNS by any\nhost\'s container names. Remote peers appear on this host only while its daemon runs.',
  async run(ctx) {
    // Listen first: a stop request during the start-up still ends in a clean close.
    const stopped = untilStopped();
    const engine = await ctx.openEngine();
    try {
      const dns = await engine.serveDns();
      try {
        if (engine.cluster !== undefined) {
          // Revoked by engine.close(): a daemon stopped cleanly leaves the list at once.
          const host = await engine.registerHost(ctx.global.hostTtl === undefined ? {} : { ttlSeconds: ctx.global.hostTtl });
          ctx.err(`nlnet daemon: host ${host.id} joined the cluster at ${engine.cluster.url}\n`);
          // Closed with the engine: the overlay networks' peers and name servers.
          await engine.serveOverlay();
        }
        ctx.err('nlnet daemon: ready\n');
        const sig = await stopped;
        ctx.err(`nlnet daemon: ${sig}, stopping\n`);
      } finally {
        await dns.close();
      }
    } finally {
      await engine.close();
    }
    return EXIT.ok;
  },
};
