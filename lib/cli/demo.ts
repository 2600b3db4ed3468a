// `nlnet demo`: the project's main job, end to end, in throwaway namespaces only. A namespace
// plays the host (with an uplink to a second one playing the outside world); the machine's own
// network is never touched. It builds every single-host mode, proves each with real traffic made
// by this library itself, prints the topology and the time of each attach, then runs an overlay
// network across two hosts (demo-overlay.ts: its own namespaces and etcd, skipped without etcd),
// and removes it all.
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { netns } from '../netns/namespace.js';
import { Engine } from '../network/engine.js';
import { removeSandboxEtc, sandboxEtcDirs } from '../network/etc.js';
import { unmarkPrefixed } from '../network/owner.js';
import { withNetlink } from '../network/plumbing.js';
import { sandboxNetnsName } from '../network/model/sandbox.js';
import type { GlobalOptions } from './command.js';
import { OverlayDemo } from './demo-overlay.js';
import { ask, resolveIn, serveHello } from './demo-traffic.js';

/** The outside world's link to the demo host (TEST-NET-1, RFC 5737: never routed anywhere). */
const UPLINK = { host: '192.0.2.1', outside: '192.0.2.2', prefixlen: 24 };

interface Timing {
  what: string;
  ms: number;
}

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const ok = (what: string, detail: string): void => out(`  ok    ${what}: ${detail}`);
const fail = (what: string, detail: string): never => {
  throw new Error(`${what}: ${detail}`);
};

