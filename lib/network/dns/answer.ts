// What the embedded name server does with one query, without any I/O of its own: drop it,
// answer it from the network's sandboxes, or relay it upstream. Docker's embedded resolver is
// the model: authoritative A/AAAA answers with a TTL of 600 for names it knows, PTR for their
// addresses, everything else forwarded; garbage gets no answer at all, which also keeps the
// server from being used to reflect traffic at someone else.
import { isIP } from 'node:net';

import dnsPacket, { type Answer, type DecodedPacket, type Question } from 'dns-packet';

import { canonicalIPv6 } from './resolv-conf.js';
import type { DnsSource, Transport } from './types.js';

/** Docker's TTL for its own records. */
export const LOCAL_TTL = 600;
/** Largest reply over UDP: we send no EDNS OPT record, so the client's limit is the classic one. */
export const UDP_REPLY_LIMIT = 512;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const OPCODE_MASK = 0x7800;
const { AUTHORITATIVE_ANSWER: AA, RECURSION_DESIRED: RD, RECURSION_AVAILABLE: RA, CHECKING_DISABLED: CD, TRUNCATED_RESPONSE: TC } = dnsPacket;

/** A query worth answering: one question, opcode QUERY. */
export interface Query {
  id: number;
  /** The header flags as sent (without QR). */
  flags: number;
  question: Question;
  /** The question section as it came, echoed byte for byte (case, class and all) in replies. */
  rawQuestion: Buffer;
  /** The question's name, lower case, without a trailing dot ('' for the root). */
  name: string;
}

export type Verdict = { action: 'drop' } | { action: 'reply'; reply: Buffer } | { action: 'forward'; query: Query };

export interface AnswerOptions {
  /** Whether unknown names can go upstream; without, they get NXDOMAIN. */
  forwarding: boolean;
  transport: Transport;
}

/** 'Web.Example.' → 'web.example'. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** Decodes a query. Undecodable input and responses are dropped; odd but well-formed queries get FORMERR or NOTIMP. */
export function readQuery(raw: Buffer): { query: Query } | { verdict: Verdict } {
  let p: DecodedPacket;
  try {
    p = dnsPacket.decode(raw);
  } catch {
    return { verdict: { action: 'drop' } };
  }
  if (p.type !== 'query' || p.id === undefined || p.flags === undefined) return { verdict: { action: 'drop' } };
  const header = { id: p.id, flags: p.flags, rawQuestion: Buffer.alloc(0) };
  if ((p.flags & OPCODE_MASK) !== 0) return { verdict: { action: 'reply', reply: reply(header, RCODE.NOTIMP, [], false, 'tcp') } };
  const question = p.questions?.length === 1 ? p.questions[0] : undefined;
  if (!question) return { verdict: { action: 'reply', reply: reply(header, RCODE.FORMERR, [], false, 'tcp') } };
  const { end, pointer } = questionName(raw);
  // Nothing precedes a query's question but the header, so a compression pointer in its name
  // points into the 12 header bytes: no client sends that. The question is echoed byte for byte
  // in replies, whose header differs, so the pointer would read other bytes there: a reply that
  // does not parse, or that answers another name. Dropped as garbage.
  if (pointer) return { verdict: { action: 'drop' } };
  const rawQuestion = raw.subarray(HEADER_LEN, end);
  return { query: { id: p.id, flags: p.flags, question, rawQuestion, name: normalizeName(question.name) } };
}

const HEADER_LEN = 12;

/** Where the first question ends (its name, then type and class), in a packet dns-packet has decoded. */
export function questionEnd(raw: Buffer): number {
  return questionName(raw).end;
}

/** questionEnd, and whether the name ends in a compression pointer rather than a zero label. */
function questionName(raw: Buffer): { end: number; pointer: boolean } {
  let at = HEADER_LEN;
  for (;;) {
    const len = raw[at] ?? 0;
    if ((len & 0xc0) === 0xc0) return { end: at + 2 + 4, pointer: true };
    if (len === 0) return { end: at + 1 + 4, pointer: false };
    at += 1 + len;
  }
}

