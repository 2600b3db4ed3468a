// `nlnet network …`: docker network create|ls|inspect|rm|connect|disconnect|prune, with docker's
// flags and output.
import { NotFoundError } from '../core/errors.js';
import { Cluster } from '../network/cluster.js';
import type { CreateNetworkOptions, Network } from '../network/engine.js';
import { DEFAULT_DRIVER, DRIVERS } from '../network/drivers/driver.js';
import { inspectOverlay } from '../network/overlay/host.js';
import { globalNetworks } from '../network/overlay/records.js';
import type { EtcdStore } from '../network/store/etcd.js';
import { EXIT, UsageError, type Command, type Context, type Group, type Parsed } from './command.js';
import { describeError, printable } from './errors.js';
import { dockerTime, formatInspect, formatList, parseFormat } from './format.js';
import { networkName, pick, sandboxName } from './resolve.js';

const MTU_OPTION = 'com.docker.network.driver.mtu';

/** `-o k=v` and `--label k=v` (a bare `k` means an empty value, as in docker). */
export function keyValues(flag: string, command: string, items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    if (key === '') throw new UsageError(`invalid argument "${item}" for "${flag}" flag: expected KEY=VALUE`, command);
    out[key] = eq < 0 ? '' : item.slice(eq + 1);
  }
  return out;
}

/**
 * `--subnet` and `--gateway` may be given once per family, as docker takes them: the IPv6 ones
 * (with a ':') fill subnet6 and gateway6.
 */
function byFamily(flag: string, command: string, values: readonly string[]): { v4?: string; v6?: string } {
  const out: { v4?: string; v6?: string } = {};
  for (const v of values) {
    const family = v.includes(':') ? 'v6' : 'v4';
    if (out[family] !== undefined) throw new UsageError(`${flag} given twice for ${family === 'v6' ? 'IPv6' : 'IPv4'} (${out[family]} and ${v}): one ${flag === '--gateway' ? 'gateway' : 'subnet'} per family`, command);
    out[family] = v;
  }
  return out;
}

/** `docker network create` flags turned into the engine's options. */
export function createNetworkOptions(p: Parsed): CreateNetworkOptions {
  const options = keyValues('--opt', p.command, p.list('opt'));
  const mtu = p.string('mtu');
  if (mtu !== undefined) {
    if (options[MTU_OPTION] !== undefined && options[MTU_OPTION] !== mtu) throw new UsageError(`--mtu ${mtu} contradicts -o ${MTU_OPTION}=${options[MTU_OPTION]}`, p.command);
    if (!/^\d+$/.test(mtu)) throw new UsageError(`invalid argument "${mtu}" for "--mtu" flag: expected a number`, p.command);
    options[MTU_OPTION] = mtu;
  }
  const subnet = byFamily('--subnet', p.command, p.list('subnet'));
  const gateway = byFamily('--gateway', p.command, p.list('gateway'));
  const opts: CreateNetworkOptions = { name: p.arg(0), internal: p.bool('internal'), labels: keyValues('--label', p.command, p.list('label')), options };
  const driver = p.string('driver');
  // The engine checks the driver's name.
  if (driver !== undefined) opts.driver = driver as NonNullable<CreateNetworkOptions['driver']>;
  if (p.bool('ipv6')) opts.ipv6 = true;
  if (p.bool('attachable')) opts.attachable = true;
  if (subnet.v4 !== undefined) opts.subnet = subnet.v4;
  if (gateway.v4 !== undefined) opts.gateway = gateway.v4;
  if (subnet.v6 !== undefined) opts.subnet6 = subnet.v6;
  if (gateway.v6 !== undefined) opts.gateway6 = gateway.v6;
  const ipRange = p.string('ip-range');
  if (ipRange !== undefined) opts.ipRange = ipRange;
  return opts;
}

/** The object `docker network ls --format json` prints per line. */
export function networkLine(n: Network, noTrunc = false): Record<string, string> {
  return {
    CreatedAt: dockerTime(n.created),
    Driver: n.driver,
    ID: noTrunc ? n.id : n.id.slice(0, 12),
    IPv6: String(n.subnet6 !== undefined),
    Internal: String(n.internal),
    Labels: Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(','),
    Name: n.name,
    Scope: n.driver === 'overlay' ? 'global' : 'local',
  };
}

/**
 * A host that has made nothing yet (no state directory) still sees the cluster's overlay
 * networks, as `nlnet info` sees its hosts: `fn` runs on the cluster store alone. Any other
 * error is rethrown.
 */
