// One DNS-over-TCP connection of the embedded name server (RFC 7766): the queries it carries are
// answered concurrently and in any order, a bounded number at a time, and the connection is
// closed once it has been idle for the timeout. Idle means that no query is being answered: bytes
// of a message that never completes do not count as activity, or a client sending a byte now and
// then would hold the connection (and its slot under the listener's cap) for ever.
import type { Socket } from 'node:net';

import { frame, FrameReader } from './framing.js';

/** Queries answered at once per connection; further ones wait, and the socket stops being read. */
export const MAX_TCP_PENDING = 32;
/** Replies waiting for a client that does not read them: beyond this, no more of its queries are taken. */
const MAX_TCP_UNSENT = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/** The server-wide count of queries in progress, shared with UDP. */
export interface Slots {
  /** Takes a slot, or returns false and calls `waiter.pump()` once one is free again. */
  take(waiter: TcpConnection): boolean;
  release(): void;
}

export class TcpConnection {
  readonly #socket: Socket;
  readonly #reader = new FrameReader();
  /** Whole messages received and not yet dispatched; `#head` is the next one (no O(n) shift). */
  #queue: Buffer[] = [];
  #head = 0;
  #pending = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #idleSince = performance.now();

  constructor(
    socket: Socket,
    private readonly answer: (message: Buffer) => Promise<Buffer | undefined>,
    private readonly slots: Slots,
    private readonly idleMs: number,
    private readonly onClose: (c: TcpConnection) => void,
  ) {
    this.#socket = socket;
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    socket.on('drain', () => this.pump());
    socket.on('data', (chunk: Buffer) => {
      for (const m of this.#reader.push(chunk)) this.#queue.push(m);
      this.pump();
    });
    this.#arm();
  }

  /**
   * Nothing being answered, and nothing waiting for us: such a connection may be closed at any
   * time (RFC 7766 §6.2.3), and a client that does not read its replies counts as idle too.
   */
  get idle(): boolean {
    return this.#pending === 0 && (this.#waiting === 0 || this.#blocked);
  }

  /** When the connection last became idle (performance.now()): at the cap, the longest idle goes first. */
  get idleSince(): number {
    return this.#idleSince;
  }

  /** Dispatches waiting queries as far as the limits allow; stops reading while some must wait. */
  pump(): void {
    if (this.#closed) return;
    while (this.#waiting > 0 && this.#pending < MAX_TCP_PENDING && !this.#blocked && this.slots.take(this)) {
      const message = this.#queue[this.#head]!;
      this.#queue[this.#head++] = EMPTY;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      this.#pending++;
      this.answer(message)
        .then((out) => {
          if (out && !this.#closed && this.#socket.writable) this.#socket.write(frame(out));
        })
        .catch(() => undefined)
        .finally(() => {
          this.#pending--;
          this.slots.release();
          this.pump();
        });
    }
    // TCP's own flow control makes a client that pipelines faster than we answer wait.
    if (this.#waiting > 0) this.#socket.pause();
    else this.#socket.resume();
    this.#arm();
  }

  /** Closes the connection at once (also what the idle timer does). Closing twice does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#queue = [];
    this.#head = 0;
    this.#socket.destroy();
    this.onClose(this);
  }

  get #waiting(): number {
    return this.#queue.length - this.#head;
  }

  get #blocked(): boolean {
    return this.#socket.writableLength > MAX_TCP_UNSENT;
  }

  /** Starts the idle timer when the connection has just become idle; stops it while it is busy. */
  #arm(): void {
    if (!this.idle) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    } else if (this.#timer === undefined) {
      this.#idleSince = performance.now();
      this.#timer = setTimeout(() => this.close(), this.idleMs);
      // The listener keeps the process alive while it is open; an idle connection must not.
      this.#timer.unref();
    }
  }
}
