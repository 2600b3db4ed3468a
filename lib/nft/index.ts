// `nl.nft`: nf_tables, as `nft` drives it. Every change is an nf_tables transaction: one batch,
// applied by the kernel entirely or not at all. Single calls are batches of one.
import { native, type NativeHandle } from '../core/binding.js';
import { execOps, type Op } from '../core/op.js';
import { uint } from '../core/validate.js';
import { NETLINK_NETFILTER } from './constants.js';
import { chunks, elementBytes } from './elements.js';
import { elementsOp, genOp, nftOps, ruleSteps, type Chain, type ChainSpec, type Element, type NftSet, type Rule, type RuleSpec, type SetRef, type SetSpec, type Table, type TableSpec } from './objects.js';

type Ops = typeof nftOps;

/** The changes of one transaction, queued in order. */
export class NftBatch {
  /** @internal */
  readonly ops: Op<unknown>[] = [];

  #push<T>(...ops: Op<T>[]): number {
    return this.ops.push(...(ops as Op<unknown>[])) - 1;
  }

  addTable(...a: Parameters<Ops['addTable']>): number { return this.#push(nftOps.addTable(...a)); }
  delTable(...a: Parameters<Ops['delTable']>): number { return this.#push(nftOps.delTable(...a)); }
  flushTable(...a: Parameters<Ops['flushTable']>): number { return this.#push(nftOps.flushTable(...a)); }
  addChain(...a: Parameters<Ops['addChain']>): number { return this.#push(nftOps.addChain(...a)); }
  delChain(...a: Parameters<Ops['delChain']>): number { return this.#push(nftOps.delChain(...a)); }
  flushChain(...a: Parameters<Ops['flushChain']>): number { return this.#push(nftOps.flushChain(...a)); }
  /**
   * Returns the step index; the batch's result at that index is the new rule's handle. A rule's
   * inline sets (`spec.sets`) are created in steps just before it.
   */
  addRule(s: RuleSpec, opts?: { after?: number }): number { return this.#push(...ruleSteps(s, (r) => nftOps.addRule(r, opts))); }
  insertRule(s: RuleSpec, opts?: { before?: number }): number { return this.#push(...ruleSteps(s, (r) => nftOps.insertRule(r, opts))); }
  replaceRule(s: RuleSpec, handle: number): number { return this.#push(...ruleSteps(s, (r) => nftOps.replaceRule(r, handle))); }
  delRule(...a: Parameters<Ops['delRule']>): number { return this.#push(nftOps.delRule(...a)); }
  addSet(...a: Parameters<Ops['addSet']>): number { return this.#push(nftOps.addSet(...a)); }
  delSet(...a: Parameters<Ops['delSet']>): number { return this.#push(nftOps.delSet(...a)); }
  /**
   * Large element lists go as several messages of the same batch (an attribute holds 64 KiB).
   * An interval set's prefixes and ranges become its start and end elements first.
   */
  addElements(set: SetRef, elements: readonly Element[]): number {
    return this.#push(...Array.from(chunks(elementBytes(set, elements, false)), (part) => elementsOp('add', set, part)));
  }
  /** `nft create element`: like addElements, but a key already in the set fails the batch (EEXIST). */
  createElements(set: SetRef, elements: readonly Element[]): number {
    return this.#push(...Array.from(chunks(elementBytes(set, elements, false)), (part) => elementsOp('create', set, part)));
  }
  delElements(set: SetRef, elements: readonly Element[]): number {
    return this.#push(...Array.from(chunks(elementBytes(set, elements, true)), (part) => elementsOp('del', set, part)));
  }
}

export interface CommitOptions {
  /** Apply only if the ruleset is still at this generation (from `genid()`), else ERESTART. */
  genid?: number;
}

export class NftApi {
  #handle: NativeHandle | undefined;

  /** @internal */
  constructor(private readonly nsfd: () => number) {}

  // A long-lived socket: closing one right after deletions makes the kernel finish destroying
  // the rules in close(), ~15 ms.
  #h(): NativeHandle {
    return (this.#handle ??= new native.Handle(this.nsfd(), NETLINK_NETFILTER));
  }

  /** Runs one transaction. Resolves to each step's result (rule handles for rule additions). */
  async commit(build: (b: NftBatch) => void, options: CommitOptions = {}): Promise<unknown[]> {
    const b = new NftBatch();
    build(b);
    if (b.ops.length === 0) return [];
    const genid = options.genid === undefined ? undefined : uint('genid', options.genid, 0, 0xffffffff);
    return this.#run(b.ops, genid === undefined ? { batch: true } : { batch: true, genid });
  }

  /** @internal The native handle, for a job's parts (rtnl/job.ts). */
  get nativeHandle(): NativeHandle {
    return this.#h();
  }

  #run(ops: Op<unknown>[], options?: { batch: boolean; genid?: number }): Promise<unknown[]> {
    return execOps(this.#h(), ops, options);
  }

  async #change<T>(op: Op<T>): Promise<T> {
    return (await this.#run([op as Op<unknown>], { batch: true }))[0] as T;
  }

  /** Runs steps as one batch; resolves to the last one's result. */
  async #changeAll<T>(steps: Op<unknown>[]): Promise<T> {
    return (await this.#run(steps, { batch: true })).at(-1) as T;
  }

  async #read<T>(op: Op<T>): Promise<T> {
    return (await this.#run([op as Op<unknown>]))[0] as T;
  }

  /** `nft add table` */
  async addTable(s: TableSpec, exclusive?: boolean): Promise<void> { return this.#change(nftOps.addTable(s, exclusive)); }
  /** `nft delete table` */
  async delTable(s: Pick<TableSpec, 'family' | 'name'>): Promise<void> { return this.#change(nftOps.delTable(s)); }
  /** `nft flush table` */
  async flushTable(s: Pick<TableSpec, 'family' | 'name'>): Promise<void> { return this.#change(nftOps.flushTable(s)); }
  /** `nft list tables` */
  async listTables(f?: Parameters<Ops['listTables']>[0]): Promise<Table[]> { return this.#read(nftOps.listTables(f)); }
  /** `nft add chain` */
  async addChain(s: ChainSpec, exclusive?: boolean): Promise<void> { return this.#change(nftOps.addChain(s, exclusive)); }
  /** `nft delete chain` */
  async delChain(s: Pick<ChainSpec, 'family' | 'table' | 'name'>): Promise<void> { return this.#change(nftOps.delChain(s)); }
  /** `nft flush chain` */
  async flushChain(s: Pick<ChainSpec, 'family' | 'table' | 'name'>): Promise<void> { return this.#change(nftOps.flushChain(s)); }
  /** `nft list chains` */
  async listChains(f?: Parameters<Ops['listChains']>[0]): Promise<Chain[]> { return this.#read(nftOps.listChains(f)); }
  /** `nft add rule`, its inline sets in the same batch: resolves to the new rule's handle. */
  async addRule(s: RuleSpec, opts?: { after?: number }): Promise<number> { return this.#changeAll(ruleSteps(s, (r) => nftOps.addRule(r, opts))); }
  /** `nft insert rule`: resolves to the new rule's handle. */
  async insertRule(s: RuleSpec, opts?: { before?: number }): Promise<number> { return this.#changeAll(ruleSteps(s, (r) => nftOps.insertRule(r, opts))); }
  /** `nft replace rule … handle H` */
  async replaceRule(s: RuleSpec, handle: number): Promise<number> { return this.#changeAll(ruleSteps(s, (r) => nftOps.replaceRule(r, handle))); }
  /** `nft delete rule … handle H` */
  async delRule(s: Parameters<Ops['delRule']>[0]): Promise<void> { return this.#change(nftOps.delRule(s)); }
  /** `nft list ruleset` (its rules), narrowed by family, table, chain. */
  async listRules(f?: Parameters<Ops['listRules']>[0]): Promise<Rule[]> { return this.#read(nftOps.listRules(f)); }
  /** `nft add set` / `nft add map` */
  async addSet(s: SetSpec): Promise<void> { return this.#change(nftOps.addSet(s)); }
  /** `nft delete set` */
  async delSet(s: Pick<SetSpec, 'family' | 'table' | 'name'>): Promise<void> { return this.#change(nftOps.delSet(s)); }
  /** `nft list sets` */
  async listSets(f?: Parameters<Ops['listSets']>[0]): Promise<NftSet[]> { return this.#read(nftOps.listSets(f)); }
  /** `nft add element` */
  async addElements(set: SetRef, elements: readonly Element[]): Promise<void> {
    await this.commit((b) => b.addElements(set, elements));
  }
  /** `nft delete element` */
  async delElements(set: SetRef, elements: readonly Element[]): Promise<void> {
    await this.commit((b) => b.delElements(set, elements));
  }
  /** `nft list set`: the elements. */
  async listElements(set: SetRef): Promise<Element[]> { return this.#read(nftOps.listElements(set)); }
  /** The ruleset's generation id, for optimistic concurrency with `commit(…, { genid })`. */
  async genid(): Promise<number> { return this.#read(genOp()); }

  /** @internal */
  close(): void {
    this.#handle?.close();
    this.#handle = undefined;
  }
}

export * from './constants.js';
export type { Expr, RawExpr, Verdict, Data } from './expr.js';
export type { KeyType, Value } from './values.js';
export type { Chain, ChainSpec, Element, InlineSet, NftSet, Rule, RuleSpec, SetRef, SetSpec, Table, TableSpec } from './objects.js';
export { rule, RuleBuilder, TerminalRule } from './builder.js';
export type { FieldName, LimitOptions, LogOptions, Match, MasqueradeOptions, NatFlags, NatMapData, NatTarget, NatValue, OrderedMatch, PortRange, RejectWith, RuleFamily, SetItem, SetLike } from './builder.js';
