// Input checks that run before anything reaches the kernel. Each throws a ValidationError that
// names the field and says what was wrong.
import { addressFamily, type Family } from './address.js';
import { ValidationError } from './errors.js';

export type { Family };

/** A link created earlier in the same batch (what `batch.link.add()` returns). */
export interface LinkRef {
  readonly ref: number;
}

/** An interface: its name, its ifindex, or a link made earlier in the same batch. */
export type IfRef = string | number | LinkRef;

export function uint(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new ValidationError(field, v, `expected an integer from ${min} to ${max}`);
  return v;
}

export function bool(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ValidationError(field, v, 'expected true or false');
  return v;
}

export function str(field: string, v: unknown, maxBytes = 255): string {
  if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v) > maxBytes)
    throw new ValidationError(field, v, `expected a string of 1 to ${maxBytes} bytes`);
  return v;
}

export function oneOf<T extends string>(field: string, v: unknown, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
    throw new ValidationError(field, v, `expected one of ${values.join(', ')}`);
  return v as T;
}

/** An interface name as the kernel accepts it (dev_valid_name): 1–15 bytes, no '/', ':' or space. */
export function ifname(field: string, v: unknown): string {
  if (typeof v !== 'string') throw new ValidationError(field, v, 'expected an interface name');
  const bytes = Buffer.byteLength(v);
  if (bytes === 0 || bytes > 15) throw new ValidationError(field, v, `interface names are 1 to 15 bytes, this one is ${bytes}`);
  if (v === '.' || v === '..' || /[/:\s]/.test(v))
    throw new ValidationError(field, v, "interface names cannot be '.' or '..' or contain '/', ':' or whitespace");
  return v;
}

export function ifref(field: string, v: unknown): IfRef {
  if (typeof v === 'number') return uint(field, v, 1, 0x7fffffff);
  if (typeof v === 'string') return ifname(field, v);
  if (typeof v === 'object' && v !== null && typeof (v as LinkRef).ref === 'number') return { ref: uint(`${field}.ref`, (v as LinkRef).ref, 0, 0x7fffffff) };
  throw new ValidationError(field, v, 'expected an interface name, an ifindex or a link from the same batch');
}

export function ip(field: string, v: unknown, family?: Family): string {
  const kind = typeof v === 'string' ? addressFamily(v) : undefined;
  if (kind === undefined) throw new ValidationError(field, v, 'expected an IPv4 or IPv6 address');
  if (family !== undefined && kind !== family) throw new ValidationError(field, v, `expected an ${family === 'inet' ? 'IPv4' : 'IPv6'} address`);
  return v as string;
}

export function familyOf(address: string): Family {
  return addressFamily(address) ?? 'inet';
}

export interface Prefix {
  address: string;
  prefixlen: number;
  family: Family;
}

/** "192.0.2.1/24", "2001:db8::/64"; a bare address means the full length (/32, /128). */
export function prefix(field: string, v: unknown, family?: Family): Prefix {
  if (typeof v !== 'string') throw new ValidationError(field, v, 'expected an address with an optional /prefix');
  const slash = v.indexOf('/');
  const address = slash < 0 ? v : v.slice(0, slash);
  ip(field, address, family);
  const fam = familyOf(address);
  const max = fam === 'inet' ? 32 : 128;
  let prefixlen = max;
  if (slash >= 0) {
    const p = v.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw new ValidationError(field, v, `the prefix length must be 0 to ${max}`);
    prefixlen = Number(p);
  }
  return { address, prefixlen, family: fam };
}

/** An Ethernet address, "02:42:ac:11:00:02". */
export function mac(field: string, v: unknown): string {
  if (typeof v !== 'string' || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v))
    throw new ValidationError(field, v, 'expected a MAC address such as 02:42:ac:11:00:02');
  return v.toLowerCase();
}

/** Rejects keys the spec type does not have, so that a typo is not silently ignored. */
export function knownKeys(field: string, o: object, allowed: readonly string[]): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k) && (o as Record<string, unknown>)[k] !== undefined)
      throw new ValidationError(`${field}.${k}`, (o as Record<string, unknown>)[k], 'unknown option');
}

export function object(field: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ValidationError(field, v, 'expected an object');
  return v as Record<string, unknown>;
}
