// ipvlan / ipvtap: sub-interfaces of a parent (`link`) sharing its MAC.
import { oneOf } from '../../core/validate.js';
import { enumOf, type WireField } from '../../core/wire.js';
import type { KindCodec } from './kinds.js';

export type IpvlanMode = 'l2' | 'l3' | 'l3s';
export type IpvlanFlag = 'bridge' | 'private' | 'vepa';

export interface IpvlanOptions {
  mode?: IpvlanMode;
  /** `bridge` (default), `private` or `vepa`. */
  flag?: IpvlanFlag;
}

// <linux/if_link.h>
const IFLA_IPVLAN_MODE = 1;
const IFLA_IPVLAN_FLAGS = 2;

// As native/rtnl/link_ipvlan.cc names them: IPVLAN_MODE_L2/L3/L3S, and 0, IPVLAN_F_PRIVATE, IPVLAN_F_VEPA.
const WIRE: WireField[] = [
  [IFLA_IPVLAN_MODE, 'mode', enumOf(2, { 0: 'l2', 1: 'l3', 2: 'l3s' })],
  [IFLA_IPVLAN_FLAGS, 'flags', enumOf(2, { 0: 'bridge', 1: 'private', 2: 'vepa' })],
];

export const ipvlanKind: KindCodec<IpvlanOptions> = {
  wire: WIRE,
  keys: ['mode', 'flag'],
  toNative(s, field) {
    const d: Record<string, unknown> = {};
    if (s.mode !== undefined) d.mode = oneOf(`${field}.mode`, s.mode, ['l2', 'l3', 'l3s']);
    // ip sends the flags whenever it is given any ipvlan option; none is bridge.
    if (s.flag !== undefined || s.mode !== undefined) d.flags = oneOf(`${field}.flag`, s.flag ?? 'bridge', ['bridge', 'private', 'vepa']);
    return d;
  },
  fromNative(d) {
    const o: IpvlanOptions = {};
    if (typeof d.mode === 'string') o.mode = d.mode as IpvlanMode;
    if (typeof d.flags === 'string') o.flag = d.flags as IpvlanFlag;
    return o;
  },
};
