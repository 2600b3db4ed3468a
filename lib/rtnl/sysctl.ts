// `sysctl net.…` inside the handle's namespace. /proc/sys/net shows the namespace of whoever
// opens it, so the addon's namespace thread opens it there.
import { isNativeError, native } from '../core/binding.js';
import { NetlinkError, ValidationError } from '../core/errors.js';

/** 'net.ipv4.ip_forward' or 'net/ipv4/ip_forward' → 'net/ipv4/ip_forward'. */
function path(key: string): string {
  if (typeof key !== 'string' || !/^net[./][A-Za-z0-9_.\-/]+$/.test(key) || key.includes('..'))
    throw new ValidationError('key', key, "expected a key under net, such as 'net.ipv4.ip_forward'");
  // Dots separate levels, except in an interface name, which `sysctl` writes with '/' then.
  return key.includes('/') ? key : key.replace(/\./g, '/');
}

function fail(op: string, e: unknown): never {
  if (isNativeError(e)) throw new NetlinkError({ errno: e.errno, code: e.code, op, syscall: e.syscall, message: `${e.syscall} ${e.path ?? ''}: ${e.message}` });
  throw e;
}

export class Sysctl {
  constructor(private readonly nsfd: () => number) {}

  /** `sysctl -n KEY` */
  async get(key: string): Promise<string> {
    const p = path(key);
    try {
      return (await native.sysctlRead(this.nsfd(), p)).trimEnd();
    } catch (e) {
      fail('sysctl.get', e);
    }
  }

  /** `sysctl -w KEY=VALUE` */
  async set(key: string, value: string | number): Promise<void> {
    const p = path(key);
    if (typeof value !== 'string' && typeof value !== 'number') throw new ValidationError('value', value, 'expected a string or a number');
    try {
      await native.sysctlWrite(this.nsfd(), p, String(value));
    } catch (e) {
      fail('sysctl.set', e);
    }
  }
}
