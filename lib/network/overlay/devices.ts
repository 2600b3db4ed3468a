// An overlay network's kernel side on one host, as Docker's overlay driver builds it: a namespace
// of the network's own holding a bridge `br0` (the subnet's gateway address on it) and a vxlan
// device `vxlan0` as its port; each endpoint a veth whose one end is a port of br0 and whose other
// end is born as the sandbox's eth0. The namespace keeps overlay networks apart from each other and
// from the host's own networks with no firewall rule at all: nothing routes out of it.
//
// vxlan0 is created by the host namespace's handle straight into the network's namespace: the
// kernel opens a vxlan device's UDP socket in the namespace that created it, so the tunnel runs
// over the host's underlay (port 4789, no group, learning off) while the device sits in br0.
// Remote endpoints are static entries on vxlan0: `bridge fdb replace MAC dev vxlan0 dst VTEP self
// permanent` and `ip neigh replace IP lladdr MAC dev vxlan0 nud permanent`, and vxlan0 answers ARP
// from those (proxy), so no frame is ever flooded or learned.
import { setTimeout as sleep } from 'node:timers/promises';

import { NotFoundError } from '../../core/errors.js';
import type { Netlink } from '../../rtnl/netlink.js';
import { VXLAN_PORT } from '../../rtnl/link/vxlan.js';
import { netns, type NetnsTarget } from '../../netns/namespace.js';
import { batchMakingLink, deleteLink, deleteNetns, prefixlen, withNetlink } from '../drivers/common.js';
import { markNetns, unmarkNetns } from '../owner.js';
import { sandboxNetnsName } from '../model/sandbox.js';

export const OVERLAY_BRIDGE = 'br0';
export const OVERLAY_VXLAN = 'vxlan0';
/** VXLAN's own headers: outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
export const VXLAN_OVERHEAD = 50;
/** How long a VNI of a namespace deleted just now may stay taken (see addVxlan), ms. */
const VNI_RELEASE_WAIT_MS = 1000;
/** How long a namespace another process is making may take to be mounted, ms. */
const MOUNT_WAIT_MS = 2000;

/**
 * The namespace of an overlay network on a host: Docker's `1-<10 hex of the id>`, after the
 * host's sandbox prefix (so a host's sweep finds it) and an `@`, which no sandbox name has.
 */
export function overlayNetnsName(hostNetns: string, networkId: string): string {
  return `${sandboxNetnsName(hostNetns, '')}@1-${networkId.slice(0, 10)}`;
}

/** What one host makes of an overlay network. */
export interface OverlaySpec {
  /** The network's namespace on this host (overlayNetnsName). */
  netns: string;
  vni: number;
  /** The gateway address, on br0. */
  gateway: string;
  subnet: string;
  /** Of br0, vxlan0 and every endpoint: the underlay's MTU − 50. */
  mtu: number;
  /** The store's owner id, as the namespace's marker (owner.ts). */
  owner: string;
}

/** Whether the network's namespace is there with its br0 and vxlan0. */
export async function overlayPresent(spec: Pick<OverlaySpec, 'netns'>): Promise<boolean> {
  if (!netns.mounted(spec.netns)) return false;
  const names = await withNetlink(spec.netns, async (ns) => (await ns.link.list()).map((l) => l.name));
  return names.includes(OVERLAY_BRIDGE) && names.includes(OVERLAY_VXLAN);
}

/**
 * Makes what is missing of the network's namespace, br0 and vxlan0 (two processes of one host may
 * race to it: what the other made counts). Returns whether it made the namespace; on failure what
 * this call made is gone again.
 */
