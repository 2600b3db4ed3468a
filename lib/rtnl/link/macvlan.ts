// macvlan / macvtap: sub-interfaces of a parent (`link`), each with its own MAC.
import { oneOf } from '../../core/validate.js';
import type { KindCodec } from './kinds.js';

export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';
const MODES: readonly MacvlanMode[] = ['private', 'vepa', 'bridge', 'passthru', 'source'];

export interface MacvlanOptions {
  /** `mode bridge` lets sub-interfaces of one parent talk to each other (Docker's default). */
  mode?: MacvlanMode;
}

export const macvlanKind: KindCodec<MacvlanOptions> = {
  keys: ['mode'],
  toNative(s, field) {
    return s.mode === undefined ? {} : { mode: oneOf(`${field}.mode`, s.mode, MODES) };
  },
  fromNative(d) {
    return typeof d.mode === 'string' ? { mode: d.mode as MacvlanMode } : {};
  },
};
