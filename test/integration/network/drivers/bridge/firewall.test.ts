// lib/network/drivers/bridge/firewall.ts with real traffic: a `host` namespace with bridge networks A and B
// (two and one containers) and an internal network I (one container), and an `outside`
// namespace on the host's uplink. Oracles: TCP servers that tell each client the address it
// came from, ping, and `nft` itself.
import { describe, expect, it } from 'vitest';

import { ConflictError } from '../../../../../lib/index.js';
import { addNetwork, ensure, publish, removeNetwork, unpublish, type FirewallPort } from '../../../../../lib/network/drivers/bridge/firewall.js';
import { attach, bridgeNetwork, uplink, UPLINK, type TestNetwork } from '../../../../helpers/hostnet.js';
import { nft, nftj, pings, ruleTexts, startAddressServer, tcpAsk, useTcpServers } from '../../../../helpers/nft.js';
import { isRoot, ROOT_SKIP_REASON, useNetns } from '../../../../helpers/ns.js';

const A: TestNetwork = { bridge: 'br-a', subnet: '10.88.1.0/24', gateway: '10.88.1.1' };
const B: TestNetwork = { bridge: 'br-b', subnet: '10.88.2.0/24', gateway: '10.88.2.1' };
const I: TestNetwork = { bridge: 'br-i', subnet: '10.88.3.0/24', gateway: '10.88.3.1' };
const IP = { a1: '10.88.1.2', a2: '10.88.1.3', b1: '10.88.2.2', i1: '10.88.3.2', i2: '10.88.3.3' } as const;