/** The address a reverse name stands for ('4.3.2.1.in-addr.arpa' → '1.2.3.4'), or undefined. */
export function reverseAddress(name: string): string | undefined {
  const labels = normalizeName(name).split('.');
  if (labels.length === 6 && labels[4] === 'in-addr' && labels[5] === 'arpa') {
    const octets = labels.slice(0, 4).reverse();
    const v4 = octets.join('.');
    return octets.every((o) => /^(0|[1-9]\d{0,2})$/.test(o)) && isIP(v4) === 4 ? v4 : undefined;
  }
  if (labels.length === 34 && labels[32] === 'ip6' && labels[33] === 'arpa') {
    const nibbles = labels.slice(0, 32).reverse();
    if (!nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
    const groups = Array.from({ length: 8 }, (_, i) => nibbles.slice(i * 4, i * 4 + 4).join(''));
    return canonicalIPv6(groups.join(':'));
  }
  return undefined;
}

/**
 * Encodes a response to `query`. Local answers are authoritative; RA says whether this server
 * recurses (forwards). Over UDP, a reply over 512 bytes goes out empty with TC set, and the
 * client asks again over TCP.
 */
export function reply(
  query: Pick<Query, 'id' | 'flags' | 'rawQuestion'>,
  rcode: number,
  answers: Answer[],
  authoritative: boolean,
  transport: Transport,
  recursion = true,
): Buffer {
  const flags = (query.flags & (OPCODE_MASK | RD | CD)) | (authoritative ? AA : 0) | (recursion ? RA : 0) | rcode;
  const encode = (f: number, a: Answer[]): Buffer => {
    // dns-packet writes the header and answers (it never compresses names, so nothing points
    // into the question); the question goes in as received.
    const body = dnsPacket.encode({ type: 'response', id: query.id, flags: f, questions: [], answers: a });
    const out = Buffer.concat([body.subarray(0, HEADER_LEN), query.rawQuestion, body.subarray(HEADER_LEN)]);
    out.writeUInt16BE(query.rawQuestion.length > 0 ? 1 : 0, 4);
    return out;
  };
  const out = encode(flags, answers);
  return transport === 'udp' && out.length > UDP_REPLY_LIMIT ? encode(flags | TC, []) : out;
}

const record = (q: Question, type: 'A' | 'AAAA' | 'PTR', data: string): Answer => ({ type, name: q.name, class: 'IN', ttl: LOCAL_TTL, data });

/** SERVFAIL for a query that could not be relayed (no upstream answered in time). */
export function serverFailure(query: Query, transport: Transport): Buffer {
  return reply(query, RCODE.SERVFAIL, [], false, transport);
}

/**
 * Decides what to do with `raw`, a query that arrived on NETWORK's listener. Names are looked
 * up at every query, so a sandbox that goes away stops resolving at once.
 */
export async function answerQuery(raw: Buffer, network: string, source: DnsSource, opts: AnswerOptions): Promise<Verdict> {
  const read = readQuery(raw);
  if ('verdict' in read) return read.verdict;
  const { query } = read;
  const q = query.question;
  const local = (rcode: number, answers: Answer[]): Verdict => ({ action: 'reply', reply: reply(query, rcode, answers, true, opts.transport, opts.forwarding) });
  const elsewhere = (): Verdict =>
    opts.forwarding ? { action: 'forward', query } : { action: 'reply', reply: reply(query, RCODE.NXDOMAIN, [], false, opts.transport, false) };

  // Other classes (CHAOS 'version.bind' and the like) are not ours to answer.
  if ((q.class ?? 'IN') !== 'IN' && q.class !== 'ANY') return elsewhere();
  if (query.name === '') return elsewhere();
  try {
    const address = q.type === 'PTR' ? reverseAddress(query.name) : undefined;
    if (address !== undefined) {
      const names = await source.reverse(network, address);
      return names.length > 0 ? local(RCODE.NOERROR, names.map((n) => record(q, 'PTR', n))) : elsewhere();
    }
    const found = await source.lookup(network, query.name);
    if (!found) return elsewhere();
    // A known name without an address of the asked type is "no data", not "no such name":
    // a resolver that asks AAAA first must still go on to ask A.
    const answers: Answer[] = [];
    if (q.type === 'A' || (q.type as string) === 'ANY') answers.push(...found.ipv4.map((a) => record(q, 'A', a)));
    if (q.type === 'AAAA' || (q.type as string) === 'ANY') answers.push(...found.ipv6.map((a) => record(q, 'AAAA', a)));
    return local(RCODE.NOERROR, answers);
  } catch {
    return { action: 'reply', reply: reply(query, RCODE.SERVFAIL, [], false, opts.transport, opts.forwarding) };
  }
}
