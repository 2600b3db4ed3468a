// The rule builder: code that reads like the nft rule it makes, and makes the expressions nft
// itself would send for that rule.
//
//   rule('inet').ip.saddr.eq('10.0.0.0/8').tcp.dport.eq(80).counter().accept()
//   ≙ nft add rule inet … ip saddr 10.0.0.0/8 tcp dport 80 counter accept
//
// A builder is immutable: every call returns a new one, so a common prefix can be shared.
import { ValidationError } from '../../core/errors.js';
import { oneOf, str } from '../../core/validate.js';
import { FIB_F, type Expr, type Verdict } from '../expr.js';
import { inlineSetName, type InlineSet } from '../inline.js';
import type { RuleSpec } from '../objects.js';
import type { KeyType } from '../values.js';
import type { ConcatMatchOf, CtFields, EtherFields, FibOifMatch, FibSelector, Icmp6Fields, IcmpFields, Ip6Fields, IpFields, MarkMatch, Match, MetaFields, NatTarget, NatValue, PortFields, TcpFields } from './api.js';
import { Draft, initialCtx, reduce, RULE_FAMILIES, type Ctx, type RuleFamily, type Stmt } from './context.js';
import { type FieldName } from './fields.js';
import { fibTypeof, literalSet, natDataOf } from './inline.js';
import { ConcatMatch, concatTypes, FieldMatch, fieldSource, keyField, loadConcat, setName, type SetLike, type Source, type Steps } from './match.js';
import * as S from './statements.js';
import type { ADDR_TYPES } from './types.js';

export type * from './api.js';

type NatMap = string | { readonly name: string; readonly key?: KeyType | readonly KeyType[]; readonly map: S.NatMapData } | readonly (readonly [unknown, NatValue])[];

// ---- the rule -------------------------------------------------------------------------------

interface State {
  family: RuleFamily;
  stmts: readonly Stmt[];
  ctx: Readonly<Ctx>;
  sets: readonly InlineSet[];
  text: readonly string[];
}

/** A finished rule: what it makes, and where it goes. */
export class TerminalRule {
  /** @internal */
  protected readonly state: State;

  /** @internal */
  constructor(state: State) {
    this.state = state;
  }

  get family(): RuleFamily {
    return this.state.family;
  }

  /**
   * The rule's expressions, as nft would send them. A lookup in an inline set names it by its
   * number in `sets`: such a rule goes to addRule through `spec()`, which carries the sets.
   */
  get exprs(): Expr[] {
    return reduce(this.state.stmts);
  }

  /** The anonymous sets of the rule's inline sets and maps (`tcp dport { 22, 80 }`). */
  get sets(): InlineSet[] {
    return [...this.state.sets];
  }

  /** Same as `exprs`. */
  build(): Expr[] {
    return this.exprs;
  }

  /** The rule in nft syntax, as written (without the dependencies nft and nlnet add). */
  toString(): string {
    return this.state.text.join(' ');
  }

  /** What `nl.nft.addRule()` takes: `nl.nft.addRule(rule('inet')…accept().spec({ table, chain }))`. */
  spec(at: { table: string; chain: string; comment?: string }): RuleSpec {
    const s: RuleSpec = { family: this.state.family, table: at.table, chain: at.chain, exprs: this.exprs };
    if (at.comment !== undefined) s.comment = at.comment;
    if (this.state.sets.length) s.sets = this.sets;
    return s;
  }
}

/** A rule that takes more matches and statements. */
export class RuleBuilder extends TerminalRule {
  readonly #steps: Steps<RuleBuilder, TerminalRule> = {
    step: (text, build) => new RuleBuilder(this.#next(text, build)),
    final: (text, build) => new TerminalRule(this.#next(text, build)),
  };

  #next(text: string, build: (d: Draft) => string | void): State {
    const d = new Draft(this.state.family, this.state.stmts, this.state.ctx, this.state.sets);
    const t = build(d) ?? text;
    return { family: d.family, stmts: d.stmts, ctx: d.ctx, sets: d.sets, text: [...this.state.text, t] };
  }

