// Docker's published ports (`docker run -p`): parsing the spec, picking a random host port and
// refusing a host port that another binding already holds. Pure: no kernel access and no I/O.
import { isIP } from 'node:net';

import { ConflictError, ValidationError } from '../../core/errors.js';
import { ipToBigInt } from '../ipam/v4.js';

export type Protocol = 'tcp' | 'udp';

/**
 * One published port, its host port known: what an endpoint record keeps, `docker port` and
 * `docker inspect` show, and the bridge driver's firewall publishes.
 */
export interface PublishedPort {
  /** Absent: every address of the host (0.0.0.0, and :: too on a network with IPv6). */
  hostIp?: string;
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

/** One container port to publish, as parsed from a `-p` spec: its host port may be left to pick. */
export interface PortSpec extends Omit<PublishedPort, 'hostPort'> {
  /** Undefined: pick one (from `hostPortRange` when given, else from ip_local_port_range). */
  hostPort?: number;
  /** `-p 8000-8010:80`: the host range to pick `hostPort` from. */
  hostPortRange?: [number, number];
}

/** What two published ports clash on: the host side. The container port plays no part, so it may be left out. */
export type HostBinding = Omit<PublishedPort, 'containerPort'> & Partial<Pick<PublishedPort, 'containerPort'>>;

/** Every host port of a range is taken. */
export class PortsExhaustedError extends ConflictError {
  constructor(id: string, reason: string) {
    super('port range', id, reason);
    // ConflictError declares `name` as a readonly literal; the subclass still reports its own.
    Object.defineProperty(this, 'name', { value: 'PortsExhaustedError' });
  }
}

const FIELD = 'publish';

function fail(spec: string, reason: string): never {
  throw new ValidationError(FIELD, spec, reason);
}

function parseRange(spec: string, text: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) fail(spec, `the ${what} '${text}' is not a port number or a range such as 8000-8010`);
  const low = Number(m[1]);
  const high = m[2] === undefined ? low : Number(m[2]);
  // The text as typed: Number() of 25 digits is 1e+24, of 400 digits Infinity.
  for (const [p, typed] of [[low, m[1]!], [high, m[2] ?? m[1]!]] as const) if (p < 1 || p > 65535) fail(spec, `the ${what} ${typed.length > 12 ? `${typed.slice(0, 12)}…` : typed} is out of range: ports are 1 to 65535`);
  if (high < low) fail(spec, `the ${what} range ${text} ends before it starts`);
  return [low, high];
}

/**
 * `docker run -p SPEC`: `[ip:]hostPort[-end]:containerPort[-end][/tcp|/udp]`, `containerPort[/proto]`
 * (random host port), `ip::containerPort` (random host port on that address), and IPv6 host
 * addresses in brackets (`[::1]:8080:80`). Returns one entry per container port.
 *
 * Ranges must have the same length, except a host range with a single container port, which
 * dockerd accepts meaning "any free port of the range": that gives one entry with `hostPort`
 * undefined and `hostPortRange` set, and the caller picks with `pickHostPort({ range })`.
 */
