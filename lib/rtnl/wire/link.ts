// RTM_NEWLINK from the bytes the kernel sent: what linkFromNative makes of the table decoder's
// body (native/rtnl/link.cc), without that body. Follows <linux/if_link.h>; the rules for lengths
// are lib/core/wire.ts's. test/unit/rtnl/wire.test.ts holds the two paths to the same objects.
import { RTM_NEWLINK } from '../../core/constants.js';
import { AttrReader, decodeAttrs, forEachMessage, mac, names8, s32, str, u16, u32 } from '../../core/wire.js';
import { PORT_WIRE, portFromNative } from '../bridge.js';
import { isKnownKind, kinds } from '../link/kinds.js';
import type { Link } from '../link.js';

// <linux/if_link.h>
const IFLA_ADDRESS = 1;
const IFLA_BROADCAST = 2;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINK = 5;
const IFLA_QDISC = 6;
const IFLA_MASTER = 10;
const IFLA_TXQLEN = 13;
const IFLA_OPERSTATE = 16;
const IFLA_LINKINFO = 18;
const IFLA_IFALIAS = 20;
const IFLA_GROUP = 27;
const IFLA_PROMISCUITY = 30;
const IFLA_NUM_TX_QUEUES = 31;
const IFLA_NUM_RX_QUEUES = 32;
const IFLA_CARRIER = 33;
const IFLA_LINK_NETNSID = 37;
const IFLA_MIN_MTU = 50;
const IFLA_MAX_MTU = 51;
const IFLA_PERM_ADDRESS = 54;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_INFO_SLAVE_KIND = 4;
const IFLA_INFO_SLAVE_DATA = 5;
// sizeof(struct ifinfomsg)
const IFINFOMSG_LEN = 16;
// <linux/if.h>
const IFF_UP = 0x1;

// RFC 2863 operational states (IF_OPER_*), as native/rtnl/link.cc names them.
const OPER_STATES = names8({ 0: 'unknown', 1: 'notpresent', 2: 'down', 3: 'lowerlayerdown', 4: 'testing', 5: 'dormant', 6: 'up' });

/** An RTM_GETLINK dump's replies as links. */
export function decodeLinks(bytes: Buffer): Link[] {
  const out: Link[] = [];
  forEachMessage(bytes, RTM_NEWLINK, IFINFOMSG_LEN, (at, end) => {
    const l = decodeLink(bytes, at, end);
    if (l !== undefined) out.push(l);
  });
  return out;
}

/** IFLA_LINKINFO's kind and its options, as linkinfo_decode and linkFromNative read them. */
interface Info {
  kind: string | undefined;
  data: Record<string, unknown> | undefined;
  slaveKind: string | undefined;
  port: Record<string, unknown> | undefined;
}

/**
 * The keys in linkFromNative's order, so that the objects look alike to JSON.stringify too. Made
 * by a constructor, as lib/rtnl/wire/route.ts's routes are: V8 then keeps the keys inside the
 * object instead of regrowing a second array for them, which halves a big dump's decoding.
 */
const LinkObject = function (
  this: Record<string, unknown>,
  index: number, name: unknown, up: boolean, flags: number, operstate: unknown, mtu: unknown, minMtu: unknown, maxMtu: unknown, address: unknown,
  broadcast: unknown, permAddress: unknown, txqlen: unknown, alias: unknown, qdisc: unknown, carrier: unknown, promiscuity: unknown,
  numTxQueues: unknown, numRxQueues: unknown, master: unknown, link: unknown, linkNetnsId: unknown, hwType: number, devgroup: unknown,
) {
  this.index = index;
  if (name !== undefined) this.name = name;
  this.up = up;
  this.flags = flags;
  if (operstate !== undefined) this.operstate = operstate;
  if (mtu !== undefined) this.mtu = mtu;
  if (minMtu !== undefined) this.minMtu = minMtu;
  if (maxMtu !== undefined) this.maxMtu = maxMtu;
  if (address !== undefined) this.address = address;
  if (broadcast !== undefined) this.broadcast = broadcast;
  if (permAddress !== undefined) this.permAddress = permAddress;
  if (txqlen !== undefined) this.txqlen = txqlen;
  if (alias !== undefined) this.alias = alias;
  if (qdisc !== undefined) this.qdisc = qdisc;
  if (carrier !== undefined) this.carrier = carrier;
  if (promiscuity !== undefined) this.promiscuity = promiscuity;
  if (numTxQueues !== undefined) this.numTxQueues = numTxQueues;
  if (numRxQueues !== undefined) this.numRxQueues = numRxQueues;
  if (master !== undefined) this.master = master;
  if (link !== undefined) this.link = link;
  if (linkNetnsId !== undefined) this.linkNetnsId = linkNetnsId;
  this.hwType = hwType;
  if (devgroup !== undefined) this.devgroup = devgroup;
} as unknown as new (...a: unknown[]) => Link;
LinkObject.prototype = Object.prototype;

