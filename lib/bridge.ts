// Bridge ports: `bridge link set dev DEV learning off …` and what `bridge -d link show` reads.
import type { Body } from './binding.js';
import { F_ACK, RTM_SETLINK } from './constants.js';
import { ValidationError } from './errors.js';
import { none, type Op, type Runner } from './op.js';
import { linkOps } from './link.js';
import { bool, ifref, type IfRef, object, uint } from './validate.js';

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
const NUMBERS: Record<'state' | 'priority' | 'cost', number> = { state: 4, priority: 63, cost: 65535 };

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
      else if (k in NUMBERS) protinfo[k] = uint(`options.${k}`, v, 0, NUMBERS[k as keyof typeof NUMBERS]);
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
  setPort(dev: IfRef, options: BridgePort): Promise<void> {
    return this.nl.run(bridgeOps.setPort(dev, options));
  }
  /** `bridge -d link show dev DEV`: the port's options (it must be enslaved to a bridge). */
  async getPort(dev: IfRef): Promise<BridgePort> {
    const link = await this.nl.run(linkOps.get(dev));
    if (link.slaveKind !== 'bridge' || !link.bridgePort) throw new ValidationError('dev', dev, 'not a bridge port');
    return link.bridgePort;
  }
}
