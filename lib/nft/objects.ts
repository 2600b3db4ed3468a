// Tables, chains, rules, sets and elements: validation and the native body of each `nft`
// command. Every change is an Op that runs inside an nf_tables batch (see index.ts).
import type { Body } from '../core/binding.js';
import { F_DUMP, NLM_F_APPEND, NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST } from '../core/constants.js';
import { ValidationError } from '../core/errors.js';
import { none, type Op } from '../core/op.js';
import { knownKeys, object, oneOf, str, uint } from '../core/validate.js';
import * as K from './constants.js';
import { chunks, elementBytes, elementsBody, elementsFromNative, type Element, type SetRef } from './elements.js';
import type { Expr, RawExpr } from './expr.js';
import { checkInlineSets, inlineElementsBody, inlineSetBody, relink, type InlineSet } from './inline.js';
import type { ElementBytes } from './intervals.js';
import { family, name, nextSetId, setBody, setFromNative, type NftSet, type SetSpec } from './sets.js';

export { setFromNative, type NftSet, type SetSpec } from './sets.js';
export { verdictOf, type Element, type SetRef } from './elements.js';
export type { InlineSet } from './inline.js';

const CREATE = NLM_F_REQUEST | NLM_F_CREATE;

// ---- tables ---------------------------------------------------------------------------------

export interface TableSpec {
  family: K.NftFamily;
  name: string;
  /** NFT_TABLE_F_DORMANT: the table's chains see no packets. */
  dormant?: boolean;
}

export interface Table {
  family: K.NftFamily;
  name: string;
  handle: number;
  dormant: boolean;
  /** How many chains and sets refer to it. */
  use: number;
}

export const tableFromNative = (b: Body): Table => ({
  family: b.family as K.NftFamily,
  name: b.name as string,
  handle: b.handle as number,
  dormant: ((b.flags as number) & 1) !== 0,
  use: (b.use as number) ?? 0,
});

// ---- chains ---------------------------------------------------------------------------------

export interface ChainSpec {
  family: K.NftFamily;
  table: string;
  name: string;
  /** A base chain has a type, a hook and a priority; a regular chain has none of them. */
  type?: 'filter' | 'nat' | 'route';
  hook?: K.Hook;
  priority?: number | K.PriorityName;
  policy?: 'accept' | 'drop';
  /** For netdev ingress chains. */
  device?: string;
}

export interface Chain {
  family: K.NftFamily;
  table: string;
  name: string;
  handle: number;
  type?: string;
  hook?: K.Hook;
  priority?: number;
  policy?: 'accept' | 'drop';
  device?: string;
}

function chainBody(s: ChainSpec): Body {
  object('chain', s);
  knownKeys('chain', s, ['family', 'table', 'name', 'type', 'hook', 'priority', 'policy', 'device']);
  const body: Body = { family: family('chain.family', s.family), table: name('chain.table', s.table), name: name('chain.name', s.name) };
  const base = s.hook !== undefined || s.type !== undefined || s.priority !== undefined || s.policy !== undefined;
  if (!base) return body;
  if (s.hook === undefined || s.type === undefined)
    throw new ValidationError('chain.hook', s.hook, 'a base chain needs a type and a hook (a regular chain neither)');
  const hook: Body = { hooknum: K.HOOKS[oneOf('chain.hook', s.hook, Object.keys(K.HOOKS) as K.Hook[])] };
  const p = s.priority ?? 0;
  hook.priority = typeof p === 'string' ? K.PRIORITIES[oneOf('chain.priority', p, Object.keys(K.PRIORITIES) as K.PriorityName[])] : intIn('chain.priority', p);
  if (s.device !== undefined) hook.dev = str('chain.device', s.device, 15);
  body.hook = hook;
  body.type = oneOf('chain.type', s.type, ['filter', 'nat', 'route']);
  if (s.policy !== undefined) body.policy = oneOf('chain.policy', s.policy, ['accept', 'drop']);
  return body;
}

function intIn(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new ValidationError(field, v, 'expected a 32-bit integer');
  return v;
}

export function chainFromNative(b: Body): Chain {
  const c: Chain = { family: b.family as K.NftFamily, table: b.table as string, name: b.name as string, handle: b.handle as number };
  const hook = b.hook as { hooknum: number; priority: number; dev?: string } | undefined;
  if (b.type !== undefined) c.type = b.type as string;
  if (hook) {
    const names = (Object.keys(K.HOOKS) as K.Hook[]).filter((h) => K.HOOKS[h] === hook.hooknum);
    c.hook = (c.family === 'netdev' ? 'ingress' : names.find((h) => h !== 'ingress')) ?? names[0]!;
    c.priority = hook.priority;
    if (hook.dev !== undefined) c.device = hook.dev;
  }
  if (typeof b.policy === 'string') c.policy = b.policy as 'accept' | 'drop';
  return c;
}