function decodeLink(b: Buffer, at: number, end: number): Link | undefined {
  let name, operstate, mtu, minMtu, maxMtu, address, broadcast, permAddress, txqlen, alias, qdisc, carrier, promiscuity;
  let numTxQueues, numRxQueues, master, link, linkNetnsId, group;
  let info: Info | undefined;
  const r = new AttrReader(b, at + IFINFOMSG_LEN, end);
  while (r.next()) {
    const d = r.data;
    const n = r.len;
    switch (r.type) {
      case IFLA_IFNAME: name = str(b, d, n); break;
      case IFLA_OPERSTATE: if (n === 1) operstate = OPER_STATES[b[d]!]; break;
      case IFLA_MTU: if (n === 4) mtu = u32(b, d); break;
      case IFLA_MIN_MTU: if (n === 4) minMtu = u32(b, d); break;
      case IFLA_MAX_MTU: if (n === 4) maxMtu = u32(b, d); break;
      case IFLA_ADDRESS: address = mac(b, d, n); break;
      case IFLA_BROADCAST: broadcast = mac(b, d, n); break;
      case IFLA_PERM_ADDRESS: permAddress = mac(b, d, n); break;
      case IFLA_TXQLEN: if (n === 4) txqlen = u32(b, d); break;
      case IFLA_IFALIAS: alias = str(b, d, n); break;
      case IFLA_QDISC: qdisc = str(b, d, n); break;
      case IFLA_CARRIER: if (n === 1) carrier = b[d] !== 0; break;
      case IFLA_PROMISCUITY: if (n === 4) promiscuity = u32(b, d); break;
      case IFLA_NUM_TX_QUEUES: if (n === 4) numTxQueues = u32(b, d); break;
      case IFLA_NUM_RX_QUEUES: if (n === 4) numRxQueues = u32(b, d); break;
      case IFLA_MASTER: if (n === 4) master = u32(b, d); break;
      case IFLA_LINK: if (n === 4) link = u32(b, d); break;
      case IFLA_LINK_NETNSID: if (n === 4) linkNetnsId = s32(b, d); break;
      case IFLA_GROUP: if (n === 4) group = u32(b, d); break;
      case IFLA_LINKINFO: info = decodeInfo(b, d, d + n) ?? info; break;
    }
  }
  if (r.malformed) return undefined;
  const flags = u32(b, at + 8);
  const l = new LinkObject(
    u32(b, at + 4), name, (flags & IFF_UP) !== 0, flags, operstate, mtu, minMtu, maxMtu, address, broadcast, permAddress, txqlen, alias, qdisc,
    carrier, promiscuity, numTxQueues, numRxQueues, master, link, linkNetnsId, u16(b, at + 2), group,
  ) as Record<string, unknown>;
  if (info?.kind !== undefined) {
    l.kind = info.kind;
    if (info.data !== undefined && isKnownKind(info.kind)) Object.assign(l, kinds[info.kind].fromNative(info.data));
  }
  if (info?.slaveKind !== undefined) {
    l.slaveKind = info.slaveKind;
    if (info.port !== undefined) l.bridgePort = portFromNative(info.port);
  }
  return l as Link;
}

/**
 * The kind decides how IFLA_INFO_DATA reads; an empty kind counts as none, and data that does not
 * parse is left out while its kind stays. A nest that does not parse is no info at all.
 */
function decodeInfo(b: Buffer, at: number, end: number): Info | undefined {
  let kind, slaveKind;
  let data = -1;
  let dataEnd = 0;
  let slave = -1;
  let slaveEnd = 0;
  const r = new AttrReader(b, at, end);
  while (r.next()) {
    switch (r.type) {
      case IFLA_INFO_KIND: kind = str(b, r.data, r.len); break;
      case IFLA_INFO_DATA: (data = r.data), (dataEnd = r.data + r.len); break;
      case IFLA_INFO_SLAVE_KIND: slaveKind = str(b, r.data, r.len); break;
      case IFLA_INFO_SLAVE_DATA: (slave = r.data), (slaveEnd = r.data + r.len); break;
    }
  }
  if (r.malformed) return undefined;
  const info: Info = { kind: kind || undefined, data: undefined, slaveKind: slaveKind || undefined, port: undefined };
  if (info.kind !== undefined && data >= 0 && isKnownKind(info.kind)) info.data = decodeAttrs(b, data, dataEnd, kinds[info.kind].wire);
  // Of the masters, only a bridge has port attributes the tables know.
  if (info.slaveKind === 'bridge' && slave >= 0) info.port = decodeAttrs(b, slave, slaveEnd, PORT_WIRE);
  return info;
}
