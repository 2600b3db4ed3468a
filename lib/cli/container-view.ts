// A sandbox as docker shows a container: the `docker ps --format json` line and the network part
// of `docker inspect`. Pure: built from the store's records.
import type { Network } from '../network/engine.js';
import type { SandboxRecord } from '../network/model/sandbox.js';
import { dockerTime, humanDuration } from './format.js';

/** The object `container ls --format json` prints per line (docker ps's field names). */
export interface ContainerLine {
  ID: string;
  Names: string;
  NetworkMode: string;
  Networks: string;
  IPAddresses: string;
  Ports: string;
  CreatedAt: string;
  RunningFor: string;
}

/** docker ps's PORTS cell: `0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp`. */
export function portsCell(sb: SandboxRecord): string {
  return sb.endpoints
    .flatMap((e) => e.ports ?? [])
    .map((p) => `${p.hostIp ?? '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.protocol}`)
    .join(', ');
}

export function containerLine(sb: SandboxRecord, now: number, noTrunc = false): ContainerLine {
  return {
    ID: noTrunc ? sb.id : sb.id.slice(0, 12),
    Names: sb.name,
    NetworkMode: sb.mode,
    Networks: sb.endpoints.map((e) => e.network).join(','),
    IPAddresses: sb.endpoints.flatMap((e) => (e.ip6 === undefined ? [e.ip] : [e.ip, e.ip6])).join(','),
    Ports: portsCell(sb),
    CreatedAt: dockerTime(sb.created),
    RunningFor: `${humanDuration(now - Date.parse(sb.created))} ago`,
  };
}

/** Docker's own binding type (Go's nat.PortBinding) as its inspect JSON spells it: docker's field names, the port as a string. */
interface DockerPortBinding {
  HostIp: string;
  HostPort: string;
}

/**
 * `docker inspect CONTAINER`, the parts a network sandbox has: Id, Name ("/name", as docker
 * writes it), HostConfig.NetworkMode and PortBindings, NetworkSettings with SandboxKey (the
 * namespace's path), Ports and one entry per network.
 */
export function containerInspect(sb: SandboxRecord, networks: readonly Network[]): Record<string, unknown> {
  const bindings: Record<string, DockerPortBinding[]> = {};
  const ports: Record<string, DockerPortBinding[]> = {};
  for (const ep of sb.endpoints) {
    for (const p of ep.ports ?? []) {
      const key = `${p.containerPort}/${p.protocol}`;
      (bindings[key] ??= []).push({ HostIp: p.hostIp ?? '', HostPort: String(p.hostPort) });
      (ports[key] ??= []).push({ HostIp: p.hostIp ?? '0.0.0.0', HostPort: String(p.hostPort) });
    }
  }
  const nets: Record<string, unknown> = {};
  for (const ep of sb.endpoints) {
    const net = networks.find((n) => n.name === ep.network);
    nets[ep.network] = {
      Aliases: ep.aliases ?? [],
      MacAddress: ep.mac,
      NetworkID: net?.id ?? '',
      EndpointID: ep.endpointId,
      // Docker shows no gateway for an endpoint of an internal network: it gave it none.
      Gateway: net === undefined || net.internal ? '' : net.gateway,
      IPAddress: ep.ip,
      IPPrefixLen: net === undefined ? 0 : Number(net.subnet.slice(net.subnet.indexOf('/') + 1)),
      IPv6Gateway: net === undefined || net.internal ? '' : (net.gateway6 ?? ''),
      GlobalIPv6Address: ep.ip6 ?? '',
      GlobalIPv6PrefixLen: net?.subnet6 === undefined || ep.ip6 === undefined ? 0 : Number(net.subnet6.slice(net.subnet6.indexOf('/') + 1)),
      DNSNames: [sb.name, ...(ep.aliases ?? []), sb.id.slice(0, 12)],
      InterfaceName: ep.ifname,
      HostInterfaceName: ep.hostIf,
    };
  }
  return {
    Id: sb.id,
    Created: sb.created,
    Name: `/${sb.name}`,
    HostConfig: { NetworkMode: sb.mode, PortBindings: bindings },
    NetworkSettings: {
      SandboxID: sb.id,
      SandboxKey: sb.netns === '' ? '' : `/run/netns/${sb.netns}`,
      Ports: ports,
      Networks: nets,
    },
  };
}
