// lib/network/dns/tcp.ts: one DNS-over-TCP connection, driven through a fake socket and fake
// timers, so that the idle timeout, pipelining limits and back-pressure are checked to the
// millisecond without a network. Pure, no root (test/integration/network/dns/dns.test.ts does it for real).
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';

import dnsPacket from 'dns-packet';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { frame } from '../../../../lib/network/dns/framing.js';
import { MAX_TCP_PENDING, TcpConnection, type Slots } from '../../../../lib/network/dns/tcp.js';

const IDLE = 1000;

/** The parts of net.Socket a TcpConnection uses. */
class FakeSocket extends EventEmitter {
  written: Buffer[] = [];
  writableLength = 0;
  writable = true;
  paused = false;
  destroyed = false;
  write(b: Buffer): boolean {
    this.written.push(b);
    return true;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this.writable = false;
      queueMicrotask(() => this.emit('close'));
    }
    return this;
  }
}

const q = (id: number): Buffer => dnsPacket.encode({ type: 'query', id, questions: [{ name: 'web', type: 'A' }] });

/** Answers held until released, to see what is in flight. */
function heldAnswers(): { answer: (m: Buffer) => Promise<Buffer | undefined>; asked: number[]; releaseAll: () => Promise<void> } {
  const waiting: (() => void)[] = [];
  const asked: number[] = [];
  return {
    asked,
    answer: (m) => {
      asked.push(m.readUInt16BE(0));
      return new Promise((resolve) => waiting.push(() => resolve(m)));
    },
    releaseAll: async () => {
      for (const r of waiting.splice(0)) r();
      await vi.advanceTimersByTimeAsync(0);
    },
  };
}

const unlimited: Slots = { take: () => true, release: () => undefined };

describe('a DNS TCP connection', () => {
  let closed: TcpConnection[];
  beforeEach(() => {
    vi.useFakeTimers();
    closed = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const open = (answer: (m: Buffer) => Promise<Buffer | undefined>, slots = unlimited): { sock: FakeSocket; conn: TcpConnection } => {
    const sock = new FakeSocket();
    const conn = new TcpConnection(sock as unknown as Socket, answer, slots, IDLE, (c) => closed.push(c));
    return { sock, conn };
  };

  it('closes after the idle timeout when nothing comes', async () => {
    const { sock, conn } = open(async (m) => m);
    expect(conn.idle).toBe(true);
    await vi.advanceTimersByTimeAsync(IDLE - 1);
    expect(sock.destroyed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(sock.destroyed).toBe(true);
    expect(closed).toEqual([conn]);
  });

  it('bytes of a message that never completes do not keep it open', async () => {
    const { sock } = open(async (m) => m);
    const message = frame(q(1));
    for (let i = 0; i < message.length - 1; i++) {
      sock.emit('data', message.subarray(i, i + 1));
      await vi.advanceTimersByTimeAsync(IDLE / 10);
    }
    expect(sock.destroyed).toBe(true);
    expect(sock.written).toEqual([]);
  });

  it('is not idle while a query is answered, however long; idle again from the answer on', async () => {
    const held = heldAnswers();
    const { sock, conn } = open(held.answer);
    await vi.advanceTimersByTimeAsync(IDLE / 2);
    sock.emit('data', frame(q(7)));
    expect(conn.idle).toBe(false);
    await vi.advanceTimersByTimeAsync(IDLE * 5);
    expect(sock.destroyed).toBe(false);
    await held.releaseAll();
    expect(sock.written).toEqual([frame(q(7))]);
    expect(conn.idle).toBe(true);
    await vi.advanceTimersByTimeAsync(IDLE - 1);
    expect(sock.destroyed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(sock.destroyed).toBe(true);
  });

  it(`pipelined queries: ${MAX_TCP_PENDING} at a time, the rest wait with the socket paused, none lost`, async () => {
    const held = heldAnswers();
    const { sock } = open(held.answer);
    sock.emit('data', Buffer.concat(Array.from({ length: 100 }, (_, i) => frame(q(i)))));
    expect(held.asked).toHaveLength(MAX_TCP_PENDING);
    expect(sock.paused).toBe(true);
    while (held.asked.length < 100) await held.releaseAll();
    await held.releaseAll();
    expect(sock.paused).toBe(false);
    expect(held.asked).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(sock.written.map((b) => b.readUInt16BE(2)).sort((a, b) => a - b)).toEqual(held.asked);
  });

  it('waits for a server-wide slot without counting as idle, and is woken when one is free', async () => {
    let free = 0;
    let waiter: TcpConnection | undefined;
    const slots: Slots = {
      take: (w) => (free > 0 ? (free--, true) : ((waiter = w), false)),
      release: () => void free++,
    };
    const { sock, conn } = open(async (m) => m, slots);
    sock.emit('data', frame(q(3)));
    expect(waiter).toBe(conn);
    expect(conn.idle).toBe(false);
    expect(sock.paused).toBe(true);
    await vi.advanceTimersByTimeAsync(IDLE * 3);
    expect(sock.destroyed).toBe(false);
    free = 1;
    conn.pump();
    await vi.advanceTimersByTimeAsync(0);
    expect(sock.written).toEqual([frame(q(3))]);
    expect(conn.idle).toBe(true);
  });

  it('a client that does not read its replies counts as idle and is closed', async () => {
    const { sock, conn } = open(async (m) => m);
    sock.emit('data', frame(q(1)));
    await vi.advanceTimersByTimeAsync(0);
    sock.writableLength = 1 << 20;
    sock.emit('data', Buffer.concat([frame(q(2)), frame(q(3))]));
    await vi.advanceTimersByTimeAsync(0);
    expect(sock.written).toHaveLength(1);
    expect(conn.idle).toBe(true);
    await vi.advanceTimersByTimeAsync(IDLE);
    expect(sock.destroyed).toBe(true);
  });

  it('close() is final: no reply is written after it, and onClose runs once', async () => {
    const held = heldAnswers();
    const { sock, conn } = open(held.answer);
    sock.emit('data', frame(q(1)));
    conn.close();
    conn.close();
    await held.releaseAll();
    await vi.advanceTimersByTimeAsync(IDLE);
    expect(sock.written).toEqual([]);
    expect(closed).toEqual([conn]);
  });
});
