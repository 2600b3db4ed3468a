// Which host ports a new sandbox publishes (`docker run -p … -P`): the specs turned into bindings
// with every host port known, refusing a port another endpoint holds and picking the missing ones.
// Pure: the engine runs it inside a store transaction, with the bindings the store already holds.
import { ValidationError } from '../../core/errors.js';
import { conflicts, parsePortSpec, pickHostPort, type HostBinding, type PortSpec, type PublishedPort } from './spec.js';

/**
 * `-p SPEC…` and `-P`. `-P` publishes every exposed port on a random host port; a sandbox has no
 * image to take EXPOSE from, so the caller lists the exposed (TCP) ports in `expose`. A port both
 * exposed and given with `-p` keeps the `-p` binding, as dockerd does.
 */
export function portSpecs(publish: readonly string[] | undefined, publishAll: boolean | undefined, expose: readonly number[] | undefined): PortSpec[] {
  if (publish !== undefined && !Array.isArray(publish)) throw new ValidationError('publish', publish, 'expected a list of port specs such as 8080:80');
  if (publishAll !== undefined && typeof publishAll !== 'boolean') throw new ValidationError('publishAll', publishAll, 'expected true or false');
  if (expose !== undefined && !Array.isArray(expose)) throw new ValidationError('expose', expose, 'expected a list of port numbers');
  for (const p of expose ?? []) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new ValidationError('expose', p, 'expected a port number from 1 to 65535');
  const specs = (publish ?? []).flatMap((s) => parsePortSpec(s));
  if (publishAll === true) {
    for (const p of new Set(expose ?? [])) if (!specs.some((s) => s.protocol === 'tcp' && s.containerPort === p)) specs.push({ containerPort: p, protocol: 'tcp' });
  }
  return specs;
}

/**
 * Gives every spec a host port. Explicit ones are checked against `existing` (every published
 * port in the store) and each other with conflicts(); missing ones are picked from the spec's host
 * range or else `range` (ip_local_port_range), skipping `existing`, `alsoTaken` ('tcp/8080' keys,
 * e.g. what the firewall holds outside the store) and the ports picked before them.
 */
export function resolvePorts(
  specs: readonly PortSpec[],
  existing: readonly HostBinding[],
  opts: { range: readonly [number, number]; alsoTaken?: ReadonlySet<string>; random?: () => number },
): PublishedPort[] {
  const record = (s: PortSpec, hostPort: number): PublishedPort => ({ ...(s.hostIp === undefined ? {} : { hostIp: s.hostIp }), hostPort, containerPort: s.containerPort, protocol: s.protocol });
  const out = specs.filter((s) => s.hostPort !== undefined).map((s) => record(s, s.hostPort!));
  conflicts(existing, out);
  const taken = new Set([...(opts.alsoTaken ?? []), ...[...existing, ...out].map((b) => `${b.protocol}/${b.hostPort}`)]);
  for (const s of specs) {
    if (s.hostPort !== undefined) continue;
    const hostPort = pickHostPort({ range: s.hostPortRange ?? opts.range, taken, protocol: s.protocol, ...(opts.random === undefined ? {} : { random: opts.random }) });
    taken.add(`${s.protocol}/${hostPort}`);
    out.push(record(s, hostPort));
  }
  return out;
}

/** `sysctl net.ipv4.ip_local_port_range` ("32768\t60999") as [low, high]. */
export function parsePortRange(text: string): [number, number] {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) throw new ValidationError('net.ipv4.ip_local_port_range', text, 'expected two port numbers');
  return [Number(m[1]), Number(m[2])];
}
