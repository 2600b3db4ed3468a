// The nf_tables side of Docker's bridge networks: NAT, published ports, isolation between
// networks and internal networks, all in nlnet's own tables `ip nlnet` and, once a network has
// IPv6, `ip6 nlnet` (see ruleset.ts for what they hold). Every change is one nf_tables transaction, made only if the ruleset is
// still at the generation it was read at, so a check and the change that follows it cannot be
// separated by someone else's change.
import { isIP } from 'node:net';

import { ConflictError, NetlinkError, ValidationError } from '../../../core/errors.js';
import type { Netlink } from '../../../rtnl/netlink.js';
import type { Element, NftBatch, SetSpec } from '../../../nft/index.js';
import { ifname, knownKeys, object, oneOf, prefix, uint } from '../../../core/validate.js';
import type { PublishedPort } from '../../ports/spec.js';
import { chainsFor, networkComment, networkRules, setsFor, staticRules, TABLE, type ChainName, type FirewallFamily, type NetworkFirewall } from './ruleset.js';

export { networkRules, staticRules, SETS, SETS6, TABLE, type NetworkFirewall } from './ruleset.js';

/**
 * A published port as one map element: with the container address it goes to, of one family.
 * `hostIp` is of that family too; absent, "0.0.0.0" or "::": every address of the host (of that
 * family).
 */
export type FirewallPort = PublishedPort & { containerIp: string };

const RETRIES = 5;

// Changes through one handle run one at a time: concurrent callers in one process (100 detaches
// at once) would otherwise keep invalidating each other's generation and run out of retries.
// Across processes, the generation check and its retries remain the guard.
const queues = new WeakMap<Netlink, Promise<unknown>>();

function serialized(nl: Netlink, job: () => Promise<void>): Promise<void> {
  const run = (queues.get(nl) ?? Promise.resolve()).then(job);
  queues.set(nl, run.catch(() => undefined));
  return run;
}

function transact(nl: Netlink, plan: () => Promise<((b: NftBatch) => void) | undefined>): Promise<void> {
  return serialized(nl, () => transactNow(nl, plan));
}

/**
 * Reads, then commits what `plan` builds from what it read, only if nothing changed in between
 * (the batch carries the generation id); a change in between (ERESTART) reads again.
 */
async function transactNow(nl: Netlink, plan: () => Promise<((b: NftBatch) => void) | undefined>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const genid = await nl.nft.genid();
    const build = await plan();
    if (build === undefined) return;
    try {
      await nl.nft.commit(build, { genid });
      return;
    } catch (e) {
      if (!(e instanceof NetlinkError && e.code === 'ERESTART') || attempt === RETRIES) throw e;
    }
  }
}

const sameType = (a: readonly string[] | string | undefined, b: readonly string[] | string | undefined): boolean =>
  [a ?? []].flat().join(' . ') === [b ?? []].flat().join(' . ');

/**
 * Creates the table, its sets, maps and chains, and the rules every host gets, where missing
 * (what `dockerd` sets up at start before any network). Idempotent: a second call sends nothing.
 */