async function clusterOnly<T>(ctx: Context, err: unknown, fn: (etcd: EtcdStore) => Promise<T>): Promise<T> {
  if (!(err instanceof NotFoundError && err.kind === 'state') || ctx.global.clusterStore === undefined) throw err;
  const cluster = new Cluster(ctx.global.clusterStore);
  try {
    return await fn(await cluster.store());
  } finally {
    await cluster.close();
  }
}

/** Runs `fn` for each name; a failure prints its line and the others still run (docker rm's way). */
export async function eachName(ctx: Context, refs: readonly string[], fn: (ref: string) => Promise<void>): Promise<number> {
  let code: number = EXIT.ok;
  for (const ref of refs) {
    try {
      await fn(ref);
    } catch (e) {
      ctx.err(`nlnet: ${describeError(e)}\n`);
      code = EXIT.failed;
    }
  }
  return code;
}

const create: Command = {
  name: 'create',
  state: 'create',
  usage: '[OPTIONS] NETWORK',
  summary: 'Create a network; prints its id',
  args: ['NETWORK'],
  min: 1,
  max: 1,
  flags: [
    { name: 'driver', short: 'd', kind: 'string', value: 'DRIVER', help: 'Driver: bridge (default), macvlan or ipvlan (with -o parent=IF), overlay (with --cluster-store)' },
    { name: 'attachable', kind: 'bool', help: 'Overlay: let standalone containers attach (always so in nlnet; recorded and shown)' },
    { name: 'subnet', kind: 'list', value: 'CIDR', help: 'Subnet, e.g. 172.30.0.0/16 (default: the next free pool); with --ipv6 also an IPv6 one' },
    { name: 'gateway', kind: 'list', value: 'IP', help: "Gateway address (default: the subnet's first address); one per family" },
    { name: 'ip-range', kind: 'string', value: 'CIDR', help: 'Allocate container addresses from this part of the subnet' },
    { name: 'internal', kind: 'bool', help: 'No traffic to or from outside the network' },
    { name: 'ipv6', kind: 'bool', help: 'Give the network an IPv6 subnet too (--subnet fd00::/64, or a random ULA /64)' },
    { name: 'opt', short: 'o', kind: 'list', value: 'KEY=VALUE', help: 'Driver option (repeatable)' },
    { name: 'label', kind: 'list', value: 'KEY=VALUE', help: 'Label (repeatable)' },
    { name: 'mtu', kind: 'string', value: 'N', help: `MTU of the bridge and veths (same as -o ${MTU_OPTION}=N)` },
  ],
  async run(ctx, p) {
    const opts = createNetworkOptions(p);
    const known = DRIVERS.find((d) => d.name === (opts.driver ?? DEFAULT_DRIVER))?.options ?? [];
    const net = await ctx.withEngine((e) => e.createNetwork(opts));
    // Docker's drivers ignore options they do not read; a typo deserves to be seen.
    for (const k of Object.keys(opts.options ?? {})) if (!known.includes(k)) ctx.err(`nlnet: warning: -o ${printable(k)} is not an option of the ${net.driver} driver: ignored\n`);
    ctx.out(`${net.id}\n`);
    return EXIT.ok;
  },
};

const ls: Command = {
  name: 'ls',
  state: 'read',
  aliases: ['list'],
  usage: '[OPTIONS]',
  summary: 'List networks',
  args: [],
  min: 0,
  max: 0,
  flags: [
    { name: 'quiet', short: 'q', kind: 'bool', help: 'Only display network ids' },
    { name: 'format', kind: 'string', value: 'FORMAT', help: 'table (default), json, or a template such as {{.Name}}' },
    { name: 'no-trunc', kind: 'bool', help: 'Do not truncate the ids' },
  ],
  async run(ctx, p) {
    const format = parseFormat(p.string('format'));
    // With the cluster store down the host's own networks are still listed, then the one line.
    let failed: unknown;
    const nets = await ctx
      .withEngine((e) =>
        e.listNetworks().catch((err: unknown) => {
          failed = err;
          return e.listNetworks({ scope: 'local' });
        }),
      )
      .catch((e: unknown) => clusterOnly(ctx, e, (etcd) => globalNetworks(etcd)));
    nets.sort((a, b) => a.name.localeCompare(b.name));
    const lines = nets.map((n) => networkLine(n, p.bool('no-trunc')));
    if (p.bool('quiet')) ctx.out(lines.map((l) => `${l.ID}\n`).join(''));
    else ctx.out(formatList(format, lines, ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], (l) => [l.ID!, l.Name!, l.Driver!, l.Scope!]));
    if (failed === undefined) return EXIT.ok;
    ctx.err(`nlnet: ${describeError(failed)}\n`);
    return EXIT.failed;
  },
};

