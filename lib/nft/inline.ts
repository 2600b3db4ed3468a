// A rule's anonymous sets: what `tcp dport { 22, 80 }` and `ip daddr vmap { … }` become. nft
// creates each as a set named `__set%d` (`__map%d` for a map; the kernel picks the number),
// flagged anonymous and constant, adds its elements, and the rule's lookup names it by that name
// and by its NFTA_SET_ID, all in the rule's batch. The kernel binds the set to the rule and
// deletes it with the rule.
import type { Body } from '../core/binding.js';
import { ValidationError } from '../core/errors.js';
import { knownKeys, object, uint } from '../core/validate.js';
import * as K from './constants.js';
import type { Expr, LookupExpr, RawExpr } from './expr.js';
import { elementBody, type ElementBytes } from './intervals.js';
import { NFT_DATA_VERDICT } from './sets.js';

/**
 * An anonymous set a rule carries, already encoded: the rule builder makes these from literal
 * values (`rule().tcp.dport.inSet([22, 80])`), with the key type, user data and elements nft
 * sends for the same rule.
 */
export interface InlineSet {
  /**
   * The set's number within its rule, 1, 2…: the rule's lookup carries it as `setId`. Adding the
   * rule replaces both with an NFTA_SET_ID unique in its batch.
   */
  id: number;
  /** nft's data type id of the key (a concatenation's ids shifted in, 6 bits each). */
  keyType: number;
  /** The key's length, each field of a concatenation padded to 4 bytes. */
  keyLen: number;
  /** The field lengths of a concatenated interval key (the kernel's pipapo backend). */
  fields?: number[];
  /** A map's values: their type id and length, or verdicts. */
  data?: { type: number; len: number } | 'verdict';
  /** Elements are ranges (NFT_SET_INTERVAL). */
  interval: boolean;
  /** NFTA_SET_USERDATA: what nft records about the key (its byte order, its expression). */
  userdata: Buffer;
  /** NFTA_SET_DESC_SIZE, as nft declares it. */
  size: number;
  elements: ElementBytes[];
}

/** What the set is called until the kernel numbers it; the rule's lookup uses the same name. */
export const inlineSetName = (s: Pick<InlineSet, 'data'>): string => (s.data === undefined ? '__set%d' : '__map%d');

function checkElement(field: string, e: unknown): ElementBytes {
  const o = object(field, e) as Partial<ElementBytes>;
  knownKeys(field, o, ['key', 'keyEnd', 'end', 'open', 'value', 'timeout']);
  if (!Buffer.isBuffer(o.key)) throw new ValidationError(`${field}.key`, o.key, 'expected the key as bytes');
  if (o.keyEnd !== undefined && !Buffer.isBuffer(o.keyEnd)) throw new ValidationError(`${field}.keyEnd`, o.keyEnd, 'expected the key end as bytes');
  return o as ElementBytes;
}

/** Checks a rule's `sets`. */
export function checkInlineSets(field: string, v: unknown): InlineSet[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ValidationError(field, v, 'expected an array of inline sets');
  const seen = new Set<number>();
  return v.map((s: unknown, i) => {
    const f = `${field}[${i}]`;
    const o = object(f, s) as unknown as InlineSet;
    knownKeys(f, o, ['id', 'keyType', 'keyLen', 'fields', 'data', 'interval', 'userdata', 'size', 'elements']);
    const id = uint(`${f}.id`, o.id, 1, 0xffffffff);
    if (seen.has(id)) throw new ValidationError(`${f}.id`, id, 'two inline sets of the rule have this id');
    seen.add(id);
    uint(`${f}.keyType`, o.keyType, 0, 0xffffffff);
    uint(`${f}.keyLen`, o.keyLen, 1, 64);
    uint(`${f}.size`, o.size, 1, 0xffffffff);
    if (typeof o.interval !== 'boolean') throw new ValidationError(`${f}.interval`, o.interval, 'expected true or false');
    if (!Buffer.isBuffer(o.userdata)) throw new ValidationError(`${f}.userdata`, o.userdata, 'expected bytes');
    if (o.data !== undefined && o.data !== 'verdict') {
      object(`${f}.data`, o.data);
      uint(`${f}.data.type`, o.data.type, 0, 0xffffffff);
      uint(`${f}.data.len`, o.data.len, 1, 64);
    }
    if (!Array.isArray(o.elements) || o.elements.length === 0) throw new ValidationError(`${f}.elements`, o.elements, 'expected at least one element');
    o.elements.forEach((e, j) => checkElement(`${f}.elements[${j}]`, e));
    return o;
  });
}

/** NEWSET for an inline set, with its batch-wide id. */
export function inlineSetBody(at: { family: string; table: string }, s: InlineSet, id: number): Body {
  let flags = K.SET_FLAGS.anonymous | K.SET_FLAGS.constant;
  if (s.interval) flags |= K.SET_FLAGS.interval;
  if (s.fields) flags |= K.SET_FLAGS.concat;
  const body: Body = { family: at.family, table: at.table, name: inlineSetName(s), flags, keyType: s.keyType, keyLen: s.keyLen, id };
  if (s.data !== undefined) {
    body.flags = flags | K.SET_FLAGS.map;
    body.dataType = s.data === 'verdict' ? NFT_DATA_VERDICT : s.data.type;
    body.dataLen = s.data === 'verdict' ? 0 : s.data.len;
  }
  body.desc = s.fields ? { size: s.size, concat: s.fields.map((len) => ({ len })) } : { size: s.size };
  body.userdata = s.userdata;
  return body;
}

/** NEWSETELEM for (some of) an inline set's elements: the set named by its id too. */
export function inlineElementsBody(at: { family: string; table: string }, s: InlineSet, id: number, elements: readonly ElementBytes[]): Body {
  return { family: at.family, table: at.table, set: inlineSetName(s), setId: id, elements: elements.map(elementBody) };
}

/** The rule's expressions with each lookup's set number replaced by its batch-wide id. */
export function relink(exprs: readonly (Expr | RawExpr)[], ids: ReadonlyMap<number, number>): (Expr | RawExpr)[] {
  return exprs.map((e) => {
    if (e.type !== 'lookup' || 'raw' in e) return e;
    const l = e as LookupExpr;
    const id = l.setId === undefined ? undefined : ids.get(l.setId);
    return id === undefined ? l : { ...l, setId: id };
  });
}