describe.skipIf(!isRoot)(`firewall (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const ns = useNetns(7, 'nlfw');
  useTcpServers();
  const at = (i: number) => () => ns[i]!;
  const [host, outside, a1, a2, b1, i1, i2] = [at(0), at(1), at(2), at(3), at(4), at(5), at(6)];

  /** The machine before nlnet's firewall: everything routes everywhere. */
  async function world(): Promise<void> {
    await uplink(host(), outside());
    for (const n of [A, B, I]) await bridgeNetwork(host(), n);
    await attach(host(), a1(), A, 'va1', IP.a1);
    await attach(host(), a2(), A, 'va2', IP.a2);
    await attach(host(), b1(), B, 'vb1', IP.b1);
    await attach(host(), i1(), I, 'vi1', IP.i1);
    await attach(host(), i2(), I, 'vi2', IP.i2);
  }

  async function networks(): Promise<void> {
    await addNetwork(host().nl, { bridge: A.bridge, subnet: A.subnet });
    await addNetwork(host().nl, { bridge: B.bridge, subnet: B.subnet });
    await addNetwork(host().nl, { bridge: I.bridge, subnet: I.subnet, internal: true });
  }

  it('ensure() creates the table once: a second call leaves the ruleset and its generation alone', async () => {
    await ensure(host().nl);
    const before = nft(host().name, 'list', 'ruleset');
    const gen = await host().nl.nft.genid();
    await ensure(host().nl);
    expect(nft(host().name, 'list', 'ruleset')).toBe(before);
    expect(await host().nl.nft.genid()).toBe(gen);
    expect(ruleTexts(host().name, 'ip', 'nlnet', 'prerouting')).toEqual([
      'fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @ports_addr comment "nlnet static ports by address"',
      'fib daddr type local dnat ip to meta l4proto . th dport map @ports_any comment "nlnet static ports on any address"',
    ]);
    expect(ruleTexts(host().name, 'ip', 'nlnet', 'forward')).toEqual([
      'ct state established,related accept comment "nlnet static established"',
      'iifname . oifname @icc accept comment "nlnet static same network"',
      'iifname @internal drop comment "nlnet static internal egress"',
      'oifname @internal drop comment "nlnet static internal ingress"',
      'oifname @bridges ct status dnat accept comment "nlnet static published"',
      'oifname @bridges drop comment "nlnet static unpublished"',
    ]);
  });

  it('ensure() puts back a static rule someone deleted, and leaves network rules alone', async () => {
    await ensure(host().nl);
    await bridgeNetwork(host(), A);
    await addNetwork(host().nl, { bridge: A.bridge, subnet: A.subnet });
    const full = nft(host().name, 'list', 'ruleset');
    const victim = nftj(host().name).rules.find((r) => r.comment === 'nlnet static published')!;
    nft(host().name, 'delete', 'rule', 'ip', 'nlnet', 'forward', 'handle', String(victim.handle));
    await ensure(host().nl);
    expect(nft(host().name, 'list', 'ruleset')).toBe(full);
    expect(ruleTexts(host().name, 'ip', 'nlnet', 'postrouting')).toEqual([
      'ip saddr 127.0.0.0/8 oifname @bridges masquerade comment "nlnet static loopback"',
      'ip saddr 10.88.1.0/24 oifname != "br-a" masquerade comment "nlnet:br-a"',
      'ip saddr 10.88.1.0/24 oifname "br-a" ct status dnat masquerade comment "nlnet:br-a"',
    ]);
  });

  it('masquerades egress: outside sees the host address; not with masquerade off', async () => {
    await world();
    await startAddressServer(outside().name, 9000);
    expect(tcpAsk(a1().name, UPLINK.outside, 9000), 'before the firewall').toBe(IP.a1);
    await networks();
    expect(tcpAsk(a1().name, UPLINK.outside, 9000)).toBe(UPLINK.host);
    expect(tcpAsk(b1().name, UPLINK.outside, 9000)).toBe(UPLINK.host);

    await removeNetwork(host().nl, A.bridge);
    await addNetwork(host().nl, { bridge: A.bridge, subnet: A.subnet, masquerade: false });
    expect(tcpAsk(a1().name, UPLINK.outside, 9000)).toBe(IP.a1);
  });

  it('reaches a published port from outside, the host, 127.0.0.1, its own network and another one', async () => {
    await world();
    await networks();
    await startAddressServer(a1().name, 80);
    const port: FirewallPort = { protocol: 'tcp', hostPort: 8080, containerIp: IP.a1, containerPort: 80 };
    expect(tcpAsk(outside().name, UPLINK.host, 8080), 'not yet published').toBe('ECONNREFUSED');
    await publish(host().nl, [port]);
    expect(nft(host().name, 'list', 'map', 'ip', 'nlnet', 'ports_any')).toContain(`tcp . 8080 : ${IP.a1} . 80`);

    // DNAT alone: the container sees the client's real address.
    expect(tcpAsk(outside().name, UPLINK.host, 8080), 'from outside').toBe(UPLINK.outside);
    expect(tcpAsk(host().name, UPLINK.host, 8080), 'from the host').toBe(UPLINK.host);
    expect(tcpAsk(host().name, A.gateway, 8080), 'from the host, on a gateway address').toBe(A.gateway);
    // 127.0.0.1 cannot leave the host: masqueraded to the bridge's address.
    expect(tcpAsk(host().name, '127.0.0.1', 8080), 'from the host on 127.0.0.1').toBe(A.gateway);
    // Hairpin: the reply must come back through the host, so the source is the gateway.
    expect(tcpAsk(a2().name, UPLINK.host, 8080), 'from its own network').toBe(A.gateway);
    // Network B's egress masquerade applies on the way into A, as with Docker.
    expect(tcpAsk(b1().name, UPLINK.host, 8080), 'from another network').toBe(A.gateway);

    await unpublish(host().nl, [port]);
    expect(nft(host().name, 'list', 'map', 'ip', 'nlnet', 'ports_any')).not.toContain('8080');
    expect(tcpAsk(outside().name, UPLINK.host, 8080), 'unpublished').toBe('ECONNREFUSED');
    expect(tcpAsk(host().name, '127.0.0.1', 8080), 'unpublished, 127.0.0.1').toBe('ECONNREFUSED');
  });

  it('publishes on one host address only', async () => {
    await world();
    await networks();
    await startAddressServer(a1().name, 80);
    await publish(host().nl, [{ protocol: 'tcp', hostIp: UPLINK.host, hostPort: 8081, containerIp: IP.a1, containerPort: 80 }]);
    expect(tcpAsk(outside().name, UPLINK.host, 8081)).toBe(UPLINK.outside);
    expect(tcpAsk(host().name, '127.0.0.1', 8081), 'not on 127.0.0.1').toBe('ECONNREFUSED');
    expect(tcpAsk(host().name, A.gateway, 8081), 'not on the gateway').toBe('ECONNREFUSED');
  });

  it('isolates networks from each other and containers from direct routing', async () => {
    await world();
    await startAddressServer(b1().name, 80);
    await startAddressServer(a1().name, 80);
    expect(pings(a1().name, IP.b1), 'A → B before the firewall').toBe(true);
    expect(pings(outside().name, IP.a1), 'outside → A before the firewall').toBe(true);
    await networks();
    expect(pings(a1().name, IP.a2), 'inside A').toBe(true);
    expect(tcpAsk(a2().name, IP.a1, 80), 'inside A, TCP').toBe(IP.a2);
    expect(pings(a1().name, IP.b1), 'A → B').toBe(false);
    expect(tcpAsk(a1().name, IP.b1, 80), 'A → B, TCP').toBe('ETIMEDOUT');
    expect(pings(outside().name, IP.a1), 'outside → container address').toBe(false);
    expect(pings(a1().name, UPLINK.outside), 'A → outside').toBe(true);
  });

  it('lets traffic inside a network through also without br_netfilter in the host', async () => {
    await world();
    // With br_netfilter loaded (as dockerd loads it) a new namespace hands bridged IPv4 to its
    // forward hook; here it does not, so the bridges alone carry it. Without the module there is
    // no such switch, and nothing to turn off.
    await host().nl.sysctl.set('net/bridge/bridge-nf-call-iptables', 0).catch((e: unknown) => {
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
    });
    await networks();
    await startAddressServer(a1().name, 80);
    expect(pings(a1().name, IP.a2), 'inside A').toBe(true);
    expect(pings(i1().name, IP.i2), 'inside I').toBe(true);
    expect(tcpAsk(a2().name, IP.a1, 80), 'inside A, TCP').toBe(IP.a2);
    await publish(host().nl, [{ protocol: 'tcp', hostPort: 8080, containerIp: IP.a1, containerPort: 80 }]);
    expect(tcpAsk(a2().name, UPLINK.host, 8080), 'hairpin').toBe(A.gateway);
  });

  it('gives an internal network no egress and no ingress', async () => {
    await world();
    expect(pings(i1().name, UPLINK.outside), 'before the firewall').toBe(true);
    await networks();
    expect(pings(i1().name, UPLINK.outside), 'I → outside').toBe(false);
    expect(pings(outside().name, IP.i1), 'outside → I').toBe(false);
    expect(pings(a1().name, IP.i1), 'A → I').toBe(false);
    expect(pings(i1().name, IP.a1), 'I → A').toBe(false);
    expect(pings(i1().name, IP.i2), 'inside I').toBe(true);
  });

  it('removeNetwork() leaves nothing of the network, and the others untouched', async () => {
    await world();
    await networks();
    await removeNetwork(host().nl, A.bridge);
    await removeNetwork(host().nl, I.bridge);
    const j = nftj(host().name, 'list', 'table', 'ip', 'nlnet');
    expect(j.rules.filter((r) => r.comment === 'nlnet:br-a' || r.comment === 'nlnet:br-i')).toEqual([]);
    expect(j.rules.filter((r) => r.comment === 'nlnet:br-b')).toHaveLength(2);
    expect(nft(host().name, 'list', 'set', 'ip', 'nlnet', 'bridges')).not.toMatch(/br-a|br-i/);
    expect(nft(host().name, 'list', 'set', 'ip', 'nlnet', 'bridges')).toContain('"br-b"');
    expect(nft(host().name, 'list', 'set', 'ip', 'nlnet', 'internal')).not.toContain('br-i');
    expect(nft(host().name, 'list', 'set', 'ip', 'nlnet', 'icc')).not.toMatch(/br-a|br-i/);
    expect(nft(host().name, 'list', 'set', 'ip', 'nlnet', 'icc')).toContain('"br-b" . "br-b"');
    const gen = await host().nl.nft.genid();
    await removeNetwork(host().nl, A.bridge);
    expect(await host().nl.nft.genid(), 'a second removal changes nothing').toBe(gen);
    await expect(addNetwork(host().nl, { bridge: B.bridge, subnet: B.subnet })).rejects.toThrow(ConflictError);
  });

  it('refuses a port already allocated, and changes nothing', async () => {
    await world();
    await networks();
    await publish(host().nl, [{ protocol: 'tcp', hostPort: 8080, containerIp: IP.a1, containerPort: 80 }]);
    const before = nft(host().name, 'list', 'table', 'ip', 'nlnet');
    const attempts: FirewallPort[][] = [
      [{ protocol: 'tcp', hostPort: 8090, containerIp: IP.a2, containerPort: 80 }, { protocol: 'tcp', hostPort: 8080, containerIp: IP.a2, containerPort: 80 }],
      [{ protocol: 'tcp', hostPort: 8080, containerIp: IP.a1, containerPort: 80 }],
      [{ protocol: 'udp', hostPort: 53, containerIp: IP.a2, containerPort: 53 }, { protocol: 'udp', hostIp: A.gateway, hostPort: 53, containerIp: IP.a1, containerPort: 53 }],
    ];
    for (const ports of attempts) {
      const e = await publish(host().nl, ports).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ConflictError);
      expect((e as Error).message).toMatch(/Bind for [\d.]+:(8080|53) failed: port is already allocated/);
    }
    expect(nft(host().name, 'list', 'table', 'ip', 'nlnet')).toBe(before);
    // IP:8080 against 0.0.0.0:8080 spans two maps: the engine refuses it from its store (the
    // firewall does not read the maps on the way in, so its cost does not grow with them).
    // The same port on another protocol, or on two distinct addresses, is free.
    await publish(host().nl, [
      { protocol: 'udp', hostPort: 8080, containerIp: IP.a2, containerPort: 80 },
      { protocol: 'tcp', hostIp: UPLINK.host, hostPort: 9090, containerIp: IP.a1, containerPort: 90 },
      { protocol: 'tcp', hostIp: A.gateway, hostPort: 9090, containerIp: IP.a2, containerPort: 90 },
    ]);
    expect(nft(host().name, 'list', 'map', 'ip', 'nlnet', 'ports_addr')).toContain(`${A.gateway} . tcp . 9090 : ${IP.a2} . 90`);
  });
});
