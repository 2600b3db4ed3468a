// What the rule builder offers on each field, as types: matches, set lookups (named or inline),
// setters, NAT targets. The classes behind them are in match.ts and rule.ts.
import type { CT_STATE, Verdict } from '../expr.js';
import type { KeyType, Value } from '../values.js';
import type { FieldName } from './fields.js';
import type { SetItem } from './inline.js';
import type { SetLike } from './match.js';
import type { RuleBuilder, TerminalRule } from './rule.js';
import type * as S from './statements.js';
import type { ADDR_TYPES, CT_STATUSES, ETHER_TYPES, ICMP_TYPES, ICMPV6_TYPES, L4_PROTOS, NF_PROTOS, PKT_TYPES, TCP_FLAGS } from './types.js';

/** Equality and set membership: every field has these. */
export interface Match<V> {
  /** `FIELD VALUE` */
  eq(value: V): RuleBuilder;
  /** `FIELD != VALUE` */
  neq(value: V): RuleBuilder;
  /** `FIELD @set`, or with a list of elements an inline set: `FIELD { 22, 80 }` (see SetItem). */
  inSet(set: SetLike | readonly SetItem<V>[]): RuleBuilder;
  /** `FIELD != @set`, `FIELD != { … }` */
  notInSet(set: SetLike | readonly SetItem<V>[]): RuleBuilder;
  /**
   * `FIELD vmap @map`: jump, accept… as the verdict map says for the value. With [element,
   * verdict] pairs an inline map: `FIELD vmap { 10.0.0.1 : drop, 10.0.0.2 : accept }`.
   */
  vmap(map: SetLike | readonly (readonly [SetItem<V>, Verdict])[]): TerminalRule;
}

/** Big-endian fields (addresses, ports, protocols) also compare in order. */
export interface OrderedMatch<V> extends Match<V> {
  lt(value: V): RuleBuilder;
  lte(value: V): RuleBuilder;
  gt(value: V): RuleBuilder;
  gte(value: V): RuleBuilder;
  /** `FIELD FROM-TO`, inclusive */
  inRange(from: V, to: V): RuleBuilder;
  /** `FIELD != FROM-TO` */
  notInRange(from: V, to: V): RuleBuilder;
}

/**
 * Bitmasks (`ct state`, `ct status`, `tcp flags`). `eq('established')` and `in([...])` test
 * whether any of the flags is set, as a bare `ct state established,related` does; `neq` compares
 * the whole value, as `ct state != established` does.
 */
export interface FlagsMatch<F extends string> extends Match<F | readonly F[]> {
  /** `FIELD F1,F2,…` */
  in(flags: readonly F[]): RuleBuilder;
}

/** Marks: matched, and written. */
export interface MarkMatch extends Match<number> {
  /** `FIELD set VALUE` */
  set(value: number): RuleBuilder;
  /** `FIELD set OTHER` (`ct mark set meta mark`) */
  setFrom(other: 'meta mark' | 'mark' | 'ct mark'): RuleBuilder;
}

/** `fib … oif`: an ifindex, or whether a route exists at all. */
export interface FibOifMatch extends Match<number> {
  /** `fib … oif missing` */
  missing(): RuleBuilder;
  /** `fib … oif exists` */
  exists(): RuleBuilder;
}

/** An address, with or without a prefix length ("10.0.0.0/8", "fd00::/64"). */
export type Address = string;
export type L4Proto = keyof typeof L4_PROTOS;

export interface EtherFields { saddr: OrderedMatch<string>; daddr: OrderedMatch<string>; type: Match<keyof typeof ETHER_TYPES | number> }
export interface IpFields { saddr: OrderedMatch<Address>; daddr: OrderedMatch<Address>; protocol: OrderedMatch<L4Proto | number>; ttl: OrderedMatch<number> }
export interface Ip6Fields { saddr: OrderedMatch<Address>; daddr: OrderedMatch<Address>; nexthdr: OrderedMatch<L4Proto | number>; hoplimit: OrderedMatch<number> }
export interface PortFields { sport: OrderedMatch<number>; dport: OrderedMatch<number> }
export interface TcpFields extends PortFields { flags: FlagsMatch<keyof typeof TCP_FLAGS> }
export interface IcmpFields { type: OrderedMatch<keyof typeof ICMP_TYPES | number>; code: OrderedMatch<number> }
export interface Icmp6Fields { type: OrderedMatch<keyof typeof ICMPV6_TYPES | number>; code: OrderedMatch<number> }
export interface MetaFields {
  l4proto: OrderedMatch<L4Proto | number>;
  nfproto: Match<keyof typeof NF_PROTOS>;
  protocol: Match<keyof typeof ETHER_TYPES | number>;
  mark: MarkMatch;
  /** ifindex */
  iif: Match<number>;
  /** ifindex */
  oif: Match<number>;
  /** A name; "veth*" matches every name starting with "veth". */
  iifname: Match<string>;
  oifname: Match<string>;
  pkttype: Match<keyof typeof PKT_TYPES>;
}
export interface CtFields { state: FlagsMatch<keyof typeof CT_STATE>; status: FlagsMatch<keyof typeof CT_STATUSES>; mark: MarkMatch }

/** `fib saddr|daddr [. iif] [. mark] type|oif|oifname` */
export interface FibSelector {
  /** `. iif`: look up as if the packet came back in on its input interface. */
  readonly iif: FibSelector;
  /** `. mark`: with the packet's mark. */
  readonly mark: FibSelector;
  /** The route's address type (`fib daddr type local`). */
  readonly type: Match<keyof typeof ADDR_TYPES>;
  readonly oif: FibOifMatch;
  readonly oifname: Match<string>;
}

/** A NAT target: `snat`/`dnat`. */
export interface NatTarget {
  /** `dnat to ADDR[:PORT]`; an address range is [from, to], a port range too. */
  to(addr: string | readonly [string, string], port?: S.PortRange, options?: S.NatFlags): TerminalRule;
  /**
   * `dnat to KEY map @MAP`: the map turns the key (one field, or a concatenation) into an address
   * or an address and port. Pass the map's spec, or its name and data type.
   */
  toMap(key: FieldName | readonly FieldName[], map: string, data: S.NatMapData): TerminalRule;
  toMap(key: FieldName | readonly FieldName[], map: { readonly name: string; readonly key?: KeyType | readonly KeyType[]; readonly map: S.NatMapData }): TerminalRule;
  /**
   * `dnat to KEY map { 80 : 172.17.0.2, … }`: an inline map from [key, target] pairs, the target
   * an address or [address, port] (`80 : 172.17.0.2 . 8080`); a concatenated key is an array.
   */
  toMap(key: FieldName | readonly FieldName[], entries: readonly (readonly [SetItem<Value> | readonly SetItem<Value>[], NatValue])[]): TerminalRule;
}

/** What an inline NAT map turns a key into: an address, or an address and a port. */
export type NatValue = string | readonly [string, number];

/** `A . B . C @set`, `… vmap @map`: several fields looked up together; inline, one value each. */
export interface ConcatMatchOf {
  inSet(set: SetLike | readonly (readonly SetItem<Value>[])[]): RuleBuilder;
  notInSet(set: SetLike | readonly (readonly SetItem<Value>[])[]): RuleBuilder;
  vmap(map: SetLike | readonly (readonly [readonly SetItem<Value>[], Verdict])[]): TerminalRule;
}
