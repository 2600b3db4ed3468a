// What nlnet keeps in its nf_tables tables `ip nlnet` and `ip6 nlnet` (the same shape, the second
// made only once a network has IPv6): the sets and maps, the base chains, the rules every host
// gets, and the rules of one bridge network. Pure: descriptors only, no kernel access (firewall.ts
// applies them).
//
// Docker's iptables backend spreads this over DOCKER, DOCKER-ISOLATION-STAGE-1/2, DOCKER-USER
// and one DNAT rule per published port. Here the per-port part is two maps, so the cost per
// packet does not grow with the number of published ports, and the per-network part is a few
// set elements and two rules.
import type { ChainSpec, RuleSpec, SetSpec } from '../../../nft/index.js';
import { rule } from '../../../nft/builder.js';

export type FirewallFamily = 'ip' | 'ip6';
export const FAMILY = 'ip';
export const TABLE = 'nlnet';

/** Every set and map of a family's table, as created. */
function setsOf<F extends FirewallFamily>(family: F) {
  const at = { family, table: TABLE } as const;
  const addr = family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  return {
  /** Every bridge of an nlnet network. */
  bridges: { ...at, name: 'bridges', key: 'ifname' },
  /** The bridges of internal networks (`docker network create --internal`). */
  internal: { ...at, name: 'internal', key: 'ifname' },
  /**
   * BRIDGE . BRIDGE for every network: traffic between the containers of one network. It is
   * bridged, but with br_netfilter loaded (as dockerd loads it) bridged IPv4 also passes the
   * forward hook, from the bridge to the bridge (Docker: `-i BRIDGE -o BRIDGE -j ACCEPT`).
   */
  icc: { ...at, name: 'icc', key: ['ifname', 'ifname'] },
  /** `-p PORT:CPORT`: tcp . 8080 → 172.18.0.2 . 80, published on every host address. */
  portsAny: { ...at, name: 'ports_any', key: ['inet_proto', 'inet_service'], map: [addr, 'inet_service'] },
  /** `-p IP:PORT:CPORT`: 10.0.0.1 . tcp . 8080 → 172.18.0.2 . 80, published on one host address. */
  portsAddr: { ...at, name: 'ports_addr', key: [addr, 'inet_proto', 'inet_service'], map: [addr, 'inet_service'] },
  } as const satisfies Record<string, SetSpec>;
}

export type Sets = ReturnType<typeof setsOf<FirewallFamily>>;
export const SETS: Sets = setsOf('ip');
export const SETS6: Sets = setsOf('ip6');
export const setsFor = (family: FirewallFamily): Sets => (family === 'ip' ? SETS : SETS6);

export type ChainName = 'prerouting' | 'output' | 'postrouting' | 'forward';

