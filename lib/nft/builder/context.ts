// What nft does between parsing a rule and sending it: protocol dependencies (src/payload.c
// payload_gen_dependency), and merging adjacent header matches into one load (src/rule.c
// stmt_reduce). Reproducing both is what makes a built rule byte-identical to nft's, and makes
// `nft list ruleset` print it back as the rule it was written as.
import { ValidationError } from '../../core/errors.js';
import type { Expr } from '../expr.js';
import type { InlineSet } from '../inline.js';
import { FIELDS, PROTO_BASE, type Base, type FieldDef, type FieldName, type Proto } from './fields.js';
import { beUint, ETHER_TYPES, hostUint, L4_PROTOS, NF_PROTOS } from './types.js';

export type RuleFamily = 'ip' | 'ip6' | 'inet' | 'bridge' | 'netdev';
export const RULE_FAMILIES: readonly RuleFamily[] = ['ip', 'ip6', 'inet', 'bridge', 'netdev'];

/** What earlier matches of the rule established about each layer (nft's proto_ctx). */
export interface Ctx {
  /** The link layer is known to be Ethernet. */
  ether?: true;
  /** 'ip', 'ip6' or another ether type's name. */
  network?: string;
  /** The transport protocol's number. */
  transport?: number;
}

/**
 * A statement before merging. nft merges header equality matches (`match`) that sit next to each
 * other in the packet; any other match (`expr`) lets the merge look past it, any other statement
 * (counter, nat, verdict: `stmt`) ends the run.
 */
export type Stmt =
  | { kind: 'match'; base: Base; offset: number; len: number; value: Buffer; protocol: boolean }
  | { kind: 'expr'; exprs: Expr[] }
  | { kind: 'stmt'; exprs: Expr[] };

const NETWORK_OF: Partial<Record<Proto, 'ip' | 'ip6'>> = { icmp: 'ip', icmpv6: 'ip6' };
const L4_NAMES: Record<number, string> = Object.fromEntries(Object.entries(L4_PROTOS).map(([k, v]) => [v, k]));
const ARPHRD_ETHER = 1;

export function initialCtx(family: RuleFamily): Ctx {
  switch (family) {
    case 'ip':
      return { network: 'ip' };
    case 'ip6':
      return { network: 'ip6' };
    case 'bridge':
      return { ether: true };
    case 'inet':
    case 'netdev':
      return {};
    default: {
      const never: never = family;
      return never;
    }
  }
}

const metaEq = (key: 'nfproto' | 'protocol' | 'l4proto' | 'iiftype', value: Buffer): Stmt => ({
  kind: 'expr',
  exprs: [
    { type: 'meta', key, dreg: 1 },
    { type: 'cmp', sreg: 1, op: 'eq', data: { value } },
  ],
});

function conflict(field: string, had: string, want: string): ValidationError {
  return new ValidationError(field, want, `conflicting protocols specified: ${had} vs. ${want}`);
}

/** A rule being built: its statements so far and the protocol context they set. */
export class Draft {
  readonly stmts: Stmt[];
  readonly ctx: Ctx;
  /** The rule's anonymous sets, numbered 1, 2… in the order its lookups use them. */
  readonly sets: InlineSet[];

  constructor(readonly family: RuleFamily, stmts: readonly Stmt[], ctx: Readonly<Ctx>, sets: readonly InlineSet[] = []) {
    this.stmts = [...stmts];
    this.ctx = { ...ctx };
    this.sets = [...sets];
  }

  push(...s: Stmt[]): void {
    this.stmts.push(...s);
  }

  /** Adds an anonymous set; returns its number, which the lookup using it carries as setId. */
  addSet(s: Omit<InlineSet, 'id'>): number {
    const id = this.sets.length + 1;
    this.sets.push({ ...s, id });
    return id;
  }

  /** Adds the matches a header field needs before it can be read, as nft does. */
  need(proto: Proto, field: string): void {
    const base = PROTO_BASE[proto];
    if (base === 'll') return this.#needEther();
    if (base === 'network') return this.#needNetwork(proto as 'ip' | 'ip6', field, false);
    return this.#needTransport(proto, field);
  }

