// macvlan / macvtap: sub-interfaces of a parent (`link`), each with its own MAC.
import { oneOf } from '../../core/validate.js';
import { enumOf, type WireField } from '../../core/wire.js';
import type { KindCodec } from './kinds.js';

export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';
const MODES: readonly MacvlanMode[] = ['private', 'vepa', 'bridge', 'passthru', 'source'];

export interface MacvlanOptions {
  /** `mode bridge` lets sub-interfaces of one parent talk to each other (Docker's default). */
  mode?: MacvlanMode;
}

// <linux/if_link.h>
const IFLA_MACVLAN_MODE = 1;
// MACVLAN_MODE_PRIVATE, _VEPA, _BRIDGE, _PASSTHRU, _SOURCE
const WIRE: WireField[] = [[IFLA_MACVLAN_MODE, 'mode', enumOf(4, { 1: 'private', 2: 'vepa', 4: 'bridge', 8: 'passthru', 16: 'source' })]];

export const macvlanKind: KindCodec<MacvlanOptions> = {
  wire: WIRE,
  keys: ['mode'],
  toNative(s, field) {
    return s.mode === undefined ? {} : { mode: oneOf(`${field}.mode`, s.mode, MODES) };
  },
  fromNative(d) {
    return typeof d.mode === 'string' ? { mode: d.mode as MacvlanMode } : {};
  },
};