export function chainsFor(family: FirewallFamily): Record<ChainName, ChainSpec> {
  const at = { family, table: TABLE } as const;
  return {
    prerouting: { ...at, name: 'prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat' },
    output: { ...at, name: 'output', type: 'nat', hook: 'output', priority: 'dstnat' },
    postrouting: { ...at, name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat' },
    forward: { ...at, name: 'forward', type: 'filter', hook: 'forward', priority: 'filter' },
  };
}

/** Comments mark who owns a rule: a network (`nlnet:BRIDGE`) or the table itself. */
export const networkComment = (bridge: string): string => `nlnet:${bridge}`;
// A space cannot occur in an interface name, so no network's comment looks like this.
const staticComment = (what: string): string => `nlnet static ${what}`;

/**
 * The rules every host gets, per chain, in order. A chain other than postrouting holds nothing
 * else, so ensure() can compare it as a whole.
 */
export function staticRules(family: FirewallFamily = 'ip'): Record<ChainName, RuleSpec[]> {
  const sets = setsFor(family);
  const daddr = family === 'ip' ? 'ip daddr' : 'ip6 daddr';
  const dnatByAddr = () => rule(family).fib.daddr.type.eq('local').dnat.toMap([daddr, 'meta l4proto', 'th dport'], sets.portsAddr);
  const dnatAny = () => rule(family).fib.daddr.type.eq('local').dnat.toMap(['meta l4proto', 'th dport'], sets.portsAny);
  const spec = (chain: ChainName, what: string, r: { spec(at: { table: string; chain: string; comment?: string }): RuleSpec }) =>
    r.spec({ table: TABLE, chain, comment: staticComment(what) });
  // publish() never lets the two maps hold the same protocol and port (Docker's port allocator
  // refuses `-p 10.0.0.1:8080:80` next to `-p 8080:80`), so at most one of the two matches.
  const dnat = (chain: ChainName) => [spec(chain, 'ports by address', dnatByAddr()), spec(chain, 'ports on any address', dnatAny())];
  return {
    // Packets that come in (from outside or from a container) to a published port of a host address.
    prerouting: dnat('prerouting'),
    // Connections the host itself makes to its own addresses, 127.0.0.1 included (Docker without
    // the userland proxy: the OUTPUT DNAT rule, route_localnet on the bridge).
    output: dnat('output'),
    // 127.0.0.1 redirected to a container must leave with an address the container can answer.
    // IPv6 has no route_localnet: ::1 is never DNATed out of the host (Docker needs its userland
    // proxy for that), so the ip6 table has no such rule.
    postrouting: family === 'ip' ? [spec('postrouting', 'loopback', rule(family).ip.saddr.eq('127.0.0.0/8').oifname.inSet(sets.bridges).masquerade())] : [],
    forward: [
      spec('forward', 'established', rule(family).ct.state.in(['established', 'related']).accept()),
      // Inside one network, internal ones included; also a published port hairpinned.
      spec('forward', 'same network', rule(family).concat('iifname', 'oifname').inSet(sets.icc).accept()),
      // --internal: nothing goes out of or into the network (Docker: DOCKER-ISOLATION-STAGE-1
      // drops for internal bridges).
      spec('forward', 'internal egress', rule(family).iifname.inSet(sets.internal).drop()),
      spec('forward', 'internal ingress', rule(family).oifname.inSet(sets.internal).drop()),
      // Published ports, from outside, from the host's other networks and hairpinned.
      spec('forward', 'published', rule(family).oifname.inSet(sets.bridges).ct.status.eq('dnat').accept()),
      // Anything else routed to a container: from another network (Docker's isolation chains)
      // or straight to a container address from outside (Docker 28's direct-routing drop).
      spec('forward', 'unpublished', rule(family).oifname.inSet(sets.bridges).drop()),
    ],
  };
}

export interface NetworkFirewall {
  /** The network's Linux bridge. */
  bridge: string;
  /** Its IPv4 subnet, "172.18.0.0/16". */
  subnet: string;
  /** Its IPv6 subnet, when it has one ("fd00:1::/64"): the network then has rules in `ip6 nlnet` too. */
  subnet6?: string;
  /** `--internal`: no egress, no ingress. */
  internal?: boolean;
  /** `com.docker.network.bridge.enable_ip_masquerade`; true unless said otherwise. */
  masquerade?: boolean;
}

/** A network's own rules in the postrouting chain of `family`, commented `nlnet:BRIDGE`. */
export function networkRules(n: NetworkFirewall, family: FirewallFamily = 'ip'): RuleSpec[] {
  const subnet = family === 'ip' ? n.subnet : n.subnet6;
  if (n.internal || subnet === undefined) return [];
  const at = { table: TABLE, chain: 'postrouting', comment: networkComment(n.bridge) };
  const saddr = () => (family === 'ip' ? rule(family).ip.saddr : rule(family).ip6.saddr).eq(subnet);
  const rules: RuleSpec[] = [];
  // Docker: `-t nat -A POSTROUTING -s SUBNET ! -o BRIDGE -j MASQUERADE` (ip6tables alike).
  if (n.masquerade !== false) rules.push(saddr().oifname.neq(n.bridge).masquerade().spec(at));
  // Hairpin: a container reaching a published port of its own network through a host address
  // must see the reply come from that address, so the connection leaves with the gateway's
  // (Docker: the per-port `-s CIP -d CIP --dport CPORT -j MASQUERADE`).
  rules.push(saddr().oifname.eq(n.bridge).ct.status.eq('dnat').masquerade().spec(at));
  return rules;
}
