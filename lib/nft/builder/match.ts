// Matches on one field (`ip saddr 10.0.0.0/8`, `ct state established`, `tcp dport 1000-2000`,
// `ip saddr @allowed`, `tcp dport { 22, 80 }`), on a concatenation (`ip daddr . tcp dport
// @published`) and the `set` statements of writable fields (`meta mark set 0x1`). Each method
// checks its argument, then adds the expressions nft generates for the same text
// (src/netlink_linearize.c).
import { ValidationError } from '../../core/errors.js';
import { prefix as parsePrefix, str } from '../../core/validate.js';
import { LOOKUP_F_INV, type Expr } from '../expr.js';
import { inlineSetName } from '../inline.js';
import type { KeyType, TypeofField } from '../values.js';
import { CONCAT_MAX, type Draft, load, slotRegister } from './context.js';
import { FIELDS, isFieldName, PROTO_BASE, type FieldDef, type FieldName } from './fields.js';
import { fieldTypeof, isRangeItem, literalSet, type KeyField } from './inline.js';
import { ETHER_TYPES, hostUint, VALUE_TYPES, type TypeName } from './types.js';

/** The builder calls a match makes: a step that leaves the rule open, or one that ends it. */
export interface Steps<R, T> {
  /** `build` adds the statement to the draft; a string it returns replaces `text`. */
  step(text: string, build: (d: Draft) => string | void): R;
  final(text: string, build: (d: Draft) => string | void): T;
}

/** What a match reads: a field of FIELDS, or the result of a fib lookup. */
export interface Source {
  text: string;
  type: TypeName;
  /** What nft records about the field when it keys an anonymous set. */
  typeof: TypeofField;
  def?: FieldDef;
  load(reg: number): Expr;
  /** fib's `… oif missing|exists`: the same lookup asked only whether a route exists. */
  present?: (reg: number) => Expr;
}

export const fieldSource = (name: FieldName): Source => ({ text: name, type: FIELDS[name].type, typeof: fieldTypeof(name), def: FIELDS[name], load: (r) => load(name, r) });

/** A field as the key (or a key field) of an inline set. */
export const keyField = (name: FieldName): KeyField => ({ text: name, type: FIELDS[name].type, typeof: fieldTypeof(name) });

/** The lookup of an inline set, by its number in the rule. */
function inlineLookup(d: Draft, set: ReturnType<typeof literalSet>['set'], invert: boolean, dreg?: number): Expr {
  const l: Extract<Expr, { type: 'lookup' }> = { type: 'lookup', sreg: 1, set: inlineSetName(set), setId: d.addSet(set) };
  if (dreg !== undefined) l.dreg = dreg;
  if (invert) l.flags = LOOKUP_F_INV;
  return l;
}

/** A set or map: by name, or the spec it was created with, so that its key type is checked too. */
export type SetLike = string | { readonly name: string; readonly key?: KeyType | readonly KeyType[]; readonly map?: unknown };

const cmp = (op: Extract<Expr, { type: 'cmp' }>['op'], value: Buffer): Expr => ({ type: 'cmp', sreg: 1, op, data: { value } });

/** The name of a set, after checking that its key is what the rule feeds it. */
export function setName(field: string, set: SetLike, types: readonly TypeName[], map?: 'verdict'): string {
  if (typeof set === 'string') return str(field, set, 255);
  if (typeof set !== 'object' || set === null) throw new ValidationError(field, set, 'expected a set name or a set spec');
  const name = str(`${field}.name`, set.name, 255);
  if (set.key !== undefined) {
    const key = Array.isArray(set.key) ? set.key : [set.key];
    if (key.join(' . ') !== types.join(' . ')) throw new ValidationError(`${field}.key`, set.key, `the rule looks up ${types.join(' . ')}`);
  }
  if (map !== undefined && set.map !== undefined && set.map !== map) throw new ValidationError(`${field}.map`, set.map, `expected a ${map} map`);
  return name;
}

function maskBytes(len: number, bits: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = bits >= 8 * (i + 1) ? 0xff : bits > 8 * i ? (0xff << (8 - (bits - 8 * i))) & 0xff : 0;
  return b;
}

const FAMILY_ETHER_TYPE: Partial<Record<string, number>> = { ip: ETHER_TYPES.ip, ip6: ETHER_TYPES.ip6 };

const isAddr = (t: TypeName): t is 'ipv4_addr' | 'ipv6_addr' => t === 'ipv4_addr' || t === 'ipv6_addr';

/** One field, with every operation; the typed interfaces in rule.ts expose what fits each field. */
export class FieldMatch<R, T> {
  constructor(private readonly src: Source, private readonly s: Steps<R, T>) {}

  /** `FIELD VALUE`: for addresses also `FIELD ADDR/LEN`; for bitmasks, any of the flags. */
  eq(value: unknown): R {
    return this.#compare('eq', value);
  }