export async function ensure(nl: Netlink, family: FirewallFamily = 'ip'): Promise<void> {
  const FAMILY = family;
  const CHAINS = chainsFor(family);
  await transact(nl, async () => {
    const tables = await nl.nft.listTables({ family: FAMILY });
    const exists = tables.some((t) => t.name === TABLE);
    const chains = exists ? await nl.nft.listChains({ family: FAMILY, table: TABLE }) : [];
    const sets = exists ? await nl.nft.listSets({ family: FAMILY, table: TABLE }) : [];
    const rules = exists ? await nl.nft.listRules({ family: FAMILY, table: TABLE }) : [];
    const want = staticRules(family);
    const steps: ((b: NftBatch) => void)[] = [];
    if (!exists) steps.push((b) => b.addTable({ family: FAMILY, name: TABLE }));
    for (const s of Object.values(setsFor(family)) as SetSpec[]) {
      const have = sets.find((x) => x.name === s.name);
      if (have === undefined) steps.push((b) => b.addSet(s));
      else if (!sameType(have.key, s.key) || !sameType(have.map, s.map))
        throw new ConflictError('nf_tables set', `${FAMILY} ${TABLE} ${s.name}`, 'exists with another type; delete the table to let nlnet recreate it');
    }
    for (const name of Object.keys(CHAINS) as ChainName[]) {
      if (!chains.some((c) => c.name === name)) steps.push((b) => b.addChain(CHAINS[name]));
      const mine = rules.filter((r) => r.chain === name && r.comment !== undefined && r.comment.startsWith('nlnet static '));
      const wanted = want[name];
      if (mine.map((r) => r.comment).join('\n') === wanted.map((r) => r.comment).join('\n')) continue;
      // Out of order or partly gone: this chain's static rules are replaced as a whole. The
      // others (a network's, in postrouting) stay.
      steps.push((b) => {
        for (const r of mine) b.delRule({ family: FAMILY, table: TABLE, chain: name, handle: r.handle });
        for (const r of wanted) b.addRule(r);
      });
    }
    if (steps.length === 0) return undefined;
    return (b) => steps.forEach((s) => s(b));
  });
}

function checkNetwork(n: unknown): Omit<Required<NetworkFirewall>, 'subnet6'> & { subnet6: string | undefined } {
  const o = object('network', n);
  knownKeys('network', o, ['bridge', 'subnet', 'subnet6', 'internal', 'masquerade']);
  const bridge = ifname('network.bridge', o.bridge);
  const p = prefix('network.subnet', o.subnet, 'inet');
  if (typeof o.subnet !== 'string' || !o.subnet.includes('/')) throw new ValidationError('network.subnet', o.subnet, 'expected an IPv4 subnet such as 172.18.0.0/16');
  let subnet6: string | undefined;
  if (o.subnet6 !== undefined) {
    const p6 = prefix('network.subnet6', o.subnet6, 'inet6');
    if (typeof o.subnet6 !== 'string' || !o.subnet6.includes('/')) throw new ValidationError('network.subnet6', o.subnet6, 'expected an IPv6 subnet such as fd00:1::/64');
    subnet6 = `${p6.address}/${p6.prefixlen}`;
  }
  const flag = (k: 'internal' | 'masquerade', dflt: boolean): boolean => {
    if (o[k] === undefined) return dflt;
    if (typeof o[k] !== 'boolean') throw new ValidationError(`network.${k}`, o[k], 'expected true or false');
    return o[k];
  };
  return { bridge, subnet: `${p.address}/${p.prefixlen}`, subnet6, internal: flag('internal', false), masquerade: flag('masquerade', true) };
}

const hasKey = (elements: readonly Element[], key: unknown): boolean => elements.some((e) => String(e.key) === String(key));

/**
 * Adds a bridge network's firewall (`docker network create`): masquerade for its egress unless
 * internal or `enable_ip_masquerade=false`, hairpin NAT, isolation from the other networks, and
 * for an internal network no routed traffic in or out. Sets `route_localnet` on the bridge, as
 * dockerd does without its userland proxy, so that 127.0.0.1 can reach published ports. The
 * bridge must exist. Calls ensure() first.
 */
