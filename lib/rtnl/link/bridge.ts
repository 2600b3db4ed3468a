// bridge: a software switch. Times are in hundredths of a second (the kernel's clock_t), as
// `ip link add type bridge forward_delay 1500` takes them.
import type { Body } from '../../core/binding.js';
import { bool, oneOf, uint } from '../../core/validate.js';
import { BE16, BOOL8, U16, U32, type WireField } from '../../core/wire.js';
import type { KindCodec } from './kinds.js';

export type VlanProtocol = '802.1Q' | '802.1ad';
export const VLAN_PROTOCOLS: Record<VlanProtocol, number> = { '802.1Q': 0x8100, '802.1ad': 0x88a8 };

export function vlanProtocolName(n: unknown): VlanProtocol | number | undefined {
  if (typeof n !== 'number') return undefined;
  const hit = (Object.keys(VLAN_PROTOCOLS) as VlanProtocol[]).find((k) => VLAN_PROTOCOLS[k] === n);
  return hit ?? n;
}

export interface BridgeOptions {
  /** Spanning tree (`stp_state 1`). */
  stp?: boolean;
  forwardDelay?: number;
  helloTime?: number;
  maxAge?: number;
  /** FDB ageing time, hundredths of a second (default 30000: 300 s). */
  ageingTime?: number;
  priority?: number;
  vlanFiltering?: boolean;
  vlanProtocol?: VlanProtocol;
  vlanDefaultPvid?: number;
  mcastSnooping?: boolean;
  mcastQuerier?: boolean;
  nfCallIptables?: boolean;
  nfCallIp6tables?: boolean;
  groupFwdMask?: number;
}

const U32_MAX = 0xffffffff;
// key → [native key, check]
const FIELDS: Record<keyof BridgeOptions, [string, (f: string, v: unknown) => unknown]> = {
  stp: ['stpState', (f, v) => (bool(f, v) ? 1 : 0)],
  forwardDelay: ['forwardDelay', (f, v) => uint(f, v, 0, U32_MAX)],
  helloTime: ['helloTime', (f, v) => uint(f, v, 0, U32_MAX)],
  maxAge: ['maxAge', (f, v) => uint(f, v, 0, U32_MAX)],
  ageingTime: ['ageingTime', (f, v) => uint(f, v, 0, U32_MAX)],
  priority: ['priority', (f, v) => uint(f, v, 0, 65535)],
  vlanFiltering: ['vlanFiltering', bool],
  vlanProtocol: ['vlanProtocol', (f, v) => VLAN_PROTOCOLS[oneOf(f, v, ['802.1Q', '802.1ad'])]],
  vlanDefaultPvid: ['vlanDefaultPvid', (f, v) => uint(f, v, 0, 4094)],
  mcastSnooping: ['mcastSnooping', bool],
  mcastQuerier: ['mcastQuerier', bool],
  nfCallIptables: ['nfCallIptables', bool],
  nfCallIp6tables: ['nfCallIp6tables', bool],
  groupFwdMask: ['groupFwdMask', (f, v) => uint(f, v, 0, 65535)],
};

// <linux/if_link.h>
const IFLA_BR_FORWARD_DELAY = 1;
const IFLA_BR_HELLO_TIME = 2;
const IFLA_BR_MAX_AGE = 3;
const IFLA_BR_AGEING_TIME = 4;
const IFLA_BR_STP_STATE = 5;
const IFLA_BR_PRIORITY = 6;
const IFLA_BR_VLAN_FILTERING = 7;
const IFLA_BR_VLAN_PROTOCOL = 8;
const IFLA_BR_GROUP_FWD_MASK = 9;
const IFLA_BR_MCAST_SNOOPING = 23;
const IFLA_BR_MCAST_QUERIER = 25;
const IFLA_BR_NF_CALL_IPTABLES = 36;
const IFLA_BR_NF_CALL_IP6TABLES = 37;
const IFLA_BR_VLAN_DEFAULT_PVID = 39;

const WIRE: WireField[] = [
  [IFLA_BR_FORWARD_DELAY, 'forwardDelay', U32],
  [IFLA_BR_HELLO_TIME, 'helloTime', U32],
  [IFLA_BR_MAX_AGE, 'maxAge', U32],
  [IFLA_BR_AGEING_TIME, 'ageingTime', U32],
  [IFLA_BR_STP_STATE, 'stpState', U32],
  [IFLA_BR_PRIORITY, 'priority', U16],
  [IFLA_BR_VLAN_FILTERING, 'vlanFiltering', BOOL8],
  [IFLA_BR_VLAN_PROTOCOL, 'vlanProtocol', BE16],
  [IFLA_BR_GROUP_FWD_MASK, 'groupFwdMask', U16],
  [IFLA_BR_MCAST_SNOOPING, 'mcastSnooping', BOOL8],
  [IFLA_BR_MCAST_QUERIER, 'mcastQuerier', BOOL8],
  [IFLA_BR_NF_CALL_IPTABLES, 'nfCallIptables', BOOL8],
  [IFLA_BR_NF_CALL_IP6TABLES, 'nfCallIp6tables', BOOL8],
  [IFLA_BR_VLAN_DEFAULT_PVID, 'vlanDefaultPvid', U16],
];

export const bridgeKind: KindCodec<BridgeOptions> = {
  wire: WIRE,
  keys: Object.keys(FIELDS),
  toNative(spec, field) {
    const data: Body = {};
    for (const [key, [nativeKey, check]] of Object.entries(FIELDS)) {
      const v = (spec as Record<string, unknown>)[key];
      if (v !== undefined) data[nativeKey] = check(`${field}.${key}`, v);
    }
    return data;
  },
  fromNative(d) {
    const o: Record<string, unknown> = {};
    for (const [key, [nativeKey]] of Object.entries(FIELDS)) if (d[nativeKey] !== undefined) o[key] = d[nativeKey];
    if (typeof d.stpState === 'number') o.stp = d.stpState !== 0;
    if (d.vlanProtocol !== undefined) o.vlanProtocol = vlanProtocolName(d.vlanProtocol);
    return o as Partial<BridgeOptions>;
  },
};