const inspect: Command = {
  name: 'inspect',
  state: 'read',
  usage: '[OPTIONS] NETWORK [NETWORK...]',
  summary: "Display networks as JSON (docker's shape)",
  args: ['NETWORK...'],
  min: 1,
  max: Infinity,
  flags: [{ name: 'format', short: 'f', kind: 'string', value: 'FORMAT', help: 'json (default) or a template such as {{.IPAM.Config}}' }],
  async run(ctx, p) {
    const format = parseFormat(p.string('format'));
    const found: unknown[] = [];
    const code = await ctx
      .withEngine((e) => eachName(ctx, p.args, async (ref) => void found.push(await e.inspectNetwork(await networkName(e, ref)))))
      .catch((e: unknown) =>
        clusterOnly(ctx, e, async (etcd) => {
          const all = await globalNetworks(etcd);
          return eachName(ctx, p.args, async (ref) => void found.push(await inspectOverlay(etcd, pick('network', all, ref), [])));
        }),
      );
    if (found.length > 0 || code === EXIT.ok) ctx.out(formatInspect(format, found));
    return code;
  },
};

const rm: Command = {
  name: 'rm',
  aliases: ['remove'],
  usage: 'NETWORK [NETWORK...]',
  summary: 'Remove networks (refused while a container is connected)',
  args: ['NETWORK...'],
  min: 1,
  max: Infinity,
  flags: [],
  async run(ctx, p) {
    return ctx.withEngine((e) =>
      eachName(ctx, p.args, async (ref) => {
        await e.removeNetwork(await networkName(e, ref));
        ctx.out(`${ref}\n`);
      }),
    );
  },
};

const connect: Command = {
  name: 'connect',
  usage: '[OPTIONS] NETWORK CONTAINER',
  summary: 'Connect a container to a network',
  args: ['NETWORK', 'CONTAINER'],
  min: 2,
  max: 2,
  flags: [
    { name: 'ip', kind: 'string', value: 'IP', help: 'IPv4 address on the network (default: the next free one)' },
    { name: 'ip6', kind: 'string', value: 'IP', help: 'IPv6 address on an --ipv6 network (default: the next free one)' },
    { name: 'alias', kind: 'list', value: 'NAME', help: 'Further name the embedded DNS answers for (repeatable)' },
  ],
  async run(ctx, p) {
    const ip = p.string('ip');
    const ip6 = p.string('ip6');
    const opts = { ...(ip === undefined ? {} : { ip }), ...(ip6 === undefined ? {} : { ip6 }), aliases: p.list('alias') };
    await ctx.withEngine(async (e) => e.connect(await networkName(e, p.arg(0)), await sandboxName(e, p.arg(1)), opts));
    return EXIT.ok;
  },
};

const disconnect: Command = {
  name: 'disconnect',
  usage: 'NETWORK CONTAINER',
  summary: 'Disconnect a container from a network',
  args: ['NETWORK', 'CONTAINER'],
  min: 2,
  max: 2,
  flags: [],
  async run(ctx, p) {
    await ctx.withEngine(async (e) => e.disconnect(await networkName(e, p.arg(0)), await sandboxName(e, p.arg(1))));
    return EXIT.ok;
  },
};

const prune: Command = {
  name: 'prune',
  usage: '[OPTIONS]',
  summary: 'Remove all networks no container uses (never "bridge")',
  args: [],
  min: 0,
  max: 0,
  flags: [{ name: 'force', short: 'f', kind: 'bool', help: 'Do not prompt for confirmation' }],
  async run(ctx, p) {
    if (!p.bool('force')) {
      const answer = await ctx.prompt('WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ');
      if (!/^y(es)?$/i.test(answer.trim())) return EXIT.ok;
    }
    const removed = await ctx.withEngine((e) => e.prune());
    if (removed.length > 0) ctx.out(`Deleted Networks:\n${removed.map((n) => `${n}\n`).join('')}`);
    return EXIT.ok;
  },
};

export const networkGroup: Group = { name: 'network', summary: 'Manage networks', commands: [create, connect, disconnect, inspect, ls, prune, rm] };