export async function addNetwork(nl: Netlink, network: NetworkFirewall): Promise<void> {
  const n = checkNetwork(network);
  const families: FirewallFamily[] = n.subnet6 === undefined ? ['ip'] : ['ip', 'ip6'];
  const { subnet6, ...rest } = n;
  const spec: NetworkFirewall = { ...rest, ...(subnet6 === undefined ? {} : { subnet6 }) };
  for (const f of families) await ensure(nl, f);
  await nl.sysctl.set(`net/ipv4/conf/${n.bridge}/route_localnet`, 1);
  // Both families in one transaction: a network has all its rules or none.
  await transact(nl, async () => {
    for (const f of families) {
      if (hasKey(await nl.nft.listElements(setsFor(f).bridges), n.bridge)) throw new ConflictError('network', n.bridge, 'the bridge already has firewall rules');
    }
    return (b) => {
      for (const f of families) {
        const sets = setsFor(f);
        b.addElements(sets.bridges, [{ key: n.bridge }]);
        b.addElements(sets.icc, [{ key: [n.bridge, n.bridge] }]);
        if (n.internal) b.addElements(sets.internal, [{ key: n.bridge }]);
        for (const r of networkRules(spec, f)) b.addRule(r);
      }
    };
  });
}

/**
 * Removes what addNetwork added for a bridge (`docker network rm`): its rules, found by their
 * comment, and its set elements. Published ports are the endpoints' to unpublish. Removing a
 * network that has nothing here is not an error.
 */
export async function removeNetwork(nl: Netlink, bridge: string): Promise<void> {
  const name = ifname('bridge', bridge);
  await transact(nl, async () => {
    const steps: ((b: NftBatch) => void)[] = [];
    for (const family of ['ip', 'ip6'] as const) {
      const tables = await nl.nft.listTables({ family });
      if (!tables.some((t) => t.name === TABLE)) continue;
      const sets = setsFor(family);
      const rules = (await nl.nft.listRules({ family, table: TABLE })).filter((r) => r.comment === networkComment(name));
      const inBridges = hasKey(await nl.nft.listElements(sets.bridges), name);
      const inInternal = hasKey(await nl.nft.listElements(sets.internal), name);
      const inIcc = hasKey(await nl.nft.listElements(sets.icc), [name, name]);
      steps.push((b) => {
        for (const r of rules) b.delRule({ family, table: TABLE, chain: r.chain, handle: r.handle });
        if (inBridges) b.delElements(sets.bridges, [{ key: name }]);
        if (inInternal) b.delElements(sets.internal, [{ key: name }]);
        if (inIcc) b.delElements(sets.icc, [{ key: [name, name] }]);
      });
      if (rules.length === 0 && !inBridges && !inInternal && !inIcc) steps.pop();
    }
    if (steps.length === 0) return undefined;
    return (b) => steps.forEach((s) => s(b));
  });
}

/** The unspecified address of each family: the port on every host address. */
const ANY: Record<FirewallFamily, string> = { ip: '0.0.0.0', ip6: '::' };

interface Checked extends Required<FirewallPort> {
  family: FirewallFamily;
  /** The map it goes in, its key and value there. */
  set: SetSpec;
  element: Element;
}

function checkPorts(field: string, ports: unknown): Checked[] {
  if (!Array.isArray(ports) || ports.length === 0) throw new ValidationError(field, ports, 'expected a non-empty list of ports');
  return ports.map((p, i) => {
    const f = `${field}[${i}]`;
    const o = object(f, p);
    knownKeys(f, o, ['protocol', 'hostIp', 'hostPort', 'containerIp', 'containerPort']);
    const protocol = oneOf(`${f}.protocol`, o.protocol, ['tcp', 'udp']);
    const containerIp = address(`${f}.containerIp`, o.containerIp);
    const family: FirewallFamily = isIP(containerIp) === 4 ? 'ip' : 'ip6';
    if (containerIp === ANY[family]) throw new ValidationError(`${f}.containerIp`, o.containerIp, 'expected the address of a container');
    const hostIp = o.hostIp === undefined ? ANY[family] : address(`${f}.hostIp`, o.hostIp);
    if ((isIP(hostIp) === 4) !== (family === 'ip')) throw new ValidationError(`${f}.hostIp`, o.hostIp, `expected an address of the container address's family (${containerIp})`);
    const hostPort = uint(`${f}.hostPort`, o.hostPort, 1, 65535);
    const containerPort = uint(`${f}.containerPort`, o.containerPort, 1, 65535);
    const value = [containerIp, containerPort];
    const any = hostIp === ANY[family];
    const element: Element = any ? { key: [protocol, hostPort], value } : { key: [hostIp, protocol, hostPort], value };
    const sets = setsFor(family);
    return { protocol, hostIp, hostPort, containerIp, containerPort, family, set: any ? sets.portsAny : sets.portsAddr, element };
  });
}