/** Runs the demo; resolves to the exit code. The global options are not used: it owns its state. */
export async function demo(_options?: GlobalOptions): Promise<number> {
  const tag = `nlnet-demo-${process.pid}`;
  const world = { host: `${tag}-host`, outside: `${tag}-out` };
  const stateDir = mkdtempSync(join(tmpdir(), 'nlnet-demo-'));
  const servers: Server[] = [];
  let engine: Engine | undefined;
  let dns: { close(): Promise<void> } | undefined;
  const overlay = new OverlayDemo(tag);
  const cleanup = async (): Promise<void> => {
    await overlay.cleanup();
    for (const s of servers.splice(0)) s.close();
    await dns?.close().catch(() => undefined);
    if (engine !== undefined) {
      for (const sb of (await engine.listSandboxes().catch(() => [])).filter((s) => s.ownsNetns)) await engine.removeSandbox(sb.name).catch(() => undefined);
      await engine.close().catch(() => undefined);
    }
    // Whatever a failure left: the engine's sandbox namespaces of this host, then the two of the world.
    const prefix = sandboxNetnsName(world.host, '');
    for (const n of await netns.list().catch(() => [] as string[])) if (n.startsWith(prefix) || n === world.host || n === world.outside) await netns.delete(n).catch(() => undefined);
    for (const d of sandboxEtcDirs(prefix)) await removeSandboxEtc(d).catch(() => undefined);
    unmarkPrefixed(prefix);
    rmSync(stateDir, { recursive: true, force: true });
  };
  // A signal stops the demo at its next step; the finally below cleans up once, then it exits.
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupted = sig;
    out(`\n${sig}: stopping and cleaning up`);
  };
  const check = (): void => {
    if (interrupted !== undefined) throw new Error(interrupted);
  };
  const section = (title: string): void => {
    check();
    out(`\n${title}`);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const timings: Timing[] = [];
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    check();
    const t = performance.now();
    const r = await fn();
    timings.push({ what, ms: performance.now() - t });
    return r;
  };
  try {
    out(`nlnet demo: everything below lives in the namespaces ${world.host} (the host) and ${world.outside} (the outside world)`);
    await makeWorld(world);
    engine = await Engine.open({ hostNetns: world.host, stateDir });
    const e = engine;
    dns = await e.serveDns();

    section('1. The default bridge network (nlnet0, like docker0): two containers reach each other');
    const web1 = await timed('web1 on bridge (first use: makes the default network)', () => e.createSandbox({ name: 'web1' }));
    const web2 = await timed('web2 on bridge', () => e.createSandbox({ name: 'web2' }));
    const ip1 = web1.endpoints[0]!.ip;
    servers.push(await serveHello(web1.netns, '0.0.0.0', 80, 'web1'));
    const hello = (await ask(web2.netns, ip1, 80)) ?? fail('web2 -> web1', 'no answer');
    ok(`web2 (${web2.endpoints[0]!.ip}) -> web1 (${ip1}):80`, hello);

    section('2. A user-defined network: containers reach each other by name and alias (embedded DNS)');
    const net = await e.createNetwork({ name: 'demo-net' });
    const db = await timed('db on demo-net', () => e.createSandbox({ name: 'db', network: 'demo-net', aliases: ['database'] }));
    const app = await timed('app on demo-net', () => e.createSandbox({ name: 'app', network: 'demo-net' }));
    servers.push(await serveHello(db.netns, '0.0.0.0', 5432, 'db'));
    for (const name of ['db', 'database']) {
      const [addr] = await resolveIn(app.netns, net.gateway, name);
      if (addr === undefined) fail(`app resolves ${name}`, 'no address');
      const reply = (await ask(app.netns, addr!, 5432)) ?? fail(`app -> ${name}`, 'no answer');
      ok(`app resolves "${name}" at ${net.gateway}:53 -> ${addr}, connects`, reply);
    }

    section('3. A published port (-p 8080:80), reached from the outside world');
    const shop = await timed('shop on demo-net -p 8080:80', () => e.createSandbox({ name: 'shop', network: 'demo-net', publish: ['8080:80'] }));
    servers.push(await serveHello(shop.netns, '0.0.0.0', 80, 'shop'));
    const outside = (await ask(world.outside, UPLINK.host, 8080)) ?? fail('outside -> host:8080', 'no answer');
    ok(`outside (${UPLINK.outside}) -> host ${UPLINK.host}:8080 -> shop ${shop.endpoints[0]!.ip}:80`, `${outside} (the client's real address)`);

    section('4. none, host and container:<name> modes');
    const none = await timed('lonely --network none', () => e.createSandbox({ name: 'lonely', network: 'none' }));
    const noneLinks = await withNetlink(none.netns, async (nl) => (await nl.link.list()).map((l) => `${l.name} ${l.up ? 'up' : 'down'}`));
    ok('lonely (none)', `links: ${noneLinks.join(', ')}`);
    const hosty = await timed('hosty --network host', () => e.createSandbox({ name: 'hosty', network: 'host' }));
    ok('hosty (host)', `runs in ${hosty.netns}, the host namespace itself: it sees ${(await withNetlink(hosty.netns, (nl) => nl.link.list())).length} host links`);
    const side = await timed('sidecar --network container:web1', () => e.createSandbox({ name: 'sidecar', network: 'container:web1' }));
    const local = (await ask(side.netns, '127.0.0.1', 80)) ?? fail('sidecar -> 127.0.0.1:80', 'no answer');
    ok('sidecar (container:web1)', `shares ${side.netns}; 127.0.0.1:80 answers: ${local}`);

    section('5. Isolation between networks');
    const blocked = await ask(app.netns, ip1, 80, 1000);
    if (blocked !== undefined) fail('app (demo-net) -> web1 (bridge)', `not isolated: ${blocked}`);
    ok(`app (demo-net) -> web1 (bridge) ${ip1}:80`, 'no answer: the networks are isolated');
    const viaPort = (await ask(web2.netns, UPLINK.host, 8080)) ?? fail('web2 -> published port', 'no answer');
    ok('web2 (bridge) -> host:8080 (published by shop on demo-net)', viaPort);

    section('6. The topology (docker network inspect)');
    out(JSON.stringify([await e.inspectNetwork('bridge'), await e.inspectNetwork('demo-net')], null, 2));

    section('7. Time of each attach (namespace, links, addresses, routes, firewall, state on disk)');
    for (const t of timings) out(`  ${t.ms.toFixed(2).padStart(7)} ms  ${t.what}`);

    await overlay.run({ out, ok, section, check }, 8);
    out('\nAll good. Cleaning up.');
    return 0;
  } catch (err) {
    if (interrupted !== undefined) return 128 + (interrupted === 'SIGINT' ? 2 : 15);
    process.stderr.write(`nlnet demo: failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await cleanup();
  }
}

/** The host namespace, the outside one, and the uplink between them. */
async function makeWorld(world: { host: string; outside: string }): Promise<void> {
  await netns.create(world.host);
  await netns.create(world.outside);
  await withNetlink(world.host, async (nl) => {
    await nl.batch((b) => {
      const up = b.link.add({ kind: 'veth', name: 'uplink0', peer: { name: 'uplink0', netns: world.outside } });
      b.addr.add({ dev: up, address: `${UPLINK.host}/${UPLINK.prefixlen}` });
      b.link.set(up, { up: true });
      b.link.set('lo', { up: true });
    });
  });
  await withNetlink(world.outside, (nl) =>
    nl.batch((b) => {
      b.addr.add({ dev: 'uplink0', address: `${UPLINK.outside}/${UPLINK.prefixlen}` });
      b.link.set('uplink0', { up: true });
      b.link.set('lo', { up: true });
    }),
  );
}
