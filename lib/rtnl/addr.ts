// Addresses: `ip addr add|replace|del|show`, IPv4 and IPv6.
import { broadcastOf } from '../core/address.js';
import type { Body } from '../core/binding.js';
import { F_ACK, F_ADD, F_DUMP, F_REPLACE, RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR } from '../core/constants.js';
import { ValidationError } from '../core/errors.js';
import { none, type Op, type Runner } from '../core/op.js';
import { bool, type Family, ifref, type IfRef, ip, knownKeys, object, oneOf, prefix, str, uint } from '../core/validate.js';

export type Scope = 'global' | 'site' | 'link' | 'host' | 'nowhere';
const SCOPES: readonly Scope[] = ['global', 'site', 'link', 'host', 'nowhere'];
const FOREVER = 0xffffffff;

export interface AddrSpec {
  dev: IfRef;
  /** "192.0.2.1/24" or "2001:db8::1/64"; without a prefix, /32 or /128. */
  address: string;
  /**
   * Point-to-point peer (`peer ADDR[/LEN]`). The prefix length is then the peer's if it has one,
   * else the address's, else /32 (/128). (`ip` takes only the peer's and drops the address's.)
   */
  peer?: string;
  /** An address, or true for the usual one (`brd +`). IPv4 only. */
  broadcast?: string | true;
  /** `label eth0:1`: must start with the device's name. */
  label?: string;
  scope?: Scope;
  /** Skip duplicate address detection (IPv6). */
  nodad?: boolean;
  /** Add no prefix route for the subnet. */
  noprefixroute?: boolean;
  /** Seconds (at least 1), or 'forever' (the default). */
  validLifetime?: number | 'forever';
  /** Seconds, or 'forever'; at most validLifetime, which it defaults to. */
  preferredLifetime?: number | 'forever';
  /** Metric of the prefix route. */
  metric?: number;
}

export interface Addr {
  family: Family;
  /** ifindex of the device. */
  dev: number;
  /** With its prefix length: "192.0.2.1/24". */
  address: string;
  prefixlen: number;
  peer?: string;
  broadcast?: string;
  label?: string;
  scope: Scope | number;
  flags: string[];
  validLifetime?: number | 'forever';
  preferredLifetime?: number | 'forever';
  metric?: number;
}

// <linux/if_addr.h> IFA_F_*
const FLAG_BITS: [string, number][] = [
  ['secondary', 0x01], ['nodad', 0x02], ['optimistic', 0x04], ['dadfailed', 0x08], ['home', 0x10],
  ['deprecated', 0x20], ['tentative', 0x40], ['permanent', 0x80], ['mngtmpaddr', 0x100],
  ['noprefixroute', 0x200], ['autojoin', 0x400], ['stable-privacy', 0x800],
];

const KEYS = ['dev', 'address', 'peer', 'broadcast', 'label', 'scope', 'nodad', 'noprefixroute', 'validLifetime', 'preferredLifetime', 'metric'] as const;

function lifetime(field: string, v: unknown, min: number): number {
  return v === 'forever' ? FOREVER : uint(field, v, min, FOREVER);
}

function specToNative(spec: AddrSpec, forDelete: boolean): Body {
  const s = object('addr', spec) as AddrSpec & Record<string, unknown>;
  knownKeys('addr', s, KEYS);
  const p = prefix('addr.address', s.address);
  const body: Body = { family: p.family, prefixlen: p.prefixlen, index: ifref('addr.dev', s.dev), local: p.address };
  body.address = p.address;
  if (s.peer !== undefined) {
    const peer = prefix('addr.peer', s.peer, p.family);
    const addressHasLen = (s.address as string).includes('/');
    const peerHasLen = (s.peer as string).includes('/');
    if (addressHasLen && peerHasLen && p.prefixlen !== peer.prefixlen)
      throw new ValidationError('addr.peer', s.peer, `the prefix length is the peer's; it differs from the address's /${p.prefixlen}`);
    body.address = peer.address;
    body.prefixlen = peerHasLen || !addressHasLen ? peer.prefixlen : p.prefixlen;
  }
  if (forDelete) return body;
  let flags = 0;
  if (s.nodad !== undefined && bool('addr.nodad', s.nodad)) flags |= 0x02;
  if (s.noprefixroute !== undefined && bool('addr.noprefixroute', s.noprefixroute)) flags |= 0x200;
  // As `ip` does: flags that fit ifa_flags' eight bits go there, and only there; more need
  // IFA_FLAGS, which then carries them all (the kernel reads IFA_FLAGS over ifa_flags).
  if (flags > 0xff) body.extFlags = flags;
  else if (flags) body.flags = flags;
  if (s.label !== undefined) {
    const label = str('addr.label', s.label, 15);
    if (typeof s.dev === 'string' && !label.startsWith(s.dev)) throw new ValidationError('addr.label', label, `a label must start with the device name '${s.dev}'`);
    body.label = label;
  }
  if (s.broadcast !== undefined) {
    if (p.family !== 'inet') throw new ValidationError('addr.broadcast', s.broadcast, 'broadcast addresses are IPv4 only');
    body.broadcast = s.broadcast === true ? broadcastOf(p.address, p.prefixlen) : ip('addr.broadcast', s.broadcast, 'inet');
  }
  if (s.scope !== undefined) body.scope = oneOf('addr.scope', s.scope, SCOPES);
  // `ip` gives loopback addresses (127.0.0.0/8) scope host unless told otherwise.
  else if (p.family === 'inet' && p.address.startsWith('127.')) body.scope = 'host';
  if (s.validLifetime !== undefined || s.preferredLifetime !== undefined) {
    // The kernel refuses a valid lifetime of 0 (EINVAL); say so before asking it.
    const valid = lifetime('addr.validLifetime', s.validLifetime ?? 'forever', 1);
    const preferred = lifetime('addr.preferredLifetime', s.preferredLifetime ?? valid, 0);
    if (preferred > valid) throw new ValidationError('addr.preferredLifetime', s.preferredLifetime, 'must not exceed validLifetime');
    body.cacheinfo = { preferred, valid };
  }
  if (s.metric !== undefined) body.metric = uint('addr.metric', s.metric, 0, 0xffffffff);
  return body;
}

