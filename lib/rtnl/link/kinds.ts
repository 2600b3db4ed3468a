// Link kinds: each maps its part of a link spec to IFLA_INFO_DATA and back, one file per kind,
// found through this table (the TypeScript side of native/rtnl/link_<kind>.cc).
import type { Body } from '../../core/binding.js';
import type { WireField } from '../../core/wire.js';
import type { NetnsTarget } from '../../netns/namespace.js';
import { bridgeKind, type BridgeOptions } from './bridge.js';
import { ipvlanKind, type IpvlanOptions } from './ipvlan.js';
import { macvlanKind, type MacvlanOptions } from './macvlan.js';
import { vethKind, type VethOptions } from './veth.js';
import { vlanKind, type VlanOptions } from './vlan.js';
import { vxlanKind, type VxlanOptions } from './vxlan.js';

export interface KindContext {
  /** Validating a change to an existing link (`ip link set type …`): nothing is required. */
  readonly forChange: boolean;
  /** Registers the namespace a nested link goes to (the veth peer's); `field` names it in errors. */
  netns(body: Body, target: NetnsTarget, field: string): void;
}

export interface KindCodec<O> {
  /** The option keys this kind adds to a link spec. */
  readonly keys: readonly string[];
  /** Validates the kind's options and returns the native IFLA_INFO_DATA body. */
  toNative(spec: O, field: string, ctx: KindContext): Body;
  /** The kind's options from a decoded IFLA_INFO_DATA body. */
  fromNative(data: Body): Partial<O>;
  /**
   * The rows of the native table (native/rtnl/link_<kind>.cc) that fromNative reads, for the JS
   * decoder of dumps (lib/rtnl/wire/link.ts), which builds that body from the bytes.
   */
  readonly wire: readonly WireField[];
}

export interface KindOptions {
  veth: VethOptions;
  bridge: BridgeOptions;
  vxlan: VxlanOptions;
  macvlan: MacvlanOptions;
  macvtap: MacvlanOptions;
  ipvlan: IpvlanOptions;
  ipvtap: IpvlanOptions;
  vlan: VlanOptions;
}

export type KnownKind = keyof KindOptions;

export const kinds: { [K in KnownKind]: KindCodec<KindOptions[K]> } = {
  veth: vethKind,
  bridge: bridgeKind,
  vxlan: vxlanKind,
  macvlan: macvlanKind,
  macvtap: macvlanKind,
  ipvlan: ipvlanKind,
  ipvtap: ipvlanKind,
  vlan: vlanKind,
};

export function isKnownKind(kind: string): kind is KnownKind {
  return Object.hasOwn(kinds, kind);
}
