// Names or ids, as docker takes them: a network or container can be named by its name, its full
// id, or a prefix of its id that only it has (what `ls -q` prints is enough).
import { ConflictError, ValidationError } from '../core/errors.js';
import type { Engine } from '../network/engine.js';

interface Named {
  name: string;
  id: string;
}

/**
 * The name of the one item `ref` names: an exact name wins, then a unique id prefix. Anything
 * else goes to the engine as it is, to be created on first use ("bridge") or refused there.
 */
export function pick(kind: string, items: readonly Named[], ref: string): string {
  if (ref === '') throw new ValidationError(kind, ref, `expected a ${kind === 'sandbox' ? 'container' : kind} name or id`);
  if (items.some((i) => i.name === ref)) return ref;
  const byId = /^[0-9a-f]+$/.test(ref) ? items.filter((i) => i.id.startsWith(ref)) : [];
  if (byId.length > 1) throw new ConflictError(kind, ref, `the id prefix matches ${byId.length} ${kind}s (${byId.map((i) => i.name).join(', ')}): give more of it or the name`);
  return byId[0]?.name ?? ref;
}

/**
 * The name of the network `ref` names. This host's networks first: a local network's name
 * needs no cluster store, so local networks work while etcd is down (an overlay network's
 * command then fails on etcd itself, with its one line).
 */
export async function networkName(engine: Engine, ref: string): Promise<string> {
  const local = await engine.listNetworks({ scope: 'local' });
  if (engine.cluster === undefined || local.some((n) => n.name === ref)) return pick('network', local, ref);
  let all;
  try {
    all = await engine.listNetworks();
  } catch {
    return pick('network', local, ref);
  }
  return pick('network', all, ref);
}

/** The name of the sandbox (container) `ref` names. */
export async function sandboxName(engine: Engine, ref: string): Promise<string> {
  return pick('sandbox', await engine.listSandboxes(), ref);
}
