// Rule expressions as the kernel sees them: one interface per expression, the discriminant its
// name. These are what a rule carries, what listing returns, and what builder.ts produces.
// Registers: 0 is the verdict register, 1–4 the 16-byte ones, 8–23 the 4-byte ones.

export type Verdict =
  | { code: 'accept' | 'drop' | 'continue' | 'break' | 'return' }
  | { code: 'jump' | 'goto'; chain: string };

/** A constant (bytes as they sit in the packet or in the register) or a verdict. */
export type Data = { value: Buffer } | { verdict: Verdict };

export interface PayloadExpr {
  type: 'payload';
  base: 'll' | 'network' | 'transport' | 'inner';
  offset: number;
  len: number;
  dreg?: number;
  sreg?: number;
  csumType?: number;
  csumOffset?: number;
  csumFlags?: number;
}

export type MetaKey =
  | 'len' | 'protocol' | 'priority' | 'mark' | 'iif' | 'oif' | 'iifname' | 'oifname' | 'iiftype' | 'oiftype'
  | 'skuid' | 'skgid' | 'nftrace' | 'rtclassid' | 'secmark' | 'nfproto' | 'l4proto' | 'ibrname' | 'obrname'
  | 'pkttype' | 'cpu' | 'iifgroup' | 'oifgroup' | 'cgroup' | 'random' | 'iifkind' | 'oifkind';

export interface MetaExpr {
  type: 'meta';
  key: MetaKey;
  dreg?: number;
  sreg?: number;
}

export interface CmpExpr {
  type: 'cmp';
  sreg: number;
  op: 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte';
  data: Data;
}

export interface ImmediateExpr {
  type: 'immediate';
  dreg: number;
  data: Data;
}

export interface CounterExpr {
  type: 'counter';
  bytes?: number | bigint;
  packets?: number | bigint;
}

export type Expr = PayloadExpr | MetaExpr | CmpExpr | ImmediateExpr | CounterExpr;
export type ExprType = Expr['type'];
