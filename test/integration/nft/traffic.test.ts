// Rules written by nlnet acting on real traffic: a client namespace reaches a server namespace
// through a router namespace, and the router's nf_tables rules masquerade, forward a port through
// a concatenated map, and drop through a verdict map and a set. Each test first shows the traffic
// without the rule (or element), so that a pass means the rule made the difference.
import { beforeEach, describe, expect, it } from 'vitest';

import { rule, type SetSpec } from '../../../lib/index.js';
import { NET, nft, pings, routeThrough, ruleTexts, startAddressServer, tcpAsk, useTcpServers } from '../../helpers/nft.js';
import { isRoot, ROOT_SKIP_REASON, useNetns, type TestNs } from '../../helpers/ns.js';

describe.skipIf(!isRoot)(`nf_tables on traffic between namespaces (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(3, 'nfx');
  useTcpServers();
  let client: TestNs, router: TestNs, server: TestNs;

  beforeEach(async () => {
    [client, router, server] = spaces as [TestNs, TestNs, TestNs];
    await routeThrough(client, router, server);
    await startAddressServer(server.name, 80);
  });

  it('masquerades forwarded connections: the server sees the router, not the client', async () => {
    expect(tcpAsk(client.name, NET.server, 80)).toBe(NET.client);

    const masquerade = rule('ip').oifname.eq('r1').masquerade().exprs;
    await router.nl.nft.commit((b) => {
      b.addTable({ family: 'ip', name: 'nat' });
      b.addChain({ family: 'ip', table: 'nat', name: 'post', type: 'nat', hook: 'postrouting', priority: 'srcnat' });
      b.addRule({ family: 'ip', table: 'nat', chain: 'post', exprs: masquerade });
    });
    expect(ruleTexts(router.name, 'ip', 'nat', 'post')).toEqual(['oifname "r1" masquerade']);
    expect(tcpAsk(client.name, NET.server, 80)).toBe(NET.routerOut);
  });

  it('forwards router:8080 to server:80 through a concatenated map, and stops when the element goes', async () => {
    const ports: SetSpec = { family: 'ip', table: 'nat', name: 'ports', key: ['inet_proto', 'inet_service'], map: ['ipv4_addr', 'inet_service'] };
    const forward = { key: ['tcp', 8080], value: [NET.server, 80] };
    const dnat = rule('ip').dnat.toMap(['meta l4proto', 'th dport'], 'ports', ['ipv4_addr', 'inet_service']).exprs;
    await router.nl.nft.commit((b) => {
      b.addTable({ family: 'ip', name: 'nat' });
      b.addSet(ports);
      b.addChain({ family: 'ip', table: 'nat', name: 'pre', type: 'nat', hook: 'prerouting', priority: 'dstnat' });
      b.addRule({ family: 'ip', table: 'nat', chain: 'pre', exprs: dnat });
    });
    expect(ruleTexts(router.name, 'ip', 'nat', 'pre')).toEqual(['dnat ip to meta l4proto . th dport map @ports']);
    expect(tcpAsk(client.name, NET.routerIn, 8080)).toBe('ECONNREFUSED');

    await router.nl.nft.addElements(ports, [forward]);
    expect(nft(router.name, 'list', 'map', 'ip', 'nat', 'ports')).toContain(`tcp . 8080 : ${NET.server} . 80`);
    // The server answers with the client's own address: DNAT alone leaves the source alone.
    expect(tcpAsk(client.name, NET.routerIn, 8080)).toBe(NET.client);

    await router.nl.nft.delElements(ports, [forward]);
    expect(tcpAsk(client.name, NET.routerIn, 8080)).toBe('ECONNREFUSED');
  });

  it('drops what a verdict map says to drop, and lets it through once the element is removed', async () => {
    const v: SetSpec = { family: 'ip', table: 'filter', name: 'v', key: 'ipv4_addr', map: 'verdict' };
    const vmap = rule('ip').ip.saddr.vmap(v).exprs;
    await router.nl.nft.commit((b) => {
      b.addTable({ family: 'ip', name: 'filter' });
      b.addSet(v);
      b.addChain({ family: 'ip', table: 'filter', name: 'forward', type: 'filter', hook: 'forward', priority: 'filter' });
      b.addRule({ family: 'ip', table: 'filter', chain: 'forward', exprs: vmap });
    });
    expect(ruleTexts(router.name, 'ip', 'filter', 'forward')).toEqual(['ip saddr vmap @v']);
    expect(pings(client.name, NET.server), 'before the element').toBe(true);

    await router.nl.nft.addElements(v, [{ key: NET.client, value: { code: 'drop' } }]);
    expect(pings(client.name, NET.server), 'with the element').toBe(false);
    expect(tcpAsk(client.name, NET.server, 80)).toBe('ETIMEDOUT');

    await router.nl.nft.delElements(v, [{ key: NET.client }]);
    expect(pings(client.name, NET.server), 'element removed').toBe(true);
  });

  it('drops sources found in a set', async () => {
    const blocked: SetSpec = { family: 'ip', table: 'filter', name: 'blocked', key: 'ipv4_addr' };
    const lookup = rule('ip').ip.saddr.inSet(blocked).drop().exprs;
    await router.nl.nft.commit((b) => {
      b.addTable({ family: 'ip', name: 'filter' });
      b.addSet(blocked);
      b.addChain({ family: 'ip', table: 'filter', name: 'forward', type: 'filter', hook: 'forward', priority: 'filter' });
      b.addRule({ family: 'ip', table: 'filter', chain: 'forward', exprs: lookup });
      b.addElements(blocked, [{ key: '192.0.2.1' }]);
    });
    expect(ruleTexts(router.name, 'ip', 'filter', 'forward')).toEqual(['ip saddr @blocked drop']);
    expect(pings(client.name, NET.server), 'before the element').toBe(true);

    await router.nl.nft.addElements(blocked, [{ key: NET.client }]);
    expect(pings(client.name, NET.server), 'with the element').toBe(false);
    expect(tcpAsk(client.name, NET.server, 80)).toBe('ETIMEDOUT');

    await router.nl.nft.delElements(blocked, [{ key: NET.client }]);
    expect(pings(client.name, NET.server), 'element removed').toBe(true);
  });
});