function address(field: string, v: unknown): string {
  if (typeof v !== 'string' || isIP(v) === 0) throw new ValidationError(field, v, 'expected an IPv4 or IPv6 address');
  return v;
}

/** A published port as Docker's port allocator sees it: its host address, protocol and port. */
interface Binding {
  family: FirewallFamily;
  hostIp: string;
  protocol: string;
  hostPort: number;
}

/** The bindings in a family's two maps (none when its table does not exist). */
async function bindingsIn(nl: Netlink, family: FirewallFamily): Promise<Binding[]> {
  if (!(await nl.nft.listTables({ family })).some((t) => t.name === TABLE)) return [];
  const sets = setsFor(family);
  return [
    ...(await nl.nft.listElements(sets.portsAny)).map((e) => { const [protocol, hostPort] = e.key as [string, number]; return { family, hostIp: ANY[family], protocol, hostPort }; }),
    ...(await nl.nft.listElements(sets.portsAddr)).map((e) => { const [hostIp, protocol, hostPort] = e.key as [string, string, number]; return { family, hostIp, protocol, hostPort }; }),
  ];
}

// Docker's portallocator: 0.0.0.0:P holds P on every IPv4 address, so it clashes with any IP:P
// (and [::]:P likewise for IPv6).
const clash = (a: Binding, b: Binding): boolean =>
  a.family === b.family && a.protocol === b.protocol && a.hostPort === b.hostPort && (a.hostIp === b.hostIp || a.hostIp === ANY[a.family] || b.hostIp === ANY[b.family]);

const allocated = (p: Binding): ConflictError => {
  const host = p.family === 'ip' ? p.hostIp : `[${p.hostIp}]`;
  return new ConflictError('port', `${host}:${p.hostPort}/${p.protocol}`, `Bind for ${host}:${p.hostPort} failed: port is already allocated`);
};

/**
 * Publishes ports (`docker run -p [IP:]PORT:CPORT[/PROTO]`): connections to a host port are
 * DNATed to the container, from outside, from the host itself (also on 127.0.0.1), and from
 * containers of any network. All or nothing, in one transaction whose cost does not grow with
 * the ports already published: the elements go in with NLM_F_EXCL, so the kernel itself refuses
 * a host port already in its map (EEXIST) and nothing changes; a port asked for twice in one call
 * is refused before that. The refusal is dockerd's "port is already allocated". Whether IP:P and
 * 0.0.0.0:P (two maps) clash is the caller's to check: the engine does it in its store.
 */
export async function publish(nl: Netlink, ports: readonly FirewallPort[]): Promise<void> {
  const steps = publishSteps(ports);
  try {
    await serialized(nl, async () => {
      await nl.nft.commit(steps);
    });
  } catch (e) {
    throw await publishFailure(nl, ports, e);
  }
}

/** publish()'s transaction, for a commit or an attach job: one `nft create element` per port (a taken key fails it). */
export function publishSteps(ports: readonly FirewallPort[]): (b: NftBatch) => void {
  const list = checkPorts('ports', ports);
  list.forEach((p, i) => {
    if (list.slice(0, i).some((q) => clash(q, p))) throw allocated(p);
  });
  return (b) => {
    for (const p of list) b.createElements(p.set, [p.element]);
  };
}

