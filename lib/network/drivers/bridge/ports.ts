// Published ports of bridge endpoints (`docker run -p`): the host's nf_tables maps (firewall.ts),
// one element per port and address family, and their repair on start.
import { isIP } from 'node:net';

import { contains, validateSubnet } from '../../ipam/v4.js';
import type { EndpointRecord } from '../../model/sandbox.js';
import type { PortPublisher } from '../driver.js';
import * as firewall from './firewall.js';

/**
 * An endpoint's published ports as the firewall takes them. A port without a host address is
 * published on every IPv4 address and, when the endpoint has IPv6, on every IPv6 one too (as
 * Docker binds 0.0.0.0 and [::]); one with a host address only in that address's family.
 */
export function firewallPorts(ep: EndpointRecord): firewall.FirewallPort[] {
  return (ep.ports ?? []).flatMap((p) => {
    const base = { protocol: p.protocol, hostPort: p.hostPort, containerPort: p.containerPort };
    const v6Host = p.hostIp !== undefined && isIP(p.hostIp) === 6;
    const out: firewall.FirewallPort[] = [];
    if (!v6Host) out.push({ ...base, ...(p.hostIp === undefined ? {} : { hostIp: p.hostIp }), containerIp: ep.ip });
    if (ep.ip6 !== undefined && (p.hostIp === undefined || v6Host)) out.push({ ...base, ...(p.hostIp === undefined ? {} : { hostIp: p.hostIp }), containerIp: ep.ip6 });
    return out;
  });
}

const anyAddress = (ip: string | undefined): boolean => ip === undefined || ip === '0.0.0.0' || ip === '::';

/** The map element a published port is, as 'key|value' text (how firewall.unpublish compares). */
function elementText(p: firewall.FirewallPort): string {
  const key = anyAddress(p.hostIp) ? [p.protocol, p.hostPort] : [p.hostIp, p.protocol, p.hostPort];
  return `${String(key)}|${String([p.containerIp, p.containerPort])}`;
}

const showPort = (p: firewall.FirewallPort): string => {
  const v6 = isIP(p.containerIp) === 6;
  const host = p.hostIp ?? (v6 ? '::' : '0.0.0.0');
  return `${v6 ? `[${host}]` : host}:${p.hostPort}/${p.protocol} -> ${v6 ? `[${p.containerIp}]` : p.containerIp}:${p.containerPort}`;
};

export const ports: PortPublisher = {
  publish: (nl, ep) => firewall.publish(nl, firewallPorts(ep)),
  publishParts(a, nl, ep) {
    const list = firewallPorts(ep);
    if (list.length === 0) return;
    const part = a.job.commit(nl, firewall.publishSteps(list));
    a.part(part, { step: 'publish', undo: () => firewall.unpublish(nl, list), explain: (e) => firewall.publishFailure(nl, list, e) });
  },
  unpublish: (nl, ep) => firewall.unpublish(nl, firewallPorts(ep)),
  publishedKeys: (nl) => firewall.publishedKeys(nl),

  /** Elements into this store's bridge networks without an endpoint go, missing ones come back. */
  async reconcile({ nl }, { networks: all, sandboxes }, report) {
    const networks = all.filter((n) => n.driver === 'bridge');
    const wanted = sandboxes.flatMap((s) => s.endpoints.flatMap((e) => firewallPorts(e)));
    const have = await firewall.listPublished(nl);
    const wantedText = new Set(wanted.map(elementText));
    const ours = networks.flatMap((n) => [n.subnet, ...(n.subnet6 === undefined ? [] : [n.subnet6])].map((s) => validateSubnet(s)));
    const intoOurs = (ip: string): boolean => ours.some((s) => contains(s, validateSubnet(`${ip}/${isIP(ip) === 6 ? 128 : 32}`)));
    const stray = have.filter((p) => !wantedText.has(elementText(p)) && intoOurs(p.containerIp));
    if (stray.length > 0) {
      await firewall.unpublish(nl, stray);
      for (const p of stray) report.removed.push(`published port ${showPort(p)}`);
    }
    const haveText = new Set(have.map(elementText));
    const missing = wanted.filter((p) => !haveText.has(elementText(p)));
    if (missing.length > 0) {
      await firewall.ensure(nl);
      if (missing.some((p) => isIP(p.containerIp) === 6)) await firewall.ensure(nl, 'ip6');
      await firewall.publish(nl, missing);
      for (const p of missing) report.recreated.push(`published port ${showPort(p)}`);
    }
  },
};
