// A machine with Docker-style bridge networks, made of namespaces: `host` plays the machine
// (forwarding, one Linux bridge per network), containers hang off the bridges by veth pairs,
// and `outside` stands for the rest of the world on the other end of the host's uplink.
//
//   outside (10.99.0.2) ─ eth0│up0 (10.99.0.1) host ─ br-x (GATEWAY) ─ veth │ eth0 (IP) container
import type { TestNs } from './ns.js';

export const UPLINK = { host: '10.99.0.1', outside: '10.99.0.2' } as const;
/** Every test network's subnet lies in here; `outside` routes it to the host. */
export const NETWORKS = '10.88.0.0/16';

export interface TestNetwork {
  bridge: string;
  /** "10.88.1.0/24" */
  subnet: string;
  gateway: string;
}

/** Connects host and outside, the host forwarding; outside routes NETWORKS to the host. */
export async function uplink(host: TestNs, outside: TestNs): Promise<void> {
  await host.nl.link.add({ name: 'up0', kind: 'veth', up: true, peer: { name: 'eth0', netns: outside.name } });
  await host.nl.addr.add({ dev: 'up0', address: `${UPLINK.host}/24` });
  await host.nl.link.set('lo', { up: true });
  await host.nl.sysctl.set('net.ipv4.ip_forward', 1);
  await outside.nl.link.set('lo', { up: true });
  await outside.nl.link.set('eth0', { up: true });
  await outside.nl.addr.add({ dev: 'eth0', address: `${UPLINK.outside}/24` });
  await outside.nl.route.add({ dst: NETWORKS, via: UPLINK.host });
}

/** A network's bridge in the host, up, with its gateway address (`docker network create`). */
export async function bridgeNetwork(host: TestNs, net: TestNetwork): Promise<void> {
  await host.nl.link.add({ name: net.bridge, kind: 'bridge', up: true });
  await host.nl.addr.add({ dev: net.bridge, address: `${net.gateway}/${net.subnet.split('/')[1]}` });
}

/**
 * Attaches a container namespace to a network (`docker network connect`): a veth named `hostEnd`
 * in the host, enslaved to the bridge, its peer `eth0` in the container with `ip` and a default
 * route via the gateway.
 */
export async function attach(host: TestNs, container: TestNs, net: TestNetwork, hostEnd: string, ip: string): Promise<void> {
  await host.nl.link.add({ name: hostEnd, kind: 'veth', up: true, master: net.bridge, peer: { name: 'eth0', netns: container.name } });
  await container.nl.link.set('lo', { up: true });
  await container.nl.link.set('eth0', { up: true });
  await container.nl.addr.add({ dev: 'eth0', address: `${ip}/${net.subnet.split('/')[1]}` });
  await container.nl.route.add({ dst: 'default', via: net.gateway });
}
