// `nlnet container …` and `nlnet port`: a sandbox is a container without the process, so these
// mirror docker create|ls|inspect|rm|port for its network side.
import { NotFoundError } from '../core/errors.js';
import type { CreateSandboxOptions } from '../network/engine.js';
import { EXIT, UsageError, type Command, type FlagSpec, type Group, type Parsed } from './command.js';
import { containerInspect, containerLine } from './container-view.js';
import { formatInspect, formatList, parseFormat } from './format.js';
import { eachName } from './network.js';
import { sandboxName } from './resolve.js';

/** The flags `container create` and `run` share (docker run's network flags). */
export const CREATE_FLAGS: readonly FlagSpec[] = [
  { name: 'name', kind: 'string', value: 'NAME', help: 'Name of the container' },
  { name: 'network', aliases: ['net'], kind: 'string', value: 'NET', help: 'A network, or none, host, container:NAME (default "bridge")' },
  { name: 'publish', short: 'p', kind: 'list', value: 'SPEC', help: 'Publish a port: [IP:]HOST[-END]:PORT[-END][/tcp|udp] or PORT (repeatable)' },
  { name: 'publish-all', short: 'P', kind: 'bool', help: 'Publish every --expose port on a random host port' },
  { name: 'expose', kind: 'list', value: 'PORT', help: 'Port or range to expose for -P, e.g. 80 or 8000-8010 (TCP; repeatable)' },
  { name: 'ip', kind: 'string', value: 'IP', help: 'IPv4 address on the network (default: the next free one)' },
  { name: 'ip6', kind: 'string', value: 'IP', help: 'IPv6 address on an --ipv6 network (default: the next free one)' },
  { name: 'mac-address', kind: 'string', value: 'MAC', help: "MAC address (default 02:42 + the IPv4 bytes; 'random' for a random one)" },
  { name: 'alias', aliases: ['network-alias'], kind: 'list', value: 'NAME', help: 'Further name the embedded DNS answers for (repeatable)' },
];

/** `--expose 80`, `80/tcp`, `8000-8010`: the TCP ports `-P` publishes. */
export function exposedPorts(command: string, items: readonly string[]): number[] {
  const ports: number[] = [];
  for (const item of items) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp))?$/i.exec(item);
    const first = Number(m?.[1]);
    const last = m?.[2] === undefined ? first : Number(m[2]);
    if (m === null || first < 1 || last > 65535 || last < first) throw new UsageError(`invalid argument "${item}" for "--expose" flag: expected a TCP port or range such as 80 or 8000-8010`, command);
    for (let port = first; port <= last; port++) ports.push(port);
  }
  return ports;
}

/** `docker create`/`run` flags turned into the engine's options, for sandbox `name`. */
export function createSandboxOptions(p: Parsed, name: string): CreateSandboxOptions {
  const opts: CreateSandboxOptions = { name, publish: p.list('publish'), publishAll: p.bool('publish-all'), expose: exposedPorts(p.command, p.list('expose')), aliases: p.list('alias') };
  const network = p.string('network');
  const ip = p.string('ip');
  const ip6 = p.string('ip6');
  const mac = p.string('mac-address');
  if (network !== undefined) opts.network = network;
  if (ip !== undefined) opts.ip = ip;
  if (ip6 !== undefined) opts.ip6 = ip6;
  if (mac !== undefined) opts.mac = mac;
  return opts;
}

const create: Command = {
  name: 'create',
  state: 'create',
  usage: '--name NAME [OPTIONS]',
  summary: "Create a container's network sandbox; prints its id",
  args: [],
  min: 0,
  max: 0,
  flags: CREATE_FLAGS,
  async run(ctx, p) {
    const name = p.string('name');
    if (name === undefined) throw new UsageError('"container create" requires --name NAME', p.command);
    const opts = createSandboxOptions(p, name);
    const sb = await ctx.withEngine((e) => e.createSandbox(opts));
    ctx.out(`${sb.id}\n`);
    return EXIT.ok;
  },
};

