// resolv.conf for sandboxes, and the host's resolvers as upstreams of the embedded server.
// Docker's rules: on a user-defined network the sandbox asks the embedded server only (here the
// network's gateway) and keeps the host's search domains and options; on the default bridge it
// gets the host's file minus loopback resolvers, which mean nothing inside another namespace,
// and Google's public resolvers when nothing is left.
import { isIP } from 'node:net';

import { ValidationError } from '../../core/errors.js';

/** The public resolvers Docker falls back to when the host has only loopback ones. */
export const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'] as const;

export interface ResolvConf {
  /** `nameserver` addresses, in order (entries that are not IP addresses are skipped). */
  nameservers: string[];
  /** `search` domains (or the `domain` line's, when there is no `search` line). */
  search: string[];
  /** `options` words: 'ndots:2', 'edns0'… */
  options: string[];
}

const words = (line: string): string[] => line.trim().split(/\s+/).filter(Boolean);
const isComment = (line: string): boolean => /^\s*[#;]/.test(line);

/** Reads resolv.conf text as glibc does: the last `search`/`domain` line wins, options add up. */
export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const line of text.split('\n')) {
    if (isComment(line)) continue;
    const [key, ...rest] = words(line);
    if (key === 'nameserver' && rest[0] !== undefined && isIP(rest[0]) !== 0) conf.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') conf.search = rest;
    else if (key === 'options') conf.options.push(...rest);
  }
  return conf;
}

/** 127.0.0.0/8 and ::1: a resolver that lives in the host's own namespace only. */
export function isLoopback(address: string): boolean {
  const kind = isIP(address);
  if (kind === 4) return address.startsWith('127.');
  if (kind === 6) return canonicalIPv6(address) === '::1';
  return false;
}

/** RFC 5952 form ('2001:db8::1'), as the WHATWG URL parser writes IPv6 hosts. */
export function canonicalIPv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/**
 * The resolv.conf a sandbox gets (Docker writes it at /etc/resolv.conf of the container; nlnet
 * at /etc/netns/NAME/resolv.conf). With `nameserver`, the embedded server of a user-defined
 * network: `nameserver GATEWAY` plus the host's search and options lines. Without, the default
 * bridge's: the host's file without loopback nameservers, or with Docker's fallbacks.
 */
export function sandboxResolvConf(hostResolvConf: string, nameserver?: string): string {
  const lines = hostResolvConf.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (nameserver !== undefined) {
    if (isIP(nameserver) === 0) throw new ValidationError('nameserver', nameserver, 'expected an IPv4 or IPv6 address');
    const kept = lines.filter((l) => !isComment(l) && ['search', 'domain', 'options'].includes(words(l)[0] ?? ''));
    return [`nameserver ${nameserver}`, ...kept].join('\n') + '\n';
  }
  let servers = 0;
  const kept = lines.filter((l) => {
    const [key, address] = words(l);
    if (isComment(l) || key !== 'nameserver') return true;
    if (address !== undefined && isLoopback(address)) return false;
    servers++;
    return true;
  });
  if (servers === 0) kept.push(...FALLBACK_NAMESERVERS.map((s) => `nameserver ${s}`));
  return kept.join('\n') + '\n';
}

export interface Upstream {
  address: string;
  port: number;
}

/** 'ip', 'ip:port' or '[v6]:port' (a bare IPv6 address means port 53), as dockerd's --dns. */
export function parseUpstream(spec: string): Upstream {
  const bad = (): never => {
    throw new ValidationError('upstream', spec, "expected 'ip', 'ip:port' or '[ipv6]:port'");
  };
  if (typeof spec !== 'string') bad();
  let address = spec;
  let port = '53';
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec);
  if (bracketed) {
    address = bracketed[1]!;
    port = bracketed[2] ?? '53';
    if (isIP(address) !== 6) bad();
  } else if (isIP(spec) === 0) {
    const colon = spec.lastIndexOf(':');
    if (colon < 0) bad();
    address = spec.slice(0, colon);
    port = spec.slice(colon + 1);
    if (isIP(address) !== 4) bad();
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535 || address.includes('%')) bad();
  return { address, port: Number(port) };
}
