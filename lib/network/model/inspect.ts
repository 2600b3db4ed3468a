// `docker network inspect` output, built from the store's records. Pure.
import type { DriverName } from '../drivers/driver.js';
import type { NetworkRecord, SandboxRecord } from './sandbox.js';

export interface EndpointInspect {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

export interface NetworkInspect {
  Name: string;
  Id: string;
  Created: string;
  /** 'global' for an overlay network: the cluster's, the same on every host. */
  Scope: 'local' | 'global';
  Driver: DriverName;
  EnableIPv6: boolean;
  IPAM: { Driver: 'default'; Options: Record<string, string>; Config: { Subnet: string; Gateway: string; IPRange?: string }[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: false;
  Containers: Record<string, EndpointInspect>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** Overlay: the hosts with endpoints on the network (Docker's serf peers; here the host id and its VTEP address). */
  Peers?: { Name: string; IP: string }[];
}

/** Containers are keyed by sandbox id, as Docker keys them by container id; an overlay network's are this host's, and `peers` its hosts. */
export function inspectJson(net: NetworkRecord, sandboxes: readonly SandboxRecord[], peers?: { Name: string; IP: string }[]): NetworkInspect {
  const len = net.subnet.slice(net.subnet.indexOf('/'));
  const len6 = net.subnet6 === undefined ? '' : net.subnet6.slice(net.subnet6.indexOf('/'));
  const containers: Record<string, EndpointInspect> = {};
  for (const sb of sandboxes) {
    for (const ep of sb.endpoints) {
      if (ep.network !== net.name) continue;
      containers[sb.id] = { Name: sb.name, EndpointID: ep.endpointId, MacAddress: ep.mac, IPv4Address: `${ep.ip}${len}`, IPv6Address: ep.ip6 === undefined ? '' : `${ep.ip6}${len6}` };
    }
  }
  return {
    Name: net.name,
    Id: net.id,
    Created: net.created,
    Scope: peers === undefined ? 'local' : 'global',
    Driver: net.driver,
    EnableIPv6: net.subnet6 !== undefined,
    IPAM: {
      Driver: 'default',
      Options: {},
      Config: [
        { Subnet: net.subnet, Gateway: net.gateway, ...(net.ipRange === undefined ? {} : { IPRange: net.ipRange }) },
        ...(net.subnet6 === undefined || net.gateway6 === undefined ? [] : [{ Subnet: net.subnet6, Gateway: net.gateway6 }]),
      ],
    },
    Internal: net.internal,
    Attachable: net.attachable === true,
    Ingress: false,
    Containers: containers,
    Options: { ...net.options },
    Labels: { ...net.labels },
    ...(peers === undefined ? {} : { Peers: peers }),
  };
}
