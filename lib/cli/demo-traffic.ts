// Real traffic for `nlnet demo`, made with nothing but this library and Node: a TCP server inside
// one namespace, a client inside another, and a DNS query sent from inside a sandbox. No ping,
// curl or dig, which a fresh machine may lack.
import type { Server } from 'node:net';

import dnsPacket from 'dns-packet';

import { connectTcp, listenTcp, openUdp } from '../netns/socket.js';

/** A server in `ns` on address:port that tells each client who it is and whom it sees. */
export async function serveHello(ns: string, address: string, port: number, label: string): Promise<Server> {
  const server = await listenTcp(ns, address, port);
  server.on('connection', (socket) => {
    socket.on('error', () => undefined);
    socket.end(`${label} sees ${socket.remoteAddress}\n`);
  });
  return server;
}

/** Connects from `ns` and reads the first line, or undefined when nothing answers in time. */
export async function ask(ns: string, address: string, port: number, timeoutMs = 1500): Promise<string | undefined> {
  let socket;
  try {
    socket = await connectTcp(ns, address, port, { timeout: timeoutMs });
  } catch {
    return undefined;
  }
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text === '' ? undefined : text.trim());
    });
  });
}

/** An A query for `name` sent from inside `ns` to server:53 over UDP: the addresses answered. */
export async function resolveIn(ns: string, server: string, name: string, timeoutMs = 1500): Promise<string[]> {
  const udp = await openUdp(ns, '0.0.0.0', 0);
  try {
    const id = Math.floor(Math.random() * 0xffff);
    const answer = new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no DNS answer from ${server} within ${timeoutMs} ms`)), timeoutMs);
      udp.on('message', (buf: Buffer) => {
        const reply = dnsPacket.decode(buf);
        if (reply.id !== id) return;
        clearTimeout(timer);
        resolve((reply.answers ?? []).flatMap((a) => (a.type === 'A' ? [a.data] : [])));
      });
    });
    udp.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), 53, server);
    return await answer;
  } finally {
    udp.close();
  }
}