  /** `FIELD != VALUE` */
  neq(value: unknown): R {
    return this.#compare('neq', value);
  }

  /** `ct state established,related`: any of these flags. */
  in(flags: readonly unknown[]): R {
    const t = VALUE_TYPES[this.src.type] as { flags?: boolean };
    if (!t.flags) throw new ValidationError(this.src.text, flags, 'a list of values needs a set here (inSet)');
    if (!Array.isArray(flags)) throw new ValidationError(this.src.text, flags, 'expected a list of flags');
    return this.#compare('eq', flags);
  }

  lt(v: unknown): R { return this.#order('lt', '<', v); }
  lte(v: unknown): R { return this.#order('lte', '<=', v); }
  gt(v: unknown): R { return this.#order('gt', '>', v); }
  gte(v: unknown): R { return this.#order('gte', '>=', v); }

  /** `FIELD FROM-TO` (inclusive) */
  inRange(from: unknown, to: unknown): R {
    return this.#range(false, from, to);
  }

  /** `FIELD != FROM-TO` */
  notInRange(from: unknown, to: unknown): R {
    return this.#range(true, from, to);
  }

  /** `FIELD @set`; `FIELD { a, b }` with a list */
  inSet(set: SetLike | readonly unknown[]): R {
    return this.#lookup(set, false);
  }

  /** `FIELD != @set`; `FIELD != { a, b }` with a list */
  notInSet(set: SetLike | readonly unknown[]): R {
    return this.#lookup(set, true);
  }

  /** `FIELD vmap @map`: the verdict the map holds for the value; `vmap { a : v, … }` from pairs. */
  vmap(map: SetLike | readonly unknown[]): T {
    if (Array.isArray(map)) {
      const inline = literalSet(`${this.src.text} vmap`, [this.src], map, { kind: 'verdict' });
      return this.s.final(`${this.src.text} vmap ${inline.text}`, (d) => {
        this.#need(d);
        d.push({ kind: 'expr', exprs: [this.src.load(1), inlineLookup(d, inline.set, false, 0)] });
      });
    }
    const name = setName(`${this.src.text} vmap`, map as SetLike, [this.src.type], 'verdict');
    return this.s.final(`${this.src.text} vmap @${name}`, (d) => {
      this.#need(d);
      d.push({ kind: 'expr', exprs: [this.src.load(1), { type: 'lookup', sreg: 1, dreg: 0, set: name }] });
    });
  }

  /** `FIELD set VALUE` (`meta mark set 0x1`) */
  set(value: unknown): R {
    const e = this.#setter();
    const bytes = VALUE_TYPES[this.src.type].encode(this.src.text, value);
    return this.s.step(`${this.src.text} set ${VALUE_TYPES[this.src.type].text(value)}`, (d) => {
      d.push({ kind: 'stmt', exprs: [{ type: 'immediate', dreg: 1, data: { value: bytes } }, e] });
    });
  }

  /** `FIELD set OTHER` (`ct mark set meta mark`) */
  setFrom(other: FieldName): R {
    const e = this.#setter();
    if (!isFieldName(other)) throw new ValidationError(`${this.src.text} set`, other, 'expected a field name such as "meta mark"');
    if (FIELDS[other].type !== this.src.type) throw new ValidationError(`${this.src.text} set`, other, `expected a field of type ${this.src.type}`);
    return this.s.step(`${this.src.text} set ${other}`, (d) => {
      const p = (FIELDS[other] as FieldDef).payload;
      if (p) d.need(p.proto, other);
      d.push({ kind: 'stmt', exprs: [load(other, 1), e] });
    });
  }

  /** fib's `oif missing`: no route. */
  missing(): R {
    return this.#present(false);
  }

  /** fib's `oif exists`: a route. */
  exists(): R {
    return this.#present(true);
  }

  #need(d: Draft): void {
    const p = this.src.def?.payload;
    if (p) d.need(p.proto, this.src.text);
  }

  #compare(op: 'eq' | 'neq', v: unknown): R {
    const { text: f, type, def } = this.src;
    const t = VALUE_TYPES[type];
    const neg = op === 'neq' ? '!= ' : '';
    if (isAddr(type)) {
      const pre = parsePrefix(f, v, type === 'ipv4_addr' ? 'inet' : 'inet6');
      if (pre.prefixlen < 8 * t.len) return this.s.step(`${f} ${neg}${v as string}`, (d) => this.#prefix(d, op, t.encode(f, pre.address), pre.prefixlen));
      v = pre.address;
    }
    const value = t.encode(f, v);
    const text = `${f} ${neg}${t.text(v)}`;
    if ('flags' in t && op === 'eq')
      return this.s.step(text, (d) => {
        this.#need(d);
        const zero = Buffer.alloc(t.len);
        d.push({ kind: 'expr', exprs: [this.src.load(1), { type: 'bitwise', sreg: 1, dreg: 1, len: t.len, mask: { value }, xor: { value: zero } }, cmp('neq', zero)] });
      });
    return this.s.step(text, (d) => {
      if (def?.meta === 'nfproto' && d.family !== 'inet') throw new ValidationError(f, v, 'meta nfproto is only useful in inet tables');
      this.#need(d);
      const p = def?.payload;
      // nft drops `meta protocol ip` from ip tables (and ip6 from ip6 ones): it always holds.
      if (def?.meta === 'protocol' && op === 'eq' && value.readUInt16BE(0) === FAMILY_ETHER_TYPE[d.family]) return;
      if (p && op === 'eq' && value.length === p.len)
        d.push({ kind: 'match', base: PROTO_BASE[p.proto], offset: p.offset, len: p.len, value, protocol: def?.selects !== undefined });
      else d.push({ kind: 'expr', exprs: [this.src.load(1), cmp(op, value)] });
      if (op === 'eq' && def?.selects) d.learn(def, value);
    });
  }

  /**
   * A prefix on a byte boundary loads just those bytes (`ip saddr 10.0.0.0/8` is a 1-byte load);
   * any other is masked with a bitwise expression first. nft shortens the load after merging
   * adjacent matches, so a prefix match never merges with its neighbours.
   */
  #prefix(d: Draft, op: 'eq' | 'neq', addr: Buffer, bits: number): void {
    this.#need(d);
    const p = this.src.def!.payload!;
    const mask = maskBytes(addr.length, bits);
    const net = Buffer.from(addr.map((b, i) => b & mask[i]!));
    if (bits > 0 && bits % 8 === 0) {
      const n = bits / 8;
      d.push({ kind: 'expr', exprs: [{ type: 'payload', base: PROTO_BASE[p.proto], offset: p.offset, len: n, dreg: 1 }, cmp(op, net.subarray(0, n))] });
      return;
    }
    const bitwise: Expr = { type: 'bitwise', sreg: 1, dreg: 1, len: addr.length, mask: { value: mask }, xor: { value: Buffer.alloc(addr.length) } };
    d.push({ kind: 'expr', exprs: [this.src.load(1), bitwise, cmp(op, net)] });
  }

  #ordered(what: unknown): void {
    const t = VALUE_TYPES[this.src.type];
    if (t.order !== 'big' || 'flags' in t)
      throw new ValidationError(this.src.text, what, `${this.src.text} compares only for equality (its value is ${'flags' in t ? 'a bitmask' : 'in host byte order'})`);
  }

  #order(op: 'lt' | 'lte' | 'gt' | 'gte', sym: string, v: unknown): R {
    this.#ordered(v);
    const t = VALUE_TYPES[this.src.type];
    const value = t.encode(this.src.text, v);
    return this.s.step(`${this.src.text} ${sym} ${t.text(v)}`, (d) => {
      this.#need(d);
      d.push({ kind: 'expr', exprs: [this.src.load(1), cmp(op, value)] });
    });
  }

