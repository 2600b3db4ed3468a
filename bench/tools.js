// What the netavark and CNI comparisons share: finding a tool, running it with the benchmark's
// throwaway host namespace as its "host" (`ip netns exec HOST …`), and checking that a port
// mapping really landed in that namespace's firewall.
//
// `ip netns exec` and not nsenter: it also gives the tool a private /sys of the host namespace, so
// a tool that reads or writes /sys/class/net sees HOST's links, never the machine's.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { median, timeSync } from './util.js';

/** The first of `names` found in PATH or in `dirs`, or undefined. */
export function findExecutable(names, dirs) {
  const path = (process.env.PATH ?? '').split(':').filter(Boolean);
  for (const d of [...path, ...dirs]) for (const n of names) if (existsSync(join(d, n))) return join(d, n);
  return undefined;
}

/** Why the firewall-side checks cannot run here, or undefined when they can. */
export function firewallToolsMissing() {
  if (!findExecutable(['iptables-save'], ['/usr/sbin', '/sbin'])) return 'iptables is not installed (both tools program the firewall through it)';
  return undefined;
}

/**
 * Runs `argv` inside HOST as if it were the host. Input goes to stdin; `env` is added to the
 * environment. Returns stdout; throws with stdout and stderr (CNI plugins report errors as JSON
 * on stdout) on failure.
 */
export function execInHost(host, argv, { input, env } = {}) {
  const r = spawnSync('ip', ['netns', 'exec', host, ...argv], {
    input,
    encoding: 'utf8',
    env: env ? { ...process.env, ...env } : process.env,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`ip netns exec ${host} ${argv.join(' ')} failed (${r.signal ?? r.status}): ${`${r.stdout}\n${r.stderr}`.trim()}`);
  return r.stdout;
}

/** HOST's firewall as text: `iptables-save` (iptables-nft) and `nft list ruleset`, whichever a tool used. */
export function firewallText(host) {
  return `${execInHost(host, ['iptables-save'])}\n${execInHost(host, ['nft', 'list', 'ruleset'])}`;
}

/** Whether HOST's firewall holds a DNAT from host port `port` to `addr`:`to` (iptables or nft syntax). */
export function hasDnat(host, port, addr, to) {
  const target = new RegExp(`\\b${addr.replaceAll('.', '\\.')}:${to}\\b`);
  const dport = new RegExp(`dport ${port}\\b`);
  return firewallText(host)
    .split('\n')
    .some((line) => /dnat/i.test(line) && dport.test(line) && target.test(line));
}

/** Throws unless `s` holds eth0, up, with `addr`. */
export function checkSandboxAddress(s, addr) {
  const r = spawnSync('ip', ['-j', '-n', s, 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
  const a = r.status === 0 ? JSON.parse(r.stdout)[0] : undefined;
  if (!a?.flags.includes('UP') || !a.addr_info.some((i) => i.local === addr)) throw new Error(`${s}: eth0 is not up with ${addr}`);
}

/**
 * What `ip netns exec HOST` adds to every process the comparison forks (a fork of ip, setns, a
 * remount of /sys, then the exec), which Podman or a CNI runtime do not pay: median of n runs of
 * `ip netns exec HOST true` minus median of n runs of `true`.
 */
export function wrapperCost(host, n) {
  const wrapped = [];
  const bare = [];
  for (let i = 0; i < n; i++) {
    wrapped.push(timeSync(() => execInHost(host, ['true'])));
    bare.push(timeSync(() => spawnSync('true', [], { stdio: 'ignore' })));
  }
  return median(wrapped) - median(bare);
}
