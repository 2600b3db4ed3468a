// Statements that do something to a packet rather than test it: NAT, reject, limit, log. Each
// checks its arguments, then returns the expressions nft sends for it and its nft text.
// Follows nft's src/statement.c and src/netlink_linearize.c, and <linux/netfilter/nf_nat.h>.
import { isIP } from 'node:net';

import { ValidationError } from '../../core/errors.js';
import { knownKeys, object, oneOf, str, uint } from '../../core/validate.js';
import { LIMIT_F_INV, NAT_F, type Expr } from '../expr.js';
import { TYPES } from '../values.js';
import { type Draft, slotRegister } from './context.js';
import { beUint } from './types.js';

export interface Built {
  exprs: Expr[];
  text: string;
}

export interface NatFlags {
  /** `random`: a random source port (and address) per connection. */
  random?: boolean;
  /** `fully-random`: ports from a full PRNG, not a hash. */
  fullyRandom?: boolean;
  /** `persistent`: the same address for a client on every connection. */
  persistent?: boolean;
}

/** A port, or an inclusive [from, to] range. */
export type PortRange = number | readonly [number, number];

function natFlags(field: string, o: NatFlags, extra: string[] = []): { bits: number; text: string[] } {
  object(field, o);
  knownKeys(field, o, ['random', 'fullyRandom', 'persistent', ...extra]);
  const on = (k: keyof NatFlags) => {
    const v = o[k];
    if (v !== undefined && typeof v !== 'boolean') throw new ValidationError(`${field}.${k}`, v, 'expected true or false');
    return v === true;
  };
  const list: [boolean, number, string][] = [
    [on('random'), NAT_F.random, 'random'],
    [on('fullyRandom'), NAT_F.randomFully, 'fully-random'],
    [on('persistent'), NAT_F.persistent, 'persistent'],
  ];
  return { bits: list.reduce((b, [set, bit]) => (set ? b | bit : b), 0), text: list.filter(([set]) => set).map(([, , t]) => t) };
}

function ports(field: string, v: PortRange): [Buffer, Buffer | undefined, string] {
  if (Array.isArray(v)) {
    if (v.length !== 2) throw new ValidationError(field, v, 'expected a port or a [from, to] range');
    const from = uint(`${field}[0]`, v[0], 0, 65535);
    const to = uint(`${field}[1]`, v[1], 0, 65535);
    if (from > to) throw new ValidationError(field, v, 'the range ends before it starts');
    return [beUint(from, 2), beUint(to, 2), `${from}-${to}`];
  }
  const p = uint(field, v, 0, 65535);
  return [beUint(p, 2), undefined, String(p)];
}

const imm = (dreg: number, value: Buffer): Expr => ({ type: 'immediate', dreg, data: { value } });

/** A port mapping needs to know the transport protocol, or nft refuses it (and so do we). */
function needL4(d: Draft, field: string, v: unknown): void {
  if (d.ctx.transport === undefined)
    throw new ValidationError(field, v, 'a port mapping is only valid after a transport protocol match (meta l4proto, ip protocol, tcp …)');
}

function natFamily(d: Draft, field: string, version: 4 | 6, v: unknown): 'ip' | 'ip6' {
  const fam = version === 4 ? 'ip' : 'ip6';
  if (d.family === 'inet' || d.family === fam) return fam;
  if (d.family === 'ip' || d.family === 'ip6') throw new ValidationError(field, v, `expected an IPv${d.family === 'ip' ? 4 : 6} address in an ${d.family} table`);
  throw new ValidationError(field, v, `NAT is not available in ${d.family} tables`);
}

