// A batch: operations queued now and sent by one native call, in order, on one socket, stopping
// at the first failure. A link added in the batch can be named by what `link.add` returned.
import { addrOps } from './addr.js';
import { bridgeOps } from './bridge.js';
import { fdbOps } from './fdb.js';
import { linkOps } from './link.js';
import { neighOps } from './neigh.js';
import type { Op } from '../core/op.js';
import { routeOps } from './route.js';
import type { LinkRef } from '../core/validate.js';

export class Batch {
  /** @internal */
  readonly ops: Op<unknown>[] = [];

  #push(op: Op<unknown>): LinkRef {
    return { ref: this.ops.push(op) - 1 };
  }

  readonly link = {
    /** Returns a reference usable as `dev`/`master`/`link` by later steps of the batch. */
    add: (...a: Parameters<typeof linkOps.add>): LinkRef => this.#push(linkOps.add(...a)),
    del: (...a: Parameters<typeof linkOps.del>): void => void this.#push(linkOps.del(...a)),
    delGroup: (...a: Parameters<typeof linkOps.delGroup>): void => void this.#push(linkOps.delGroup(...a)),
    set: (...a: Parameters<typeof linkOps.set>): void => void this.#push(linkOps.set(...a)),
  };
  readonly addr = {
    add: (...a: Parameters<typeof addrOps.add>): void => void this.#push(addrOps.add(...a)),
    replace: (...a: Parameters<typeof addrOps.replace>): void => void this.#push(addrOps.replace(...a)),
    del: (...a: Parameters<typeof addrOps.del>): void => void this.#push(addrOps.del(...a)),
  };
  readonly route = {
    add: (...a: Parameters<typeof routeOps.add>): void => void this.#push(routeOps.add(...a)),
    replace: (...a: Parameters<typeof routeOps.replace>): void => void this.#push(routeOps.replace(...a)),
    del: (...a: Parameters<typeof routeOps.del>): void => void this.#push(routeOps.del(...a)),
  };
  readonly neigh = {
    add: (...a: Parameters<typeof neighOps.add>): void => void this.#push(neighOps.add(...a)),
    replace: (...a: Parameters<typeof neighOps.replace>): void => void this.#push(neighOps.replace(...a)),
    del: (...a: Parameters<typeof neighOps.del>): void => void this.#push(neighOps.del(...a)),
  };
  readonly fdb = {
    add: (...a: Parameters<typeof fdbOps.add>): void => void this.#push(fdbOps.add(...a)),
    append: (...a: Parameters<typeof fdbOps.append>): void => void this.#push(fdbOps.append(...a)),
    replace: (...a: Parameters<typeof fdbOps.replace>): void => void this.#push(fdbOps.replace(...a)),
    del: (...a: Parameters<typeof fdbOps.del>): void => void this.#push(fdbOps.del(...a)),
  };
  readonly bridge = {
    setPort: (...a: Parameters<typeof bridgeOps.setPort>): void => void this.#push(bridgeOps.setPort(...a)),
  };
}
