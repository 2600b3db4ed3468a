// IPv6 for `docker network create --ipv6`: a ULA /64 when no IPv6 --subnet is given (as Docker
// 27 takes one from its fd00::/8 pool), and the pool of one network's container addresses.
// An IPv6 subnet is too large for v4.ts's bitmap: the pool keeps the set of taken offsets and
// hands out the lowest free one, as Docker's IPAM does. Pure, like v4.ts.
import { randomBytes } from 'node:crypto';

import { addressToBigInt, bigIntToAddress } from '../../core/address.js';
import { ConflictError, ValidationError } from '../../core/errors.js';
import { ip as validateIp } from '../../core/validate.js';
import { checkUsable, ExhaustedError, formatSubnet, overlaps, validateSubnet, type Subnet } from './v4.js';

/** What the store keeps of an AddressPool6 (`JSON.stringify(pool)` gives exactly this). */
export interface AddressPool6State {
  subnet: string;
  gateway: string;
  /** Addresses handed out, in ascending order; the gateway is not listed. */
  allocated: string[];
}

/**
 * A random unique local /64 (RFC 4193: fd + 40 random bits + subnet 0) that overlaps none of
 * `taken`: what `--ipv6` without an IPv6 --subnet gets.
 */
export function allocateSubnet6(taken: readonly string[]): string {
  const others = taken.map((t) => validateSubnet(t));
  for (;;) {
    const global = BigInt(`0x${randomBytes(5).toString('hex')}`);
    const s: Subnet = { family: 'inet6', base: ((0xfdn << 120n) | (global << 80n)) & ~((1n << 64n) - 1n), prefixlen: 64 };
    if (!others.some((o) => o.family === 'inet6' && overlaps(o, s))) return formatSubnet(s);
  }
}

/** `--subnet` for IPv6: /48 to /120 (room for a gateway and containers), not overlapping `taken`. */
export function claimSubnet6(subnet: string, existing: readonly { name: string; subnet6?: string }[]): string {
  const s = validateSubnet(subnet);
  if (s.family !== 'inet6') throw new ValidationError('subnet6', subnet, 'expected an IPv6 subnet such as fd00:1::/64');
  if (s.prefixlen < 48 || s.prefixlen > 120) throw new ValidationError('subnet6', subnet, 'the prefix length must be 48 to 120');
  checkUsable(s, 'subnet6', subnet);
  for (const other of existing) {
    if (other.subnet6 !== undefined && overlaps(validateSubnet(other.subnet6), s)) throw new ConflictError('network', other.name, `Pool overlaps with other one on this address space: ${subnet} and ${other.subnet6} of network ${other.name}`);
  }
  return formatSubnet(s);
}

export class AddressPool6 {
  readonly subnet: string;
  readonly gateway: string;
  readonly #base: bigint;
  readonly #size: bigint;
  readonly #gatewayOffset: bigint;
  readonly #used = new Set<bigint>();

  /** `--subnet V6 [--gateway V6]`; the gateway is the first address unless given. */
  constructor(opts: { subnet: string; gateway?: string }) {
    const s = validateSubnet(opts.subnet, 'subnet6');
    if (s.family !== 'inet6') throw new ValidationError('subnet6', opts.subnet, 'expected an IPv6 subnet');
    this.subnet = formatSubnet(s);
    this.#base = s.base;
    this.#size = 1n << BigInt(128 - s.prefixlen);
    this.#gatewayOffset = opts.gateway === undefined ? 1n : this.#offset('gateway6', opts.gateway);
    this.gateway = this.#address(this.#gatewayOffset);
  }

  static fromJSON(state: AddressPool6State): AddressPool6 {
    const pool = new AddressPool6({ subnet: state.subnet, gateway: state.gateway });
    for (const a of state.allocated) pool.allocateStatic(a);
    return pool;
  }

  toJSON(): AddressPool6State {
    const allocated = [...this.#used].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((o) => this.#address(o));
    return { subnet: this.subnet, gateway: this.gateway, allocated };
  }

  /** The lowest free address after the subnet's first. */
  allocate(): string {
    for (let o = 1n; o < this.#size; o++) {
      if (o === this.#gatewayOffset || this.#used.has(o)) continue;
      this.#used.add(o);
      return this.#address(o);
    }
    throw new ExhaustedError('network', this.subnet, `no available IPv6 addresses in ${this.subnet}`);
  }

  /** `--ip6 ADDRESS`. */
  allocateStatic(address: string): string {
    const o = this.#offset('ip6', address);
    if (o === this.#gatewayOffset) throw new ConflictError('address', address, `is the gateway of ${this.subnet}`);
    if (this.#used.has(o)) throw new ConflictError('address', address, 'Address already in use');
    this.#used.add(o);
    return this.#address(o);
  }

  /** Gives an address back; false when it was not handed out. */
  release(address: string): boolean {
    return this.#used.delete(this.#offset('ip6', address));
  }

  #offset(field: string, address: string): bigint {
    validateIp(field, address, 'inet6');
    const o = addressToBigInt(address) - this.#base;
    if (o < 0n || o >= this.#size) throw new ValidationError(field, address, `must be inside the subnet ${this.subnet}`);
    // The subnet-router anycast address (offset 0) is no host's.
    if (o === 0n) throw new ValidationError(field, address, `is the subnet-router anycast address of ${this.subnet}`);
    return o;
  }

  #address(o: bigint): string {
    return bigIntToAddress(this.#base + o, 'inet6');
  }
}