/** `snat|dnat [ip|ip6] to ADDR[-ADDR][:PORT[-PORT]] [flags]` */
export function natTo(d: Draft, kind: 'snat' | 'dnat', addr: string | readonly [string, string], port: PortRange | undefined, opts: NatFlags): Built {
  const field = `${kind}.addr`;
  const [lo, hi] = Array.isArray(addr) ? addr : [addr as string, undefined];
  const version = typeof lo === 'string' ? isIP(lo) : 0;
  if (version === 0) throw new ValidationError(field, addr, 'expected an IP address or a [from, to] range');
  const fam = natFamily(d, field, version as 4 | 6, addr);
  const type = version === 4 ? TYPES.ipv4_addr : TYPES.ipv6_addr;
  const min = type.encode(field, lo);
  const max = hi === undefined ? undefined : type.encode(field, hi);
  if (max && Buffer.compare(min, max) > 0) throw new ValidationError(field, addr, 'the range ends before it starts');
  const p = port === undefined ? undefined : ports(`${kind}.port`, port);
  if (p) needL4(d, `${kind}.port`, port);
  const flags = natFlags(`${kind}.options`, opts);

  const exprs: Expr[] = [imm(1, min)];
  const nat: Extract<Expr, { type: 'nat' }> = { type: 'nat', natType: kind, family: fam, regAddrMin: 1 };
  let reg = 2;
  if (max) {
    exprs.push(imm(reg, max));
    nat.regAddrMax = reg++;
  }
  if (p) {
    exprs.push(imm(reg, p[0]));
    nat.regProtoMin = reg++;
    if (p[1]) {
      exprs.push(imm(reg, p[1]));
      nat.regProtoMax = reg++;
    }
  }
  const bits = flags.bits | (p ? NAT_F.protoSpecified : 0);
  if (bits) nat.flags = bits;
  exprs.push(nat);

  const host = (a: string) => (version === 6 && p ? `[${a}]` : a);
  const text = [`${kind}${d.family === 'inet' ? ` ${fam}` : ''} to ${host(lo as string)}${hi ? `-${host(hi)}` : ''}${p ? `:${p[2]}` : ''}`, ...(flags.text.length ? [flags.text.join(',')] : [])];
  return { exprs, text: text.join(' ') };
}

/** What a NAT map holds: an address, or an address and a port. */
export type NatMapData = 'ipv4_addr' | 'ipv6_addr' | readonly ['ipv4_addr', 'inet_service'] | readonly ['ipv6_addr', 'inet_service'];

/** Checks a NAT map's data type; returns the NAT family and whether a port comes with the address. */
export function natMapData(d: Draft, field: string, data: unknown): { fam: 'ip' | 'ip6'; port: boolean } {
  const list = Array.isArray(data) ? data : [data];
  const addr = list[0];
  if ((addr !== 'ipv4_addr' && addr !== 'ipv6_addr') || list.length > 2 || (list.length === 2 && list[1] !== 'inet_service'))
    throw new ValidationError(field, data, "expected 'ipv4_addr', 'ipv6_addr', or one of them with 'inet_service'");
  return { fam: natFamily(d, field, addr === 'ipv4_addr' ? 4 : 6, data), port: list.length === 2 };
}

/**
 * `snat|dnat [ip|ip6] to KEY map @MAP`, after the key was loaded from register 1 on (an inline
 * map also by its number in the rule). The map's value lands in register 1 too: the address
 * first, the port in the next 4-byte slot after it.
 */
export function natMap(kind: 'snat' | 'dnat', fam: 'ip' | 'ip6', port: boolean, map: string, setId?: number): Expr[] {
  const nat: Extract<Expr, { type: 'nat' }> = { type: 'nat', natType: kind, family: fam, regAddrMin: 1 };
  if (port) nat.regProtoMin = slotRegister(fam === 'ip' ? 1 : 4);
  const lookup: Expr = setId === undefined ? { type: 'lookup', sreg: 1, dreg: 1, set: map } : { type: 'lookup', sreg: 1, dreg: 1, set: map, setId };
  return [lookup, nat];
}

export interface MasqueradeOptions extends NatFlags {
  /** `masquerade to :1024-65535`: source ports to use (needs a transport protocol match). */
  ports?: PortRange;
}

/** `masquerade [to :PORTS] [flags]` and `redirect [to :PORTS] [flags]`: only ports, no addresses. */
export function portsOnly(d: Draft, kind: 'masq' | 'redir', port: PortRange | undefined, opts: NatFlags): Built {
  const word = kind === 'masq' ? 'masquerade' : 'redirect';
  if (d.family !== 'ip' && d.family !== 'ip6' && d.family !== 'inet') throw new ValidationError(word, d.family, `${word} is not available in ${d.family} tables`);
  const p = port === undefined ? undefined : ports(`${word}.ports`, port);
  if (p) needL4(d, `${word}.ports`, port);
  const flags = natFlags(`${word}.options`, opts, ['ports']);
  const exprs: Expr[] = [];
  const e: Extract<Expr, { type: 'masq' | 'redir' }> = { type: kind };
  if (p) {
    exprs.push(imm(1, p[0]));
    e.regProtoMin = 1;
    if (p[1]) {
      exprs.push(imm(2, p[1]));
      e.regProtoMax = 2;
    }
  }
  const bits = flags.bits | (p ? NAT_F.protoSpecified : 0);
  if (bits) e.flags = bits;
  exprs.push(e);
  return { exprs, text: [word, ...(p ? [`to :${p[2]}`] : []), ...(flags.text.length ? [flags.text.join(',')] : [])].join(' ') };
}

