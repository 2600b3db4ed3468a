// A sandbox's own /etc/hosts and /etc/resolv.conf, where `ip netns exec` (and `nlnet exec`) bind
// them over /etc: /etc/netns/<namespace>/. Written when the sandbox is made, removed with it.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

import { sandboxResolvConf } from './dns/index.js';
import { hasEmbeddedDns } from './model/names.js';
import type { NetworkRecord, SandboxRecord } from './model/sandbox.js';
import { tempName } from './store/lock.js';

/** iproute2's directory of per-namespace /etc files. */
export const ETC_NETNS = '/etc/netns';

/** The sandbox's /etc/hosts: loopback names, and its own name on its first address (as Docker). */
export function hostsFile(name: string, ip: string | undefined): string {
  const own = ip === undefined ? '' : `${ip}\t${name}\n`;
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n${own}`;
}

/** The host's /etc/resolv.conf (of this process's mount namespace), or '' without one. */
export function hostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

/** Writes /etc/netns/NS/{hosts,resolv.conf}, each replaced atomically. */
export function writeSandboxEtc(netnsName: string, files: { hosts: string; resolvConf: string }): void {
  const dir = join(ETC_NETNS, netnsName);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const [file, text] of [['hosts', files.hosts], ['resolv.conf', files.resolvConf]] as const) {
    const temp = join(dir, tempName(file));
    writeFileSync(temp, text, { mode: 0o644 });
    renameSync(temp, join(dir, file));
  }
}

/**
 * A sandbox's files as Docker makes them: on a user-defined network (its first one) the name
 * server is that network's gateway (the embedded DNS), elsewhere the host's resolvers.
 */
export function writeSandboxFiles(sb: Pick<SandboxRecord, 'name' | 'netns' | 'endpoints'>, first: NetworkRecord | undefined): void {
  writeSandboxEtc(sb.netns, sandboxFiles(sb, first));
}

/** What writeSandboxFiles writes. */
export function sandboxFiles(sb: Pick<SandboxRecord, 'name' | 'endpoints'>, first: NetworkRecord | undefined): { hosts: string; resolvConf: string } {
  const nameserver = first !== undefined && hasEmbeddedDns(first) ? first.gateway : undefined;
  return { hosts: hostsFile(sb.name, sb.endpoints[0]?.ip), resolvConf: sandboxResolvConf(hostResolvConf(), nameserver) };
}

/**
 * Removes /etc/netns/NS; gone already is fine. Off the JS thread (libuv's pool): on some disks
 * removing two files and a directory takes a millisecond. The two files nlnet writes, then the
 * directory, where a recursive rm walks and stats the tree; anything else in it: the recursive rm.
 */
export async function removeSandboxEtc(netnsName: string): Promise<void> {
  const dir = join(ETC_NETNS, netnsName);
  try {
    await Promise.all(['hosts', 'resolv.conf'].map((file) => rm(join(dir, file), { force: true })));
    await rmdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    await rm(dir, { recursive: true, force: true });
  }
}

/** The /etc/netns entries whose names start with `prefix` (a host's sandbox namespaces). */
export function sandboxEtcDirs(prefix: string): string[] {
  try {
    return readdirSync(ETC_NETNS).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}
