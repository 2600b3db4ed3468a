// `--cluster-store etcd://host:2379[,host2:2379]`, the way Docker's `--cluster-store` named its
// KV store: a scheme and a comma-separated list of members. Parsed by hand rather than with URL:
// WHATWG URL accepts neither several hosts in one authority nor tells "no port" from port 80.
import { ValidationError } from '../../core/errors.js';

/** etcd's client port, the one `etcd` listens on without `--listen-client-urls`. */
export const ETCD_DEFAULT_PORT = 2379;

/** A hostname (RFC 1123 labels) or a dotted IPv4 address. */
const NAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4_RE = /^\d{1,3}(?:\.\d{1,3}){3}$/;
/** The characters of an IPv6 address, possibly with an embedded IPv4 tail. */
const IPV6_RE = /^[0-9A-Fa-f:.]+$/;

/**
 * `etcd://10.0.0.1:2379,[fd00::2]:2379,etcd3` → `{ endpoints: ['10.0.0.1:2379', '[fd00::2]:2379',
 * 'etcd3:2379'] }`, as `dockerd --cluster-store` took it. Anything else is a ValidationError
 * saying which part is wrong.
 */
export function parseClusterStore(url: string): { endpoints: string[] } {
  const bad = (reason: string): ValidationError => new ValidationError('cluster-store', url, reason);
  if (typeof url !== 'string') throw bad('must be a string like etcd://host:2379');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(url);
  if (m === null) throw bad('must look like etcd://host:2379[,host2:2379]');
  if (m[1]!.toLowerCase() !== 'etcd') throw bad(`unsupported store '${m[1]}': only etcd:// is supported`);
  let rest = m[2]!;
  if (rest.endsWith('/')) rest = rest.slice(0, -1); // `etcd://h:2379/` as people paste it
  if (rest === '') throw bad('names no etcd host');
  if (/[/?#@]/.test(rest)) throw bad('takes only host:port members, no path, query or user');
  return { endpoints: rest.split(',').map((member) => endpointOf(member, bad)) };
}

function endpointOf(member: string, bad: (reason: string) => ValidationError): string {
  if (member === '') throw bad('has an empty member between commas');
  let host: string;
  let port: string | undefined;
  if (member.startsWith('[')) {
    const close = member.indexOf(']');
    if (close === -1) throw bad(`member '${member}' opens an IPv6 bracket it does not close`);
    host = member.slice(1, close);
    const after = member.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw bad(`member '${member}' has text after its IPv6 address`);
    if (after !== '') port = after.slice(1);
    if (!IPV6_RE.test(host) || !host.includes(':')) throw bad(`member '${member}' is not an IPv6 address in brackets`);
  } else {
    const parts = member.split(':');
    if (parts.length > 2) throw bad(`member '${member}': an IPv6 address needs brackets, as in [fd00::1]:2379`);
    host = parts[0]!;
    port = parts[1];
    if (IPV4_RE.test(host)) {
      if (host.split('.').some((b) => Number(b) > 255)) throw bad(`member '${member}' is not a valid IPv4 address`);
    } else if (!NAME_RE.test(host) || /^[\d.]+$/.test(host)) {
      throw bad(`member '${member}' has no valid host name or address`);
    }
  }
  if (port === undefined) return `${member.startsWith('[') ? `[${host}]` : host}:${ETCD_DEFAULT_PORT}`;
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw bad(`member '${member}' has port '${port}', not 1-65535`);
  return `${member.startsWith('[') ? `[${host}]` : host}:${Number(port)}`;
}