// ---- reject -------------------------------------------------------------------------------

export const ICMP_REJECT = { 'net-unreachable': 0, 'host-unreachable': 1, 'prot-unreachable': 2, 'port-unreachable': 3, 'net-prohibited': 9, 'host-prohibited': 10, 'admin-prohibited': 13 } as const;
export const ICMPV6_REJECT = { 'no-route': 0, 'admin-prohibited': 1, 'addr-unreachable': 3, 'port-unreachable': 4, 'policy-fail': 5, 'reject-route': 6 } as const;
export const ICMPX_REJECT = { 'no-route': 0, 'port-unreachable': 1, 'host-unreachable': 2, 'admin-prohibited': 3 } as const;

/** `reject with …`: a TCP reset, or an ICMP error of the family's kind (icmpx: either). */
export type RejectWith =
  | { with: 'tcp reset' }
  | { with: 'icmp'; type: keyof typeof ICMP_REJECT }
  | { with: 'icmpv6'; type: keyof typeof ICMPV6_REJECT }
  | { with: 'icmpx'; type: keyof typeof ICMPX_REJECT };

const CODES = { icmp: ICMP_REJECT, icmpv6: ICMPV6_REJECT, icmpx: ICMPX_REJECT } as const;

/**
 * `reject [with …]`. Without `with`, nft answers "port unreachable" in the table's ICMP flavour,
 * or with the family-neutral icmpx one when the rule does not pin the network protocol.
 */
export function reject(d: Draft, w: RejectWith | undefined): Built {
  const r = (rejectType: 'icmp' | 'tcp-reset' | 'icmpx', icmpCode: number, text: string): Built => ({ exprs: [{ type: 'reject', rejectType, icmpCode }], text });
  if (w === undefined) {
    if (d.ctx.network === 'ip') return r('icmp', ICMP_REJECT['port-unreachable'], 'reject');
    if (d.ctx.network === 'ip6') return r('icmp', ICMPV6_REJECT['port-unreachable'], 'reject');
    return r('icmpx', ICMPX_REJECT['port-unreachable'], 'reject');
  }
  object('reject', w);
  const kind = oneOf('reject.with', w.with, ['tcp reset', 'icmp', 'icmpv6', 'icmpx']);
  if (kind === 'tcp reset') {
    knownKeys('reject', w, ['with']);
    d.needTcp('reject.with');
    return r('tcp-reset', 0, 'reject with tcp reset');
  }
  knownKeys('reject', w, ['with', 'type']);
  const codes: Record<string, number> = CODES[kind];
  const type = oneOf('reject.type', (w as { type?: unknown }).type, Object.keys(codes));
  if (kind === 'icmpx') {
    if (d.family === 'ip' || d.family === 'ip6') throw new ValidationError('reject.with', kind, `icmpx is for inet, bridge and netdev tables; use ${d.family === 'ip' ? 'icmp' : 'icmpv6'}`);
    return r('icmpx', codes[type]!, `reject with icmpx type ${type}`);
  }
  d.needNetworkFor(kind === 'icmp' ? 'ip' : 'ip6', 'reject.with');
  return r('icmp', codes[type]!, `reject with ${kind} type ${type}`);
}

// ---- limit --------------------------------------------------------------------------------

const PER = { second: 1, minute: 60, hour: 3600, day: 86400, week: 604800 } as const;
export type Per = keyof typeof PER;
const BYTE_UNITS = { bytes: 1, kbytes: 1024, mbytes: 1024 * 1024 } as const;

export interface LimitOptions {
  /** Packets (or bytes) allowed above the rate in a burst; nft's default is 5 packets. */
  burst?: number;
  /** `limit rate over …`: match what exceeds the rate instead. */
  over?: boolean;
  /** Count bytes, in this unit, instead of packets (the burst is in the same unit). */
  bytes?: keyof typeof BYTE_UNITS;
}

