// The CNI reference plugins doing the attach nlnet's Engine does: `bridge` (with `host-local`
// IPAM, which bridge execs itself) then `portmap`, chained the way a CNI runtime (libcni, as used
// by containerd, CRI-O and Podman before netavark) chains a conflist: each plugin forked with
// CNI_COMMAND/CNI_NETNS/CNI_IFNAME/CNI_PATH in its environment and its network config on stdin,
// the previous plugin's result passed on as prevResult; DEL runs the chain in reverse.
//
// SAFETY: the plugins treat the namespace they run in as the host (bridge, sysctls, iptables).
// They run only inside this run's own host namespace (nlbench-PID-cnihost) under
// `ip netns exec`, with host-local's dataDir in the run's temp directory; both are removed by
// sandbox.js's cleanup, also on failure and on signals.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

import { netns } from '../dist/index.js';

import { nsName, workDir } from './sandbox.js';
import { checkSandboxAddress, execInHost, firewallToolsMissing, hasDnat } from './tools.js';

const PLUGINS = ['bridge', 'host-local', 'portmap'];
const DIRS = ['/usr/lib/cni', '/opt/cni/bin', '/usr/libexec/cni'];
const NETWORK = 'bench';
const CNI_VERSION = '1.0.0';

/** { dir, version } when the three plugins are in one directory, else { skipped: reason }. */
export function probe() {
  const dir = DIRS.find((d) => PLUGINS.every((p) => existsSync(join(d, p))));
  if (!dir) return { skipped: `the CNI plugins ${PLUGINS.join(', ')} are not installed (looked in ${DIRS.join(', ')}; Debian: apt-get install containernetworking-plugins)` };
  const missing = firewallToolsMissing();
  if (missing) return { skipped: `CNI: ${missing}` };
  const supported = JSON.parse(spawnSync(join(dir, 'bridge'), [], { input: '', encoding: 'utf8', env: { CNI_COMMAND: 'VERSION' } }).stdout || '{}').supportedVersions ?? [];
  if (!supported.includes(CNI_VERSION)) return { skipped: `the CNI plugins in ${dir} do not speak CNI ${CNI_VERSION}` };
  const pkg = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'containernetworking-plugins'], { encoding: 'utf8' });
  return { dir, version: `CNI bridge + portmap${pkg.status === 0 ? ` ${pkg.stdout.trim()}` : ''}` };
}

/** A CNI "host" in its own namespace, ready to attach sandboxes to the `bench` bridge network. */
export async function open({ dir, version }) {
  const host = nsName('cnihost');
  const dataDir = join(workDir(), 'cni');
  mkdirSync(dataDir, { recursive: true });
  await netns.create(host);
  execInHost(host, ['ip', 'link', 'set', 'lo', 'up']);

  const bridgeConf = {
    cniVersion: CNI_VERSION,
    name: NETWORK,
    type: 'bridge',
    bridge: 'cnibench0',
    isGateway: true,
    ipMasq: true,
    hairpinMode: true,
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.89.0.0/16', gateway: '10.89.0.1' }]], routes: [{ dst: '0.0.0.0/0' }] },
  };
  const portmapConf = (sb, prevResult) => ({
    cniVersion: CNI_VERSION,
    name: NETWORK,
    type: 'portmap',
    capabilities: { portMappings: true },
    snat: true,
    // CNI port mappings have no ranges: a range becomes one mapping per port.
    runtimeConfig: { portMappings: sb.ports.flatMap((p) => Array.from({ length: p.range ?? 1 }, (_, i) => ({ hostPort: p.host + i, containerPort: p.container + i, protocol: 'tcp' }))) },
    prevResult,
  });
  const plugin = (command, sb, conf) =>
    execInHost(host, [join(dir, conf.type)], {
      input: JSON.stringify(conf),
      env: { CNI_COMMAND: command, CNI_CONTAINERID: createHash('sha256').update(sb.s).digest('hex'), CNI_NETNS: `/run/netns/${sb.s}`, CNI_IFNAME: 'eth0', CNI_PATH: dir },
    });

  return {
    label: version,
    host,
    /** portmap writes iptables rules per mapping: 1,000 mappings take tens of seconds (scale.js runs that once, and not with --quick). */
    slowWithManyPorts: true,
    /** Names a sandbox of this run; host-local picks its address at attach. */
    sandbox(tag, _index, ports) {
      return { name: tag, s: nsName(`cni-${tag}`), ports };
    },
    async attach(sb) {
      await netns.create(sb.s);
      const bridged = JSON.parse(plugin('ADD', sb, bridgeConf));
      sb.result = JSON.parse(plugin('ADD', sb, portmapConf(sb, bridged)));
      sb.addr = sb.result.ips[0].address.split('/')[0];
    },
    async detach(sb) {
      plugin('DEL', sb, portmapConf(sb, sb.result));
      plugin('DEL', sb, { ...bridgeConf, prevResult: sb.result });
      await netns.delete(sb.s);
    },
    checkAttached(sb) {
      checkSandboxAddress(sb.s, sb.addr);
      const p = sb.ports[0];
      if (!hasDnat(host, p.host, sb.addr, p.container)) throw new Error(`CNI: no DNAT ${p.host} -> ${sb.addr}:${p.container} in ${host}`);
    },
    checkDetached(sb) {
      if (existsSync(`/run/netns/${sb.s}`)) throw new Error(`${sb.s} still exists after DEL`);
      const p = sb.ports[0];
      if (hasDnat(host, p.host, sb.addr, p.container)) throw new Error(`CNI: DNAT ${p.host} -> ${sb.addr}:${p.container} still in ${host}`);
    },
    async close() {},
  };
}
