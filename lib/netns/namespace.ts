// Named network namespaces, as `ip netns` manages them: a bind mount under /run/netns.
// Everything runs on the addon's namespace thread; this process never changes namespace.
import { readdir } from 'node:fs/promises';
import { closeSync, fstatSync, statSync } from 'node:fs';

import { isNativeError, native } from '../core/binding.js';
import { NetlinkError, NotFoundError, ValidationError } from '../core/errors.js';

export const NETNS_RUN_DIR = '/run/netns';

/** An open network namespace. Close it when done; links and sockets in it do not need it open. */
export class Netns {
  #fd: number;

  constructor(fd: number, readonly path: string, readonly name?: string) {
    this.#fd = fd;
  }

  /** The namespace file descriptor, -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  /** The namespace's inode: two handles with the same inode are the same namespace. */
  get inode(): number {
    return fstatSync(this.#fd).ino;
  }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }
}

/**
 * The namespace a job makes (rtnl/job.ts), named in the job's later parts before it exists: a
 * veth peer born there. Only a job can use it; it cannot be opened.
 */
export class JobNetns {
  constructor(readonly name: string) {}
}

/** A namespace by name (under /run/netns), by path, by process, already open, or a job's. */
export type NetnsTarget = string | Netns | { path: string } | { pid: number } | JobNetns;

function validName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > 255 || name === '.' || name === '..' || name.includes('/'))
    throw new ValidationError('netns', name, "namespace names are 1 to 255 bytes, not '.' or '..', without '/'");
  return name;
}

/** A native failure of a namespace operation as the caller sees it. */
export function netnsError(op: string, e: unknown, subject: string): unknown {
  if (!isNativeError(e)) return e;
  if (e.code === 'ENOENT') return new NotFoundError('network namespace', subject);
  if (e.code === 'EINVAL' && e.syscall.startsWith('ioctl')) return new ValidationError('netns', subject, 'not a network namespace');
  return new NetlinkError({ errno: e.errno, code: e.code, op, syscall: e.syscall, message: `${e.syscall} ${e.path ?? ''}: ${e.message}` });
}

function fail(op: string, e: unknown, subject: string): never {
  throw netnsError(op, e, subject);
}

/** `ip netns add NAME`: a new, empty namespace (only `lo`, down). */
export async function create(name: string): Promise<void> {
  validName(name);
  try {
    await native.netnsCreate(name);
  } catch (e) {
    fail('netns.create', e, name);
  }
}

/** `ip netns del NAME`. Links inside go away when nothing else holds the namespace. */
export async function remove(name: string): Promise<void> {
  validName(name);
  try {
    await native.netnsDelete(name);
  } catch (e) {
    fail('netns.delete', e, name);
  }
}

/** Opens a namespace by name, path or pid (`ip netns exec`, `nsenter --net=PATH`, `-t PID`). */
export async function open(target: NetnsTarget): Promise<Netns> {
  if (target instanceof Netns) return target;
  if (target instanceof JobNetns) throw new ValidationError('netns', target.name, 'a namespace a job makes is named only by that job’s parts');
  let path: string;
  let name: string | undefined;
  if (typeof target === 'string') {
    name = validName(target);
    path = `${NETNS_RUN_DIR}/${name}`;
  } else if (typeof target === 'object' && target !== null && 'pid' in target) {
    if (!Number.isInteger(target.pid) || target.pid <= 0) throw new ValidationError('netns.pid', target.pid, 'expected a process id');
    path = `/proc/${target.pid}/ns/net`;
  } else if (typeof target === 'object' && target !== null && typeof (target as { path?: unknown }).path === 'string') {
    path = (target as { path: string }).path;
  } else {
    throw new ValidationError('netns', target, 'expected a name, { path }, { pid } or a Netns');
  }
  try {
    return new Netns(await native.netnsOpen(path), path, name);
  } catch (e) {
    fail('netns.open', e, name ?? path);
  }
}

/** `ip netns list`: the names under /run/netns. */
export async function list(): Promise<string[]> {
  try {
    return (await readdir(NETNS_RUN_DIR)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * Whether /run/netns/NAME holds a namespace: a bind mount of one (on another device than the
 * directory), not a file left by a delete cut short between its umount and its unlink.
 */
export function mounted(name: string): boolean {
  validName(name);
  try {
    return statSync(`${NETNS_RUN_DIR}/${name}`).dev !== statSync(NETNS_RUN_DIR).dev;
  } catch {
    return false;
  }
}

/** `ip netns add NAME`, and the new namespace open (one native call where create + open take two). */
export async function createOpen(name: string): Promise<Netns> {
  validName(name);
  try {
    return new Netns(await native.netnsCreate(name, true), `${NETNS_RUN_DIR}/${name}`, name);
  } catch (e) {
    fail('netns.create', e, name);
  }
}

export const netns = { create, createOpen, delete: remove, open, list, mounted };
