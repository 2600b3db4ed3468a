// What a command needs of the user: changing networks needs CAP_NET_ADMIN (links, addresses,
// nf_tables) and CAP_SYS_ADMIN (entering and making namespaces), which root has. Said up front
// in one line, instead of the EACCES or EPERM of whichever file or socket came first.
import { readFileSync } from 'node:fs';

import { NotFoundError } from '../core/errors.js';

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;

export class PrivilegeError extends Error {
  override readonly name = 'PrivilegeError';
}

/** This process's effective capabilities (CapEff of /proc/self/status); 0 if unreadable. */
function effectiveCaps(): bigint {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
    return line === undefined ? 0n : BigInt(`0x${line.slice('CapEff:'.length).trim()}`);
  } catch {
    return 0n;
  }
}

/** Throws PrivilegeError unless the process has CAP_NET_ADMIN and CAP_SYS_ADMIN. */
export function needPrivileges(): void {
  const caps = effectiveCaps();
  const has = (c: bigint): boolean => ((caps >> c) & 1n) === 1n;
  if (!has(CAP_NET_ADMIN) || !has(CAP_SYS_ADMIN)) throw new PrivilegeError('needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)');
}

/** A permission failure while opening the state, as the one line the user needs; other errors unchanged. */
export function permissionHint(e: unknown, stateDir: string): unknown {
  const code = (e as { code?: unknown }).code;
  if (e instanceof NotFoundError || (code !== 'EACCES' && code !== 'EPERM')) return e;
  return new PrivilegeError(`cannot read the state at ${stateDir}: permission denied (needs root, or read access to ${stateDir})`);
}
