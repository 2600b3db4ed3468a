// What an engine test leaves when it ends without removing its sandboxes: their namespaces
// (which live outside the test's host namespace) and their /etc/netns files. Swept by the host
// namespace's prefix, so a namespace or file without a record (a killed child's) goes too.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { netns } from '../../lib/index.js';
import { unmarkPrefixed } from '../../lib/network/owner.js';
import { sandboxNetnsName } from '../../lib/network/model/sandbox.js';

export async function removeEngineLeftovers(host: string): Promise<void> {
  await removeSandboxesPrefixed(sandboxNetnsName(host, ''));
}

/** The sandbox namespaces, markers and /etc/netns files whose names start with `prefix`. */
export async function removeSandboxesPrefixed(prefix: string): Promise<void> {
  for (const n of await netns.list()) if (n.startsWith(prefix)) await netns.delete(n).catch(() => undefined);
  unmarkPrefixed(prefix);
  let dirs: string[] = [];
  try {
    dirs = readdirSync('/etc/netns');
  } catch {
    return;
  }
  for (const d of dirs) if (d.startsWith(prefix)) rmSync(join('/etc/netns', d), { recursive: true, force: true });
}
