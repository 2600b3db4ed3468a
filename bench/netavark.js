// netavark (Podman's network tool) doing the attach nlnet's Engine does: a sandbox on a bridge
// network with published TCP ports. Podman creates the sandbox namespace itself, then runs
// `netavark setup NETNS_PATH` with the container's network options as JSON on stdin, and
// `netavark teardown` (same JSON) before deleting the namespace; this does the same, the namespace
// made in-process with nlnet (as Podman does it in Go), netavark forked under `ip netns exec HOST`.
//
// SAFETY: netavark treats the namespace it runs in as the host (bridge, sysctls, iptables). It runs
// only inside this run's own host namespace (nlbench-PID-nvhost), with --config in the run's temp
// directory; both are removed by sandbox.js's cleanup, also on failure and on signals.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { netns } from '../dist/index.js';

import { nsName, workDir } from './sandbox.js';
import { checkSandboxAddress, execInHost, findExecutable, firewallToolsMissing, hasDnat } from './tools.js';
import { run } from './util.js';

const SUBNET = '10.88.0.0/16';
const GATEWAY = '10.88.0.1';
const BRIDGE = 'nvbench0';
const NETWORK = 'bench';
const DIRS = ['/usr/libexec/podman', '/usr/lib/podman', '/usr/local/libexec/podman', '/usr/local/lib/podman'];

const hex64 = (s) => createHash('sha256').update(s).digest('hex');

/** { bin, version } when netavark can run here, else { skipped: reason }. */
export function probe() {
  const bin = findExecutable(['netavark'], DIRS);
  if (!bin) return { skipped: `netavark is not installed (looked in PATH and ${DIRS.join(', ')}; Debian: apt-get install netavark)` };
  const missing = firewallToolsMissing();
  if (missing) return { skipped: `netavark: ${missing}` };
  return { bin, version: run(bin, ['--version']).trim() };
}

/** The JSON Podman hands netavark for one container on the `bench` bridge network. */
function options(sb) {
  return JSON.stringify({
    container_id: hex64(sb.s),
    container_name: sb.name,
    port_mappings: sb.ports.map((p) => ({ host_ip: '', container_port: p.container, host_port: p.host, range: p.range ?? 1, protocol: 'tcp' })),
    networks: { [NETWORK]: { static_ips: [sb.addr], interface_name: 'eth0' } },
    network_info: {
      [NETWORK]: {
        name: NETWORK,
        id: hex64(NETWORK),
        driver: 'bridge',
        network_interface: BRIDGE,
        subnets: [{ subnet: SUBNET, gateway: GATEWAY }],
        ipv6_enabled: false,
        internal: false,
        dns_enabled: false,
        ipam_options: { driver: 'host-local' },
      },
    },
  });
}

/**
 * A netavark "host" ready to attach sandboxes: its host namespace, its config directory, and one
 * sandbox kept attached for the whole run, because netavark deletes the bridge when its last
 * container leaves and nlnet's bridge stays: so each timed attach finds the bridge, as nlnet's does.
 */
export async function open({ bin, version }) {
  const host = nsName('nvhost');
  const config = join(workDir(), 'netavark');
  mkdirSync(config, { recursive: true });
  await netns.create(host);
  execInHost(host, ['ip', 'link', 'set', 'lo', 'up']);
  const netavark = (cmd, sb) => execInHost(host, [bin, '--config', config, cmd, `/run/netns/${sb.s}`], { input: options(sb) });

  const tool = {
    label: version,
    host,
    /** Names a sandbox of this run: its namespace, address (10.88.x.y) and ports. */
    sandbox(tag, index, ports) {
      return { name: tag, s: nsName(`nv-${tag}`), addr: `10.88.${index >> 8}.${index & 255}`, ports };
    },
    async attach(sb) {
      await netns.create(sb.s);
      netavark('setup', sb);
    },
    async detach(sb) {
      netavark('teardown', sb);
      await netns.delete(sb.s);
    },
    checkAttached(sb) {
      checkSandboxAddress(sb.s, sb.addr);
      const p = sb.ports[0];
      if (!hasDnat(host, p.host, sb.addr, p.container)) throw new Error(`netavark: no DNAT ${p.host} -> ${sb.addr}:${p.container} in ${host}`);
    },
    checkDetached(sb) {
      if (existsSync(`/run/netns/${sb.s}`)) throw new Error(`${sb.s} still exists after teardown`);
      const p = sb.ports[0];
      if (hasDnat(host, p.host, sb.addr, p.container)) throw new Error(`netavark: DNAT ${p.host} -> ${sb.addr}:${p.container} still in ${host}`);
    },
  };
  const keeper = tool.sandbox('keeper', 3, [{ host: 7999, container: 80 }]);
  await tool.attach(keeper);
  tool.close = async () => {
    await tool.detach(keeper).catch(() => undefined);
  };
  return tool;
}
