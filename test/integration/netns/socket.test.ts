// lib/netns/socket.ts: TCP listeners, TCP connections and UDP endpoints made inside namespaces.
// Two namespaces joined by a veth; traffic crosses it for real. Oracles: the bytes that arrive,
// `ss` inside each namespace, and /proc/self/fd for leaks.
import { readdirSync } from 'node:fs';
import type { AddressInfo, Server, Socket } from 'node:net';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { connectTcp, listenTcp, NetlinkError, netns, NotFoundError, openUdp, ValidationError, type UdpEndpoint } from '../../../lib/index.js';
import { isRoot, nsExec, ROOT_SKIP_REASON, unique, useNetns } from '../../helpers/ns.js';

const openFds = (): number => readdirSync('/proc/self/fd').length;
const portOf = (s: Server): number => (s.address() as AddressInfo).port;

/** Everything the peer sends until it ends the connection. */
const readAll = (s: Socket): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });

const nextMessage = (ep: UdpEndpoint): Promise<[Buffer, { address: string; port: number }]> =>
  new Promise((resolve) => ep.once('message', (data, from) => resolve([data, from])));

describe.skipIf(!isRoot)(`sockets inside a namespace (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(2, 'nlsk');
  const closers: (() => void)[] = [];
  let a: string;
  let b: string;

  beforeEach(async () => {
    const [na, nb] = spaces;
    a = na!.name;
    b = nb!.name;
    // a: va 10.250.0.1/24 fd00:250::1/64 <-> b: vb 10.250.0.2/24 fd00:250::2/64
    await na!.nl.link.add({ name: 'va', kind: 'veth', peer: { name: 'vb', netns: b } });
    await na!.nl.addr.add({ dev: 'va', address: '10.250.0.1/24' });
    await na!.nl.addr.add({ dev: 'va', address: 'fd00:250::1/64', nodad: true });
    await nb!.nl.addr.add({ dev: 'vb', address: '10.250.0.2/24' });
    await nb!.nl.addr.add({ dev: 'vb', address: 'fd00:250::2/64', nodad: true });
    await na!.nl.link.set('va', { up: true });
    await nb!.nl.link.set('vb', { up: true });
  });

  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });

  const serve = async (ns: string | undefined, address: string): Promise<Server> => {
    const server = await listenTcp(ns, address, 0);
    closers.push(() => server.close());
    server.on('connection', (s) => s.end(`hello ${s.remoteAddress} from ${s.localAddress}`));
    return server;
  };

  it('TCP: a listener in A is reached from B, and only exists in A', async () => {
    const server = await serve(a, '10.250.0.1');
    const port = portOf(server);
    expect(server.address()).toMatchObject({ address: '10.250.0.1', family: 'IPv4' });

    const client = await connectTcp(b, '10.250.0.1', port);
    expect(client.remoteAddress).toBe('10.250.0.1');
    expect(await readAll(client)).toBe('hello 10.250.0.2 from 10.250.0.1');

    // Oracle: `ss` inside A lists the listener; inside B (and in our own namespace) nothing is.
    expect(nsExec(a, 'ss', '-ltnH').stdout).toContain(`10.250.0.1:${port}`);
    expect(nsExec(b, 'ss', '-ltnH').stdout).not.toContain(`:${port}`);
    // The address does not exist in the process's own namespace: nothing can be bound there.
    await expect(listenTcp(undefined, '10.250.0.1', port)).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
  });

  it('TCP over IPv6, with a chosen local address', async () => {
    const server = await serve(a, 'fd00:250::1');
    const client = await connectTcp(b, 'fd00:250::1', portOf(server), { localAddress: 'fd00:250::2' });
    expect(await readAll(client)).toBe('hello fd00:250::2 from fd00:250::1');
  });

  it('TCP: refused and timed-out connections are typed errors', async () => {
    const refused = await connectTcp(b, '10.250.0.1', 9, { timeout: 2000 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NetlinkError);
    expect(refused).toMatchObject({ code: 'ECONNREFUSED', errno: 111, syscall: 'connect', op: 'socket.connectTcp' });
    // No route from B to this address: the kernel says so at once.
    await expect(connectTcp(b, '192.0.2.1', 80, { timeout: 500 })).rejects.toMatchObject({ code: 'ENETUNREACH' });
    // On the link but nobody there: ARP goes unanswered, the timeout runs out first.
    const started = Date.now();
    await expect(connectTcp(b, '10.250.0.99', 80, { timeout: 300 })).rejects.toMatchObject({ code: 'ETIMEDOUT', syscall: 'connect' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('UDP both ways, IPv4 and IPv6', async () => {
    for (const [here, there] of [['10.250.0.1', '10.250.0.2'], ['fd00:250::1', 'fd00:250::2']] as const) {
      const server = await openUdp(a, here, 0);
      const client = await openUdp(b, there, 0);
      closers.push(() => server.close(), () => client.close());
      server.on('message', (data, from) => server.send(Buffer.concat([Buffer.from('echo '), data]), from.port, from.address));
      const { port } = server.address();
      expect(server.address()).toMatchObject({ address: here, family: here.includes(':') ? 'IPv6' : 'IPv4' });

      const asked = nextMessage(server);
      const answered = nextMessage(client);
      client.send(Buffer.from('ping'), port, here);
      const [q, from] = await asked;
      expect(q.toString()).toBe('ping');
      expect(from).toMatchObject({ address: there, port: client.address().port });
      const [reply, replier] = await answered;
      expect(reply.toString()).toBe('echo ping');
      expect(replier).toMatchObject({ address: here, port });
      expect(nsExec(a, 'ss', '-lunH').stdout).toContain(`:${port}`);
    }
  });

  it('UDP: a 64 KiB-class datagram arrives whole; many small ones all arrive', async () => {
    const server = await openUdp(a, '10.250.0.1', 0);
    const client = await openUdp(b, '10.250.0.2', 0);
    closers.push(() => server.close(), () => client.close());
    // 65507 bytes: the largest IPv4 UDP payload, in 45 fragments over the veth.
    const big = Buffer.alloc(65_507, 7);
    const got = nextMessage(server);
    client.send(big, server.address().port, '10.250.0.1');
    expect((await got)[0].equals(big)).toBe(true);

    // Bursts of 50 (the socket's receive buffer holds a few hundred small datagrams at most).
    const seen = new Set<string>();
    let wake = (): void => undefined;
    server.on('message', (data) => {
      seen.add(data.toString());
      if (seen.size % 50 === 0) wake();
    });
    for (let burst = 0; burst < 10; burst++) {
      const done = new Promise<void>((resolve) => (wake = resolve));
      for (let i = burst * 50; i < (burst + 1) * 50; i++) client.send(Buffer.from(String(i)), server.address().port, '10.250.0.1');
      await done;
    }
    expect(seen.size).toBe(500);
  });

  it('EADDRNOTAVAIL for an address the namespace does not have; EADDRINUSE for a taken port', async () => {
    const notHere = await openUdp(a, '10.250.0.2', 0).catch((e: unknown) => e);
    expect(notHere).toBeInstanceOf(NetlinkError);
    expect(notHere).toMatchObject({ code: 'EADDRNOTAVAIL', syscall: 'bind', op: 'socket.openUdp' });
    await expect(listenTcp(b, '10.250.0.1', 0)).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });

    const taken = await openUdp(a, '10.250.0.1', 0);
    closers.push(() => taken.close());
    await expect(openUdp(a, '10.250.0.1', taken.address().port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    const server = await serve(a, '10.250.0.1');
    await expect(listenTcp(a, '10.250.0.1', portOf(server))).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('an unknown namespace is a NotFoundError; bad input is a ValidationError before any call', async () => {
    const missing = unique('nlnone');
    await expect(openUdp(missing, '10.250.0.1', 0)).rejects.toBeInstanceOf(NotFoundError);
    await expect(listenTcp(missing, '10.250.0.1', 0)).rejects.toBeInstanceOf(NotFoundError);
    await expect(connectTcp(missing, '10.250.0.1', 80)).rejects.toBeInstanceOf(NotFoundError);
    expect(await netns.list()).not.toContain(missing);

    for (const bad of ['10.250.0.256', 'localhost', '', 'fe80::1%va']) await expect(openUdp(a, bad, 0)).rejects.toBeInstanceOf(ValidationError);
    for (const port of [-1, 65536, 1.5, Number.NaN]) await expect(listenTcp(a, '10.250.0.1', port)).rejects.toBeInstanceOf(ValidationError);
    await expect(connectTcp(a, '10.250.0.1', 0)).rejects.toBeInstanceOf(ValidationError);
    await expect(connectTcp(a, '10.250.0.1', 80, { localAddress: 'fd00:250::1' })).rejects.toBeInstanceOf(ValidationError);
    await expect(listenTcp(a, '10.250.0.1', 0, { backlog: 0 })).rejects.toBeInstanceOf(ValidationError);

    const ep = await openUdp(a, '10.250.0.1', 0);
    expect(() => ep.send(Buffer.from('x'), 53, 'fd00:250::2')).toThrow(ValidationError);
    expect(() => ep.send(Buffer.alloc(70_000), 53, '10.250.0.2')).toThrow(ValidationError);
    ep.close();
    ep.close();
    expect(() => ep.send(Buffer.from('x'), 53, '10.250.0.2')).toThrow(NetlinkError);
    expect(() => ep.address()).toThrow(/closed/);
  });

  it('leaks no descriptor over 2,000 UDP open/close cycles and 200 TCP listen/connect/close cycles', async () => {
    // Warm up: the namespace thread and libuv open descriptors of their own on first use.
    (await openUdp(a, '10.250.0.1', 0)).close();
    const warm = await serve(a, '10.250.0.1');
    await readAll(await connectTcp(b, '10.250.0.1', portOf(warm)));
    await new Promise<void>((resolve) => warm.close(() => resolve()));
    const before = openFds();

    for (let i = 0; i < 2000; i++) {
      const ep = await openUdp(i % 2 ? a : b, i % 2 ? '10.250.0.1' : '10.250.0.2', 0);
      if (i % 100 === 0) ep.send(Buffer.from('x'), 9, i % 2 ? '10.250.0.2' : '10.250.0.1');
      ep.close();
    }
    for (let i = 0; i < 200; i++) {
      const server = await listenTcp(a, '10.250.0.1', 0);
      server.on('connection', (s) => s.end('x'));
      await readAll(await connectTcp(b, '10.250.0.1', portOf(server)));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await openUdp(b, '10.250.0.1', 0).catch(() => undefined); // fails: must not leak either
    }
    // Sockets handed to Node are closed by libuv on the next loop turn.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(openFds()).toBe(before);
  });
});