// ---- rules ----------------------------------------------------------------------------------

export interface RuleSpec {
  family: K.NftFamily;
  table: string;
  chain: string;
  /** Expressions nlnet has no table for come back as RawExpr and go back unchanged. */
  exprs: (Expr | RawExpr)[];
  /** Stored as `nft` stores it, so `nft list ruleset` shows it. */
  comment?: string;
  /**
   * The anonymous sets the rule's lookups use (`tcp dport { 22, 80 }`), as the rule builder
   * makes them: adding the rule creates them in the same batch, before it.
   */
  sets?: InlineSet[];
}

/**
 * A listed rule. A lookup in an anonymous set comes back as it is, naming the set the kernel
 * made (`__set0`); its elements are listElements' for that name.
 */
export interface Rule extends Omit<RuleSpec, 'sets'> {
  handle: number;
}

/** libnftnl's user-data TLV: { type, length, value }, the comment NUL-terminated. */
function commentData(comment: string): Buffer {
  const text = Buffer.from(`${comment}\0`);
  if (text.length > 255) throw new ValidationError('rule.comment', comment, 'comments are at most 254 bytes');
  return Buffer.concat([Buffer.from([K.UDATA_RULE_COMMENT, text.length]), text]);
}

function commentOf(userdata: unknown): string | undefined {
  if (!Buffer.isBuffer(userdata)) return undefined;
  for (let at = 0; at + 2 <= userdata.length; ) {
    const type = userdata[at]!;
    const len = userdata[at + 1]!;
    if (at + 2 + len > userdata.length) return undefined;
    if (type === K.UDATA_RULE_COMMENT) return userdata.toString('utf8', at + 2, at + 2 + Math.max(0, len - 1));
    at += 2 + len;
  }
  return undefined;
}

function ruleBody(s: RuleSpec): Body {
  object('rule', s);
  knownKeys('rule', s, ['family', 'table', 'chain', 'exprs', 'comment', 'sets']);
  if (!Array.isArray(s.exprs)) throw new ValidationError('rule.exprs', s.exprs, 'expected an array of expressions');
  const body: Body = { family: family('rule.family', s.family), table: name('rule.table', s.table), chain: name('rule.chain', s.chain), exprs: s.exprs };
  if (s.comment !== undefined) body.userdata = commentData(str('rule.comment', s.comment, 254));
  return body;
}

/**
 * The steps that add a rule: each inline set and its elements, then the rule itself (the last
 * step, whose result is the rule's handle). The sets get ids unique in the batch, and the rule's
 * lookups the same ids.
 */
export function ruleSteps(s: RuleSpec, add: (s: RuleSpec) => Op<number>): Op<unknown>[] {
  object('rule', s);
  const sets = checkInlineSets('rule.sets', s.sets);
  if (sets.length === 0) return [add(s) as Op<unknown>];
  const at = { family: family('rule.family', s.family), table: name('rule.table', s.table) };
  const ids = new Map(sets.map((x) => [x.id, nextSetId()]));
  const { sets: _, ...rest } = s;
  const rule = add({ ...rest, exprs: relink(s.exprs, ids) }) as Op<unknown>;
  // An error in a set's step is the rule operation's error.
  const steps: Op<unknown>[] = [];
  for (const x of sets) {
    const id = ids.get(x.id)!;
    steps.push({ op: rule.op, type: K.NFT_MSG_NEWSET, flags: CREATE, body: inlineSetBody(at, x, id), parse: none });
    for (const part of chunks(x.elements)) steps.push({ op: rule.op, type: K.NFT_MSG_NEWSETELEM, flags: CREATE, body: inlineElementsBody(at, x, id, part), parse: none });
  }
  return [...steps, rule];
}

export function ruleFromNative(b: Body): Rule {
  const r: Rule = { family: b.family as K.NftFamily, table: b.table as string, chain: b.chain as string, handle: b.handle as number, exprs: (b.exprs as (Expr | RawExpr)[]) ?? [] };
  const comment = commentOf(b.userdata);
  if (comment !== undefined) r.comment = comment;
  return r;
}

// ---- the operations -------------------------------------------------------------------------