  /** A statement whose text and expressions depend on the rule so far (NAT, reject). */
  #built(make: (d: Draft) => S.Built): TerminalRule {
    return this.#steps.final('', (d) => {
      const b = make(d);
      d.push({ kind: 'stmt', exprs: b.exprs });
      return b.text;
    });
  }

  #stmt(text: string, exprs: Expr[]): RuleBuilder {
    return this.#steps.step(text, (d) => d.push({ kind: 'stmt', exprs }));
  }

  #field<M>(name: FieldName): M {
    return new FieldMatch(fieldSource(name), this.#steps) as M;
  }

  // ---- matches

  get ether(): EtherFields {
    return { saddr: this.#field('ether saddr'), daddr: this.#field('ether daddr'), type: this.#field('ether type') };
  }

  get ip(): IpFields {
    return { saddr: this.#field('ip saddr'), daddr: this.#field('ip daddr'), protocol: this.#field('ip protocol'), ttl: this.#field('ip ttl') };
  }

  get ip6(): Ip6Fields {
    return { saddr: this.#field('ip6 saddr'), daddr: this.#field('ip6 daddr'), nexthdr: this.#field('ip6 nexthdr'), hoplimit: this.#field('ip6 hoplimit') };
  }

  get tcp(): TcpFields {
    return { sport: this.#field('tcp sport'), dport: this.#field('tcp dport'), flags: this.#field('tcp flags') };
  }

  get udp(): PortFields {
    return { sport: this.#field('udp sport'), dport: this.#field('udp dport') };
  }

  /** The transport header whatever its protocol: the ports of tcp, udp, sctp… (`th dport`). */
  get th(): PortFields {
    return { sport: this.#field('th sport'), dport: this.#field('th dport') };
  }

  get icmp(): IcmpFields {
    return { type: this.#field('icmp type'), code: this.#field('icmp code') };
  }

  get icmpv6(): Icmp6Fields {
    return { type: this.#field('icmpv6 type'), code: this.#field('icmpv6 code') };
  }

  get meta(): MetaFields {
    const f = <M>(k: string): M => this.#field(`meta ${k}` as FieldName);
    return { l4proto: f('l4proto'), nfproto: f('nfproto'), protocol: f('protocol'), mark: f('mark'), iif: f('iif'), oif: f('oif'), iifname: f('iifname'), oifname: f('oifname'), pkttype: f('pkttype') };
  }

  /** `iifname "eth0"` (meta iifname); "veth*" matches every name starting with "veth". */
  get iifname(): Match<string> {
    return this.#field('iifname');
  }

  get oifname(): Match<string> {
    return this.#field('oifname');
  }

  /** `iif N` by ifindex. */
  get iif(): Match<number> {
    return this.#field('iif');
  }

  get oif(): Match<number> {
    return this.#field('oif');
  }

  /** `mark 0x1` (meta mark) */
  get mark(): MarkMatch {
    return this.#field('mark');
  }

  get ct(): CtFields {
    return { state: this.#field('ct state'), status: this.#field('ct status'), mark: this.#field('ct mark') };
  }

  get fib(): { saddr: FibSelector; daddr: FibSelector } {
    return { saddr: this.#fib(FIB_F.saddr, 'fib saddr'), daddr: this.#fib(FIB_F.daddr, 'fib daddr') };
  }

  #fib(flags: number, text: string): FibSelector {
    const result = (name: string, result: 'addrtype' | 'oif' | 'oifname', type: Source['type']): Source => ({
      text: `${text} ${name}`,
      type,
      typeof: fibTypeof(result, flags),
      load: (dreg) => ({ type: 'fib', flags, result, dreg }),
      present: (dreg) => ({ type: 'fib', flags: flags | FIB_F.present, result, dreg }),
    });
    const steps = this.#steps;
    const self = this;
    return {
      get iif() { return self.#fib(flags | FIB_F.iif, `${text} . iif`); },
      get mark() { return self.#fib(flags | FIB_F.mark, `${text} . mark`); },
      get type() { return new FieldMatch(result('type', 'addrtype', 'fib_addrtype'), steps) as Match<keyof typeof ADDR_TYPES>; },
      get oif() { return new FieldMatch(result('oif', 'oif', 'ifindex'), steps) as FibOifMatch; },
      get oifname() { return new FieldMatch(result('oifname', 'oifname', 'ifname'), steps) as Match<string>; },
    };
  }

  /** `A . B . C @set` / `vmap @map`, or inline `A . B { a . b, … }`: several fields looked up together. */
  concat(...fields: FieldName[]): ConcatMatchOf {
    return new ConcatMatch(fields, this.#steps) as ConcatMatchOf;
  }

  // ---- statements

  /** `counter` */
  counter(): RuleBuilder {
    return this.#stmt('counter', [{ type: 'counter' }]);
  }

  /** `notrack`: no connection tracking for the packet (raw priority chains). */
  notrack(): RuleBuilder {
    return this.#stmt('notrack', [{ type: 'notrack' }]);
  }

  /** `limit rate [over] N/PER [burst B packets]` */
  limit(rate: number, per: S.Per, options: S.LimitOptions = {}): RuleBuilder {
    const b = S.limit(rate, per, options);
    return this.#stmt(b.text, b.exprs);
  }

  /** `log [prefix …] [level …] [flags …] [group N]` */
  log(options: S.LogOptions = {}): RuleBuilder {
    const b = S.log(options);
    return this.#stmt(b.text, b.exprs);
  }

  get snat(): NatTarget {
    return this.#nat('snat');
  }

  get dnat(): NatTarget {
    return this.#nat('dnat');
  }

  #nat(kind: 'snat' | 'dnat'): NatTarget {
    return {
      to: (addr, port, options = {}) => this.#built((d) => S.natTo(d, kind, addr, port, options)),
      toMap: (key: FieldName | readonly FieldName[], map: NatMap, data?: S.NatMapData) => {
        const fields = (Array.isArray(key) ? key : [key]) as FieldName[];
        if (Array.isArray(map)) return this.#natInline(kind, fields, map);
        const name = setName(`${kind}.map`, map as SetLike, concatTypes(`${kind}.key`, fields));
        const what = typeof map === 'string' ? data : (map as { map?: unknown }).map;
        return this.#built((d) => {
          const { fam, port } = S.natMapData(d, `${kind}.data`, what);
          const exprs = [...loadConcat(d, fields), ...S.natMap(kind, fam, port, name)];
          const famWord = d.family === 'inet' || port ? ` ${fam}` : '';
          return { exprs, text: `${kind}${famWord} to ${fields.join(' . ')} map @${name}` };
        });
      },
    };
  }

  /** `snat|dnat [ip|ip6] to KEY map { K : V, … }` */
  #natInline(kind: 'snat' | 'dnat', fields: FieldName[], entries: readonly (readonly [unknown, NatValue])[]): TerminalRule {
    concatTypes(`${kind}.key`, fields);
    if (entries.length === 0) throw new ValidationError(`${kind}.map`, entries, 'expected at least one [key, target] pair');
    // The first target says what the map holds: an address, or an address and a port.
    const types = natDataOf(`${kind}.map[0][1]`, Array.isArray(entries[0]) ? entries[0][1] : undefined);
    const inline = literalSet(`${kind}.map`, fields.map(keyField), entries, { kind: 'nat', types });
    return this.#built((d) => {
      const { fam, port } = S.natMapData(d, `${kind}.map`, types);
      const id = d.addSet(inline.set);
      const exprs = [...loadConcat(d, fields), ...S.natMap(kind, fam, port, inlineSetName(inline.set), id)];
      const famWord = d.family === 'inet' || port ? ` ${fam}` : '';
      return { exprs, text: `${kind}${famWord} to ${fields.join(' . ')} map ${inline.text}` };
    });
  }

  /** `masquerade [to :PORTS] [random] [fully-random] [persistent]` */
  masquerade(options: S.MasqueradeOptions = {}): TerminalRule {
    return this.#ports('masq', options.ports, options);
  }

  /** `redirect [to :PORT[-PORT]]`: to the host itself, on this port. */
  redirect(port?: S.PortRange, options: S.NatFlags = {}): TerminalRule {
    return this.#ports('redir', port, options);
  }

  #ports(kind: 'masq' | 'redir', port: S.PortRange | undefined, options: S.NatFlags): TerminalRule {
    return this.#built((d) => S.portsOnly(d, kind, port, options));
  }

  /** `reject [with tcp reset | with icmp|icmpv6|icmpx type …]` */
  reject(how?: S.RejectWith): TerminalRule {
    return this.#built((d) => S.reject(d, how));
  }

  // ---- verdicts

  #verdict(v: Verdict): TerminalRule {
    const text = 'chain' in v ? `${v.code} ${v.chain}` : v.code;
    return this.#steps.final(text, (d) => d.push({ kind: 'stmt', exprs: [{ type: 'immediate', dreg: 0, data: { verdict: v } }] }));
  }

  accept(): TerminalRule { return this.#verdict({ code: 'accept' }); }
  drop(): TerminalRule { return this.#verdict({ code: 'drop' }); }
  /** `return`: back to the chain that jumped here. */
  return(): TerminalRule { return this.#verdict({ code: 'return' }); }
  /** Same as `return()`. */
  return_(): TerminalRule { return this.return(); }
  /** `continue`: on with the next rule. */
  continue(): TerminalRule { return this.#verdict({ code: 'continue' }); }
  /** Same as `continue()`. */
  continue_(): TerminalRule { return this.continue(); }
  /** `jump CHAIN`: and come back. */
  jump(chain: string): TerminalRule { return this.#verdict({ code: 'jump', chain: str('jump', chain, 255) }); }
  /** `goto CHAIN`: and do not come back. */
  goto(chain: string): TerminalRule { return this.#verdict({ code: 'goto', chain: str('goto', chain, 255) }); }
}

/**
 * Starts a rule for a table of this family (nft's default, like `nft add rule` without one, is ip).
 * The family decides the dependencies nft adds: `ip saddr` in an inet table first checks
 * `meta nfproto ipv4`, `tcp dport` anywhere first checks `meta l4proto tcp`.
 */
export function rule(family: RuleFamily = 'ip'): RuleBuilder {
  const f = oneOf('rule.family', family, RULE_FAMILIES);
  return new RuleBuilder({ family: f, stmts: [], ctx: initialCtx(f), sets: [], text: [] });
}

