// Relaying queries for names the networks do not know to upstream resolvers. Each relayed
// query goes out from a fresh socket (a new random source port, like Docker's resolver dialling
// per query) with a new random id, and only a reply from that upstream, with that id and the
// same question, is taken; it goes back to the client under the client's own id. UDP queries
// are relayed over UDP (a truncated reply is passed on, and the client retries over TCP), TCP
// queries over TCP.
import { randomInt } from 'node:crypto';
import { isIP, type Socket } from 'node:net';

import { connectTcp, openUdp, type UdpEndpoint } from '../../netns/socket.js';
import type { Query } from './answer.js';
import { FrameReader, frame } from './framing.js';
import { canonicalIPv6, type Upstream } from './resolv-conf.js';
import type { Transport } from './types.js';

const RCODE_SERVFAIL = 2;
const RCODE_REFUSED = 5;

/** A copy of a DNS message with another id. */
export function withId(message: Buffer, id: number): Buffer {
  const out = Buffer.from(message);
  out.writeUInt16BE(id, 0);
  return out;
}

/** Whether `message` is a response with this id to the question `rawQuestion` (the name compared without case). */
export function isReplyTo(message: Buffer, id: number, rawQuestion: Buffer): boolean {
  const end = 12 + rawQuestion.length;
  if (message.length < end || message.readUInt16BE(0) !== id || (message[2]! & 0x80) === 0 || message.readUInt16BE(4) !== 1) return false;
  const got = message.subarray(12, end);
  const nameLen = rawQuestion.length - 4;
  for (let i = 0; i < rawQuestion.length; i++) {
    let a = got[i]!;
    let b = rawQuestion[i]!;
    if (i < nameLen) {
      if (a >= 0x41 && a <= 0x5a) a |= 0x20;
      if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    }
    if (a !== b) return false;
  }
  return true;
}

export class Forwarder {
  readonly #upstreams: Upstream[];
  readonly #aborts = new Set<() => void>();
  #closed = false;

  /**
   * `skip` leaves out upstreams that would loop back to this very server (one of its own
   * listening addresses in the same namespace).
   */
  constructor(
    upstreams: Upstream[],
    private readonly netns: string | undefined,
    private readonly timeoutMs: number,
    private readonly skip: (u: Upstream) => boolean = () => false,
  ) {
    this.#upstreams = upstreams.map((u) => ({ port: u.port, address: isIP(u.address) === 6 ? canonicalIPv6(u.address) : u.address }));
  }

  get enabled(): boolean {
    return this.#upstreams.length > 0;
  }

  /** The upstream's reply under the client's id, or undefined when none answered in time. */
  async relay(raw: Buffer, query: Query, transport: Transport): Promise<Buffer | undefined> {
    let fallback: Buffer | undefined;
    for (const u of this.#upstreams) {
      if (this.#closed) break;
      if (this.skip(u)) continue;
      const id = randomInt(0, 0x10000);
      const got = transport === 'udp' ? await this.#udp(u, withId(raw, id), id, query) : await this.#tcp(u, withId(raw, id), id, query);
      if (!got) continue;
      const rcode = got[3]! & 0x0f;
      // A resolver that fails or refuses may be alone in that: ask the next one.
      if (rcode === RCODE_SERVFAIL || rcode === RCODE_REFUSED) {
        fallback ??= got;
        continue;
      }
      return withId(got, query.id);
    }
    return fallback && withId(fallback, query.id);
  }

  /** Ends every relay in progress (they resolve to undefined) and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (const abort of [...this.#aborts]) abort();
  }

  /** Waits for a reply until the timeout or close(); `start` sends the query and wires `done`. */
  #wait(start: (done: (reply: Buffer | undefined) => void) => void, cleanup: () => void): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      let finished = false;
      const done = (r: Buffer | undefined): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        this.#aborts.delete(abort);
        cleanup();
        resolve(r);
      };
      const abort = (): void => done(undefined);
      const timer = setTimeout(abort, this.timeoutMs);
      this.#aborts.add(abort);
      if (this.#closed) abort();
      else start(done);
    });
  }

  async #udp(u: Upstream, out: Buffer, id: number, query: Query): Promise<Buffer | undefined> {
    let ep: UdpEndpoint;
    try {
      ep = await openUdp(this.netns, isIP(u.address) === 6 ? '::' : '0.0.0.0', 0);
    } catch {
      return undefined;
    }
    return this.#wait(
      (done) => {
        ep.on('message', (data, from) => {
          if (from.port === u.port && from.address === u.address && isReplyTo(data, id, query.rawQuestion)) done(data);
        });
        try {
          ep.send(out, u.port, u.address);
        } catch {
          done(undefined);
        }
      },
      () => ep.close(),
    );
  }

  async #tcp(u: Upstream, out: Buffer, id: number, query: Query): Promise<Buffer | undefined> {
    let socket: Socket;
    try {
      socket = await connectTcp(this.netns, u.address, u.port, { timeout: this.timeoutMs });
    } catch {
      return undefined;
    }
    return this.#wait(
      (done) => {
        const reader = new FrameReader();
        socket.on('data', (chunk: Buffer) => {
          for (const m of reader.push(chunk)) if (isReplyTo(m, id, query.rawQuestion)) return done(m);
        });
        socket.on('error', () => done(undefined));
        socket.on('close', () => done(undefined));
        socket.write(frame(out));
      },
      () => socket.destroy(),
    );
  }
}
