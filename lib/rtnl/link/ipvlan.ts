// ipvlan / ipvtap: sub-interfaces of a parent (`link`) sharing its MAC.
import { oneOf } from '../../core/validate.js';
import type { KindCodec } from './kinds.js';

export type IpvlanMode = 'l2' | 'l3' | 'l3s';
export type IpvlanFlag = 'bridge' | 'private' | 'vepa';

export interface IpvlanOptions {
  mode?: IpvlanMode;
  /** `bridge` (default), `private` or `vepa`. */
  flag?: IpvlanFlag;
}

export const ipvlanKind: KindCodec<IpvlanOptions> = {
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
