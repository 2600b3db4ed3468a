#!/usr/bin/env node
// Two fresh network namespaces joined by a veth pair, addressed and brought up, then a ping
// between them. Run as root after `npm install`:  node examples/veth-pair.js
// nlnet itself never forks; the ping at the end is only the proof, run with `ip netns exec`.
import { spawnSync } from 'node:child_process';

import { Netlink, netns } from '../dist/index.js';

const a = `nlnet-ex-a-${process.pid}`;
const b = `nlnet-ex-b-${process.pid}`;

await netns.create(a);
await netns.create(b);
const na = await Netlink.open({ netns: a });
const nb = await Netlink.open({ netns: b });
try {
  const t0 = performance.now();
  // The peer is born in namespace b: it never exists in a.
  await na.link.add({ name: 'veth-a', kind: 'veth', peer: { name: 'veth-b', netns: b } });
  // One native call per side: address, up, loopback up.
  await na.batch((x) => {
    x.addr.add({ dev: 'veth-a', address: '10.200.0.1/24' });
    x.link.set('veth-a', { up: true });
    x.link.set('lo', { up: true });
  });
  await nb.batch((x) => {
    x.addr.add({ dev: 'veth-b', address: '10.200.0.2/24' });
    x.link.set('veth-b', { up: true });
    x.link.set('lo', { up: true });
  });
  console.log(`wired in ${(performance.now() - t0).toFixed(2)} ms`);

  for (const [name, nl] of [[a, na], [b, nb]]) {
    const links = await nl.link.list();
    const addrs = await nl.addr.list({ family: 'inet' });
    console.log(`${name}:`);
    for (const l of links) {
      const ips = addrs.filter((x) => x.dev === l.index).map((x) => x.address).join(' ');
      console.log(`  ${l.index}: ${l.name} ${l.kind ?? ''} ${l.up ? 'UP' : 'DOWN'} ${l.address ?? ''} ${ips}`);
    }
  }

  const ping = spawnSync('ip', ['netns', 'exec', a, 'ping', '-c', '3', '-i', '0.2', '-W', '1', '10.200.0.2'], { encoding: 'utf8' });
  if (ping.error || ping.status !== 0) {
    console.error(ping.error ? `cannot run ping: ${ping.error.message} (install iputils-ping)` : ping.stdout + ping.stderr);
    process.exitCode = 1;
  } else {
    console.log(ping.stdout.trim().split('\n').slice(-2).join('\n'));
  }
} finally {
  na.close();
  nb.close();
  await netns.delete(a);
  await netns.delete(b);
}
