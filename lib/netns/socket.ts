// TCP and UDP sockets that live in a given network namespace, used from this process without
// ever switching its namespace: the addon's namespace thread makes and binds the socket, then the
// descriptor works from any thread. A TCP listener becomes a net.Server, a connection a
// net.Socket; UDP gets a small native endpoint, since Node's dgram cannot adopt a descriptor.
import { EventEmitter } from 'node:events';
import { isIP, Server, Socket } from 'node:net';

import { isNativeError, native } from '../core/binding.js';
import { NetlinkError, ValidationError } from '../core/errors.js';
import { netns as namespaces, Netns, type NetnsTarget } from './namespace.js';
import { uint } from '../core/validate.js';

/** Where a socket lives: a namespace, or undefined for the process's own. */
export type SocketNetns = NetnsTarget | undefined;

export interface UdpRemote {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
  size: number;
}

export interface ListenTcpOptions {
  /** listen() backlog; default 511, as Node's. */
  backlog?: number;
}

export interface ConnectTcpOptions {
  /** Give up after this many milliseconds (ETIMEDOUT); default 10000. */
  timeout?: number;
  /** Bind the connecting socket to this address first (`ip netns exec NS curl --interface`). */
  localAddress?: string;
}

function address(field: string, v: unknown): string {
  // A zone index ('fe80::1%eth0') names an interface of whichever namespace reads it: refused.
  if (typeof v !== 'string' || isIP(v) === 0 || v.includes('%')) throw new ValidationError(field, v, 'expected an IPv4 or IPv6 address without a zone index');
  return v;
}

const familyOf = (ip: string): 'IPv4' | 'IPv6' => (isIP(ip) === 6 ? 'IPv6' : 'IPv4');

function fail(op: string, e: unknown): never {
  if (isNativeError(e)) {
    const where = e.path ? ` ${e.path}` : '';
    throw new NetlinkError({ errno: e.errno, code: e.code, op, syscall: e.syscall, message: `${e.syscall}${where}: ${e.message}` });
  }
  throw e;
}

/** Runs `fn` with the namespace's fd (-1 for our own), closing the namespace if we opened it. */
async function withNetns<T>(target: SocketNetns, fn: (nsfd: number) => Promise<T>): Promise<T> {
  if (target === undefined) return fn(-1);
  if (target instanceof Netns) return fn(target.fd);
  const ns = await namespaces.open(target);
  try {
    return await fn(ns.fd);
  } finally {
    ns.close();
  }
}

/**
 * A listening TCP server inside a namespace, like `ip netns exec NS nc -l ADDRESS PORT`.
 * Port 0 picks a free port (see `server.address()`). Close it with `server.close()`.
 */
export async function listenTcp(target: SocketNetns, addr: string, port: number, options: ListenTcpOptions = {}): Promise<Server> {
  address('address', addr);
  uint('port', port, 0, 65535);
  const backlog = options.backlog === undefined ? 511 : uint('backlog', options.backlog, 1, 65535);
  const fd = await withNetns(target, async (nsfd) => {
    try {
      return await native.socketListenTcp(nsfd, addr, port, backlog);
    } catch (e) {
      fail('socket.listenTcp', e);
    }
  });
  const server = new Server();
  // listen({ fd }) adopts the descriptor (libuv guesses it is TCP) and calls listen() again,
  // which on a listening socket only updates the backlog.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd, backlog }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/**
 * A TCP connection made from inside a namespace, like `ip netns exec NS nc ADDRESS PORT`.
 * Resolves once connected; rejects with ECONNREFUSED, ETIMEDOUT, ENETUNREACH… as a NetlinkError.
 */
export async function connectTcp(target: SocketNetns, addr: string, port: number, options: ConnectTcpOptions = {}): Promise<Socket> {
  address('address', addr);
  uint('port', port, 1, 65535);
  const timeout = options.timeout === undefined ? 10_000 : uint('timeout', options.timeout, 1, 0x7fffffff);
  const local = options.localAddress === undefined ? '' : address('localAddress', options.localAddress);
  if (local && familyOf(local) !== familyOf(addr)) throw new ValidationError('localAddress', local, `expected an ${familyOf(addr)} address, as the peer's`);
  const fd = await withNetns(target, async (nsfd) => {
    try {
      return await native.socketConnectTcp(nsfd, local, addr, port, timeout);
    } catch (e) {
      fail('socket.connectTcp', e);
    }
  });
  return new Socket({ fd, readable: true, writable: true });
}

export interface UdpEndpointEvents {
  message: [data: Buffer, remote: UdpRemote];
}

/** A bound UDP socket inside a namespace (see `openUdp`). Emits 'message' per datagram. */
export class UdpEndpoint extends EventEmitter<UdpEndpointEvents> {
  #native: InstanceType<typeof native.UdpEndpoint> | undefined;
  readonly #family: 'IPv4' | 'IPv6';

  /** @internal */
  constructor(fd: number, family: 'IPv4' | 'IPv6') {
    super();
    this.#family = family;
    this.#native = new native.UdpEndpoint(fd, (data, from, port) => {
      this.emit('message', data, { address: from, port, family: familyOf(from), size: data.length });
    });
  }

  /** Sends one datagram without blocking; a full send buffer throws EAGAIN (UDP may drop). */
  send(data: Buffer | Uint8Array, port: number, addr: string): void {
    uint('port', port, 1, 65535);
    address('address', addr);
    if (familyOf(addr) !== this.#family) throw new ValidationError('address', addr, `this endpoint is ${this.#family}`);
    // 65535 less the IP and UDP headers: IPv4's header counts in its length field, IPv6's does not.
    const max = this.#family === 'IPv4' ? 65_507 : 65_527;
    if (!(data instanceof Uint8Array) || data.length > max) throw new ValidationError('data', data?.length, `expected a Buffer of at most ${max} bytes`);
    const ep = this.#open('socket.udpSend');
    try {
      ep.send(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length), addr, port);
    } catch (e) {
      fail('socket.udpSend', e);
    }
  }

  /** The bound address and port (the port the kernel picked when opened with 0). */
  address(): { address: string; port: number; family: 'IPv4' | 'IPv6' } {
    try {
      return { ...this.#open('socket.udpAddress').address(), family: this.#family };
    } catch (e) {
      fail('socket.udpAddress', e);
    }
  }

  /** Whether this endpoint alone keeps the process running (like dgram's ref/unref). */
  ref(): this {
    this.#native?.ref();
    return this;
  }

  unref(): this {
    this.#native?.unref();
    return this;
  }

  /** Stops reading and closes the socket. Closing twice does nothing. */
  close(): void {
    this.#native?.close();
    this.#native = undefined;
  }

  get closed(): boolean {
    return this.#native === undefined;
  }

  #open(op: string): InstanceType<typeof native.UdpEndpoint> {
    if (!this.#native) throw new NetlinkError({ errno: 9, code: 'EBADF', op, syscall: op, message: 'the endpoint is closed' });
    return this.#native;
  }
}

/** A UDP socket bound inside a namespace, like `ip netns exec NS nc -u -l ADDRESS PORT`. */
export async function openUdp(target: SocketNetns, addr: string, port: number): Promise<UdpEndpoint> {
  address('address', addr);
  uint('port', port, 0, 65535);
  const fd = await withNetns(target, async (nsfd) => {
    try {
      return await native.socketOpenUdp(nsfd, addr, port);
    } catch (e) {
      fail('socket.openUdp', e);
    }
  });
  return new UdpEndpoint(fd, familyOf(addr));
}

export const netnsSocket = { listenTcp, connectTcp, openUdp };
