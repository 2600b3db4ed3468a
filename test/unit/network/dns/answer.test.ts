// lib/network/dns/answer.ts: what the embedded name server answers. Golden replies are built
// independently with dns-packet (as `dig` would see them) and compared byte for byte. Pure, no root.
import dnsPacket, { type Answer, type Question } from 'dns-packet';
import { describe, expect, it } from 'vitest';

import { answerQuery, LOCAL_TTL, normalizeName, questionEnd, RCODE, readQuery, reverseAddress, UDP_REPLY_LIMIT, type Verdict } from '../../../../lib/network/dns/answer.js';
import type { DnsSource } from '../../../../lib/network/dns/types.js';

const { AUTHORITATIVE_ANSWER: AA, RECURSION_DESIRED: RD, RECURSION_AVAILABLE: RA, TRUNCATED_RESPONSE: TC } = dnsPacket;

// Network 'front': web (two IPv4, one IPv6), db (IPv4 only), many (40 IPv4: too big for UDP).
const table: Record<string, { ipv4: string[]; ipv6: string[] }> = {
  web: { ipv4: ['172.18.0.2', '172.18.0.9'], ipv6: ['fd00:18::2'] },
  db: { ipv4: ['172.18.0.3'], ipv6: [] },
  'db.alias': { ipv4: ['172.18.0.3'], ipv6: [] },
  many: { ipv4: Array.from({ length: 40 }, (_, i) => `172.18.1.${i + 1}`), ipv6: [] },
};
const asked: string[] = [];
const source: DnsSource = {
  listeners: async () => [],
  lookup: async (network, name) => {
    asked.push(name);
    return network === 'front' ? table[name] : undefined;
  },
  reverse: async (network, address) => (network !== 'front' ? [] : address === '172.18.0.3' ? ['db', 'db.alias'] : address === 'fd00:18::2' ? ['web'] : []),
};
const failing: DnsSource = { ...source, lookup: () => Promise.reject(new Error('store down')) };

const query = (name: string, type: string, opts: { id?: number; flags?: number; klass?: string } = {}): Buffer =>
  dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 0x1234,
    flags: opts.flags ?? RD,
    questions: [{ name, type, class: opts.klass ?? 'IN' } as Question],
  });

const golden = (q: Buffer, flags: number, answers: Answer[]): Buffer => {
  const p = dnsPacket.decode(q);
  return dnsPacket.encode({ type: 'response', id: p.id, flags, questions: p.questions, answers });
};

const rr = (name: string, type: 'A' | 'AAAA' | 'PTR', data: string): Answer => ({ name, type, class: 'IN', ttl: LOCAL_TTL, data });

const ask = (raw: Buffer, opts: { forwarding?: boolean; transport?: 'udp' | 'tcp'; src?: DnsSource } = {}): Promise<Verdict> =>
  answerQuery(raw, 'front', opts.src ?? source, { forwarding: opts.forwarding ?? true, transport: opts.transport ?? 'udp' });

// @types/dns-packet leaves out the rcode that dns-packet decodes.
const rcodeOf = (reply: Buffer): string => (dnsPacket.decode(reply) as { rcode?: string }).rcode ?? '';

const replyOf = (v: Verdict): Buffer => {
  if (v.action !== 'reply') throw new Error(`expected a reply, got ${v.action}`);
  return v.reply;
};

describe('answers for names on the network', () => {
  it('A: every IPv4 address, authoritative, TTL 600, the client id and RD echoed', async () => {
    const q = query('web', 'A', { id: 0xbeef });
    expect(replyOf(await ask(q))).toEqual(golden(q, AA | RD | RA, [rr('web', 'A', '172.18.0.2'), rr('web', 'A', '172.18.0.9')]));
  });

  it('AAAA: the IPv6 address; ANY: both families', async () => {
    const q = query('web', 'AAAA');
    expect(replyOf(await ask(q))).toEqual(golden(q, AA | RD | RA, [rr('web', 'AAAA', 'fd00:18::2')]));
    const any = query('web', 'ANY');
    const p = dnsPacket.decode(replyOf(await ask(any)));
    expect(p.answers?.map((a) => a.type)).toEqual(['A', 'A', 'AAAA']);
  });

  it('an alias with a dot in it resolves like a name', async () => {
    const q = query('db.alias', 'A');
    expect(replyOf(await ask(q))).toEqual(golden(q, AA | RD | RA, [rr('db.alias', 'A', '172.18.0.3')]));
  });

  it('case-insensitive: looked up in lower case, the question and owner names echoed as asked', async () => {
    asked.length = 0;
    const q = query('WeB', 'A', { flags: 0 });
    expect(replyOf(await ask(q))).toEqual(golden(q, AA | RA, [rr('WeB', 'A', '172.18.0.2'), rr('WeB', 'A', '172.18.0.9')]));
    expect(asked).toEqual(['web']);
  });

  it('a trailing dot is the same name on the wire; normalizeName drops it', async () => {
    expect(query('db.', 'A')).toEqual(query('db', 'A'));
    expect(normalizeName('DB.Alias.')).toBe('db.alias');
    asked.length = 0;
    await ask(query('db.', 'A'));
    expect(asked).toEqual(['db']);
  });

  it('a known name without an address of the asked type: NOERROR with no answers, not NXDOMAIN', async () => {
    for (const type of ['AAAA', 'MX', 'TXT']) {
      const q = query('db', type);
      const r = replyOf(await ask(q));
      expect(r).toEqual(golden(q, AA | RD | RA, []));
      expect(rcodeOf(r)).toBe('NOERROR');
    }
  });

  it('a reply too big for UDP goes out empty with TC set; over TCP it is whole', async () => {
    const q = query('many', 'A');
    const udp = replyOf(await ask(q));
    expect(udp).toEqual(golden(q, AA | RD | RA | TC, []));
    expect(udp.length).toBeLessThanOrEqual(UDP_REPLY_LIMIT);
    const tcp = dnsPacket.decode(replyOf(await ask(q, { transport: 'tcp' })));
    expect(tcp.answers).toHaveLength(40);
    expect(tcp.flag_tc).toBe(false);
  });
});

