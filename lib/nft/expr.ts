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

/** `dreg = (sreg & mask) ^ xor` (op 'bool', the default), or a shift of sreg by `data` bits. */
export interface BitwiseExpr {
  type: 'bitwise';
  sreg: number;
  dreg: number;
  len: number;
  mask?: Data;
  xor?: Data;
  op?: 'bool' | 'lshift' | 'rshift';
  data?: Data;
}

/** NFT_LOOKUP_F_INV: match when the key is *not* in the set (`!= @set`). */
export const LOOKUP_F_INV = 1;

/** Is sreg's key in `set`; for a map, its value goes to dreg (0 for a verdict map). */
export interface LookupExpr {
  type: 'lookup';
  sreg: number;
  dreg?: number;
  set: string;
  /** The set's NFTA_SET_ID when it is created in the same batch. */
  setId?: number;
  flags?: number;
}

export interface RangeExpr {
  type: 'range';
  sreg: number;
  op: 'eq' | 'neq';
  from: Data;
  to: Data;
}

/** NFTA_FIB_F_*: which packet fields the route lookup uses, and `exists` (present). */
export const FIB_F = { saddr: 1, daddr: 2, mark: 4, iif: 8, oif: 16, present: 32 } as const;

/** A route lookup (`fib daddr type local`): dreg gets the out interface, its name or the address type. */
export interface FibExpr {
  type: 'fib';
  flags: number;
  result: 'oif' | 'oifname' | 'addrtype';
  dreg: number;
}

/** nf_conntrack's IP_CT_* states as the bits `ct state` tests (the ct key 'state'). */
export const CT_STATE = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 } as const;

export type CtKey =
  | 'state' | 'direction' | 'status' | 'mark' | 'secmark' | 'expiration' | 'helper' | 'l3protocol' | 'src' | 'dst'
  | 'protocol' | 'proto-src' | 'proto-dst' | 'labels' | 'pkts' | 'bytes' | 'avgpkt' | 'zone' | 'eventmask'
  | 'src-ip' | 'dst-ip' | 'src-ip6' | 'dst-ip6' | 'id';

/** Conntrack data to dreg (`ct state`), or sreg to it (`ct mark set`). */
export interface CtExpr {
  type: 'ct';
  key: CtKey;
  dreg?: number;
  /** For the keys that differ by direction (src, dst, proto-src…). */
  direction?: 'original' | 'reply';
  sreg?: number;
}

/** NF_NAT_RANGE_* flags of nat, masq and redir. */
export const NAT_F = { mapIps: 1, protoSpecified: 2, random: 4, persistent: 8, randomFully: 16, protoOffset: 32, netmap: 64 } as const;

/** `snat`/`dnat` to the addresses (and ports, with flags protoSpecified) held in registers. */
export interface NatExpr {
  type: 'nat';
  natType: 'snat' | 'dnat';
  family: 'ip' | 'ip6';
  regAddrMin?: number;
  regAddrMax?: number;
  regProtoMin?: number;
  regProtoMax?: number;
  flags?: number;
}

/** `masquerade [to :PORTS] [random|persistent]` */
export interface MasqExpr {
  type: 'masq';
  flags?: number;
  regProtoMin?: number;
  regProtoMax?: number;
}

/** `redirect [to :PORTS]` */
export interface RedirExpr {
  type: 'redir';
  regProtoMin?: number;
  regProtoMax?: number;
  flags?: number;
}

/** `reject [with icmp|tcp reset|icmpx …]`; icmpCode is the ICMP code (or NFT_REJECT_ICMPX_* for icmpx). */
export interface RejectExpr {
  type: 'reject';
  rejectType: 'icmp' | 'tcp-reset' | 'icmpx';
  icmpCode?: number;
}

/** NFT_LIMIT_F_INV: `limit rate over …` */
export const LIMIT_F_INV = 1;

/** `limit rate [over] RATE/UNIT [burst N]`: unit in seconds (1, 60, 3600, 86400, 604800). */
export interface LimitExpr {
  type: 'limit';
  rate: number | bigint;
  unit: number | bigint;
  burst?: number;
  limitType?: 'pkts' | 'bytes';
  flags?: number;
}

/** `log [prefix P] [group G] [snaplen N] [queue-threshold N] [level L] [flags …]` */
export interface LogExpr {
  type: 'log';
  prefix?: string;
  group?: number;
  snaplen?: number;
  qthreshold?: number;
  level?: 'emerg' | 'alert' | 'crit' | 'err' | 'warn' | 'notice' | 'info' | 'debug' | 'audit';
  /** NF_LOG_*: tcpseq 1, tcpopt 2, ipopt 4, uid 8, macdecode 32 (`flags all`: 47). */
  flags?: number;
}

export interface NotrackExpr {
  type: 'notrack';
}

/** NFT_DYNSET_F_EXPR: the element carries the stateful expressions. */
export const DYNSET_F_EXPR = 2;

/** `add|update|delete @set { KEY [timeout T] [: DATA] [EXPR…] }` from the packet path. */
export interface DynsetExpr {
  type: 'dynset';
  op: 'add' | 'update' | 'delete';
  set: string;
  setId?: number;
  sregKey: number;
  sregData?: number;
  /** Milliseconds. */
  timeout?: number | bigint;
  /** One stateful expression (nft sends a single one so)… */
  expr?: Expr;
  /** …or several, with flags DYNSET_F_EXPR. */
  exprs?: Expr[];
  flags?: number;
}

/** A named stateful object (`counter name "c"`), or one found through a map (`… map @m`). */
export interface ObjrefExpr {
  type: 'objref';
  objType?: 'counter' | 'quota' | 'ct-helper' | 'limit' | 'connlimit' | 'tunnel' | 'ct-timeout' | 'secmark' | 'ct-expect' | 'synproxy';
  name?: string;
  sreg?: number;
  set?: string;
  setId?: number;
}

export type Expr =
  | PayloadExpr | MetaExpr | CmpExpr | ImmediateExpr | CounterExpr | BitwiseExpr | LookupExpr | RangeExpr | FibExpr
  | CtExpr | NatExpr | MasqExpr | RedirExpr | RejectExpr | LimitExpr | LogExpr | NotrackExpr | DynsetExpr | ObjrefExpr;
export type ExprType = Expr['type'];

/**
 * An expression nlnet has no table for (quota, numgen, exthdr…), as listing returns it: its
 * NFTA_EXPR_DATA bytes, which adding it back writes unchanged.
 */
export interface RawExpr {
  type: string;
  raw: Buffer;
}
