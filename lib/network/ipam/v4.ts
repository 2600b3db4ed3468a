// Docker's IPAM: default address pools for new networks, user subnets (`--subnet`, `--gateway`,
// `--ip-range`) and the per-network address pool that hands out container addresses. Pure: no
// kernel access and no I/O; the engine passes in what it read (host routes, existing networks).
import { randomBytes } from 'node:crypto';

import { addressBytes, addressToBigInt, bigIntToAddress } from '../../core/address.js';
import { ConflictError, ValidationError } from '../../core/errors.js';
import { ip as validateIp, prefix as parsePrefix, type Family } from '../../core/validate.js';

/** A network prefix as numbers: `base` has its host bits cleared. */
export interface Subnet {
  family: Family;
  base: bigint;
  prefixlen: number;
}

/** The address space ran out (no default pool left, or no free address in a network). */
export class ExhaustedError extends ConflictError {
  constructor(kind: string, id: string, reason: string) {
    super(kind, id, reason);
    // ConflictError declares `name` as a readonly literal; the subclass still reports its own.
    Object.defineProperty(this, 'name', { value: 'ExhaustedError' });
  }
}

/** Docker's default pools, in the order dockerd tries them: 172.17–31.0.0/16, then 192.168.x.0/20. */
export const DEFAULT_POOLS: readonly string[] = [
  ...Array.from({ length: 15 }, (_, i) => `172.${17 + i}.0.0/16`),
  ...Array.from({ length: 16 }, (_, i) => `192.168.${i * 16}.0/20`),
];

// The pools count on bigints; text to number and back is lib/core/address.ts's. These two names stay
// because ports/spec.ts and callers outside lib/ use them.
/** Parses an address to a number: 32 bits for IPv4, 128 for IPv6 (dotted tail allowed). */
export const ipToBigInt = addressToBigInt;
/** Formats a number back to an address (IPv6 in RFC 5952's canonical form). */
export const bigIntToIp = bigIntToAddress;

const bits = (family: Family): number => (family === 'inet' ? 32 : 128);
const hostMask = (s: Pick<Subnet, 'family' | 'prefixlen'>): bigint => (1n << BigInt(bits(s.family) - s.prefixlen)) - 1n;

function toSubnet(field: string, v: unknown): Subnet {
  const p = parsePrefix(field, v);
  return { family: p.family, base: addressToBigInt(p.address), prefixlen: p.prefixlen };
}

/** "10.0.0.0/24" */
export function formatSubnet(s: Subnet): string {
  return `${bigIntToAddress(s.base, s.family)}/${s.prefixlen}`;
}

/**
 * Checks a `--subnet` (or `--ip-range`) value: an address/prefix whose host bits are zero.
 * '10.0.0.1/24' is refused with the suggestion '10.0.0.0/24', as dockerd does.
 */
export function validateSubnet(v: unknown, field = 'subnet'): Subnet {
  if (typeof v !== 'string' || !v.includes('/')) throw new ValidationError(field, v, 'expected a subnet in CIDR form such as 10.0.0.0/24');
  const s = toSubnet(field, v);
  if ((s.base & hostMask(s)) !== 0n) {
    const net = formatSubnet({ ...s, base: s.base & ~hostMask(s) });
    throw new ValidationError(field, v, `the address has host bits set; did you mean ${net}?`);
  }
  return s;
}

/** True when two prefixes share at least one address. */
export function overlaps(a: Subnet, b: Subnet): boolean {
  if (a.family !== b.family) return false;
  const widest = a.prefixlen < b.prefixlen ? a : b;
  return (a.base & ~hostMask(widest)) === (b.base & ~hostMask(widest));
}

/** True when `inner` lies entirely inside `outer`. */
export function contains(outer: Subnet, inner: Subnet): boolean {
  return outer.family === inner.family && inner.prefixlen >= outer.prefixlen && overlaps(outer, inner);
}

/**
 * `docker network create --subnet`: validates the subnet and refuses it when it overlaps the
 * subnet of an existing network (ConflictError naming that network). Returns the canonical form.
 */
/**
 * Address blocks no network can use: the kernel refuses their addresses on a bridge (multicast
 * without IFA_F_MCAUTOJOIN), or they never leave the host (loopback), or mean "any" (0.0.0.0/8,
 * ::/8). Docker accepts 224.0.0.0/4 and its containers then cannot talk (moby#42709).
 */
