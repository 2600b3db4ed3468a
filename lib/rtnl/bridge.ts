// Bridge ports: `bridge link set dev DEV learning off …` and what `bridge -d link show` reads.
import type { Body } from '../core/binding.js';
import { F_ACK, RTM_SETLINK } from '../core/constants.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { none, type Op, type Runner } from '../core/op.js';
import { linkOps } from './link.js';
import { bool, ifref, type IfRef, object, uint } from '../core/validate.js';
import { BOOL8, U16, U32, U8, type WireField } from '../core/wire.js';

/** Port options of a link enslaved to a bridge (IFLA_BRPORT_*). */
export interface BridgePort {
  learning?: boolean;
  /** Unknown-unicast flooding (`flood`). */
  flood?: boolean;
  mcastFlood?: boolean;
  bcastFlood?: boolean;
  /** Send frames back out the port they came in on (`hairpin`). */
  hairpin?: boolean;
  /** Isolated ports cannot talk to each other, only to non-isolated ones (`isolated`). */
  isolated?: boolean;
  neighSuppress?: boolean;
  proxyArp?: boolean;
  guard?: boolean;
  rootBlock?: boolean;
  fastLeave?: boolean;
  mcastToUnicast?: boolean;
  vlanTunnel?: boolean;
  locked?: boolean;
  /** STP port state, 0 (disabled) to 4 (blocking). */
  state?: number;
  priority?: number;
  cost?: number;
}

const BOOLS = ['learning', 'flood', 'mcastFlood', 'bcastFlood', 'hairpin', 'isolated', 'neighSuppress', 'proxyArp', 'guard', 'rootBlock', 'fastLeave', 'mcastToUnicast', 'vlanTunnel', 'locked'] as const;
// The kernel's ranges: BR_STATE_DISABLED..BR_STATE_BLOCKING, BR_MAX_PORT_PRIORITY, and
// BR_MIN_PATH_COST..BR_MAX_PATH_COST.
const NUMBERS: Record<'state' | 'priority' | 'cost', [number, number]> = { state: [0, 4], priority: [0, 63], cost: [1, 65535] };

// <linux/if_link.h>
const IFLA_BRPORT_STATE = 1;
const IFLA_BRPORT_PRIORITY = 2;
const IFLA_BRPORT_COST = 3;
const IFLA_BRPORT_MODE = 4;
const IFLA_BRPORT_GUARD = 5;
const IFLA_BRPORT_PROTECT = 6;
const IFLA_BRPORT_FAST_LEAVE = 7;
const IFLA_BRPORT_LEARNING = 8;
const IFLA_BRPORT_UNICAST_FLOOD = 9;
const IFLA_BRPORT_PROXYARP = 10;
const IFLA_BRPORT_MCAST_FLOOD = 27;
const IFLA_BRPORT_MCAST_TO_UCAST = 28;
const IFLA_BRPORT_VLAN_TUNNEL = 29;
const IFLA_BRPORT_BCAST_FLOOD = 30;
const IFLA_BRPORT_NEIGH_SUPPRESS = 32;
const IFLA_BRPORT_ISOLATED = 33;
const IFLA_BRPORT_LOCKED = 39;

/** The rows of native/rtnl/bridge_port.cc that portFromNative reads, for the JS decoder of dumps. */
export const PORT_WIRE: readonly WireField[] = [
  [IFLA_BRPORT_LEARNING, 'learning', BOOL8],
  [IFLA_BRPORT_UNICAST_FLOOD, 'flood', BOOL8],
  [IFLA_BRPORT_MCAST_FLOOD, 'mcastFlood', BOOL8],
  [IFLA_BRPORT_BCAST_FLOOD, 'bcastFlood', BOOL8],
  [IFLA_BRPORT_MODE, 'hairpin', BOOL8],
  [IFLA_BRPORT_ISOLATED, 'isolated', BOOL8],
  [IFLA_BRPORT_NEIGH_SUPPRESS, 'neighSuppress', BOOL8],
  [IFLA_BRPORT_PROXYARP, 'proxyArp', BOOL8],
  [IFLA_BRPORT_GUARD, 'guard', BOOL8],
  [IFLA_BRPORT_PROTECT, 'rootBlock', BOOL8],
  [IFLA_BRPORT_FAST_LEAVE, 'fastLeave', BOOL8],
  [IFLA_BRPORT_MCAST_TO_UCAST, 'mcastToUnicast', BOOL8],
  [IFLA_BRPORT_VLAN_TUNNEL, 'vlanTunnel', BOOL8],
  [IFLA_BRPORT_LOCKED, 'locked', BOOL8],
  [IFLA_BRPORT_STATE, 'state', U8],
  [IFLA_BRPORT_PRIORITY, 'priority', U16],
  [IFLA_BRPORT_COST, 'cost', U32],
];

export function portFromNative(d: Body): BridgePort {
  const p: Record<string, unknown> = {};
  for (const k of BOOLS) if (typeof d[k] === 'boolean') p[k] = d[k];
  for (const k of Object.keys(NUMBERS)) if (typeof d[k] === 'number') p[k] = d[k];
  return p as BridgePort;
}

export const bridgeOps = {
  /** `bridge link set dev DEV [learning on|off] [flood on|off] [hairpin on|off] [isolated on|off] …` */
  setPort(dev: IfRef, options: BridgePort): Op<void> {
    const o = object('options', options) as Record<string, unknown>;
    const protinfo: Body = {};
    for (const [k, v] of Object.entries(o)) {
      if (v === undefined) continue;
      if ((BOOLS as readonly string[]).includes(k)) protinfo[k] = bool(`options.${k}`, v);
      else if (Object.hasOwn(NUMBERS, k)) protinfo[k] = uint(`options.${k}`, v, ...NUMBERS[k as keyof typeof NUMBERS]);
      else throw new ValidationError(`options.${k}`, v, 'unknown bridge port option');
    }
    return {
      op: 'bridge.setPort',
      type: RTM_SETLINK,
      flags: F_ACK,
      body: { family: 'bridge', index: ifref('dev', dev), protinfo },
      parse: none,
    };
  },
};

/** `nl.bridge`: the port calls of `bridge link`. */
export class BridgeApi {
  constructor(private readonly nl: Runner) {}
  /** `bridge link set dev DEV …` */
  async setPort(dev: IfRef, options: BridgePort): Promise<void> {
    return this.nl.run(bridgeOps.setPort(dev, options));
  }
  /** `bridge -d link show dev DEV`: the port's options; NotFoundError when DEV is not a bridge port. */
  async getPort(dev: IfRef): Promise<BridgePort> {
    const link = await this.nl.run(linkOps.get(dev));
    if (link.slaveKind !== 'bridge' || !link.bridgePort) throw new NotFoundError('bridge port', String(dev));
    return link.bridgePort;
  }
}