  /** nft tests a range with two comparisons, and its negation with one range expression. */
  #range(negate: boolean, from: unknown, to: unknown): R {
    this.#ordered([from, to]);
    const t = VALUE_TYPES[this.src.type];
    const lo = t.encode(this.src.text, from);
    const hi = t.encode(this.src.text, to);
    if (Buffer.compare(lo, hi) > 0) throw new ValidationError(this.src.text, [from, to], 'the range ends before it starts');
    return this.s.step(`${this.src.text} ${negate ? '!= ' : ''}${t.text(from)}-${t.text(to)}`, (d) => {
      this.#need(d);
      const exprs: Expr[] = negate
        ? [this.src.load(1), { type: 'range', sreg: 1, op: 'neq', from: { value: lo }, to: { value: hi } }]
        : [this.src.load(1), cmp('gte', lo), cmp('lte', hi)];
      d.push({ kind: 'expr', exprs });
    });
  }

  #lookup(set: SetLike | readonly unknown[], invert: boolean): R {
    // nft turns a set of one element into the plain match (`tcp dport { 22 }` is `tcp dport 22`).
    if (Array.isArray(set) && set.length === 1) {
      const [only] = set as unknown[];
      if (isRangeItem(only)) return this.#range(invert, only.from, only.to);
      return this.#compare(invert ? 'neq' : 'eq', only);
    }
    if (Array.isArray(set)) {
      const inline = literalSet(this.src.text, [this.src], set);
      return this.s.step(`${this.src.text} ${invert ? '!= ' : ''}${inline.text}`, (d) => {
        this.#need(d);
        d.push({ kind: 'expr', exprs: [this.src.load(1), inlineLookup(d, inline.set, invert)] });
      });
    }
    const name = setName(`${this.src.text} @set`, set as SetLike, [this.src.type]);
    return this.s.step(`${this.src.text} ${invert ? '!= ' : ''}@${name}`, (d) => {
      this.#need(d);
      const lookup: Expr = invert ? { type: 'lookup', sreg: 1, set: name, flags: LOOKUP_F_INV } : { type: 'lookup', sreg: 1, set: name };
      d.push({ kind: 'expr', exprs: [this.src.load(1), lookup] });
    });
  }

  #setter(): Expr {
    const def = this.src.def;
    if (!def?.settable) throw new ValidationError(this.src.text, undefined, `${this.src.text} cannot be set`);
    if (def.meta) return { type: 'meta', key: def.meta, sreg: 1 };
    return { type: 'ct', key: def.ct!, sreg: 1 };
  }

  #present(exists: boolean): R {
    const present = this.src.present;
    if (!present) throw new ValidationError(this.src.text, exists, 'only fib … oif can be missing or exist');
    return this.s.step(`${this.src.text} ${exists ? 'exists' : 'missing'}`, (d) => {
      d.push({ kind: 'expr', exprs: [present(1), cmp('eq', hostUint(exists ? 1 : 0, 4))] });
    });
  }
}

