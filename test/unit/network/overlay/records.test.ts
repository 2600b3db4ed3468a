// lib/network/overlay/records.ts: the cluster store's transactions for overlay networks, run on a
// real FileStore in a temp dir (they take any StoreTx: the etcd store's is tested through the
// engine in test/integration/network/engine-overlay.test.ts). No root needed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ConflictError, NotFoundError, ValidationError } from '../../../../lib/core/errors.js';
import { ExhaustedError } from '../../../../lib/network/ipam/v4.js';
import type { NetworkRecord } from '../../../../lib/network/model/sandbox.js';
import type { CreateNetworkOptions } from '../../../../lib/network/model/types.js';
import {
  createGlobalNetwork,
  endpointKey,
  FIRST_VNI,
  globalEndpoints,
  globalNetwork,
  globalNetworks,
  MAX_VNI,
  parseVni,
  releaseGlobalEndpoint,
  removeGlobalNetwork,
  reserveGlobalEndpoint,
  VXLANID_LIST,
  type GlobalEndpoint,
  type GlobalWish,
} from '../../../../lib/network/overlay/records.js';
import { FileStore } from '../../../../lib/network/store/file.js';

/** What a host's own store contributes to a create: its local networks and its routes. */
interface Local {
  networks: readonly NetworkRecord[];
  hostRoutes: readonly string[];
}
const NONE: Local = { networks: [], hostRoutes: [] };

/** A local network of this host as createGlobalNetwork reads it (name, driver and subnet count). */
const localNet = (name: string, subnet: string): NetworkRecord =>
  ({ name, id: 'l'.repeat(64), driver: 'bridge', subnet, gateway: '', internal: false, bridge: 'br-x', created: '', labels: {}, options: {}, pool: { subnet, gateway: '', allocated: [] } }) as NetworkRecord;

const HOST_A = { host: 'nlnet:aaaaaaaaaaaaaaaa', vtep: '192.0.2.10' };
const HOST_B = { host: 'nlnet:bbbbbbbbbbbbbbbb', vtep: '192.0.2.11' };
const wish = (sandbox: string, more: Partial<GlobalWish> = {}): GlobalWish => ({ sandbox, sandboxId: sandbox.padEnd(64, '0'), ...HOST_A, aliases: [], ...more });

let dir: string;
let store: FileStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nlnet-overlay-records-'));
  store = await FileStore.open({ dir });
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const create = (opts: Partial<CreateNetworkOptions> & { name: string }, local: Local = NONE): Promise<NetworkRecord> => store.update((tx) => createGlobalNetwork(tx, { driver: 'overlay', ...opts }, local));
const remove = (name: string): Promise<NetworkRecord> => store.update((tx) => removeGlobalNetwork(tx, name));
const reserve = (network: string, w: GlobalWish): Promise<{ ep: GlobalEndpoint; net: NetworkRecord }> => store.update((tx) => reserveGlobalEndpoint(tx, network, w));
const release = (ep: Pick<GlobalEndpoint, 'network' | 'endpointId' | 'ip'>): Promise<void> => store.update((tx) => releaseGlobalEndpoint(tx, ep.network, ep.endpointId, ep.ip));
const allocated = async (network: string): Promise<string[]> => (await globalNetwork(store, network))!.pool.allocated;

describe('parseVni', () => {
  it('takes one VXLAN id from 1 to 2^24-1', () => {
    expect(parseVni('1')).toBe(1);
    expect(parseVni('256')).toBe(256);
    expect(parseVni(String(MAX_VNI))).toBe(16_777_215);
  });

  it('refuses anything else with a ValidationError naming the option', () => {
    for (const bad of ['', '0', '-1', '16777216', '99999999999', 'abc', '1,2', '256-300', ' 256', '0x100', '1e3', '2.5']) {
      let error: unknown;
      try {
        parseVni(bad);
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field, bad).toBe(`options.${VXLANID_LIST}`);
    }
  });
});

