// RTM_NEWROUTE from the bytes the kernel sent: what routeFromNative makes of the table decoder's
// body (native/rtnl/route.cc), without that body. Follows <linux/rtnetlink.h>; the rules for
// lengths are lib/core/wire.ts's. test/unit/rtnl/wire.test.ts holds the two paths to the same objects.
import { RTM_NEWROUTE } from '../../core/constants.js';
import { AttrReader, forEachMessage, ip, ipv4Prefix, names8, s32, u16, u32 } from '../../core/wire.js';
import type { Route } from '../route.js';

// <linux/rtnetlink.h>
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_METRICS = 8;
const RTA_MULTIPATH = 9;
const RTA_TABLE = 15;
const RTAX_MTU = 2;
const RTAX_ADVMSS = 8;
const RTNH_F_ONLINK = 4;
// sizeof(struct rtmsg), sizeof(struct rtnexthop)
const RTMSG_LEN = 12;
const RTNEXTHOP_LEN = 8;

// The names native/rtnl/route.cc and link.cc give (their enum tables); other values stay numbers.
const FAMILIES = names8({ 0: 'unspec', 2: 'inet', 10: 'inet6', 7: 'bridge' });
const TYPES = names8({ 0: 'unspec', 1: 'unicast', 2: 'local', 3: 'broadcast', 4: 'anycast', 5: 'multicast', 6: 'blackhole', 7: 'unreachable', 8: 'prohibit', 9: 'throw', 10: 'nat' });
const PROTOCOLS = names8({
  0: 'unspec', 1: 'redirect', 2: 'kernel', 3: 'boot', 4: 'static', 8: 'gated', 9: 'ra', 10: 'mrt', 11: 'zebra', 12: 'bird', 13: 'dnrouted',
  14: 'xorp', 15: 'ntk', 16: 'dhcp', 18: 'keepalived', 42: 'babel', 99: 'openr', 186: 'bgp', 187: 'isis', 188: 'ospf', 189: 'rip', 192: 'eigrp',
});
const SCOPES = names8({ 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' });
// rtm_table without RTA_TABLE: routeFromNative knows default, main and local by name, and takes
// the other names (unspec, compat) for 0.
const TABLE_IDS = Array.from({ length: 256 }, (_, i) => (i === 252 ? 0 : i));

type Nexthop = NonNullable<Route['nexthops']>[number];

/** An RTM_GETROUTE dump's replies as routes. */
export function decodeRoutes(bytes: Buffer): Route[] {
  const out: Route[] = [];
  forEachMessage(bytes, RTM_NEWROUTE, RTMSG_LEN, (at, end) => {
    const r = decodeRoute(bytes, at, end);
    if (r !== undefined) out.push(r);
  });
  return out;
}

/**
 * Made by a constructor rather than a literal: V8 then leaves room inside each object for the
 * optional keys (slack tracking) where a literal puts added keys in a second allocation, and a
 * big dump spends much of its time in the garbage collector. The prototype is Object.prototype:
 * these are plain objects, as routeFromNative's are.
 */
const RouteObject = function (
  this: Record<string, unknown>,
  family: unknown, dst: string, type: unknown, table: number, protocol: unknown, scope: unknown,
  via: unknown, dev: unknown, src: unknown, metric: unknown, onlink: boolean, mtu: unknown, advmss: unknown, nexthops: unknown,
) {
  this.family = family;
  this.dst = dst;
  this.type = type;
  this.table = table;
  this.protocol = protocol;
  this.scope = scope;
  if (via !== undefined) this.via = via;
  if (dev !== undefined) this.dev = dev;
  if (src !== undefined) this.src = src;
  if (metric !== undefined) this.metric = metric;
  if (onlink) this.onlink = true;
  if (mtu !== undefined) this.mtu = mtu;
  if (advmss !== undefined) this.advmss = advmss;
  if (nexthops !== undefined) this.nexthops = nexthops;
} as unknown as new (...a: unknown[]) => Route;
RouteObject.prototype = Object.prototype;

function decodeRoute(b: Buffer, at: number, end: number): Route | undefined {
  let dst = -1;
  let dstSize = 0;
  let via, src;
  let dev, metric, table, mtu, advmss;
  let nexthops: Nexthop[] | undefined;
  const r = new AttrReader(b, at + RTMSG_LEN, end);
  while (r.next()) {
    const d = r.data;
    const n = r.len;
    switch (r.type) {
      case RTA_DST: (dst = d), (dstSize = n); break;
      case RTA_TABLE: if (n === 4) table = u32(b, d); break;
      case RTA_OIF: if (n === 4) dev = u32(b, d); break;
      case RTA_GATEWAY: via = ip(b, d, n); break;
      case RTA_PREFSRC: src = ip(b, d, n); break;
      case RTA_PRIORITY: if (n === 4) metric = u32(b, d); break;
      case RTA_METRICS: {
        // A later nest that parses replaces the earlier one whole, as the body's key would.
        const m = new AttrReader(b, d, d + n);
        let mMtu, mAdvmss;
        while (m.next()) {
          if (m.type === RTAX_MTU && m.len === 4) mMtu = u32(b, m.data);
          else if (m.type === RTAX_ADVMSS && m.len === 4) mAdvmss = u32(b, m.data);
        }
        if (!m.malformed) (mtu = mMtu), (advmss = mAdvmss);
        break;
      }
      case RTA_MULTIPATH: nexthops = decodeMultipath(b, d, n) ?? nexthops; break;
    }
  }
  if (r.malformed) return undefined;
  const family = FAMILIES[b[at]!];
  const dstLen = b[at + 1]!;
  // As routeFromNative writes it; an address neither 4 nor 16 bytes long is a Buffer there, and
  // its template prints the bytes.
  let prefix;
  if (dst < 0) prefix = dstLen === 0 ? 'default' : `${family === 'inet' ? '0.0.0.0' : '::'}/${dstLen}`;
  else if (dstSize === 4) prefix = ipv4Prefix(b, dst, dstLen);
  else prefix = `${ip(b, dst, dstSize)}/${dstLen}`;
  return new RouteObject(
    family, prefix, TYPES[b[at + 7]!], table ?? TABLE_IDS[b[at + 4]!], PROTOCOLS[b[at + 5]!], SCOPES[b[at + 6]!],
    via, dev, src, metric, (u32(b, at + 8) & RTNH_F_ONLINK) !== 0, mtu, advmss, nexthops,
  );
}

/** RTA_MULTIPATH: struct rtnexthop, each followed by its attributes; undefined if it does not parse. */
function decodeMultipath(b: Buffer, at: number, len: number): Nexthop[] | undefined {
  const hops: Nexthop[] = [];
  let off = 0;
  while (off + RTNEXTHOP_LEN <= len) {
    const p = at + off;
    const hopLen = u16(b, p);
    if (hopLen < RTNEXTHOP_LEN || off + hopLen > len) return undefined;
    let via;
    const r = new AttrReader(b, p + RTNEXTHOP_LEN, p + hopLen);
    while (r.next()) if (r.type === RTA_GATEWAY) via = ip(b, r.data, r.len);
    if (r.malformed) return undefined;
    const flags = b[p + 2]!;
    const hop: Record<string, unknown> = { dev: s32(b, p + 4), weight: b[p + 3]! + 1 };
    if (via !== undefined) hop.via = via;
    if (flags & RTNH_F_ONLINK) hop.onlink = true;
    hops.push(hop as unknown as Nexthop);
    off += (hopLen + 3) & ~3;
  }
  return hops;
}