describe('PTR', () => {
  it('reverseAddress reads in-addr.arpa and ip6.arpa names', () => {
    expect(reverseAddress('3.0.18.172.in-addr.arpa')).toBe('172.18.0.3');
    expect(reverseAddress('3.0.18.172.IN-ADDR.ARPA.')).toBe('172.18.0.3');
    const v6 = '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.1.0.0.0.0.d.f.ip6.arpa';
    expect(reverseAddress(v6)).toBe('fd00:18::2');
    for (const bad of ['0.18.172.in-addr.arpa', '256.0.18.172.in-addr.arpa', '03.0.18.172.in-addr.arpa', 'x.0.18.172.in-addr.arpa', 'web', 'g.0.ip6.arpa', v6.replace('2.', '22.')])
      expect(reverseAddress(bad), bad).toBeUndefined();
  });

  it('names of an address on the network; unknown addresses go upstream or get NXDOMAIN', async () => {
    const q = query('3.0.18.172.in-addr.arpa', 'PTR');
    expect(replyOf(await ask(q))).toEqual(golden(q, AA | RD | RA, [rr('3.0.18.172.in-addr.arpa', 'PTR', 'db'), rr('3.0.18.172.in-addr.arpa', 'PTR', 'db.alias')]));
    const v6 = query('2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.1.0.0.0.0.d.f.ip6.arpa', 'PTR');
    expect(dnsPacket.decode(replyOf(await ask(v6))).answers).toMatchObject([{ type: 'PTR', data: 'web' }]);
    const other = query('8.8.8.8.in-addr.arpa', 'PTR');
    expect(await ask(other)).toMatchObject({ action: 'forward', query: { name: '8.8.8.8.in-addr.arpa' } });
    expect(rcodeOf(replyOf(await ask(other, { forwarding: false })))).toBe('NXDOMAIN');
  });
});

describe('names the network does not know', () => {
  it('go upstream with the query as it came', async () => {
    const v = await ask(query('example.org', 'A', { id: 7 }));
    expect(v).toMatchObject({ action: 'forward', query: { id: 7, name: 'example.org', question: { type: 'A', name: 'example.org' } } });
  });

  it('get NXDOMAIN without upstreams (not authoritative, no recursion available)', async () => {
    const q = query('example.org', 'A');
    const r = replyOf(await ask(q, { forwarding: false }));
    expect(r).toEqual(golden(q, RD | RCODE.NXDOMAIN, []));
    expect(rcodeOf(r)).toBe('NXDOMAIN');
  });

  it('a name asked on another network is unknown there', async () => {
    const v = await answerQuery(query('web', 'A'), 'back', source, { forwarding: false, transport: 'udp' });
    expect(rcodeOf(replyOf(v))).toBe('NXDOMAIN');
  });

  it('other classes and the root go upstream', async () => {
    expect(await ask(query('web', 'TXT', { klass: 'CH' }))).toMatchObject({ action: 'forward' });
    expect(await ask(query('.', 'NS'))).toMatchObject({ action: 'forward', query: { name: '' } });
  });

  it('a failing source is SERVFAIL, not a crash', async () => {
    expect(rcodeOf(replyOf(await ask(query('web', 'A'), { src: failing })))).toBe('SERVFAIL');
  });
});