export async function ensureOverlay(host: Netlink, spec: OverlaySpec): Promise<boolean> {
  if (whole.has(spec.netns) && netns.mounted(spec.netns)) return false;
  let madeNs = false;
  if (!netns.mounted(spec.netns)) {
    markNetns(spec.netns, spec.owner);
    try {
      await netns.create(spec.netns);
      madeNs = true;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') {
        unmarkNetns(spec.netns);
        throw e;
      }
      // Another process made the file and bind-mounts the namespace on it next (`ip netns
      // add`'s two steps): opened before that, the bare file is "not a network namespace".
      for (const until = Date.now() + MOUNT_WAIT_MS; !netns.mounted(spec.netns) && Date.now() < until; ) await sleep(5);
    }
  }
  try {
    await withNetlink(spec.netns, async (ns) => {
      const names = new Set((await ns.link.list()).map((l) => l.name));
      if (!names.has(OVERLAY_BRIDGE)) {
        await tolerateExisting(
          ns.batch((b) => {
            b.link.set('lo', { up: true });
            const br = b.link.add({ kind: 'bridge', name: OVERLAY_BRIDGE, mtu: spec.mtu });
            b.addr.add({ dev: br, address: `${spec.gateway}/${prefixlen(spec.subnet)}` });
            b.link.set(br, { up: true });
          }),
        );
      }
      if (!names.has(OVERLAY_VXLAN)) await addVxlan(host, ns, spec);
      await ns.link.set(OVERLAY_VXLAN, { master: OVERLAY_BRIDGE, up: true });
    });
  } catch (e) {
    if (madeNs) await removeOverlay(spec.netns);
    throw e;
  }
  whole.add(spec.netns);
  return madeNs;
}

/**
 * The networks' namespaces this process made or found whole, so that an attach next to other
 * endpoints does not dump the namespace's links each time; forgotten when removed, and when an
 * endpoint's steps in it fail (forgetOverlay), so the next attach checks again.
 */
const whole = new Set<string>();

export function forgetOverlay(ns: string): void {
  whole.delete(ns);
}

/**
 * vxlan0, made by the host's handle into the network's namespace. EEXIST means another process
 * made it (it is in the namespace then) or that a vxlan with this VNI and port is still
 * registered in the host namespace: one whose namespace was deleted lives on until the kernel's
 * cleanup work has run. That one is waited out, a second at most, then its error is the answer.
 */
async function addVxlan(host: Netlink, ns: Netlink, spec: OverlaySpec): Promise<void> {
  for (const until = Date.now() + VNI_RELEASE_WAIT_MS; ; ) {
    try {
      await host.batch((b) => void b.link.add({ kind: 'vxlan', name: OVERLAY_VXLAN, netns: spec.netns, vni: spec.vni, dstport: VXLAN_PORT, learning: false, proxy: true, mtu: spec.mtu }));
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
      if ((await ns.link.list()).some((l) => l.name === OVERLAY_VXLAN)) return;
      if (Date.now() >= until) throw e;
      await sleep(20);
    }
  }
}

async function tolerateExisting(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if ((e as { code?: string }).code !== 'EEXIST') throw e;
  }
}

/**
 * Deletes the network's namespace (the endpoints' ends go with it) and its marker. vxlan0 is
 * deleted first, by a handle inside: the namespace itself is destroyed later by the kernel's
 * cleanup work, and until then its vxlan0 would keep the VNI taken in the host namespace.
 */
export async function removeOverlay(ns: string): Promise<void> {
  whole.delete(ns);
  if (netns.mounted(ns)) await withNetlink(ns, (n) => deleteLink(n, OVERLAY_VXLAN)).catch(() => undefined);
  await deleteNetns(ns);
  unmarkNetns(ns);
}

/** One endpoint of an overlay network, as its veth is made. */
export interface OverlayEndpointSpec {
  /** The end in the network's namespace, a port of br0. */
  peerIf: string;
  /** The end in the sandbox: eth0… */
  ifname: string;
  sandbox: NetnsTarget;
  mac: string;
  mtu: number;
}

/**
 * `ip -n OVERLAY link add PEERIF mtu M master br0 type veth peer name IFNAME netns SANDBOX address
 * MAC mtu M; ip -n OVERLAY link set PEERIF up`. A pair made by a batch that then failed is deleted.
 */
export async function createOverlayVeth(overlayNs: string, e: OverlayEndpointSpec): Promise<void> {
  await withNetlink(overlayNs, (ns) =>
    batchMakingLink(ns, e.peerIf, (b) => {
      const v = b.link.add({ kind: 'veth', name: e.peerIf, mtu: e.mtu, master: OVERLAY_BRIDGE, peer: { name: e.ifname, netns: e.sandbox, address: e.mac, mtu: e.mtu } });
      b.link.set(v, { up: true });
    }),
  );
}