  /** Ethernet below the hook's own layer: nft checks the input device's type. */
  #needEther(): void {
    if (this.ctx.ether) return;
    this.push(metaEq('iiftype', hostUint(ARPHRD_ETHER, 2)));
    this.ctx.ether = true;
  }

  /**
   * `ip …` in an inet table needs `meta nfproto ipv4`; in bridge and netdev tables `meta protocol
   * ip` (skb->protocol, which also sees VLAN-offloaded frames), except below an icmp match in a
   * bridge, where nft falls back to `ether type ip` (payload_gen_special_dependency).
   */
  #needNetwork(proto: 'ip' | 'ip6', field: string, special: boolean): void {
    const had = this.ctx.network;
    if (had === proto) return;
    if (had !== undefined) throw conflict(field, had, proto);
    switch (this.family) {
      case 'inet':
        this.push(metaEq('nfproto', beUint(NF_PROTOS[proto === 'ip' ? 'ipv4' : 'ipv6'], 1)));
        break;
      case 'bridge':
        if (special) this.push({ kind: 'match', base: 'll', offset: 12, len: 2, value: beUint(ETHER_TYPES[proto], 2), protocol: true });
        else this.push(metaEq('protocol', beUint(ETHER_TYPES[proto], 2)));
        break;
      case 'netdev':
        this.push(metaEq('protocol', beUint(ETHER_TYPES[proto], 2)));
        break;
      case 'ip':
      case 'ip6':
        throw conflict(field, this.family, proto);
      default: {
        const never: never = this.family;
        return never;
      }
    }
    this.ctx.network = proto;
  }

  /** `tcp …` needs `meta l4proto tcp`; `th …` needs nothing, which is what th is for. */
  #needTransport(proto: Proto, field: string): void {
    if (proto === 'th') return;
    const num = L4_PROTOS[proto as keyof typeof L4_PROTOS];
    const had = this.ctx.transport;
    if (had === num) return;
    if (had !== undefined) throw conflict(field, L4_NAMES[had] ?? String(had), proto);
    const network = NETWORK_OF[proto];
    if (network) this.#needNetwork(network, field, true);
    this.push(metaEq('l4proto', beUint(num, 1)));
    this.ctx.transport = num;
  }

  /** The transport protocol, for statements that need one (`dnat to …:port`, `reject with tcp reset`). */
  needTcp(field: string): void {
    this.#needTransport('tcp', field);
  }

  /** The network protocol, for `reject with icmp …` in tables that carry both. */
  needNetworkFor(proto: 'ip' | 'ip6', field: string): void {
    this.#needNetwork(proto, field, false);
  }

  /**
   * An equality match on a protocol key tells later matches what the next layer carries. In inet
   * tables nft reads the network layer from `meta nfproto` only, never from `meta protocol`.
   */
  learn(def: FieldDef, value: Buffer): void {
    if (def.selects === 'transport') this.ctx.transport = value[0]!;
    else if (def.selects === 'network' && this.ctx.network === undefined && !(def.meta === 'protocol' && this.family === 'inet')) {
      const n = def.type === 'nf_proto' ? value[0]! : value.readUInt16BE(0);
      const names: Record<number, string> =
        def.type === 'nf_proto' ? { [NF_PROTOS.ipv4]: 'ip', [NF_PROTOS.ipv6]: 'ip6' } : { [ETHER_TYPES.ip]: 'ip', [ETHER_TYPES.ip6]: 'ip6', [ETHER_TYPES.arp]: 'arp', [ETHER_TYPES.vlan]: 'vlan' };
      this.ctx.network = names[n] ?? `0x${n.toString(16)}`;
    }
  }
}

/** The expression that loads a field into register `reg`. */
export function load(name: FieldName, reg: number): Expr {
  const def: FieldDef = FIELDS[name];
  if (def.payload) return { type: 'payload', base: PROTO_BASE[def.payload.proto], offset: def.payload.offset, len: def.payload.len, dreg: reg };
  if (def.meta) return { type: 'meta', key: def.meta, dreg: reg };
  if (def.ct) return { type: 'ct', key: def.ct, dreg: reg };
  throw new Error(`field ${name} has no load`);
}

/**
 * Concatenated values sit in 4-byte slots from register 1 on; nft names a slot by its 16-byte
 * register when it starts one (NFT_REG_1…4) and by its 4-byte register otherwise (NFT_REG32_xx).
 */
export function slotRegister(slot: number): number {
  return slot % 4 === 0 ? 1 + slot / 4 : 8 + slot;
}

/** Max bytes of a concatenation: the sixteen 4-byte registers. */
export const CONCAT_MAX = 64;

const BASE_ORDER: Record<Base, number> = { ll: 0, network: 1, transport: 2 };
type Match = Extract<Stmt, { kind: 'match' }>;

/** payload_can_merge(): adjacent, one register at most, and still worth it. */
function canMerge(a: Match, b: Match): boolean {
  if (a.base !== b.base || a.offset + a.len !== b.offset) return false;
  const total = a.len + b.len;
  if (total > 16) return false;
  // Loads up to 4 bytes above the link layer run on the kernel's fast path: merging two of them
  // into one bigger load would be slower, so nft leaves them apart.
  return total <= 4 || a.base === 'll' || a.len > 4 || b.len > 4;
}

/** payload_do_merge() over one run of matches: each merge keeps one statement and kills the other. */
function mergeRun(run: Match[], dead: Set<Match>): void {
  const sorted = [...run].sort((x, y) => BASE_ORDER[x.base] - BASE_ORDER[y.base] || x.offset - y.offset);
  let last = sorted[0]!;
  for (const cur of sorted.slice(1)) {
    if (!canMerge(last, cur)) {
      last = cur;
      continue;
    }
    const merged = { offset: last.offset, len: last.len + cur.len, value: Buffer.concat([last.value, cur.value]) };
    // The merged load takes the place of a protocol key match, never the other way round, so the
    // dependency still comes before what depends on it (`ether type ip` before `ip saddr`).
    const [keep, drop] = cur.protocol ? [cur, last] : [last, cur];
    Object.assign(keep, merged, { protocol: cur.protocol });
    dead.add(drop);
    last = keep;
  }
}

/** The rule's expressions: matches merged as stmt_reduce() does, then flattened. */
export function reduce(stmts: readonly Stmt[]): Expr[] {
  const own = stmts.map((s) => (s.kind === 'match' ? { ...s } : s));
  const dead = new Set<Match>();
  let run: Match[] = [];
  for (const s of own) {
    if (s.kind === 'match') run.push(s);
    else if (s.kind === 'stmt') {
      if (run.length > 1) mergeRun(run, dead);
      run = [];
    }
  }
  if (run.length > 1) mergeRun(run, dead);
  return own.flatMap((s): Expr[] => {
    if (s.kind !== 'match') return s.exprs;
    if (dead.has(s)) return [];
    return [
      { type: 'payload', base: s.base, offset: s.offset, len: s.len, dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: { value: s.value } },
    ];
  });
}