const T = K;
export const nftOps = {
  /** `nft add table FAMILY NAME` (`create` with exclusive: fails if it exists) */
  addTable(s: TableSpec, exclusive = false): Op<void> {
    object('table', s);
    knownKeys('table', s, ['family', 'name', 'dormant']);
    const body: Body = { family: family('table.family', s.family), name: name('table.name', s.name) };
    if (s.dormant) body.flags = 1;
    return { op: 'nft.addTable', type: T.NFT_MSG_NEWTABLE, flags: CREATE | (exclusive ? NLM_F_EXCL : 0), body, parse: none };
  },
  /** `nft delete table FAMILY NAME` */
  delTable(s: Pick<TableSpec, 'family' | 'name'>): Op<void> {
    return { op: 'nft.delTable', type: T.NFT_MSG_DELTABLE, flags: NLM_F_REQUEST, body: { family: family('table.family', s.family), name: name('table.name', s.name) }, parse: none };
  },
  /** `nft flush table FAMILY NAME`: every rule of every chain in it. */
  flushTable(s: Pick<TableSpec, 'family' | 'name'>): Op<void> {
    return { op: 'nft.flushTable', type: T.NFT_MSG_DELRULE, flags: NLM_F_REQUEST, body: { family: family('table.family', s.family), table: name('table.name', s.name) }, parse: none };
  },
  /** `nft list tables [FAMILY]` */
  listTables(f: { family?: K.NftFamily } = {}): Op<Table[]> {
    return { op: 'nft.listTables', type: T.NFT_MSG_GETTABLE, flags: F_DUMP, body: { family: f.family === undefined ? 'unspec' : family('family', f.family) }, parse: (r) => r.map(tableFromNative) };
  },
  /** `nft add chain FAMILY TABLE NAME [{ type T hook H priority P; policy V; }]` */
  addChain(s: ChainSpec, exclusive = false): Op<void> {
    return { op: 'nft.addChain', type: T.NFT_MSG_NEWCHAIN, flags: CREATE | (exclusive ? NLM_F_EXCL : 0), body: chainBody(s), parse: none };
  },
  /** `nft delete chain FAMILY TABLE NAME` (it must be empty and unreferenced) */
  delChain(s: Pick<ChainSpec, 'family' | 'table' | 'name'>): Op<void> {
    return { op: 'nft.delChain', type: T.NFT_MSG_DELCHAIN, flags: NLM_F_REQUEST, body: chainBody({ family: s.family, table: s.table, name: s.name }), parse: none };
  },
  /** `nft flush chain FAMILY TABLE NAME` */
  flushChain(s: Pick<ChainSpec, 'family' | 'table' | 'name'>): Op<void> {
    return { op: 'nft.flushChain', type: T.NFT_MSG_DELRULE, flags: NLM_F_REQUEST, body: { family: family('chain.family', s.family), table: name('chain.table', s.table), chain: name('chain.name', s.name) }, parse: none };
  },
  /** `nft list chains [FAMILY]` */
  listChains(f: { family?: K.NftFamily; table?: string } = {}): Op<Chain[]> {
    const body: Body = { family: f.family === undefined ? 'unspec' : family('family', f.family) };
    return { op: 'nft.listChains', type: T.NFT_MSG_GETCHAIN, flags: F_DUMP, body, parse: (r) => r.map(chainFromNative).filter((c) => f.table === undefined || c.table === f.table) };
  },
  // The rule operations send the rule alone: NftBatch and NftApi create its inline sets first
  // (ruleSteps).
  /** `nft add rule FAMILY TABLE CHAIN [position H] EXPR… [comment C]`: appends (after H). Resolves to the new rule's handle. */
  addRule(s: RuleSpec, opts: { after?: number } = {}): Op<number> {
    const body = ruleBody(s);
    if (opts.after !== undefined) body.position = uint('after', opts.after, 1, Number.MAX_SAFE_INTEGER);
    return { op: 'nft.addRule', type: T.NFT_MSG_NEWRULE, flags: CREATE | NLM_F_APPEND | NLM_F_ECHO, body, parse: (r) => r[0]?.handle as number };
  },
  /** `nft insert rule FAMILY TABLE CHAIN [position H] EXPR…`: prepends (before H). */
  insertRule(s: RuleSpec, opts: { before?: number } = {}): Op<number> {
    const body = ruleBody(s);
    if (opts.before !== undefined) body.position = uint('before', opts.before, 1, Number.MAX_SAFE_INTEGER);
    return { op: 'nft.insertRule', type: T.NFT_MSG_NEWRULE, flags: CREATE | NLM_F_ECHO, body, parse: (r) => r[0]?.handle as number };
  },
  /** `nft replace rule FAMILY TABLE CHAIN handle H EXPR…` */
  replaceRule(s: RuleSpec, handle: number): Op<number> {
    const body = ruleBody(s);
    body.handle = uint('handle', handle, 1, Number.MAX_SAFE_INTEGER);
    return { op: 'nft.replaceRule', type: T.NFT_MSG_NEWRULE, flags: NLM_F_REQUEST | NLM_F_REPLACE | NLM_F_ECHO, body, parse: (r) => (r[0]?.handle as number) ?? handle };
  },
  /** `nft delete rule FAMILY TABLE CHAIN handle H` */
  delRule(s: { family: K.NftFamily; table: string; chain: string; handle: number }): Op<void> {
    const body: Body = { family: family('rule.family', s.family), table: name('rule.table', s.table), chain: name('rule.chain', s.chain), handle: uint('rule.handle', s.handle, 1, Number.MAX_SAFE_INTEGER) };
    return { op: 'nft.delRule', type: T.NFT_MSG_DELRULE, flags: NLM_F_REQUEST, body, parse: none };
  },
  /** `nft list chain FAMILY TABLE CHAIN` / `nft list table` / `nft list ruleset`: the rules. */
  listRules(f: { family?: K.NftFamily; table?: string; chain?: string } = {}): Op<Rule[]> {
    const body: Body = { family: f.family === undefined ? 'unspec' : family('family', f.family) };
    if (f.table !== undefined) body.table = name('table', f.table);
    if (f.chain !== undefined) body.chain = name('chain', f.chain);
    return { op: 'nft.listRules', type: T.NFT_MSG_GETRULE, flags: F_DUMP, body, parse: (r) => r.map(ruleFromNative) };
  },
  /** `nft add set|map FAMILY TABLE NAME { type K [: V]; flags …; timeout T; size N; }` */
  addSet(s: SetSpec): Op<void> {
    return { op: 'nft.addSet', type: T.NFT_MSG_NEWSET, flags: CREATE, body: setBody(s), parse: none };
  },
  /** `nft delete set FAMILY TABLE NAME` */
  delSet(s: Pick<SetSpec, 'family' | 'table' | 'name'>): Op<void> {
    return { op: 'nft.delSet', type: T.NFT_MSG_DELSET, flags: NLM_F_REQUEST, body: { family: family('set.family', s.family), table: name('set.table', s.table), name: name('set.name', s.name) }, parse: none };
  },
  /** `nft list sets [FAMILY]` */
  listSets(f: { family?: K.NftFamily; table?: string } = {}): Op<NftSet[]> {
    const body: Body = { family: f.family === undefined ? 'unspec' : family('family', f.family) };
    if (f.table !== undefined) body.table = name('table', f.table);
    return { op: 'nft.listSets', type: T.NFT_MSG_GETSET, flags: F_DUMP, body, parse: (r) => r.map(setFromNative) };
  },
  /**
   * `nft add element FAMILY TABLE SET { K [: V], … }`, in one message (NftBatch splits long
   * lists). In an interval set, elements may be prefixes and ranges (see Element).
   */
  addElements(set: SetRef, elements: readonly Element[]): Op<void> {
    return elementsOp('add', set, elementBytes(set, elements, false));
  },
  /** `nft delete element FAMILY TABLE SET { K, … }` */
  delElements(set: SetRef, elements: readonly Element[]): Op<void> {
    return elementsOp('del', set, elementBytes(set, elements, true));
  },
  /** `nft list set FAMILY TABLE SET`: its elements, an interval set's as prefixes and ranges. */
  listElements(set: SetRef): Op<Element[]> {
    const body: Body = { family: family('set.family', set.family), table: name('set.table', set.table), set: name('set.name', set.name) };
    return { op: 'nft.listElements', type: T.NFT_MSG_GETSETELEM, flags: F_DUMP, body, parse: (r) => elementsFromNative(set, r) };
  },
};

/**
 * NEWSETELEM or DELSETELEM for elements already encoded (elementBytes). 'create' is `nft create
 * element`: NLM_F_EXCL, so a key already there is refused (EEXIST) instead of kept.
 */
export function elementsOp(kind: 'add' | 'create' | 'del', set: SetRef, elements: readonly ElementBytes[]): Op<void> {
  const body = elementsBody(set, elements);
  if (kind === 'add') return { op: 'nft.addElements', type: T.NFT_MSG_NEWSETELEM, flags: CREATE, body, parse: none };
  if (kind === 'create') return { op: 'nft.createElements', type: T.NFT_MSG_NEWSETELEM, flags: CREATE | NLM_F_EXCL, body, parse: none };
  return { op: 'nft.delElements', type: T.NFT_MSG_DELSETELEM, flags: NLM_F_REQUEST, body, parse: none };
}

export const genOp = (): Op<number> => ({ op: 'nft.genid', type: T.NFT_MSG_GETGEN, flags: NLM_F_REQUEST, body: {}, parse: (r) => r[0]?.id as number });