/** A failed publish as the caller sees it: a taken port (EEXIST) is a ConflictError naming it. */
export async function publishFailure(nl: Netlink, ports: readonly FirewallPort[], e: unknown): Promise<unknown> {
  if (!(e instanceof NetlinkError && e.code === 'EEXIST')) return e;
  // The failure path only: find which port was taken, to name it.
  const list = checkPorts('ports', ports);
  const taken = [...(await bindingsIn(nl, 'ip')), ...(await bindingsIn(nl, 'ip6'))];
  return allocated(list.find((p) => taken.some((t) => clash(t, p))) ?? list[0]!);
}

/**
 * The host ports published now, as 'tcp/8080' keys, whatever their address and family (`nft list
 * map ip nlnet ports_any`, `ports_addr`, and the ip6 ones): what a random host port must avoid.
 */
export async function publishedKeys(nl: Netlink): Promise<Set<string>> {
  const bindings = [...(await bindingsIn(nl, 'ip')), ...(await bindingsIn(nl, 'ip6'))];
  return new Set(bindings.map((b) => `${b.protocol}/${b.hostPort}`));
}

/** The elements of a set, or none when its table does not exist (the ip6 table before any IPv6 network). */
export async function listElementsIfAny(nl: Netlink, set: SetSpec): Promise<Element[]> {
  if (!(await nl.nft.listTables({ family: set.family })).some((t) => t.name === TABLE)) return [];
  return nl.nft.listElements(set);
}

/** Every published port in the maps of both families (`nft list map ip nlnet ports_any` …). */
export async function listPublished(nl: Netlink): Promise<FirewallPort[]> {
  const out: FirewallPort[] = [];
  for (const family of ['ip', 'ip6'] as const) {
    const sets = setsFor(family);
    for (const e of await listElementsIfAny(nl, sets.portsAny)) {
      const [protocol, hostPort] = e.key as ['tcp' | 'udp', number];
      const [containerIp, containerPort] = e.value as [string, number];
      out.push({ protocol, hostPort, containerIp, containerPort });
    }
    for (const e of await listElementsIfAny(nl, sets.portsAddr)) {
      const [hostIp, protocol, hostPort] = e.key as [string, 'tcp' | 'udp', number];
      const [containerIp, containerPort] = e.value as [string, number];
      out.push({ hostIp, protocol, hostPort, containerIp, containerPort });
    }
  }
  return out;
}

/**
 * Withdraws published ports (`docker stop`, `docker rm`): the elements publish() added. A port
 * not published, or published to another container, is left alone.
 */
export async function unpublish(nl: Netlink, ports: readonly FirewallPort[]): Promise<void> {
  const list = checkPorts('ports', ports);
  // Withdrawals that wait behind another firewall change go in one transaction: one read of the
  // maps and one commit for all of them (100 sandboxes removed at once: one round, not 100).
  const waiting = unpublishing.get(nl);
  if (waiting !== undefined) {
    waiting.ports.push(...list);
    return waiting.done;
  }
  const round: { ports: Checked[]; done: Promise<void> } = { ports: [...list], done: Promise.resolve() };
  unpublishing.set(nl, round);
  round.done = transact(nl, async () => {
    // From here on, withdrawals start the next round.
    if (unpublishing.get(nl) === round) unpublishing.delete(nl);
    // Elements as 'map|key|value' text: one lookup each, not a scan of the map per port.
    const text = (set: SetSpec, e: Element): string => `${set.family} ${set.name}|${String(e.key)}|${String(e.value)}`;
    const have = new Set<string>();
    for (const set of new Set(round.ports.map((p) => p.set))) for (const e of await nl.nft.listElements(set)) have.add(text(set, e));
    const gone = round.ports.filter((p) => have.delete(text(p.set, p.element)));
    if (gone.length === 0) return undefined;
    return (b) => {
      for (const p of gone) b.delElements(p.set, [{ key: p.element.key }]);
    };
  });
  return round.done;
}

/** The withdrawals of each handle not yet read: the round that later ones join. */
const unpublishing = new WeakMap<Netlink, { ports: Checked[]; done: Promise<void> }>();
