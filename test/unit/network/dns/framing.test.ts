// DNS over TCP framing (lib/network/dns/framing.ts) and the matching of upstream replies
// (lib/network/dns/forward.ts). Pure, no root.
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';

import { readQuery } from '../../../../lib/network/dns/answer.js';
import { isReplyTo, withId } from '../../../../lib/network/dns/forward.js';
import { frame, FrameReader } from '../../../../lib/network/dns/framing.js';

const q1 = dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: 'web', type: 'A' }] });
const q2 = dnsPacket.encode({ type: 'query', id: 2, questions: [{ name: 'db.example', type: 'AAAA' }] });

describe('TCP framing', () => {
  it('frame prefixes the 16-bit length; what streamEncode writes too', () => {
    expect(frame(q1)).toEqual(dnsPacket.streamEncode({ type: 'query', id: 1, questions: [{ name: 'web', type: 'A' }] }));
    expect(frame(Buffer.alloc(0))).toEqual(Buffer.from([0, 0]));
    expect(frame(Buffer.alloc(0xffff)).length).toBe(0x10001);
    expect(() => frame(Buffer.alloc(0x10000))).toThrow(RangeError);
  });

  it('two messages in one chunk', () => {
    expect(new FrameReader().push(Buffer.concat([frame(q1), frame(q2)]))).toEqual([q1, q2]);
  });

  it('messages split byte by byte, and at every possible point', () => {
    const stream = Buffer.concat([frame(q1), frame(q2), frame(q1)]);
    const r = new FrameReader();
    const got = [...stream].flatMap((b) => r.push(Buffer.from([b])));
    expect(got).toEqual([q1, q2, q1]);
    expect(r.buffered).toBe(0);
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new FrameReader();
      expect([...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))]).toEqual([q1, q2, q1]);
    }
  });

  it('keeps an unfinished message until the rest comes; an empty frame is an empty message', () => {
    const r = new FrameReader();
    expect(r.push(Buffer.concat([frame(q1), frame(q2).subarray(0, 5)]))).toEqual([q1]);
    expect(r.buffered).toBe(5);
    expect(r.push(Buffer.concat([frame(q2).subarray(5), Buffer.from([0, 0])]))).toEqual([q2, Buffer.alloc(0)]);
    expect(r.buffered).toBe(0);
  });

  it('a 64 KiB message in pieces', () => {
    const big = Buffer.alloc(0xffff, 0xab);
    const f = frame(big);
    const r = new FrameReader();
    const got = [];
    for (let at = 0; at < f.length; at += 1000) got.push(...r.push(f.subarray(at, at + 1000)));
    expect(got).toEqual([big]);
  });
});

describe('upstream replies', () => {
  const { query } = readQuery(q2) as { query: NonNullable<Extract<ReturnType<typeof readQuery>, { query: unknown }>['query']> };
  const answer = (id: number, name = 'db.example', type: 'AAAA' | 'A' = 'AAAA'): Buffer =>
    dnsPacket.encode({ type: 'response', id, questions: [{ name, type }], answers: [{ name, type, data: type === 'A' ? '192.0.2.1' : '2001:db8::1' }] });

  it('withId rewrites only the id, in a copy', () => {
    const w = withId(q1, 0xabcd);
    expect(w.readUInt16BE(0)).toBe(0xabcd);
    expect(w.subarray(2)).toEqual(q1.subarray(2));
    expect(q1.readUInt16BE(0)).toBe(1);
  });

  it('takes a reply with the id and question, the name in any case', () => {
    expect(isReplyTo(answer(777), 777, query.rawQuestion)).toBe(true);
    expect(isReplyTo(answer(777, 'DB.Example'), 777, query.rawQuestion)).toBe(true);
  });

  it('refuses another id, another question, a query, a short packet', () => {
    expect(isReplyTo(answer(778), 777, query.rawQuestion)).toBe(false);
    expect(isReplyTo(answer(777, 'db.example', 'A'), 777, query.rawQuestion)).toBe(false);
    expect(isReplyTo(answer(777, 'dc.example'), 777, query.rawQuestion)).toBe(false);
    expect(isReplyTo(withId(q2, 777), 777, query.rawQuestion)).toBe(false);
    expect(isReplyTo(answer(777).subarray(0, 14), 777, query.rawQuestion)).toBe(false);
  });
});
