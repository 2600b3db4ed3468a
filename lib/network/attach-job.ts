// An attach as one native job (lib/rtnl/job.ts): the sandbox's marker, its namespace, each
// endpoint's links and sandbox side, its published ports and its /etc files, done on a namespace
// thread with no JS between them, as the kernel baseline does them (bench/kernel-attach.c). Each
// part knows its undo, so a failure at any part is undone as the step-by-step attach undoes it;
// with the engine's fault hooks set (tests), the parts run one native call each, the hooks between.
import { join } from 'node:path';

import { netns } from '../netns/namespace.js';
import { failedPart, Job } from '../rtnl/job.js';
import type { Undo } from './drivers/common.js';
import { driverFor, type DriverContext } from './drivers/driver.js';
import { ETC_NETNS, removeSandboxEtc, sandboxFiles } from './etc.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from './model/sandbox.js';
import type { AttachStep } from './model/types.js';
import { markText, netnsMark, unmarkNetns } from './owner.js';

interface PartUndo {
  /** Undoes the part once it finished. */
  undo?: () => Promise<unknown>;
  /** Undoes what the part did before it failed (a link its first step made), given its error. */
  partial?: (e: unknown) => Promise<unknown>;
  /** The failure as the caller should see it (a taken port named). */
  explain?: (e: unknown) => Promise<unknown>;
  /** The fault-injection step that comes before it. */
  step?: AttachStep;
}

export class AttachJob {
  readonly job = new Job();
  readonly #parts = new Map<number, PartUndo>();
  /** The parts before this one have their undo pushed. */
  #undone = 0;

  /** What part `index` (as the job's adder returned it) needs when it or a later part fails. */
  part(index: number, p: PartUndo): void {
    this.#parts.set(index, p);
  }

  /**
   * Runs the parts added since the last run, pushing onto `undo` what each finished part needs;
   * on failure, also undoes what the failed part did and rethrows its error. `more`: parts come
   * after this run (Job.run). `step`: the engine's fault hook (tests only).
   */
  async run(undo: Undo, options: { more?: boolean; step?: ((s: AttachStep) => Promise<void>) | undefined } = {}): Promise<void> {
    const { step } = options;
    let reached = this.#undone;
    try {
      await this.job.run({
        more: options.more === true,
        ...(step === undefined
          ? {}
          : {
              before: async (i: number) => {
                reached = i;
                const s = this.#parts.get(i)?.step;
                if (s !== undefined) await step(s);
              },
            }),
      });
    } catch (e) {
      const failed = failedPart(e);
      this.#pushUndo(undo, failed ?? reached);
      if (failed === undefined) throw e;
      const p = this.#parts.get(failed);
      if (p?.partial) undo.push(() => p.partial!(e));
      throw p?.explain ? await p.explain(e) : e;
    }
    this.#pushUndo(undo, this.job.length);
  }

  #pushUndo(undo: Undo, before: number): void {
    for (; this.#undone < before; this.#undone++) {
      const u = this.#parts.get(this.#undone)?.undo;
      if (u !== undefined) undo.push(u);
    }
  }
}

/** Whether attachJob can make this sandbox: its own namespace, and every network's driver has joinParts. */
export const jobCanAttach = (sb: SandboxRecord, joined: readonly (readonly [EndpointRecord, NetworkRecord])[]): boolean =>
  sb.ownsNetns && joined.every(([, n]) => driverFor(n.driver).joinParts !== undefined);

/**
 * The start of a new sandbox's job: its marker (owner.ts), then `ip netns add`. The engine runs it
 * while the store decides the sandbox's endpoints (with `more`), or attachJob adds the rest first.
 */
export function sandboxJob(owner: string, netnsName: string): AttachJob {
  const a = new AttachJob();
  a.part(a.job.writeFile(netnsMark(netnsName), markText(owner)), { step: 'netns', undo: async () => unmarkNetns(netnsName) });
  a.job.netns(netnsName);
  a.part(a.job.length - 1, { undo: () => netns.delete(netnsName) });
  return a;
}

/**
 * A new sandbox's kernel side in one job, after sandboxJob's parts (run already or not): each
 * endpoint (its driver's joinParts, then its published ports; the default route from each network
 * that gives one), `lo` up for a sandbox with no network, and its /etc/netns files. Pushes the
 * undo of what finished; `step` is the engine's fault hook.
 */
export async function attachJob(ctx: DriverContext, a: AttachJob, sb: SandboxRecord, joined: readonly (readonly [EndpointRecord, NetworkRecord])[], undo: Undo, step?: (s: AttachStep) => Promise<void>): Promise<void> {
  const ns = a.job.namespace!;
  if (joined.length === 0) a.job.batchIn(ns, (b) => b.link.set('lo', { up: true }));
  for (const [ep, net] of joined) {
    const driver = driverFor(net.driver);
    driver.joinParts!(ctx, a, ns, ep, net, !net.internal && driver.scope !== 'global');
    if (ep.ports !== undefined) driver.ports?.publishParts(a, ctx.nl, ep);
  }
  // Where `ip netns exec` and `nlnet exec` bind them over /etc.
  const files = sandboxFiles(sb, joined[0]?.[1]);
  // A write that fails may have made the directory: it goes either way.
  a.part(a.job.writeFile(join(ETC_NETNS, sb.netns, 'hosts'), files.hosts), { undo: () => removeSandboxEtc(sb.netns), partial: () => removeSandboxEtc(sb.netns) });
  a.job.writeFile(join(ETC_NETNS, sb.netns, 'resolv.conf'), files.resolvConf);
  await a.run(undo, { step });
}