const ls: Command = {
  name: 'ls',
  state: 'read',
  aliases: ['list', 'ps'],
  usage: '[OPTIONS]',
  summary: 'List containers',
  args: [],
  min: 0,
  max: 0,
  flags: [
    { name: 'quiet', short: 'q', kind: 'bool', help: 'Only display container ids' },
    { name: 'format', kind: 'string', value: 'FORMAT', help: 'table (default), json, or a template such as {{.Names}}' },
    { name: 'no-trunc', kind: 'bool', help: 'Do not truncate the ids' },
    { name: 'all', short: 'a', kind: 'bool', help: 'Accepted for docker compatibility (every sandbox is listed)' },
  ],
  async run(ctx, p) {
    const format = parseFormat(p.string('format'));
    const sbs = (await ctx.withEngine((e) => e.listSandboxes())).sort((a, b) => b.created.localeCompare(a.created) || a.name.localeCompare(b.name));
    const now = Date.now();
    const lines = sbs.map((s) => containerLine(s, now, p.bool('no-trunc')));
    if (p.bool('quiet')) ctx.out(lines.map((l) => `${l.ID}\n`).join(''));
    else ctx.out(formatList(format, lines, ['CONTAINER ID', 'NETWORK', 'IP ADDRESS', 'PORTS', 'CREATED', 'NAMES'], (l) => [l.ID, l.NetworkMode, l.IPAddresses, l.Ports, l.RunningFor, l.Names]));
    return EXIT.ok;
  },
};

const inspect: Command = {
  name: 'inspect',
  state: 'read',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: "Display containers' network settings as JSON (docker inspect's shape)",
  args: ['CONTAINER...'],
  min: 1,
  max: Infinity,
  flags: [{ name: 'format', short: 'f', kind: 'string', value: 'FORMAT', help: 'json (default) or a template such as {{.NetworkSettings.Networks}}' }],
  async run(ctx, p) {
    const format = parseFormat(p.string('format'));
    const found: unknown[] = [];
    const code = await ctx.withEngine((e) =>
      eachName(ctx, p.args, async (ref) => {
        // From the host's own records: with the cluster store down a container is still shown.
        const sb = await e.inspectSandbox(await sandboxName(e, ref));
        found.push(containerInspect(sb, await e.sandboxNetworks(sb)));
      }),
    );
    if (found.length > 0 || code === EXIT.ok) ctx.out(formatInspect(format, found));
    return code;
  },
};

const rm: Command = {
  name: 'rm',
  aliases: ['remove'],
  usage: 'CONTAINER [CONTAINER...]',
  summary: "Remove containers' sandboxes: endpoints, published ports, namespace",
  args: ['CONTAINER...'],
  min: 1,
  max: Infinity,
  flags: [{ name: 'force', short: 'f', kind: 'bool', help: 'Accepted for docker compatibility (there is no process to stop)' }],
  async run(ctx, p) {
    return ctx.withEngine((e) =>
      eachName(ctx, p.args, async (ref) => {
        await e.removeSandbox(await sandboxName(e, ref));
        ctx.out(`${ref}\n`);
      }),
    );
  },
};

/** `docker port CONTAINER [PORT[/PROTO]]` */
export const port: Command = {
  name: 'port',
  state: 'read',
  usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  summary: "List a container's published ports",
  args: ['CONTAINER', 'PRIVATE_PORT[/PROTO]'],
  min: 1,
  max: 2,
  flags: [],
  async run(ctx, p) {
    const filter = p.args[1];
    const m = filter === undefined ? null : /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(filter);
    if (filter !== undefined && (m === null || Number(m[1]) < 1 || Number(m[1]) > 65535)) throw new UsageError(`invalid port "${filter}": expected PORT or PORT/tcp|udp`, p.command);
    const name = p.arg(0);
    const ports = await ctx.withEngine(async (e) => e.listPorts(await sandboxName(e, name)));
    const wanted = m === null ? ports : ports.filter((x) => x.containerPort === Number(m[1]) && x.protocol === (m[2] ?? 'tcp'));
    if (m !== null && wanted.length === 0) throw new NotFoundError('published port', `${m[1]}/${m[2] ?? 'tcp'} of ${name}`);
    ctx.out(wanted.map((x) => (m === null ? `${x.containerPort}/${x.protocol} -> ` : '') + `${x.hostIp}:${x.hostPort}\n`).join(''));
    return EXIT.ok;
  },
};

export const containerGroup: Group = { name: 'container', summary: "Manage containers' network sandboxes", commands: [create, inspect, ls, port, rm] };
