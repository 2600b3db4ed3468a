// The rule builder's public face: `rule()` and the types its chain goes through. The builder
// lives in builder/: types.ts (data types), fields.ts (what a field loads from), context.ts
// (nft's dependencies and payload merging), match.ts (matches), inline.ts (inline sets and
// maps), statements.ts (NAT, reject, limit, log), api.ts (what each field offers) and rule.ts
// (the chain itself).
export { rule, RuleBuilder, TerminalRule } from './builder/rule.js';
export type {
  Address, ConcatMatchOf, CtFields, EtherFields, FibOifMatch, FibSelector, FlagsMatch, Icmp6Fields, IcmpFields, Ip6Fields, IpFields, L4Proto,
  MarkMatch, Match, MetaFields, NatTarget, NatValue, OrderedMatch, PortFields, TcpFields,
} from './builder/rule.js';
export type { RuleFamily } from './builder/context.js';
export type { FieldName } from './builder/fields.js';
export type { SetLike } from './builder/match.js';
export type { SetItem } from './builder/inline.js';
export type { LimitOptions, LogFlag, LogOptions, MasqueradeOptions, NatFlags, NatMapData, Per, PortRange, RejectWith } from './builder/statements.js';
