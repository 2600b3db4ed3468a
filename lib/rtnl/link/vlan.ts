// vlan: an 802.1Q (or 802.1ad) sub-interface of a parent (`link`), such as eth0.10.
import { oneOf, uint } from '../../core/validate.js';
import { BE16, U16, type WireField } from '../../core/wire.js';
import { VLAN_PROTOCOLS, vlanProtocolName, type VlanProtocol } from './bridge.js';
import type { KindCodec } from './kinds.js';

export interface VlanOptions {
  /** The VLAN id, 0 to 4094. */
  id: number;
  /** 802.1Q unless given. */
  protocol?: VlanProtocol;
}

// <linux/if_link.h>
const IFLA_VLAN_ID = 1;
const IFLA_VLAN_PROTOCOL = 5;

const WIRE: WireField[] = [
  [IFLA_VLAN_ID, 'id', U16],
  [IFLA_VLAN_PROTOCOL, 'protocol', BE16],
];

export const vlanKind: KindCodec<VlanOptions> = {
  wire: WIRE,
  keys: ['id', 'protocol'],
  toNative(s, field, ctx) {
    const d: Record<string, unknown> = {};
    if (s.protocol !== undefined) d.protocol = VLAN_PROTOCOLS[oneOf(`${field}.protocol`, s.protocol, ['802.1Q', '802.1ad'])];
    if (s.id !== undefined || !ctx.forChange) d.id = uint(`${field}.id`, s.id, 0, 4094);
    return d;
  },
  fromNative(d) {
    const o: Partial<VlanOptions> = {};
    if (typeof d.id === 'number') o.id = d.id;
    const p = vlanProtocolName(d.protocol);
    if (typeof p === 'string') o.protocol = p;
    return o;
  },
};
