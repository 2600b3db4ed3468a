// Which kernel objects a store made. Reconcile removes what its store does not know only when
// the object itself says that this store made it: a name pattern proves nothing (a mistyped
// --state-dir is an empty store, and everything the real one made matches the patterns). Each
// store has a random owner id, written into what it makes: the alias of its bridges and of the
// host ends of its veths (`ip link set DEV alias nlnet:ID`), and a marker file per sandbox
// namespace under /run/nlnet/netns (tmpfs, like the namespaces' own bind mounts: both go at reboot).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Json, StoreTx } from './store/types.js';

const OWNER_KEY = 'meta/owner';
export const NETNS_MARKS = '/run/nlnet/netns';

/** The store's owner id, `nlnet:` + 16 hex; made on first use when `create`, else undefined if none yet. */
export async function ownerIn(tx: StoreTx, create: boolean): Promise<string | undefined> {
  const have = (await tx.get<Json>(OWNER_KEY)) as { id?: unknown } | undefined;
  if (typeof have?.id === 'string') return have.id;
  if (!create) return undefined;
  const id = `nlnet:${randomBytes(8).toString('hex')}`;
  tx.put(OWNER_KEY, { id });
  return id;
}

/** Marks namespace `ns` as made by `owner`; written before the namespace, so a crash leaves at worst a marker. */
export function markNetns(ns: string, owner: string): void {
  mkdirSync(NETNS_MARKS, { recursive: true, mode: 0o755 });
  writeFileSync(netnsMark(ns), markText(owner));
}

/** The marker file of namespace `ns`, and what it holds for `owner`: for an attach job, which writes it. */
export const netnsMark = (ns: string): string => join(NETNS_MARKS, ns);
export const markText = (owner: string): string => `${owner}\n`;

/** Drops the marker of `ns`; removed last, after the namespace and its /etc/netns files. */
export function unmarkNetns(ns: string): void {
  rmSync(netnsMark(ns), { force: true });
}

/** The owner written in the marker of `ns`, if any. */
export function netnsOwner(ns: string): string | undefined {
  try {
    return readFileSync(netnsMark(ns), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The namespaces whose marker names `owner` (whether or not the namespace still exists). */
export function markedNetns(owner: string): string[] {
  let names: string[];
  try {
    names = readdirSync(NETNS_MARKS);
  } catch {
    return [];
  }
  return names.filter((n) => netnsOwner(n) === owner);
}

/** Drops every marker whose namespace name starts with `prefix`: the demo's and tests' sweep of their own throwaway host. */
export function unmarkPrefixed(prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(NETNS_MARKS);
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith(prefix)) unmarkNetns(n);
}
