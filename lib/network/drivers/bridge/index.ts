// The bridge driver: one Linux bridge per network (the default network's on nlnet0, the others on
// `br-` + 12 hex of the id), its gateway address and firewall (firewall.ts), and one veth pair per
// endpoint (veth.ts); published ports through the host's nf_tables maps (ports.ts).
import { ValidationError } from '../../../core/errors.js';
import { DEFAULT_NETWORK, GWBRIDGE, hostIfName } from '../../model/sandbox.js';
import { checkIpv6Wish, configureSandbox, deleteLink, MTU, sandboxSteps, withNetlink } from '../common.js';
import type { Driver } from '../driver.js';
import * as firewall from './firewall.js';
import { ports } from './ports.js';
import { reconcileBridges } from './reconcile.js';
import { bridgeSpec, createBridge, createVeth, firewallSpec, ICC, isSwitch, MASQUERADE, vethSpec, vethSteps } from './veth.js';

function checkBool(options: Record<string, string>, key: string): void {
  const v = options[key];
  if (v !== undefined && !isSwitch(v)) throw new ValidationError(`options.${key}`, v, 'expected true or false');
}

export const bridge: Driver<'bridge'> = {
  name: 'bridge',
  options: [MASQUERADE, ICC, MTU],

  checkOptions(options, opts) {
    checkIpv6Wish(opts);
    for (const k of [MASQUERADE, ICC]) checkBool(options, k);
  },

  // Docker's default network has its own device name (docker0); ours is nlnet0. docker_gwbridge
  // is Docker's name for both the network and its device.
  deviceName: (name, id) => (name === DEFAULT_NETWORK ? 'nlnet0' : name === GWBRIDGE ? GWBRIDGE : `br-${id.slice(0, 12)}`),

  embeddedDns: (net) => net.name !== DEFAULT_NETWORK,

  /** The bridge, then its firewall; the bridge carries `owner` (owner.ts) as its alias. */
  async createNetwork({ nl, owner }, rec, undo, step) {
    await step('net-bridge');
    await createBridge(nl, bridgeSpec(rec, owner));
    undo.push(() => deleteLink(nl, rec.bridge));
    undo.push(() => firewall.removeNetwork(nl, rec.bridge));
    await step('net-firewall');
    await firewall.addNetwork(nl, firewallSpec(rec));
    await nl.sysctl.set('net.ipv4.ip_forward', 1);
    if (rec.subnet6 !== undefined) await nl.sysctl.set('net.ipv6.conf.all.forwarding', 1);
    await step('net-finish');
  },

  async deleteNetwork({ nl }, rec, step) {
    await step('net-unfirewall');
    await firewall.removeNetwork(nl, rec.bridge);
    await step('net-unbridge');
    await deleteLink(nl, rec.bridge);
  },

  /** The veth pair (one host batch), then the sandbox side (one sandbox batch). */
  async join({ nl, owner }, ns, ep, net, gateway, undo, step) {
    const spec = vethSpec(ns, ep, net, owner);
    await step('veth');
    await createVeth(nl, spec);
    undo.push(() => deleteLink(nl, ep.hostIf));
    await step('sandbox');
    await withNetlink(ns, (s) => configureSandbox(s, spec, gateway ? net.gateway : undefined, false, gateway ? net.gateway6 : undefined));
  },

  /** join's two batches as parts of the attach job; a pair made by a part that then failed is deleted. */
  joinParts({ nl, owner }, a, ns, ep, net, gateway) {
    const spec = vethSpec(ns, ep, net, owner);
    const veth = a.job.batch(nl, (b) => vethSteps(b, spec));
    a.part(veth, { step: 'veth', undo: () => deleteLink(nl, ep.hostIf), partial: async (e) => ((e as { step?: number }).step === 0 ? undefined : deleteLink(nl, ep.hostIf)) });
    const side = a.job.batchIn(ns, (b) => sandboxSteps(b, spec, gateway ? net.gateway : undefined, false, gateway ? net.gateway6 : undefined));
    a.part(side, { step: 'sandbox' });
  },

  // The host end takes its peer with it.
  leave: ({ nl }, _ns, ep) => deleteLink(nl, ep.hostIf),

  defaultDev: () => false,
  hostIfName,
  ports,
  reconcile: reconcileBridges,
};