/** Checks a concatenation's fields; returns their types. */
export function concatTypes(field: string, fields: readonly unknown[]): TypeName[] {
  if (!Array.isArray(fields) || fields.length === 0) throw new ValidationError(field, fields, 'expected one or more field names');
  let bytes = 0;
  return fields.map((f, i) => {
    if (!isFieldName(f)) throw new ValidationError(`${field}[${i}]`, f, 'expected a field name such as "ip daddr" or "th dport"');
    const t = FIELDS[f].type;
    bytes += (VALUE_TYPES[t].len + 3) & ~3;
    if (bytes > CONCAT_MAX) throw new ValidationError(field, fields, `a concatenation holds at most ${CONCAT_MAX} bytes`);
    return t;
  });
}

/** Loads each field into its 4-byte slots, after the dependencies each one needs. */
export function loadConcat(d: Draft, fields: readonly FieldName[]): Expr[] {
  let slot = 0;
  return fields.map((f) => {
    const def: FieldDef = FIELDS[f];
    if (def.payload) d.need(def.payload.proto, f);
    const e = load(f, slotRegister(slot));
    slot += (VALUE_TYPES[def.type].len + 3) >> 2;
    return e;
  });
}

/** `A . B . C @set`, `… vmap @map` */
export class ConcatMatch<R, T> {
  readonly #types: TypeName[];
  constructor(private readonly fields: readonly FieldName[], private readonly s: Steps<R, T>) {
    this.#types = concatTypes('concat', fields);
  }

  inSet(set: SetLike | readonly unknown[]): R {
    return this.#lookup(set, false);
  }

  notInSet(set: SetLike | readonly unknown[]): R {
    return this.#lookup(set, true);
  }

  vmap(map: SetLike | readonly unknown[]): T {
    const text = this.fields.join(' . ');
    if (Array.isArray(map)) {
      const inline = literalSet(`${text} vmap`, this.fields.map(keyField), map, { kind: 'verdict' });
      return this.s.final(`${text} vmap ${inline.text}`, (d) => {
        d.push({ kind: 'expr', exprs: [...loadConcat(d, this.fields), inlineLookup(d, inline.set, false, 0)] });
      });
    }
    const name = setName('concat vmap', map as SetLike, this.#types, 'verdict');
    return this.s.final(`${text} vmap @${name}`, (d) => {
      d.push({ kind: 'expr', exprs: [...loadConcat(d, this.fields), { type: 'lookup', sreg: 1, dreg: 0, set: name }] });
    });
  }

  #lookup(set: SetLike | readonly unknown[], invert: boolean): R {
    const text = this.fields.join(' . ');
    if (Array.isArray(set)) {
      const inline = literalSet(text, this.fields.map(keyField), set);
      return this.s.step(`${text} ${invert ? '!= ' : ''}${inline.text}`, (d) => {
        d.push({ kind: 'expr', exprs: [...loadConcat(d, this.fields), inlineLookup(d, inline.set, invert)] });
      });
    }
    const name = setName('concat @set', set as SetLike, this.#types);
    return this.s.step(`${text} ${invert ? '!= ' : ''}@${name}`, (d) => {
      const lookup: Expr = invert ? { type: 'lookup', sreg: 1, set: name, flags: LOOKUP_F_INV } : { type: 'lookup', sreg: 1, set: name };
      d.push({ kind: 'expr', exprs: [...loadConcat(d, this.fields), lookup] });
    });
  }
}