export function addrFromNative(b: Body): Addr {
  const local = (b.local ?? b.address) as string;
  const a: Addr = {
    family: b.family as Family,
    dev: b.index as number,
    address: `${local}/${b.prefixlen as number}`,
    prefixlen: b.prefixlen as number,
    scope: b.scope as Scope,
    flags: [],
  };
  if (b.local !== undefined && b.address !== undefined && b.address !== b.local) a.peer = b.address as string;
  if (b.broadcast !== undefined) a.broadcast = b.broadcast as string;
  if (b.label !== undefined) a.label = b.label as string;
  const flags = (b.extFlags as number | undefined) ?? (b.flags as number);
  for (const [name, bit] of FLAG_BITS) if (flags & bit) a.flags.push(name);
  const ci = b.cacheinfo as { preferred: number; valid: number } | undefined;
  if (ci) {
    a.validLifetime = ci.valid === FOREVER ? 'forever' : ci.valid;
    a.preferredLifetime = ci.preferred === FOREVER ? 'forever' : ci.preferred;
  }
  if (b.metric !== undefined) a.metric = b.metric as number;
  return a;
}

export const addrOps = {
  /** `ip addr add ADDR/LEN dev DEV [peer] [brd] [label] [scope] [nodad] [noprefixroute] [valid_lft] [preferred_lft] [metric]` */
  add(spec: AddrSpec): Op<void> {
    return { op: 'addr.add', type: RTM_NEWADDR, flags: F_ADD, body: specToNative(spec, false), parse: none };
  },
  /** `ip addr replace …` */
  replace(spec: AddrSpec): Op<void> {
    return { op: 'addr.replace', type: RTM_NEWADDR, flags: F_REPLACE, body: specToNative(spec, false), parse: none };
  },
  /** `ip addr del ADDR/LEN dev DEV` */
  del(spec: Pick<AddrSpec, 'dev' | 'address' | 'peer'>): Op<void> {
    return { op: 'addr.del', type: RTM_DELADDR, flags: F_ACK, body: specToNative(spec, true), parse: none };
  },
  /** `ip [-4|-6] addr show [dev DEV]`: the kernel filters by device and family. */
  list(filter: { dev?: IfRef; family?: Family } = {}): Op<Addr[]> {
    object('filter', filter);
    knownKeys('filter', filter, ['dev', 'family']);
    const body: Body = {};
    if (filter.family !== undefined) body.family = oneOf('filter.family', filter.family, ['inet', 'inet6']);
    if (filter.dev !== undefined) body.index = ifref('filter.dev', filter.dev);
    return { op: 'addr.list', type: RTM_GETADDR, flags: F_DUMP, body, parse: (r) => r.map(addrFromNative) };
  },
};

/** `nl.addr`: the calls of `ip addr`. Bad input rejects with a ValidationError before anything is sent. */
export class AddrApi {
  constructor(private readonly nl: Runner) {}
  /** `ip addr add` */
  async add(spec: AddrSpec): Promise<void> {
    return this.nl.run(addrOps.add(spec));
  }
  /** `ip addr replace` */
  async replace(spec: AddrSpec): Promise<void> {
    return this.nl.run(addrOps.replace(spec));
  }
  /** `ip addr del` */
  async del(spec: Pick<AddrSpec, 'dev' | 'address' | 'peer'>): Promise<void> {
    return this.nl.run(addrOps.del(spec));
  }
  /** `ip addr show [dev DEV]` */
  async list(filter?: { dev?: IfRef; family?: Family }): Promise<Addr[]> {
    return this.nl.run(addrOps.list(filter));
  }
}