export function parsePortSpec(spec: string): PortSpec[] {
  if (typeof spec !== 'string' || spec === '') fail(String(spec), 'expected a port spec such as 8080:80 or 127.0.0.1:8080:80/udp');
  let rest = spec;
  let protocol: Protocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const proto = rest.slice(slash + 1).toLowerCase();
    if (proto !== 'tcp' && proto !== 'udp') fail(spec, `the protocol '${rest.slice(slash + 1)}' is not supported: use tcp or udp`);
    protocol = proto;
    rest = rest.slice(0, slash);
  }

  let hostIp: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) fail(spec, "the host address has '[' without a closing ']'");
    hostIp = rest.slice(1, close);
    if (isIP(hostIp) !== 6) fail(spec, `'${hostIp}' in brackets is not an IPv6 address`);
    if (rest[close + 1] !== ':') fail(spec, 'expected ":hostPort:containerPort" after the bracketed host address');
    rest = rest.slice(close + 2);
    if (rest.split(':').length !== 2) fail(spec, 'expected [ip]:hostPort:containerPort');
  }

  const parts = rest.split(':');
  let hostText: string;
  let containerText: string;
  if (hostIp !== undefined || parts.length === 2) {
    [hostText = '', containerText = ''] = parts;
  } else if (parts.length === 1) {
    [hostText, containerText] = ['', parts[0] ?? ''];
  } else if (parts.length === 3) {
    const [ipText = '', h = '', c = ''] = parts;
    if (isIP(ipText) !== 4) fail(spec, `'${ipText}' is not an IPv4 address (put IPv6 addresses in brackets, as in [::1]:8080:80)`);
    [hostIp, hostText, containerText] = [ipText, h, c];
  } else {
    fail(spec, 'too many colons: put IPv6 host addresses in brackets, as in [::1]:8080:80');
  }

  if (containerText === '') fail(spec, 'the container port is missing');
  const [cLow, cHigh] = parseRange(spec, containerText, 'container port');
  const base = (containerPort: number): PortSpec => ({ ...(hostIp === undefined ? {} : { hostIp }), containerPort, protocol });
  const out: PortSpec[] = [];
  if (hostText === '') {
    for (let p = cLow; p <= cHigh; p++) out.push(base(p));
    return out;
  }
  const [hLow, hHigh] = parseRange(spec, hostText, 'host port');
  if (hHigh - hLow === cHigh - cLow) {
    for (let i = 0; i <= cHigh - cLow; i++) out.push({ ...base(cLow + i), hostPort: hLow + i });
    return out;
  }
  if (cLow === cHigh) return [{ ...base(cLow), hostPortRange: [hLow, hHigh] }];
  return fail(spec, `the host range ${hostText} and the container range ${containerText} must have the same length`);
}

/**
 * `docker run -p 80` / `-P`: a free host port for `protocol` within `range` (by default from
 * net.ipv4.ip_local_port_range). Starts at a random port and walks up, wrapping around, so the
 * result only depends on `taken` and `random()`. `taken` holds 'tcp/8080'-style keys.
 */
export function pickHostPort(opts: { range: readonly [number, number]; taken: ReadonlySet<string>; protocol: Protocol; random?: () => number }): number {
  const [low, high] = opts.range;
  if (!Number.isInteger(low) || !Number.isInteger(high) || low < 1 || high > 65535 || high < low)
    throw new ValidationError('range', opts.range, 'expected [low, high] with 1 <= low <= high <= 65535');
  const size = high - low + 1;
  const start = Math.min(size - 1, Math.floor((opts.random ?? Math.random)() * size));
  for (let i = 0; i < size; i++) {
    const port = low + ((start + i) % size);
    if (!opts.taken.has(`${opts.protocol}/${port}`)) return port;
  }
  throw new PortsExhaustedError(`${low}-${high}`, `all ${opts.protocol} ports of the range are allocated`);
}

/** Key for a host address: wildcards are undefined, others canonical so '::1' equals '0::1'. */
function addressKey(hostIp: string | undefined): string | undefined {
  if (hostIp === undefined || hostIp === '0.0.0.0' || hostIp === '::') return undefined;
  return isIP(hostIp) === 6 ? `6/${ipToBigInt(hostIp)}` : `4/${hostIp}`;
}

function showBind(b: HostBinding): string {
  const address = b.hostIp ?? '0.0.0.0';
  return `${isIP(address) === 6 ? `[${address}]` : address}:${b.hostPort}`;
}

/**
 * `docker run -p`: refuses a wanted binding whose host port is already held for the same protocol
 * on an overlapping host address (an unspecified address, 0.0.0.0 and :: overlap every address).
 * Wanted bindings are also checked against each other. Throws ConflictError worded like dockerd's.
 */
export function conflicts(existing: readonly HostBinding[], wanted: readonly HostBinding[]): void {
  const held = [...existing];
  for (const w of wanted) {
    const wKey = addressKey(w.hostIp);
    const clash = held.find((e) => {
      if (e.protocol !== w.protocol || e.hostPort !== w.hostPort) return false;
      const eKey = addressKey(e.hostIp);
      return eKey === undefined || wKey === undefined || eKey === wKey;
    });
    if (clash) throw new ConflictError('port', `${w.protocol}/${w.hostPort}`, `Bind for ${showBind(w)} failed: port is already allocated`);
    held.push(w);
  }
}