/** `limit rate [over] RATE[/UNIT]/PER [burst N UNIT]` */
export function limit(rate: number, per: Per, opts: LimitOptions): Built {
  object('limit', opts);
  knownKeys('limit', opts, ['burst', 'over', 'bytes']);
  uint('limit.rate', rate, 1, 2 ** 32 - 1);
  const unit = PER[oneOf('limit.per', per, Object.keys(PER) as Per[])];
  const byUnit = opts.bytes === undefined ? undefined : oneOf('limit.bytes', opts.bytes, Object.keys(BYTE_UNITS) as (keyof typeof BYTE_UNITS)[]);
  if (opts.over !== undefined && typeof opts.over !== 'boolean') throw new ValidationError('limit.over', opts.over, 'expected true or false');
  const burst = opts.burst === undefined ? undefined : uint('limit.burst', opts.burst, 1, 2 ** 32 - 1);
  const flags = opts.over ? LIMIT_F_INV : 0;
  const words = ['limit rate', ...(opts.over ? ['over'] : [])];
  if (byUnit === undefined) {
    words.push(`${rate}/${per}`, ...(burst === undefined ? [] : [`burst ${burst} packets`]));
    return { exprs: [{ type: 'limit', rate, unit, burst: burst ?? 5, limitType: 'pkts', flags }], text: words.join(' ') };
  }
  const mult = BYTE_UNITS[byUnit];
  const e: Extract<Expr, { type: 'limit' }> = { type: 'limit', rate: rate * mult, unit, limitType: 'bytes', flags };
  if (burst !== undefined) e.burst = burst * mult;
  words.push(`${rate} ${byUnit}/${per}`, ...(burst === undefined ? [] : [`burst ${burst} ${byUnit}`]));
  return { exprs: [e], text: words.join(' ') };
}

// ---- log ----------------------------------------------------------------------------------

const LEVELS = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug', 'audit'] as const;
// NF_LOG_* flags
const LOG_FLAGS = { 'tcp sequence': 0x1, 'tcp options': 0x2, 'ip options': 0x4, skuid: 0x8, ether: 0x20, all: 0x2f } as const;
export type LogFlag = keyof typeof LOG_FLAGS;

export interface LogOptions {
  /** Up to 127 bytes, written before each logged line. */
  prefix?: string;
  /** Syslog level (or 'audit'); not with `group`. */
  level?: (typeof LEVELS)[number];
  flags?: LogFlag[];
  /** Send to nfnetlink_log group N instead of the kernel log. */
  group?: number;
  /** With `group`: bytes of each packet to copy. */
  snaplen?: number;
  /** With `group`: packets to queue before sending. */
  queueThreshold?: number;
}

/** `log [prefix …] [level …] [flags …] [group N [snaplen N] [queue-threshold N]]` */
export function log(opts: LogOptions): Built {
  object('log', opts);
  knownKeys('log', opts, ['prefix', 'level', 'flags', 'group', 'snaplen', 'queueThreshold']);
  const e: Extract<Expr, { type: 'log' }> = { type: 'log' };
  const words = ['log'];
  if (opts.prefix !== undefined) {
    e.prefix = str('log.prefix', opts.prefix, 127);
    words.push(`prefix ${JSON.stringify(opts.prefix)}`);
  }
  if (opts.group !== undefined) {
    e.group = uint('log.group', opts.group, 0, 65535);
    words.push(`group ${opts.group}`);
    if (opts.level !== undefined) throw new ValidationError('log.level', opts.level, 'level and group are mutually exclusive');
    if (opts.flags !== undefined) throw new ValidationError('log.flags', opts.flags, 'flags and group are mutually exclusive');
  } else {
    for (const k of ['snaplen', 'queueThreshold'] as const)
      if (opts[k] !== undefined) throw new ValidationError(`log.${k}`, opts[k], 'only with a group');
  }
  if (opts.snaplen !== undefined) {
    e.snaplen = uint('log.snaplen', opts.snaplen, 0, 0xffffffff);
    words.push(`snaplen ${opts.snaplen}`);
  }
  if (opts.queueThreshold !== undefined) {
    e.qthreshold = uint('log.queueThreshold', opts.queueThreshold, 0, 65535);
    words.push(`queue-threshold ${opts.queueThreshold}`);
  }
  if (opts.level !== undefined) {
    e.level = oneOf('log.level', opts.level, LEVELS);
    words.push(`level ${opts.level}`);
  }
  if (opts.flags !== undefined) {
    if (!Array.isArray(opts.flags) || opts.flags.length === 0) throw new ValidationError('log.flags', opts.flags, 'expected a list of flags');
    e.flags = opts.flags.reduce((b, f, i) => b | LOG_FLAGS[oneOf(`log.flags[${i}]`, f, Object.keys(LOG_FLAGS) as LogFlag[])], 0);
    words.push(...opts.flags.map((f) => `flags ${f}`));
  }
  return { exprs: [e], text: words.join(' ') };
}
