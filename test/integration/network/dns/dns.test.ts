// lib/network/dns/: the embedded name server, serving in a throwaway host namespace, asked by
// independent clients from sandbox namespaces: glibc (`getent hosts` through the resolv.conf
// that `ip netns exec` binds from /etc/netns/NS/) and `dig` (Debian's bind9-dnsutils) for TCP
// and exact rcodes. Unknown names go to a fake upstream server in yet another namespace.
//
//   sandbox s1 eth0 10.231.0.2 fd00:231::2 ─┐
//   sandbox s2 eth0 10.231.0.3             ─┤ br0 10.231.0.1 fd00:231::1  ('front')
//   sandbox s3 eth0 10.232.0.2             ── br1 10.232.0.1               ('back')
//                                               br2 (10.233.0.1 added by a test: 'late')
//   upstream ns  up1 10.239.0.2 ─────────────── up0 10.239.0.1     (all in the host namespace)
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server, Socket } from 'node:net';

import dnsPacket, { type Answer } from 'dns-packet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { connectTcp, listenTcp, NotFoundError, openUdp, ValidationError, type UdpEndpoint } from '../../../../lib/index.js';
import { DnsServer, type DnsSource } from '../../../../lib/network/dns/index.js';
import { frame, FrameReader } from '../../../../lib/network/dns/framing.js';
import { isRoot, nsExec, nsExecAsync, ROOT_SKIP_REASON, unique, useNetns, type TestNs } from '../../../helpers/ns.js';