describe('odd and malformed input', () => {
  const drop = { action: 'drop' };

  it('undecodable input gets no answer at all', async () => {
    const good = query('web', 'A');
    const cases: Buffer[] = [
      Buffer.alloc(0),
      Buffer.alloc(11),
      good.subarray(0, 12 + 3), // cut inside the name
      good.subarray(0, good.length - 1), // cut inside the class
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      // A header that claims 65535 questions over a 17-byte body.
      Buffer.concat([Buffer.from([0, 1, 1, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0]), Buffer.from([3, 119, 101, 98, 0])]),
      // A compression pointer to itself (a loop).
      Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]),
      // A label running past the end.
      Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63, 97, 98, 0, 0, 1, 0, 1]),
    ];
    for (const raw of cases) expect(await ask(raw), raw.toString('hex')).toEqual(drop);
  });

  it('a response is never answered (no loops, no reflection)', async () => {
    const r = dnsPacket.encode({ type: 'response', id: 1, questions: [{ name: 'web', type: 'A' }] });
    expect(await ask(r)).toEqual(drop);
  });

  it('no question or two questions: FORMERR; another opcode: NOTIMP', async () => {
    const none = dnsPacket.encode({ type: 'query', id: 9, flags: RD, questions: [] });
    expect(dnsPacket.decode(replyOf(await ask(none)))).toMatchObject({ id: 9, rcode: 'FORMERR', questions: [] });
    const two = dnsPacket.encode({ type: 'query', id: 9, questions: [{ name: 'web', type: 'A' }, { name: 'db', type: 'A' }] });
    expect(dnsPacket.decode(replyOf(await ask(two)))).toMatchObject({ id: 9, rcode: 'FORMERR' });
    const status = dnsPacket.encode({ type: 'query', id: 9, flags: 2 << 11, questions: [{ name: 'web', type: 'A' }] });
    expect(dnsPacket.decode(replyOf(await ask(status)))).toMatchObject({ id: 9, rcode: 'NOTIMP', opcode: 'STATUS' });
  });

  it('a long name (253 bytes) and an unknown type still get a well-formed answer', async () => {
    const long = Array.from({ length: 4 }, (_, i) => String.fromCharCode(97 + i).repeat(62)).join('.');
    expect(long.length).toBe(251);
    const q = query(long, 'A');
    expect(await ask(q)).toMatchObject({ action: 'forward', query: { name: long } });
    const odd = query('web', 'UNKNOWN_65280');
    expect(replyOf(await ask(odd))).toEqual(golden(odd, AA | RD | RA, []));
  });

  it('a compression pointer in the question (into the header) is dropped, not echoed', async () => {
    // Found by test/integration/network/dns/fuzz.test.ts. The question is echoed byte for byte, but the
    // reply's header is not the query's, so the pointer read other bytes there: a reply dns-packet
    // could not parse (flags 0x81 read as a label length), or one answering another name.
    const found = [
      '123401000001000000000000c00200010001', // 'name' at offset 2: flags, then qdcount's 0
      '10170100000100000000000003776562c000210001209a703e5cff61611c30df', // 'web' + pointer to the id
      '130401000001000000000000c001ee18000000000003572d01ae1d594b5d1c',
      '058c01000001000000000000c0006f73756368c03a65737400000f0001',
    ].map((h) => Buffer.from(h, 'hex'));
    for (const raw of found) {
      expect(() => dnsPacket.decode(raw), raw.toString('hex')).not.toThrow();
      expect(readQuery(raw), raw.toString('hex')).toEqual({ verdict: drop });
      for (const forwarding of [true, false]) expect(await ask(raw, { forwarding }), raw.toString('hex')).toEqual(drop);
    }
  });

  it('questionEnd finds the end of the question, pointer or not', () => {
    const q = query('web', 'A');
    expect(questionEnd(q)).toBe(q.length);
    expect(questionEnd(Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 4, 0, 1, 0, 1]))).toBe(18);
  });

  it('random corruption of valid queries never throws; every answer decodes and keeps the id', async () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const bases = [query('web', 'A'), query('3.0.18.172.in-addr.arpa', 'PTR'), query('many', 'AAAA'), query('unknown.example', 'MX')];
    for (let i = 0; i < 3000; i++) {
      const raw = Buffer.from(bases[i % bases.length]!);
      for (let k = 1 + rand(4); k > 0; k--) raw[rand(raw.length)] = rand(256);
      const cut = rand(4) === 0 ? raw.subarray(0, rand(raw.length + 1)) : raw;
      const v = await ask(cut, { forwarding: rand(2) === 0 });
      if (v.action === 'reply') {
        const r = dnsPacket.decode(v.reply);
        expect(r.type).toBe('response');
        expect(r.id).toBe(cut.readUInt16BE(0));
      }
    }
  });

  it('readQuery keeps the question bytes as sent', () => {
    const q = query('MiXeD.example', 'AAAA');
    const read = readQuery(q);
    expect('query' in read && read.query.rawQuestion.equals(q.subarray(12))).toBe(true);
  });
});
