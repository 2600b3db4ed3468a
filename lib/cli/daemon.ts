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
  summary: "Serve the user-defined networks' DNS in the foreground until SIGTERM or SIGINT",
  args: [],
  min: 0,
  max: 0,
  flags: [],
  notes: 'Prints "nlnet daemon: ready" on stderr once it answers. The name server follows network\nchanges made meanwhile by other nlnet commands.',
  async run(ctx) {
    // Listen first: a stop request during the start-up still ends in a clean close.
    const stopped = untilStopped();
    const engine = await ctx.openEngine();
    try {
      const dns = await engine.serveDns();
      try {
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
