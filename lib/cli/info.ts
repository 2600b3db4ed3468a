// `nlnet info`: the network side of `docker info`: where the state is, and the cluster (the store
// it shares, this host's address, the hosts whose leases are alive). With the cluster store out
// of reach it prints what it knows, then fails with etcd's one line. A host that has made nothing
// yet (no state directory) still sees the cluster.
import { NotFoundError } from '../core/errors.js';
import { Cluster, type HostInfo } from '../network/index.js';
import { EXIT, type Command, type Context } from './command.js';
import { parseFormat, renderTemplate, table } from './format.js';

/** What `nlnet info --format json` prints. */
interface Info {
  StateDir: string;
  HostNetns: string;
  ClusterStore: string;
  ClusterAdvertise: string;
  /** Undefined without a cluster store, or when it could not be read. */
  Hosts?: { ID: string; Address: string; Since: string }[];
}

export const infoCommand: Command = {
  name: 'info',
  state: 'read',
  usage: '[OPTIONS]',
  summary: 'Display the state directory and the cluster: its store, this host, the live hosts',
  args: [],
  min: 0,
  max: 0,
  flags: [{ name: 'format', short: 'f', kind: 'string', value: 'FORMAT', help: 'json, or a template such as {{.ClusterStore}}' }],
  async run(ctx, p) {
    const format = parseFormat(p.string('format'));
    const show = async (info: Info, cluster: Cluster | undefined): Promise<number> => {
      let failure: unknown;
      if (cluster !== undefined) {
        try {
          info.Hosts = (await cluster.hosts()).map((h: HostInfo) => ({ ID: h.id, Address: h.address, Since: h.since }));
        } catch (e) {
          failure = e;
        }
      }
      if (format.kind === 'json') ctx.out(`${JSON.stringify(info)}\n`);
      else if (format.kind === 'template') ctx.out(`${renderTemplate(format.template, info)}\n`);
      else ctx.out(text(info));
      if (failure !== undefined) throw failure;
      return EXIT.ok;
    };
    try {
      return await ctx.withEngine((engine) => show(described(ctx, engine.store.dir), engine.cluster));
    } catch (e) {
      if (!(e instanceof NotFoundError && e.kind === 'state')) throw e;
      const cluster = ctx.global.clusterStore === undefined ? undefined : new Cluster(ctx.global.clusterStore);
      try {
        return await show({ ...described(ctx, ctx.global.stateDir), StateDir: `${ctx.global.stateDir} (nothing made yet)` }, cluster);
      } finally {
        await cluster?.close();
      }
    }
  },
};

function described(ctx: Context, stateDir: string): Info {
  return { StateDir: stateDir, HostNetns: ctx.global.hostNetns ?? '', ClusterStore: ctx.global.clusterStore ?? '', ClusterAdvertise: ctx.global.clusterAdvertise ?? '' };
}

function text(info: Info): string {
  const lines = [
    `State Dir: ${info.StateDir}`,
    `Host Netns: ${info.HostNetns === '' ? "(nlnet's own)" : info.HostNetns}`,
    `Cluster Store: ${info.ClusterStore === '' ? '(none)' : info.ClusterStore}`,
    `Cluster Advertise: ${info.ClusterAdvertise === '' ? '(none)' : info.ClusterAdvertise}`,
  ];
  if (info.Hosts !== undefined) {
    lines.push(`Hosts: ${info.Hosts.length}`);
    if (info.Hosts.length > 0) lines.push(table(['  ID', 'ADDRESS', 'SINCE'], info.Hosts.map((h) => [`  ${h.ID}`, h.Address, h.Since])).trimEnd());
  }
  return `${lines.join('\n')}\n`;
}