const hasDig = ((): boolean => {
  try {
    execFileSync('dig', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const DIG_SKIP = 'needs dig (apt-get install bind9-dnsutils)';

interface Dig {
  status: string;
  answers: string[];
}

/** `ip netns exec NS dig …`: the rcode and the answer records as 'name type data'. */
async function dig(ns: string, ...args: string[]): Promise<Dig> {
  const r = await nsExecAsync(ns, 'dig', '+time=2', '+tries=1', '+noall', '+comments', '+answer', ...args);
  const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? `no answer (${r.status}): ${r.stdout.trim()}`;
  const answers = r.stdout
    .split('\n')
    .filter((l) => l && !l.startsWith(';'))
    .map((l) => l.split(/\s+/))
    .map(([name, , , type, data]) => `${name} ${type} ${data}`);
  return { status, answers };
}

/** `getent hosts NAME` inside a namespace, through glibc's stub resolver: 'address name' or ''. */
const getent = async (ns: string, name: string): Promise<string> => (await nsExecAsync(ns, 'getent', 'hosts', name)).stdout.trim().replace(/\s+/g, ' ');

/** A fake upstream resolver: example.test has an address, slow.test never answers, the rest NXDOMAIN. */
async function fakeUpstream(ns: string, address: string): Promise<{ ids: number[]; close: () => void }> {
  const ids: number[] = [];
  const answerFor = (raw: Buffer): Buffer | undefined => {
    const q = dnsPacket.decode(raw);
    const question = q.questions![0]!;
    ids.push(q.id!);
    if (question.name === 'slow.test') return undefined;
    const known = question.name === 'example.test' && question.type === 'A';
    const answers: Answer[] = known ? [{ name: question.name, type: 'A', ttl: 30, data: '192.0.2.7' }] : [];
    return dnsPacket.encode({ type: 'response', id: q.id!, flags: dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3), questions: q.questions!, answers });
  };
  const udp = await openUdp(ns, address, 53);
  udp.on('message', (raw, from) => {
    const out = answerFor(raw);
    if (out) udp.send(out, from.port, from.address);
  });
  const tcp: Server = await listenTcp(ns, address, 53);
  tcp.on('connection', (s) => {
    const reader = new FrameReader();
    s.on('data', (chunk: Buffer) => {
      for (const m of reader.push(chunk)) {
        const out = answerFor(m);
        if (out) s.write(frame(out));
      }
    });
    s.on('error', () => undefined);
  });
  return { ids, close: () => (udp.close(), tcp.close()) };
}

describe.skipIf(!isRoot)(`embedded DNS server (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(5, 'nldns');
  let host: string;
  let s1: string;
  let s2: string;
  let s3: string;
  let up: string;
  let server: DnsServer | undefined;
  let upstream: { ids: number[]; close: () => void };
  const records = new Map<string, Map<string, { ipv4: string[]; ipv6: string[] }>>();
  let listeners: { network: string; address: string }[];
  const source: DnsSource = {
    listeners: async () => listeners,
    lookup: async (network, name) => records.get(network)?.get(name),
    reverse: async (network, address) =>
      [...(records.get(network) ?? new Map<string, { ipv4: string[]; ipv6: string[] }>())].filter(([, a]) => [...a.ipv4, ...a.ipv6].includes(address)).map(([n]) => n),
  };

  /** A sandbox: veth hN on the bridge in the host namespace, eth0 with `addresses` inside. */
  const attach = async (sb: TestNs, hostIf: string, bridge: string, ...addresses: string[]): Promise<void> => {
    const hostNl = spaces[0]!.nl;
    await hostNl.link.add({ name: hostIf, kind: 'veth', master: bridge, up: true, peer: { name: 'eth0', netns: sb.name } });
    for (const a of addresses) await sb.nl.addr.add({ dev: 'eth0', address: a, nodad: true });
    await sb.nl.link.set('eth0', { up: true });
    await sb.nl.link.set('lo', { up: true });
    mkdirSync(`/etc/netns/${sb.name}`, { recursive: true });
  };
  const useResolver = (ns: string, nameserver: string): void => writeFileSync(`/etc/netns/${ns}/resolv.conf`, `nameserver ${nameserver}\noptions timeout:2 attempts:1\n`);

  beforeEach(async () => {
    const [h, a, b, c, u] = spaces as [TestNs, TestNs, TestNs, TestNs, TestNs];
    [host, s1, s2, s3, up] = [h.name, a.name, b.name, c.name, u.name];
    for (const [br, address] of [['br0', '10.231.0.1/24'], ['br1', '10.232.0.1/24'], ['br2', undefined]] as const) {
      await h.nl.link.add({ name: br, kind: 'bridge', up: true });
      if (address) await h.nl.addr.add({ dev: br, address });
    }
    await h.nl.addr.add({ dev: 'br0', address: 'fd00:231::1/64', nodad: true });
    await h.nl.link.set('lo', { up: true });
    await attach(a, 'h1', 'br0', '10.231.0.2/24', 'fd00:231::2/64');
    await attach(b, 'h2', 'br0', '10.231.0.3/24');
    await attach(c, 'h3', 'br1', '10.232.0.2/24');
    await h.nl.link.add({ name: 'up0', kind: 'veth', up: true, peer: { name: 'up1', netns: up } });
    await h.nl.addr.add({ dev: 'up0', address: '10.239.0.1/24' });
    await u.nl.addr.add({ dev: 'up1', address: '10.239.0.2/24' });
    await u.nl.link.set('up1', { up: true });
    upstream = await fakeUpstream(up, '10.239.0.2');

    records.clear();
    records.set('front', new Map([
      ['web', { ipv4: ['10.231.0.2'], ipv6: ['fd00:231::2'] }],
      ['db', { ipv4: ['10.231.0.3'], ipv6: [] }],
      ['db-alias', { ipv4: ['10.231.0.3'], ipv6: [] }],
    ]));
    records.set('back', new Map([['cache', { ipv4: ['10.232.0.2'], ipv6: [] }]]));
    listeners = [
      { network: 'front', address: '10.231.0.1' },
      { network: 'front', address: 'fd00:231::1' },
      { network: 'back', address: '10.232.0.1' },
    ];
    server = await DnsServer.start({ hostNetns: host, source, upstream: ['10.239.0.2'], upstreamNetns: host, upstreamTimeoutMs: 500 });
    useResolver(s1, '10.231.0.1');
    useResolver(s2, '10.231.0.1');
    useResolver(s3, '10.232.0.1');
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
    upstream.close();
    for (const ns of [s1, s2, s3]) rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  });

  /** What listens on port 53 in the host namespace, by `ss`. */
  const port53 = (proto: 'u' | 't'): string[] =>
    nsExec(host, 'ss', `-l${proto}nH`, 'sport', '=', ':53').stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[3]!).sort();

  it('listens on the listed addresses only, over UDP and TCP', () => {
    expect(server!.listening()).toEqual(listeners);
    expect(server!.failures()).toEqual([]);
    const want = ['10.231.0.1:53', '10.232.0.1:53', '[fd00:231::1]:53'];
    expect(port53('u')).toEqual(want);
    expect(port53('t')).toEqual(want);
  });

  it('getent: sandbox names and aliases on the same network, IPv6 first when there is one', async () => {
    expect(await getent(s1, 'db')).toBe('10.231.0.3 db');
    expect(await getent(s1, 'DB-Alias')).toBe('10.231.0.3 DB-Alias');
    expect(await getent(s2, 'web')).toBe('fd00:231::2 web');
    // Another network's names do not resolve here, nor this network's there.
    expect(await getent(s3, 'web')).toBe('');
    expect(await getent(s3, 'cache')).toBe('10.232.0.2 cache');
    expect(await getent(s1, 'cache')).toBe('');
  });

  it('a name forwarded to the upstream resolver, under a new id, answered under the client\'s', async () => {
    expect(await getent(s1, 'example.test')).toBe('192.0.2.7 example.test');

    const ep = await openUdp(s1, '10.231.0.2', 0);
    const replies: Buffer[] = [];
    const two = new Promise<void>((resolve) => ep.on('message', (data) => replies.push(data) === 2 && resolve()));
    upstream.ids.length = 0;
    for (let i = 0; i < 2; i++) ep.send(dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'example.test', type: 'A' }] }), 53, '10.231.0.1');
    await two;
    ep.close();
    expect(replies.map((r) => dnsPacket.decode(r))).toMatchObject([
      { id: 4242, answers: [{ data: '192.0.2.7' }] },
      { id: 4242, answers: [{ data: '192.0.2.7' }] },
    ]);
    expect(upstream.ids).toHaveLength(2);
    expect(upstream.ids).not.toEqual([4242, 4242]);
  });

  it('answers 2,000 queries in flight at once, each under its own id', async () => {
    const ep = await openUdp(s2, '10.231.0.3', 0);
    const ids = new Set<number>();
    let wake = (): void => undefined;
    ep.on('message', (data) => {
      const p = dnsPacket.decode(data);
      if ((p.answers?.[0] as { data?: unknown } | undefined)?.data === '10.231.0.2') ids.add(p.id!);
      if (ids.size % 200 === 0) wake();
    });
    // In bursts of 200: the sandbox's own socket buffer would drop a bigger burst of replies.
    for (let burst = 0; burst < 10; burst++) {
      const done = new Promise<void>((resolve) => (wake = resolve));
      for (let id = burst * 200; id < (burst + 1) * 200; id++) ep.send(dnsPacket.encode({ type: 'query', id, questions: [{ name: 'web', type: 'A' }] }), 53, '10.231.0.1');
      await done;
    }
    ep.close();
    expect(ids.size).toBe(2000);
  });

  it.skipIf(!hasDig)(`dig over UDP and TCP: rcodes, records, PTR, IPv6 transport${hasDig ? '' : ` (${DIG_SKIP})`}`, async () => {
    for (const transport of ['+notcp', '+tcp']) {
      expect(await dig(s1, transport, '@10.231.0.1', 'db')).toEqual({ status: 'NOERROR', answers: ['db. A 10.231.0.3'] });
      expect(await dig(s1, transport, '@10.231.0.1', 'web', 'AAAA')).toEqual({ status: 'NOERROR', answers: ['web. AAAA fd00:231::2'] });
      expect(await dig(s1, transport, '@10.231.0.1', 'db', 'AAAA')).toEqual({ status: 'NOERROR', answers: [] });
      expect(await dig(s1, transport, '@10.231.0.1', 'nosuch.test')).toEqual({ status: 'NXDOMAIN', answers: [] });
      expect(await dig(s1, transport, '@10.231.0.1', 'example.test')).toEqual({ status: 'NOERROR', answers: ['example.test. A 192.0.2.7'] });
      expect((await dig(s1, transport, '@10.231.0.1', 'slow.test')).status).toBe('SERVFAIL');
      expect(await dig(s1, transport, '@10.231.0.1', '-x', '10.231.0.3')).toEqual({ status: 'NOERROR', answers: ['3.0.231.10.in-addr.arpa. PTR db.', '3.0.231.10.in-addr.arpa. PTR db-alias.'] });
      expect(await dig(s1, transport, '@fd00:231::1', 'web')).toEqual({ status: 'NOERROR', answers: ['web. A 10.231.0.2'] });
    }
  });

  it('a removed sandbox stops resolving at once; a new one resolves at once', async () => {
    expect(await getent(s1, 'db')).toBe('10.231.0.3 db');
    records.get('front')!.delete('db');
    expect(await getent(s1, 'db')).toBe('');
    records.get('front')!.set('newcomer', { ipv4: ['10.231.0.9'], ipv6: [] });
    expect(await getent(s1, 'newcomer')).toBe('10.231.0.9 newcomer');
  });

  it('malformed packets get no answer and do not stop the server (UDP and TCP)', async () => {
    const ep: UdpEndpoint = await openUdp(s1, '10.231.0.2', 0);
    const replies: Buffer[] = [];
    ep.on('message', (data) => replies.push(data));
    for (const junk of [Buffer.alloc(0), Buffer.from('hello'), Buffer.alloc(600, 0xff), dnsPacket.encode({ type: 'response', id: 5, questions: [{ name: 'db', type: 'A' }] })])
      ep.send(junk, 53, '10.231.0.1');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(replies).toEqual([]);
    ep.send(dnsPacket.encode({ type: 'query', id: 77, questions: [{ name: 'db', type: 'A' }] }), 53, '10.231.0.1');
    await new Promise((resolve) => setTimeout(resolve, 300));
    ep.close();
    expect(replies.map((r) => dnsPacket.decode(r))).toMatchObject([{ id: 77, answers: [{ data: '10.231.0.3' }] }]);

    // TCP: junk frames, then a query split in two writes, on the same connection.
    const sock = await connectTcp(s1, '10.231.0.1', 53);
    const reader = new FrameReader();
    const got = new Promise<Buffer>((resolve) => sock.on('data', (c: Buffer) => reader.push(c).forEach(resolve)));
    sock.write(Buffer.concat([frame(Buffer.from('junk')), frame(Buffer.alloc(0))]));
    const q = frame(dnsPacket.encode({ type: 'query', id: 78, questions: [{ name: 'web', type: 'A' }] }));
    sock.write(q.subarray(0, 7));
    await new Promise((resolve) => setTimeout(resolve, 50));
    sock.write(q.subarray(7));
    expect(dnsPacket.decode(await got)).toMatchObject({ id: 78, answers: [{ data: '10.231.0.2' }] });
    sock.destroy();
    expect(await getent(s2, 'db')).toBe('10.231.0.3 db');
  });

  it.skipIf(!hasDig)(`nothing answers on the host namespace's other addresses${hasDig ? '' : ` (${DIG_SKIP})`}`, async () => {
    expect((await dig(up, '@10.239.0.1', 'db')).status).toMatch(/^no answer/);
    expect((await dig(up, '+tcp', '@10.239.0.1', 'db')).status).toMatch(/^no answer/);
    expect(port53('u').some((a) => a.startsWith('0.0.0.0') || a.startsWith('*') || a.startsWith('[::]'))).toBe(false);
  });

  it('sync(): adds a new network, retries one whose address is not there yet, removes one that went', async () => {
    listeners = [...listeners, { network: 'late', address: '10.233.0.1' }, { network: 'wild', address: '0.0.0.0' }, { network: 'wild6', address: '0::0' }];
    await server!.sync();
    expect(server!.listening()).toHaveLength(3);
    expect(server!.failures()).toMatchObject([
      { network: 'wild', error: { name: 'ValidationError' } },
      { network: 'wild6', error: { name: 'ValidationError' } },
      { network: 'late', address: '10.233.0.1', error: { code: 'EADDRNOTAVAIL' } },
    ]);
    listeners = listeners.filter((l) => !l.network.startsWith('wild'));
    expect(await getent(s1, 'db')).toBe('10.231.0.3 db');

    await spaces[0]!.nl.addr.add({ dev: 'br2', address: '10.233.0.1/24' });
    await server!.sync();
    expect(server!.failures()).toEqual([]);
    expect(server!.listening()).toContainEqual({ network: 'late', address: '10.233.0.1' });
    expect(port53('u')).toContain('10.233.0.1:53');

    listeners = listeners.filter((l) => l.network !== 'back');
    await server!.sync();
    expect(server!.listening().map((l) => l.network)).toEqual(['front', 'front', 'late']);
    expect(port53('u')).not.toContain('10.232.0.1:53');
    expect(port53('t')).not.toContain('10.232.0.1:53');
    expect(await getent(s3, 'cache')).toBe('');
    // The listeners that stayed are the same sockets: still answering.
    expect(await getent(s1, 'db')).toBe('10.231.0.3 db');
  });

  it('close() frees the ports', async () => {
    await server!.close();
    server = undefined;
    expect(port53('u')).toEqual([]);
    expect(port53('t')).toEqual([]);
    const udp = await openUdp(host, '10.231.0.1', 53);
    const tcp = await listenTcp(host, '10.231.0.1', 53);
    udp.close();
    tcp.close();
  });

  describe('TCP connections: idle timeout and cap', () => {
    const IDLE = 1000;
    /** Slack for timers and the native thread's connects: closing must come after IDLE and before IDLE + SLACK. */
    const SLACK = 1000;
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    const clients: Socket[] = [];
    afterEach(() => {
      for (const c of clients.splice(0)) c.destroy();
    });

    /** A client connection from s1 that records when the server closed it and the replies it got. */
    interface Client {
      sock: Socket;
      openedAt: number;
      closedAt: number | undefined;
      replies: dnsPacket.DecodedPacket[];
    }
    const connect = async (): Promise<Client> => {
      const sock = await connectTcp(s1, '10.231.0.1', 53);
      clients.push(sock);
      const c: Client = { sock, openedAt: Date.now(), closedAt: undefined, replies: [] };
      const reader = new FrameReader();
      sock.on('data', (chunk: Buffer) => c.replies.push(...reader.push(chunk).map((m) => dnsPacket.decode(m))));
      sock.on('error', () => undefined);
      sock.on('close', () => (c.closedAt = Date.now()));
      return c;
    };
    const connectMany = async (n: number): Promise<Client[]> => {
      const out: Client[] = [];
      for (let i = 0; i < n; i++) out.push(await connect());
      return out;
    };
    const ask = (c: Client, id: number, name = 'web'): void => void c.sock.write(frame(dnsPacket.encode({ type: 'query', id, questions: [{ name, type: 'A' }] })));
    const until = async (what: () => boolean, ms: number): Promise<void> => {
      for (const end = Date.now() + ms; !what() && Date.now() < end; ) await sleep(20);
    };
    /** The server's side, by `ss`: established TCP connections on port 53 of the host namespace. */
    const established = (): number => nsExec(host, 'ss', '-tnH', 'state', 'established', 'sport', '=', ':53').stdout.split('\n').filter(Boolean).length;
    const restart = async (opts: { tcpIdleTimeoutMs?: number; maxTcpConnections?: number }): Promise<void> => {
      await server!.close();
      server = await DnsServer.start({ hostNetns: host, source, upstream: ['10.239.0.2'], upstreamNetns: host, upstreamTimeoutMs: 1500, ...opts });
    };
    const udpAnswer = async (name: string): Promise<unknown> => {
      const ep = await openUdp(s2, '10.231.0.3', 0);
      const got = new Promise<Buffer>((resolve) => ep.once('message', resolve));
      ep.send(dnsPacket.encode({ type: 'query', id: 99, questions: [{ name, type: 'A' }] }), 53, '10.231.0.1');
      const r = await Promise.race([got, sleep(2000).then(() => undefined)]);
      ep.close();
      return r && (dnsPacket.decode(r).answers?.[0] as { data?: unknown } | undefined)?.data;
    };

    it('50 idle connections are closed by the server after the idle timeout', async () => {
      await restart({ tcpIdleTimeoutMs: IDLE });
      const idle = await connectMany(50);
      await sleep(IDLE / 2);
      expect(idle.filter((c) => c.closedAt !== undefined)).toHaveLength(0);
      expect(established()).toBe(50);
      await until(() => idle.every((c) => c.closedAt !== undefined), IDLE + SLACK);
      for (const c of idle) {
        expect(c.closedAt).toBeDefined();
        expect(c.closedAt! - c.openedAt).toBeGreaterThanOrEqual(IDLE - 50);
        expect(c.closedAt! - c.openedAt).toBeLessThan(IDLE + SLACK);
      }
      expect(established()).toBe(0);
    });

    it('a connection in the middle of a query, sending it a byte at a time, times out too', async () => {
      await restart({ tcpIdleTimeoutMs: IDLE });
      const slow = await connect();
      const q = frame(dnsPacket.encode({ type: 'query', id: 5, questions: [{ name: 'web', type: 'A' }] }));
      // Also a frame announcing more bytes than ever come.
      const partial = await connect();
      partial.sock.write(Buffer.from([0x01, 0x00, 0xab]));
      // One byte every IDLE/5: activity, but never a whole query.
      for (let i = 0; i < q.length - 1 && slow.closedAt === undefined; i++) {
        slow.sock.write(q.subarray(i, i + 1));
        await sleep(IDLE / 5);
      }
      expect(slow.closedAt).toBeDefined();
      expect(slow.closedAt! - slow.openedAt).toBeLessThan(IDLE + SLACK);
      expect(slow.replies).toEqual([]);
      await until(() => partial.closedAt !== undefined, SLACK);
      expect(partial.closedAt! - partial.openedAt).toBeLessThan(IDLE + SLACK);
    });

    it('an active connection keeps working; a query in flight longer than the timeout is not cut', async () => {
      await restart({ tcpIdleTimeoutMs: IDLE });
      const active = await connect();
      for (let id = 1; id <= 12; id++) {
        ask(active, id);
        await sleep(IDLE / 4);
      }
      await until(() => active.replies.length === 12, SLACK);
      expect(active.closedAt).toBeUndefined();
      expect(active.replies.map((r) => [r.id, (r.answers?.[0] as { data?: unknown } | undefined)?.data])).toEqual(Array.from({ length: 12 }, (_, i) => [i + 1, '10.231.0.2']));

      // slow.test: the upstream never answers, SERVFAIL comes after upstreamTimeoutMs (1500 > IDLE).
      const asked = Date.now();
      ask(active, 50, 'slow.test');
      await until(() => active.replies.length === 13 || active.closedAt !== undefined, 1500 + SLACK);
      expect(active.replies[12]).toMatchObject({ id: 50, rcode: 'SERVFAIL' });
      expect(Date.now() - asked).toBeGreaterThanOrEqual(1400);
      // Idle from the answer on: closed one timeout later.
      const answered = Date.now();
      await until(() => active.closedAt !== undefined, IDLE + SLACK);
      expect(active.closedAt).toBeDefined();
      expect(active.closedAt! - answered).toBeGreaterThanOrEqual(IDLE - 100);
    });

    it('the cap holds: cap + 10 connections leave cap open, and UDP and new TCP queries are still answered', async () => {
      const CAP = 20;
      await restart({ tcpIdleTimeoutMs: 5000, maxTcpConnections: CAP });
      const conns = await connectMany(CAP + 10);
      await until(() => conns.filter((c) => c.closedAt !== undefined).length >= 10, SLACK);
      await sleep(100);
      // The oldest idle ones made room for the newer ones.
      expect(conns.map((c) => c.closedAt !== undefined)).toEqual([...Array<boolean>(10).fill(true), ...Array<boolean>(CAP).fill(false)]);
      expect(established()).toBe(CAP);

      expect(await udpAnswer('db')).toBe('10.231.0.3');
      const fresh = await connect();
      ask(fresh, 7, 'db');
      await until(() => fresh.replies.length === 1, SLACK);
      expect(fresh.replies).toMatchObject([{ id: 7, answers: [{ data: '10.231.0.3' }] }]);
      expect(established()).toBe(CAP);
      expect(conns[10]!.closedAt).toBeDefined();
    });

    it('at the cap with every connection busy, a new connection is closed at once and the busy ones finish', async () => {
      const CAP = 5;
      await restart({ tcpIdleTimeoutMs: 5000, maxTcpConnections: CAP });
      const busy = await connectMany(CAP);
      busy.forEach((c, i) => ask(c, 100 + i, 'slow.test'));
      await sleep(200);
      const extra = await connect();
      await until(() => extra.closedAt !== undefined, SLACK);
      expect(extra.closedAt! - extra.openedAt).toBeLessThan(500);
      await until(() => busy.every((c) => c.replies.length === 1), 1500 + SLACK);
      expect(busy.map((c) => [c.replies[0]?.id, (c.replies[0]?.flags ?? 0) & 0xf, c.closedAt])).toEqual(busy.map((_, i) => [100 + i, 2, undefined]));
      expect(await udpAnswer('web')).toBe('10.231.0.2');
    });

    it('300 queries pipelined in one write are all answered on the same connection', async () => {
      // Before: more than 32 in progress at once cost the client its connection.
      const c = await connect();
      c.sock.write(Buffer.concat(Array.from({ length: 300 }, (_, id) => frame(dnsPacket.encode({ type: 'query', id, questions: [{ name: id % 2 ? 'web' : 'db', type: 'A' }] })))));
      await until(() => c.replies.length === 300 || c.closedAt !== undefined, 5000);
      expect(c.closedAt).toBeUndefined();
      expect(c.replies.map((r) => r.id).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 300 }, (_, id) => id));
      expect(c.replies.every((r) => (r.answers?.[0] as { data?: unknown } | undefined)?.data === (r.id! % 2 ? '10.231.0.2' : '10.231.0.3'))).toBe(true);
    });

    it('start() refuses a bad idle timeout or cap', async () => {
      for (const bad of [{ tcpIdleTimeoutMs: 0 }, { tcpIdleTimeoutMs: 1.5 }, { maxTcpConnections: 0 }, { maxTcpConnections: -1 }, { tcpIdleTimeoutMs: '5' as unknown as number }])
        await expect(DnsServer.start({ hostNetns: host, source, upstream: [], ...bad })).rejects.toBeInstanceOf(ValidationError);
    });
  });

  it('start() refuses an unknown namespace and bad options', async () => {
    await expect(DnsServer.start({ hostNetns: unique('nlnone'), source, upstream: [] })).rejects.toBeInstanceOf(NotFoundError);
    await expect(DnsServer.start({ hostNetns: host, source, upstream: ['dns.example'] })).rejects.toBeInstanceOf(ValidationError);
    await expect(DnsServer.start({ hostNetns: host, source: {} as DnsSource })).rejects.toBeInstanceOf(ValidationError);
    await expect(DnsServer.start({ hostNetns: host, source, upstreamTimeoutMs: 0 })).rejects.toBeInstanceOf(ValidationError);
  });

  it('without upstreams, unknown names are NXDOMAIN at once', async () => {
    await server!.close();
    server = await DnsServer.start({ hostNetns: host, source, upstream: [] });
    const started = Date.now();
    expect(await getent(s1, 'example.test')).toBe('');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await getent(s1, 'db')).toBe('10.231.0.3 db');
  });
});