const RESERVED: readonly [string, string][] = [
  ['0.0.0.0/8', 'the "this network" block'],
  ['127.0.0.0/8', 'loopback'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved (class E)'],
  ['::/8', 'loopback, unspecified and IPv4-mapped'],
  ['ff00::/8', 'multicast'],
];

/** Refuses a subnet inside one of the reserved blocks. */
export function checkUsable(s: Subnet, field: string, text: string): void {
  for (const [block, what] of RESERVED) {
    const b = toSubnet(field, block);
    if (overlaps(b, s)) throw new ValidationError(field, text, `${block} is ${what}: not usable for a network`);
  }
}

export function claimSubnet(subnet: string, existing: readonly { name: string; subnet: string }[]): string {
  const wanted = validateSubnet(subnet);
  checkUsable(wanted, 'subnet', subnet);
  for (const other of existing) {
    if (overlaps(wanted, toSubnet(`network ${other.name}`, other.subnet)))
      throw new ConflictError('network', other.name, `subnet ${formatSubnet(wanted)} overlaps with its subnet ${other.subnet}: Pool overlaps with other one on this address space`);
  }
  return formatSubnet(wanted);
}

/**
 * `docker network create` without `--subnet`: the first default pool that overlaps neither an
 * existing network's subnet nor a route in the host namespace ('default' and IPv6 routes are
 * ignored, as dockerd ignores them). Throws ExhaustedError when every default pool is in use.
 */
export function allocateSubnet(opts: { taken: readonly string[]; hostRoutes: readonly string[]; pools?: Iterable<string> }): string {
  const busy = [
    ...opts.taken.map((t) => toSubnet('taken', t)),
    ...opts.hostRoutes.filter((r) => r !== 'default').map((r) => toSubnet('hostRoutes', r)).filter((r) => r.prefixlen > 0),
  ];
  for (const pool of opts.pools ?? DEFAULT_POOLS) {
    const s = toSubnet('pool', pool);
    if (!busy.some((b) => overlaps(s, b))) return pool;
  }
  throw new ExhaustedError('address pools', 'default', 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
}

/**
 * Docker's global default pool, for overlay networks without `--subnet`: 10.0.0.0/8 in /24s, in
 * order (libnetwork ipamutils' globalScopeDefaultNetworks).
 */
export function* globalPools(): Generator<string> {
  for (let i = 0; i < 65536; i++) yield `10.${i >> 8}.${i & 255}.0/24`;
}

/** `docker run` picks the MAC from the IPv4 address: 02:42 followed by its four bytes. */
export function macFor(address: string): string {
  validateIp('ip', address, 'inet');
  return ['02', '42', ...[...addressBytes(address)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** A random MAC, locally administered and unicast (`--mac-address random`). */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfc) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** What the store keeps of an AddressPool (`JSON.stringify(pool)` gives exactly this). */
export interface AddressPoolState {
  subnet: string;
  gateway: string;
  ipRange?: string;
  /**
   * Addresses handed out (dynamic and static), in ascending order; the gateway is not listed. A run
   * of consecutive ones is one entry, `first-last` (`172.17.0.2-172.17.1.245`): a network's
   * record is rewritten at every attach, and 500 containers are then one entry, not 500.
   */
  allocated: string[];
}

/**
 * The container addresses of one IPv4 network. A bitmap over the subnet's offsets plus a cursor
 * below which every address of the dynamic range is taken, so filling a /16 stays linear.
 */
export class AddressPool {
  readonly subnet: string;
  readonly gateway: string;
  readonly ipRange: string | undefined;
  readonly #base: number;
  readonly #size: number;
  readonly #gatewayOffset: number;
  readonly #rangeLow: number;
  readonly #rangeHigh: number;
  readonly #used: Uint8Array;
  /** Every offset in [#rangeLow, #next) is taken. */
  #next: number;

  /** `docker network create --subnet S [--gateway G] [--ip-range R]` (IPv4, /8 to /30). */
  constructor(opts: { subnet: string; gateway?: string; ipRange?: string }) {
    const s = validateSubnet(opts.subnet);
    if (s.family !== 'inet') throw new ValidationError('subnet', opts.subnet, 'address pools are IPv4 only');
    if (s.prefixlen < 8 || s.prefixlen > 30) throw new ValidationError('subnet', opts.subnet, 'the prefix length must be 8 to 30 to leave room for a gateway and containers');
    this.subnet = formatSubnet(s);
    this.#base = Number(s.base);
    this.#size = 2 ** (32 - s.prefixlen);
    this.#used = new Uint8Array(Math.ceil(this.#size / 8));
    this.#rangeLow = 1;
    this.#rangeHigh = this.#size - 2;
    if (opts.ipRange !== undefined) {
      const r = validateSubnet(opts.ipRange, 'ip-range');
      if (!contains(s, r)) throw new ValidationError('ip-range', opts.ipRange, `must be inside the subnet ${this.subnet}`);
      this.ipRange = formatSubnet(r);
      const low = Number(r.base) - this.#base;
      this.#rangeLow = Math.max(1, low);
      this.#rangeHigh = Math.min(this.#size - 2, low + 2 ** (32 - r.prefixlen) - 1);
    } else {
      this.ipRange = undefined;
    }
    if (opts.gateway === undefined) {
      this.#gatewayOffset = 1;
    } else {
      this.#gatewayOffset = this.#offset('gateway', opts.gateway);
    }
    this.gateway = this.#address(this.#gatewayOffset);
    this.#set(this.#gatewayOffset, true);
    this.#next = this.#rangeLow;
  }

  /** Rebuilds a pool from what the store kept. */
  static fromJSON(state: AddressPoolState): AddressPool {
    const pool = new AddressPool({ subnet: state.subnet, gateway: state.gateway, ...(state.ipRange === undefined ? {} : { ipRange: state.ipRange }) });
    for (const entry of state.allocated) {
      const dash = entry.indexOf('-');
      if (dash < 0) {
        pool.allocateStatic(entry);
        continue;
      }
      const first = pool.#offset('ip', entry.slice(0, dash));
      const last = pool.#offset('ip', entry.slice(dash + 1));
      if (last < first) throw new ValidationError('ip', entry, 'is a range that ends before it starts');
      for (let o = first; o <= last; o++) pool.#take(o, entry);
    }
    return pool;
  }

  toJSON(): AddressPoolState {
    const allocated: string[] = [];
    let run: [number, number] | undefined;
    const flush = (): void => {
      if (run !== undefined) allocated.push(run[0] === run[1] ? this.#address(run[0]) : `${this.#address(run[0])}-${this.#address(run[1])}`);
      run = undefined;
    };
    // Byte by byte: a /16 is 8 KiB of bitmap, mostly zero bytes, skipped whole.
    for (let i = 0; i < this.#used.length; i++) {
      if (this.#used[i] === 0) {
        flush();
        continue;
      }
      for (let o = i * 8; o < i * 8 + 8; o++) {
        if (o > 0 && o < this.#size - 1 && o !== this.#gatewayOffset && this.#has(o)) {
          if (run !== undefined && run[1] === o - 1) run[1] = o;
          else {
            flush();
            run = [o, o];
          }
        } else flush();
      }
    }
    flush();
    return { subnet: this.subnet, gateway: this.gateway, ...(this.ipRange === undefined ? {} : { ipRange: this.ipRange }), allocated };
  }

  /** `docker network connect` / `docker run --network`: the lowest free address of the ip-range (or subnet). */
  allocate(): string {
    for (let o = this.#next; o <= this.#rangeHigh; o++) {
      if (!this.#has(o)) {
        this.#set(o, true);
        this.#next = o + 1;
        return this.#address(o);
      }
    }
    this.#next = this.#rangeHigh + 1;
    throw new ExhaustedError('network', this.subnet, `no available IPv4 addresses in ${this.ipRange ?? this.subnet}`);
  }

  /** `docker run --ip` / `network connect --ip`: anywhere in the subnet, even outside the ip-range. */
  allocateStatic(address: string): string {
    const o = this.#offset('ip', address);
    this.#take(o, address);
    return this.#address(o);
  }

  /** Marks offset `o` taken; `what` (an address, or a stored range holding it) names it in the refusal. */
  #take(o: number, what: string): void {
    if (o === this.#gatewayOffset) throw new ConflictError('address', what, `is the gateway of ${this.subnet}`);
    if (this.#has(o)) throw new ConflictError('address', what, 'Address already in use');
    this.#set(o, true);
  }

  /** Gives an address back (container removed or disconnected). False when it was not allocated. */
  release(address: string): boolean {
    const o = this.#offset('ip', address);
    if (o === this.#gatewayOffset) throw new ValidationError('ip', address, `is the gateway of ${this.subnet} and cannot be released`);
    if (!this.#has(o)) return false;
    this.#set(o, false);
    if (o >= this.#rangeLow && o < this.#next) this.#next = o;
    return true;
  }

  /** Whether an address is handed out (the gateway counts). */
  isAllocated(address: string): boolean {
    return this.#has(this.#offset('ip', address));
  }

  #offset(field: string, address: string): number {
    validateIp(field, address, 'inet');
    const o = Number(addressToBigInt(address)) - this.#base;
    if (o < 0 || o >= this.#size) throw new ValidationError(field, address, `must be inside the subnet ${this.subnet}`);
    if (o === 0) throw new ValidationError(field, address, `is the network address of ${this.subnet}`);
    if (o === this.#size - 1) throw new ValidationError(field, address, `is the broadcast address of ${this.subnet}`);
    return o;
  }

  #address(o: number): string {
    return bigIntToAddress(BigInt(this.#base + o), 'inet');
  }

  #has(o: number): boolean {
    return ((this.#used[o >> 3] ?? 0) & (1 << (o & 7))) !== 0;
  }

  #set(o: number, on: boolean): void {
    const i = o >> 3;
    const byte = this.#used[i] ?? 0;
    this.#used[i] = on ? byte | (1 << (o & 7)) : byte & ~(1 << (o & 7));
  }
}
