// A job: parts in several namespaces done in one native call on a namespace thread (a namespace
// made, a veth born in it, both sides configured, an nf_tables transaction, files), stopping at
// the first failing part and naming it. Checked with `ip -j`, `nft -j` and the files themselves.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { failedPart, Job, JobNetns, Netlink, netns, NetlinkError, NotFoundError, ValidationError, type JobError, type SetSpec } from '../../../lib/index.js';
import { ipj, isRoot, ROOT_SKIP_REASON, unique, useNetns } from '../../helpers/ns.js';

const nftj = (ns: string, ...args: string[]): { nftables: Record<string, unknown>[] } =>
  JSON.parse(execFileSync('ip', ['netns', 'exec', ns, 'nft', '-j', ...args], { encoding: 'utf8' })) as { nftables: Record<string, unknown>[] };

describe.skipIf(!isRoot)(`job (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const spaces = useNetns(1);
  const PORTS: SetSpec = { family: 'ip', table: 't', name: 'ports', key: ['inet_proto', 'inet_service'], map: ['ipv4_addr', 'inet_service'] };
  let host: (typeof spaces)[0] & object;
  let dir: string;
  let made: string;

  beforeEach(async () => {
    host = spaces[0]!;
    dir = mkdtempSync(join(tmpdir(), 'nlnet-job-'));
    made = unique('nltjob');
    await host.nl.link.add({ name: 'br0', kind: 'bridge', up: true });
    await host.nl.addr.add({ dev: 'br0', address: '172.30.9.1/24' });
    await host.nl.nft.commit((b) => {
      b.addTable({ family: 'ip', name: 't' });
      b.addSet(PORTS);
    });
  });
  afterEach(async () => {
    rmSync(dir, { recursive: true, force: true });
    await netns.delete(made).catch(() => undefined);
  });

  /** The attach the engine does: namespace, veth born in it, its side, a map element, a file. */
  function attach(job: Job, ns: JobNetns, addr = '172.30.9.2'): void {
    job.batch(host.nl, (b) => {
      const v = b.link.add({ kind: 'veth', name: 'vj0', master: 'br0', peer: { name: 'eth0', netns: ns, address: '02:42:ac:1e:09:02' } });
      b.link.set(v, { up: true });
    });
    job.batchIn(ns, (b) => {
      b.link.set('lo', { up: true });
      b.addr.add({ dev: 'eth0', address: `${addr}/24` });
      b.link.set('eth0', { up: true });
      b.route.add({ dst: 'default', via: '172.30.9.1', dev: 'eth0' });
    });
    job.commit(host.nl, (b) => b.createElements(PORTS, [{ key: ['tcp', 8080], value: [addr, 80] }]));
  }

  it('makes a namespace, a veth born in it, both sides, a map element and files in one call', async () => {
    const job = new Job();
    job.writeFile(join(dir, 'mark'), 'owner\n');
    const ns = job.netns(made);
    attach(job, ns);
    job.writeFile(join(dir, 'etc', made, 'hosts'), '127.0.0.1\tlocalhost\n');
    expect(job.length).toBe(6);
    const results = await job.run();
    expect(results).toHaveLength(6);
    expect(results[0]).toEqual([]);
    expect((results[2]![0] as { name: string }).name).toBe('vj0');

    expect(await netns.list()).toContain(made);
    const eth0 = ipj<{ ifname: string; address: string; operstate: string; addr_info: { local: string }[] }[]>(made, 'addr', 'show', 'eth0')[0]!;
    expect(eth0.address).toBe('02:42:ac:1e:09:02');
    expect(eth0.addr_info.map((a) => a.local)).toContain('172.30.9.2');
    expect(ipj<{ gateway?: string }[]>(made, 'route', 'show', 'default')[0]?.gateway).toBe('172.30.9.1');
    expect(ipj<{ ifname: string; master?: string }[]>(host.name, 'link', 'show', 'vj0')[0]?.master).toBe('br0');
    const elems = nftj(host.name, 'list', 'map', 'ip', 't', 'ports').nftables.find((x) => 'map' in x)!.map as { elem: unknown[] };
    expect(JSON.stringify(elems.elem)).toContain('172.30.9.2');
    expect(readFileSync(join(dir, 'mark'), 'utf8')).toBe('owner\n');
    expect(readFileSync(join(dir, 'etc', made, 'hosts'), 'utf8')).toBe('127.0.0.1\tlocalhost\n');
  });

  it('runs the parts one native call each with JS between them, the same result', async () => {
    const job = new Job();
    const ns = job.netns(made);
    attach(job, ns);
    const seen: number[] = [];
    await job.run({
      before: async (i) => {
        seen.push(i);
        // Between parts the namespace exists and the earlier parts are done.
        if (i === 2) expect(ipj<{ ifname: string }[]>(made, 'link', 'show').map((l) => l.ifname)).toContain('eth0');
      },
    });
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(ipj<{ gateway?: string }[]>(made, 'route', 'show', 'default')[0]?.gateway).toBe('172.30.9.1');
  });

  it('runs in two goes: the namespace first (kept open), the parts added after it next', async () => {
    const job = new Job();
    const ns = job.netns(made);
    expect(await job.run({ more: true })).toEqual([[]]);
    expect(await netns.list()).toContain(made);
    attach(job, ns);
    const results = await job.run();
    expect(results).toHaveLength(3);
    expect(ipj<{ gateway?: string }[]>(made, 'route', 'show', 'default')[0]?.gateway).toBe('172.30.9.1');
    // Everything ran: a third run has nothing to do.
    await expect(job.run()).rejects.toThrow(/nothing left to run/);
  });

  it('stops at the failing part: its error names the part, the step and the operation', async () => {
    await host.nl.nft.addElements(PORTS, [{ key: ['tcp', 8080], value: ['172.30.9.99', 80] }]);
    const job = new Job();
    const ns = job.netns(made);
    attach(job, ns);
    job.writeFile(join(dir, 'never'), 'x');
    const e = (await job.run().catch((x: unknown) => x)) as JobError & NetlinkError;
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e.part).toBe(3);
    expect(failedPart(e)).toBe(3);
    expect(e.code).toBe('EEXIST');
    expect(e.op).toBe('nft.createElements');
    // What came before stays done, for the caller to undo; nothing after ran.
    expect(ipj<{ ifname: string }[]>(made, 'link', 'show').map((l) => l.ifname)).toContain('eth0');
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('reports a failing step inside an rtnetlink part, with what its earlier steps returned', async () => {
    const job = new Job();
    const ns = job.netns(made);
    job.batchIn(ns, (b) => {
      b.link.add({ kind: 'bridge', name: 'd0' });
      b.addr.add({ dev: 'nosuch0', address: '10.1.0.1/24' });
    });
    const e = (await job.run().catch((x: unknown) => x)) as JobError & NetlinkError & { completed: unknown[] };
    expect(e.part).toBe(1);
    expect(e.step).toBe(1);
    expect(e.code).toBe('ENODEV');
    expect(e.message).toContain('nosuch0');
    expect(e.completed).toHaveLength(1);
  });

  it('fails at the namespace part when the name is taken, making nothing after it', async () => {
    await netns.create(made);
    const job = new Job();
    const ns = job.netns(made);
    attach(job, ns);
    const e = (await job.run().catch((x: unknown) => x)) as JobError & NetlinkError;
    expect(e.part).toBe(0);
    expect(e.op).toBe('netns.create');
    expect(e.code).toBe('EEXIST');
    expect(ipj<{ ifname: string }[]>(host.name, 'link', 'show').map((l) => l.ifname)).not.toContain('vj0');
  });

  it('fails at a file part with the path in its message', async () => {
    const job = new Job();
    job.writeFile('/proc/nlnet-no-such-dir/file', 'x');
    const e = (await job.run().catch((x: unknown) => x)) as JobError & NetlinkError;
    expect(e.part).toBe(0);
    expect(e.op).toBe('job.writeFile');
    expect(e.message).toContain('/proc/nlnet-no-such-dir');
  });

  it('stops when the hook between parts throws, later parts not run', async () => {
    const job = new Job();
    const ns = job.netns(made);
    attach(job, ns);
    const e = await job
      .run({
        before: async (i) => {
          if (i === 2) throw new Error('stop here');
        },
      })
      .catch((x: unknown) => x);
    expect((e as Error).message).toBe('stop here');
    expect(failedPart(e)).toBeUndefined();
    expect(ipj<{ ifname: string }[]>(made, 'addr', 'show', 'eth0')[0]!).not.toHaveProperty('addr_info.0');
  });

  // Jobs run on the namespace threads and take sockets of handles bound to other namespaces,
  // whose new sockets are themselves opened on those threads: many of both at once must all end.
  it('runs 40 jobs and 40 batches on one handle of another namespace at once', async () => {
    const other = await Netlink.open({ netns: host.name });
    try {
      const jobs = Array.from({ length: 40 }, (_, i) => {
        const j = new Job();
        j.batch(other, (b) => b.link.add({ kind: 'bridge', name: `jb${i}` }));
        return j.run();
      });
      const batches = Array.from({ length: 40 }, (_, i) => other.batch((b) => b.link.add({ kind: 'bridge', name: `bb${i}` })));
      await Promise.all([...jobs, ...batches]);
      const names = ipj<{ ifname: string }[]>(host.name, 'link', 'show').map((l) => l.ifname);
      expect(names.filter((n) => /^[jb]b\d+$/.test(n))).toHaveLength(80);
    } finally {
      other.close();
    }
  });

  it('refuses what cannot be a job before anything runs', async () => {
    const job = new Job();
    const ns = job.netns(made);
    expect(() => job.netns(`${made}x`)).toThrow(ValidationError);
    expect(() => job.batchIn(new JobNetns(made), () => undefined)).toThrow(ValidationError);
    expect(() => job.writeFile('relative/path', 'x')).toThrow(ValidationError);
    // A job's namespace is no namespace outside its job.
    await expect(netns.open(ns)).rejects.toBeInstanceOf(ValidationError);
    // A batch outside a job cannot carry it: the executor has no descriptor to put there.
    await expect(host.nl.link.add({ kind: 'veth', name: 'vx', peer: { name: 'eth0', netns: ns } })).rejects.toMatchObject({ code: 'EINVAL' });
    expect(await netns.list()).not.toContain(made);
    await expect(netns.delete(made)).rejects.toBeInstanceOf(NotFoundError);
  });
});