/**
 * A remote endpoint as vxlan0 needs it: its MAC and address, and its host's underlay address
 * (programmedPeers reports a half entry with '' for the missing half).
 */
export interface Peer {
  mac: string;
  ip: string;
  vtep: string;
}

const peerKey = (p: Peer): string => `${p.mac}|${p.ip}|${p.vtep}`;

/**
 * Programs `add` and withdraws `remove` on vxlan0 of the network's namespace, in one batch each
 * way (replace semantics: an entry that points at a container's old host is overwritten, never
 * kept). A withdrawal of an entry already gone is not an error.
 */
export async function programPeers(overlayNs: string, add: readonly Peer[], remove: readonly Peer[]): Promise<void> {
  await withNetlink(overlayNs, async (ns) => {
    if (remove.length > 0) await withdraw(ns, remove);
    if (add.length > 0) {
      await ns.batch((b) => {
        for (const p of add) {
          b.fdb.replace({ dev: OVERLAY_VXLAN, lladdr: p.mac, dst: p.vtep, self: true, state: 'permanent' });
          b.neigh.replace({ dev: OVERLAY_VXLAN, address: p.ip, lladdr: p.mac, state: 'permanent' });
        }
      });
    }
  });
}

async function withdraw(ns: Netlink, peers: readonly Peer[]): Promise<void> {
  try {
    await ns.batch((b) => {
      for (const p of peers) {
        if (p.ip !== '') b.neigh.del({ dev: OVERLAY_VXLAN, address: p.ip });
        if (p.vtep !== '') b.fdb.del({ dev: OVERLAY_VXLAN, lladdr: p.mac, dst: p.vtep, self: true });
      }
    });
  } catch {
    // One entry gone already stops the batch: the rest one by one, each gone-already fine.
    for (const p of peers) {
      if (p.ip !== '') await ns.neigh.del({ dev: OVERLAY_VXLAN, address: p.ip }).catch(ignoreGone);
      if (p.vtep !== '') await ns.fdb.del({ dev: OVERLAY_VXLAN, lladdr: p.mac, dst: p.vtep, self: true }).catch(ignoreGone);
    }
  }
}

function ignoreGone(e: unknown): void {
  const code = (e as { code?: string }).code;
  if (!(e instanceof NotFoundError) && code !== 'ENOENT' && code !== 'ENODEV' && code !== 'ESRCH') throw e;
}

/**
 * The peers vxlan0 has now: its FDB entries with a destination, each matched with the neighbour
 * entry of its MAC. What a full resync (daemon start) compares with what etcd says. An entry
 * without its other half (made by hand, or a programming cut short) is a peer with '' for the
 * missing half: etcd never wants it, so the resync withdraws it.
 */
export async function programmedPeers(overlayNs: string): Promise<Peer[]> {
  return withNetlink(overlayNs, async (ns) => {
    const vx = (await ns.link.list()).find((l) => l.name === OVERLAY_VXLAN);
    if (vx === undefined) return [];
    const fdb = (await ns.fdb.list({ dev: OVERLAY_VXLAN })).filter((f) => f.self);
    const neigh = (await ns.neigh.list({ dev: OVERLAY_VXLAN, family: 'inet' })).filter((n) => n.lladdr !== undefined);
    const ipOf = new Map(neigh.map((n) => [n.lladdr!, n.address]));
    const macs = new Set(fdb.flatMap((f) => (f.dst === undefined ? [] : [f.lladdr])));
    return [
      ...fdb.flatMap((f) => (f.dst === undefined ? [] : [{ mac: f.lladdr, ip: ipOf.get(f.lladdr) ?? '', vtep: f.dst }])),
      ...neigh.filter((n) => !macs.has(n.lladdr!)).map((n) => ({ mac: n.lladdr!, ip: n.address, vtep: '' })),
    ];
  });
}

/** What to add and remove to get from `have` to `want`. */
export function peerDiff(have: readonly Peer[], want: readonly Peer[]): { add: Peer[]; remove: Peer[] } {
  const h = new Set(have.map(peerKey));
  const w = new Set(want.map(peerKey));
  return { add: want.filter((p) => !h.has(peerKey(p))), remove: have.filter((p) => !w.has(peerKey(p))) };
}