describe('createGlobalNetwork: VNI', () => {
  it('hands out 256, 257, 258 … and records the VNI as the vxlanid_list option', async () => {
    const nets = [await create({ name: 'a' }), await create({ name: 'b' }), await create({ name: 'c' })];
    expect(nets.map((n) => n.vni)).toEqual([FIRST_VNI, 257, 258]);
    expect(nets.map((n) => n.options[VXLANID_LIST])).toEqual(['256', '257', '258']);
    expect(nets[0]).toMatchObject({ name: 'a', driver: 'overlay', bridge: '', internal: false });
    expect(nets[0]!.id).toMatch(/^[0-9a-f]{64}$/);
    // What the store holds is what was returned.
    expect(await globalNetwork(store, 'b')).toEqual(nets[1]);
    expect((await globalNetworks(store)).map((n) => n.name)).toEqual(['a', 'b', 'c']);
  });

  it('reuses the VNI of a removed network: the lowest free one from 256', async () => {
    await create({ name: 'a' });
    await create({ name: 'b' });
    await create({ name: 'c' });
    await remove('b');
    expect((await create({ name: 'd' })).vni).toBe(257);
    expect((await create({ name: 'e' })).vni).toBe(259);
  });

  it('honours vxlanid_list, also below 256, and skips a taken one when allocating', async () => {
    expect((await create({ name: 'low', options: { [VXLANID_LIST]: '42' } })).vni).toBe(42);
    expect((await create({ name: 'x', options: { [VXLANID_LIST]: '256' } })).vni).toBe(256);
    expect((await create({ name: 'y', options: { [VXLANID_LIST]: '258' } })).vni).toBe(258);
    expect((await create({ name: 'auto1' })).vni).toBe(257);
    expect((await create({ name: 'auto2' })).vni).toBe(259);
    expect((await create({ name: 'top', options: { [VXLANID_LIST]: String(MAX_VNI) } })).vni).toBe(MAX_VNI);
  });

  it('refuses a VNI another network has, naming it, and changes nothing', async () => {
    await create({ name: 'a', options: { [VXLANID_LIST]: '5000' } });
    const before = await globalNetworks(store);
    const err = await create({ name: 'b', options: { [VXLANID_LIST]: '5000' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toMatch(/VXLAN id 5000 is already in use by network a/);
    // An automatically allocated one is taken too.
    await create({ name: 'c' });
    await expect(create({ name: 'd', options: { [VXLANID_LIST]: '256' } })).rejects.toThrow(/VXLAN id 256 is already in use by network c/);
    expect((await globalNetworks(store)).map((n) => n.name)).toEqual([...before.map((n) => n.name), 'c']);
  });

  it('refuses bad vxlanid_list values and stores nothing', async () => {
    for (const bad of ['0', 'abc', '16777216', '1,2', '']) {
      await expect(create({ name: 'bad', options: { [VXLANID_LIST]: bad } }), bad).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await globalNetworks(store)).toEqual([]);
  });
});

describe('createGlobalNetwork: subnet', () => {
  it('takes the /24s of 10.0.0.0/8 in order, the gateway at .1', async () => {
    const a = await create({ name: 'a' });
    const b = await create({ name: 'b' });
    expect([a.subnet, a.gateway, b.subnet, b.gateway]).toEqual(['10.0.0.0/24', '10.0.0.1', '10.0.1.0/24', '10.0.1.1']);
    expect(a.pool).toEqual({ subnet: '10.0.0.0/24', gateway: '10.0.0.1', allocated: [] });
    // A removed network's /24 is free again.
    await remove('a');
    expect((await create({ name: 'c' })).subnet).toBe('10.0.0.0/24');
  });

  it("skips what overlaps this host's local networks and routes (not the default route)", async () => {
    await create({ name: 'a' }); // 10.0.0.0/24
    const local: Local = { networks: [localNet('loc', '10.0.1.0/24')], hostRoutes: ['default', '10.0.2.128/25', '192.168.1.0/24'] };
    expect((await create({ name: 'b' }, local)).subnet).toBe('10.0.3.0/24');
    // A route that covers a /24 partly counts as much as one that covers it whole.
    expect((await create({ name: 'c' }, { networks: [], hostRoutes: ['10.0.0.0/21'] })).subnet).toBe('10.0.8.0/24');
    // Without them, the first /24 no global network has.
    expect((await create({ name: 'd' })).subnet).toBe('10.0.1.0/24');
  });

  it('fails with ExhaustedError when a route covers all of 10.0.0.0/8', async () => {
    await expect(create({ name: 'a' }, { networks: [], hostRoutes: ['10.0.0.0/8'] })).rejects.toBeInstanceOf(ExhaustedError);
    expect(await globalNetworks(store)).toEqual([]);
  });

  it('--subnet, --gateway, --ip-range are taken as given', async () => {
    const n = await create({ name: 'a', subnet: '192.168.77.0/24', gateway: '192.168.77.254', ipRange: '192.168.77.128/25' });
    expect(n).toMatchObject({ subnet: '192.168.77.0/24', gateway: '192.168.77.254', ipRange: '192.168.77.128/25' });
    const { ep } = await reserve('a', wish('s'));
    expect(ep.ip).toBe('192.168.77.128');
    // The automatic allocation does not mind it (it is outside 10/8).
    expect((await create({ name: 'b' })).subnet).toBe('10.0.0.0/24');
  });

  it('refuses a --subnet that overlaps another global network or a local one, naming it', async () => {
    await create({ name: 'a' }); // 10.0.0.0/24
    const e1 = await create({ name: 'b', subnet: '10.0.0.128/25' }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ConflictError);
    expect((e1 as ConflictError).id).toBe('a');
    expect((e1 as Error).message).toMatch(/overlaps with its subnet 10\.0\.0\.0\/24/);
    const e2 = await create({ name: 'c', subnet: '172.20.5.0/24' }, { networks: [localNet('loc', '172.20.0.0/16')], hostRoutes: [] }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(ConflictError);
    expect((e2 as ConflictError).id).toBe('loc');
    expect((await globalNetworks(store)).map((n) => n.name)).toEqual(['a']);
  });

  it('refuses a bad --subnet with a ValidationError', async () => {
    await expect(create({ name: 'a', subnet: '10.0.0.0/33' })).rejects.toBeInstanceOf(ValidationError);
    await expect(create({ name: 'a', subnet: 'nope' })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('createGlobalNetwork: name', () => {
  it("refuses the name of a global network, of one of this host's local networks, host and none", async () => {
    await create({ name: 'a' });
    for (const [name, local] of [['a', NONE], ['web', { networks: [localNet('web', '172.18.0.0/16')], hostRoutes: [] }], ['host', NONE], ['none', NONE]] as const) {
      const err = await create({ name }, local).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(ConflictError);
      expect((err as Error).message, name).toMatch(`network with name ${name} already exists`);
    }
    expect((await globalNetworks(store)).map((n) => n.name)).toEqual(['a']);
  });

  it("refuses the predefined local networks' names, bridge and docker_gwbridge, also on a host that has not made them yet", async () => {
    // A global network named 'bridge' would catch every `docker run` without --network on the
    // hosts whose default network does not exist yet.
    for (const name of ['bridge', 'docker_gwbridge']) await expect(create({ name }), name).rejects.toBeInstanceOf(ConflictError);
    expect(await globalNetworks(store)).toEqual([]);
  });

  it('refuses a name Docker would not take', async () => {
    await expect(create({ name: '-x' })).rejects.toBeInstanceOf(ValidationError);
    await expect(create({ name: 'a/b' })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('reserveGlobalEndpoint / releaseGlobalEndpoint', () => {
  beforeEach(async () => {
    await create({ name: 'ov' }); // 10.0.0.0/24
  });

  it('gives each endpoint its own address, the MAC 02:42 + the address, and records the host', async () => {
    const a = (await reserve('ov', wish('a', { aliases: ['db'] }))).ep;
    const b = (await reserve('ov', wish('b', HOST_B))).ep;
    expect(a).toMatchObject({ network: 'ov', sandbox: 'a', ip: '10.0.0.2', mac: '02:42:0a:00:00:02', host: HOST_A.host, vtep: HOST_A.vtep, aliases: ['db'] });
    expect(b).toMatchObject({ sandbox: 'b', ip: '10.0.0.3', mac: '02:42:0a:00:00:03', host: HOST_B.host, vtep: HOST_B.vtep });
    expect(b.aliases).toBeUndefined();
    expect(a.endpointId).toMatch(/^[0-9a-f]{64}$/);
    expect(await store.get(endpointKey('ov', a.endpointId))).toEqual(a);
    expect((await globalEndpoints(store, 'ov')).map((e) => e.sandbox).sort()).toEqual(['a', 'b']);
    expect(await allocated('ov')).toEqual(['10.0.0.2-10.0.0.3']);
  });

  it('unique addresses under many reservations at once (two store handles on one directory)', async () => {
    const other = await FileStore.open({ dir });
    try {
      const made = await Promise.all(Array.from({ length: 120 }, (_, i) => (i % 2 === 0 ? store : other).update((tx) => reserveGlobalEndpoint(tx, 'ov', wish(`s${i}`)))));
      const ips = made.map((m) => m.ep.ip);
      expect(new Set(ips).size).toBe(120);
      expect(new Set(made.map((m) => m.ep.mac)).size).toBe(120);
      expect(await allocated('ov')).toEqual(['10.0.0.2-10.0.0.121']);
      expect(await globalEndpoints(store, 'ov')).toHaveLength(120);
    } finally {
      await other.close();
    }
  });

  it('runs out with ExhaustedError and records nothing more', async () => {
    await create({ name: 'tiny', subnet: '10.9.9.0/30' }); // .1 gateway, .2 the only one
    await reserve('tiny', wish('a'));
    await expect(reserve('tiny', wish('b'))).rejects.toBeInstanceOf(ExhaustedError);
    expect(await globalEndpoints(store, 'tiny')).toHaveLength(1);
  });

  it('static --ip: taken as given, refused when taken, the gateway, or outside the subnet', async () => {
    const s = (await reserve('ov', wish('s', { ip: '10.0.0.50' }))).ep;
    expect(s).toMatchObject({ ip: '10.0.0.50', mac: '02:42:0a:00:00:32' });
    await expect(reserve('ov', wish('t', { ip: '10.0.0.50' }))).rejects.toBeInstanceOf(ConflictError);
    await expect(reserve('ov', wish('t', { ip: '10.0.0.1' }))).rejects.toBeInstanceOf(ConflictError);
    await expect(reserve('ov', wish('t', { ip: '10.0.1.5' }))).rejects.toBeInstanceOf(ValidationError);
    // The dynamic ones go around it.
    expect((await reserve('ov', wish('d'))).ep.ip).toBe('10.0.0.2');
    expect(await allocated('ov')).toEqual(['10.0.0.2', '10.0.0.50']);
    expect(await globalEndpoints(store, 'ov')).toHaveLength(2);
  });

  it('--mac-address: refused when an endpoint of the network has it (given or derived), naming it; random is random', async () => {
    const a = (await reserve('ov', wish('a', { mac: '02:aa:bb:cc:dd:ee' }))).ep;
    expect(a.mac).toBe('02:aa:bb:cc:dd:ee');
    const b = (await reserve('ov', wish('b', HOST_B))).ep; // 10.0.0.3, 02:42:0a:00:00:03
    for (const [mac, who] of [['02:aa:bb:cc:dd:ee', `a on host ${HOST_A.vtep}`], [b.mac, `b on host ${HOST_B.vtep}`]] as const) {
      const err = await reserve('ov', wish('c', { mac })).catch((e: unknown) => e);
      expect(err, mac).toBeInstanceOf(ConflictError);
      expect((err as Error).message).toContain(`MAC address ${mac} is already in use on network ov`);
      expect((err as Error).message).toContain(who);
    }
    // A refused reservation took no address.
    expect(await allocated('ov')).toEqual(['10.0.0.2-10.0.0.3']);
    // The same MAC on another network is fine.
    await create({ name: 'ov2' });
    expect((await reserve('ov2', wish('c', { mac: '02:aa:bb:cc:dd:ee' }))).ep.mac).toBe('02:aa:bb:cc:dd:ee');
    const r = (await reserve('ov', wish('r', { mac: 'random' }))).ep;
    expect(r.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(r.mac).not.toBe('random');
    expect(r.mac.startsWith('02:42:')).toBe(false);
    expect(parseInt(r.mac.slice(0, 2), 16) & 0x03).toBe(0x02);
  });

  it('a network that is not there is a NotFoundError', async () => {
    await expect(reserve('nope', wish('a'))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('release gives the address back and drops the document; the next reservation gets it', async () => {
    await reserve('ov', wish('a'));
    const b = (await reserve('ov', wish('b'))).ep;
    await reserve('ov', wish('c'));
    await release(b);
    expect(await store.get(endpointKey('ov', b.endpointId))).toBeUndefined();
    expect(await allocated('ov')).toEqual(['10.0.0.2', '10.0.0.4']);
    expect((await globalEndpoints(store, 'ov')).map((e) => e.sandbox).sort()).toEqual(['a', 'c']);
    expect((await reserve('ov', wish('d'))).ep.ip).toBe('10.0.0.3');
  });

  it('release of an endpoint that is gone, or of a network that is gone, is fine', async () => {
    const a = (await reserve('ov', wish('a'))).ep;
    await release(a);
    await expect(release(a)).resolves.toBeUndefined();
    await expect(release({ network: 'gone', endpointId: 'f'.repeat(64), ip: '10.0.0.2' })).resolves.toBeUndefined();
    expect(await allocated('ov')).toEqual([]);
  });

  it('a second release of an endpoint gone already does not free an address another endpoint has by then', async () => {
    // What a retried removal does (engine: removeSandbox failing after its 'unglobal' step runs
    // again): the first release gave 10.0.0.2 back, another sandbox got it, and the retry must
    // not take it from that one, or a third sandbox gets the same address.
    const a = (await reserve('ov', wish('a'))).ep;
    await release(a);
    const b = (await reserve('ov', wish('b'))).ep;
    expect(b.ip).toBe(a.ip);
    await release(a);
    expect(await allocated('ov')).toEqual([b.ip]);
    expect((await reserve('ov', wish('c'))).ep.ip).not.toBe(b.ip);
  });
});

describe('removeGlobalNetwork', () => {
  /** A host's lease, as etcd-lease.ts keeps it: `hosts/<id>` while the host is alive. */
  const alive = (h: { host: string; vtep: string }): Promise<void> => store.update((tx) => tx.put(`hosts/${h.host}`, { id: h.host, address: h.vtep, since: new Date().toISOString() }));

  it('is refused while endpoints of live hosts exist, naming each sandbox and its host address', async () => {
    await alive(HOST_A);
    await alive(HOST_B);
    await create({ name: 'ov' });
    const a = (await reserve('ov', wish('web'))).ep;
    const b = (await reserve('ov', wish('db', HOST_B))).ep;
    const err = await remove('ov').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    const msg = (err as Error).message;
    expect(msg).toContain('network ov has active endpoints');
    expect(msg).toContain(`web on host ${HOST_A.vtep}`);
    expect(msg).toContain(`db on host ${HOST_B.vtep}`);
    expect(await globalNetwork(store, 'ov')).toBeDefined();
    await release(a);
    await expect(remove('ov')).rejects.toThrow(`db on host ${HOST_B.vtep}`);
    await release(b);
    expect((await remove('ov')).name).toBe('ov');
    expect(await globalNetwork(store, 'ov')).toBeUndefined();
  });

  it('endpoints of hosts whose lease is gone hold nothing: they go with the network', async () => {
    await alive(HOST_A);
    await create({ name: 'ov' });
    const a = (await reserve('ov', wish('web'))).ep;
    await reserve('ov', wish('db', HOST_B));
    await expect(remove('ov')).rejects.toThrow(`web on host ${HOST_A.vtep}`);
    await expect(remove('ov')).rejects.not.toThrow(`db on host`);
    await release(a);
    expect((await remove('ov')).name).toBe('ov');
    expect(await store.list('endpoints/')).toEqual([]);
  });

  it("only that network's endpoints count", async () => {
    await alive(HOST_A);
    await create({ name: 'ov' });
    await create({ name: 'ov2' });
    await reserve('ov2', wish('x'));
    await expect(remove('ov')).resolves.toMatchObject({ name: 'ov' });
  });

  it('a network that is not there is a NotFoundError', async () => {
    await expect(remove('nope')).rejects.toBeInstanceOf(NotFoundError);
  });
});
