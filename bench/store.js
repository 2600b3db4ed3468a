// What one commit of the state store costs as the state grows: 10, 100 and 1,000 sandboxes (each
// a sandbox document as the engine writes it, ~600 bytes), for the file store and, when Debian's
// etcd is installed, for etcd. The commit is the engine's own shape: read a document, put a changed
// copy. Median of COMMITS commits at each size, and the ratio of the largest state's to the
// smallest's, which should stay near 1× (a commit writes what changed, not the state).
//
// The etcd server is one this benchmark starts on a free port on 127.0.0.1 with a temp data
// directory, and kills by its PID at the end (also on failure). The file store's directory is a
// temp directory too. Nothing here touches a network namespace.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FileStore } from '../dist/network/store/file.js';

import { freePort, median, ms, time } from './util.js';

const SIZES = [10, 100, 1000];
const ETCD = '/usr/bin/etcd';

/** A sandbox document as the engine stores it (one endpoint, one published port). */
function sandbox(i) {
  const id = i.toString(16).padStart(64, '0');
  return {
    name: `c${i}`,
    id,
    created: '2026-12-03T15:01:17.716Z',
    mode: 'web',
    netns: `nlnet-1a2b3c4d-c${i}`,
    ownsNetns: true,
    endpoints: [
      {
        network: 'web',
        networkId: 'f'.repeat(64),
        endpointId: id,
        ifname: 'eth0',
        hostIfname: `veth${id.slice(0, 7)}`,
        mac: '02:42:ac:1e:05:02',
        ip: `172.30.${i >> 8}.${i & 255}`,
        aliases: [`c${i}`, id.slice(0, 12)],
        ports: [{ proto: 'tcp', hostPort: 20000 + i, containerPort: 80 }],
      },
    ],
  };
}

/** Median commit of a state grown to each size in turn. */
async function series(store, commits) {
  const out = {};
  let have = 0;
  for (const size of SIZES) {
    // Grow the state in batches of 100 documents per transaction (not timed).
    while (have < size) {
      const upto = Math.min(size, have + 100);
      await store.update((tx) => {
        for (let i = have; i < upto; i++) tx.put(`sandboxes/c${i}`, sandbox(i));
      });
      have = upto;
    }
    const t = [];
    for (let k = 0; k < commits; k++) {
      const key = `sandboxes/c${k % size}`;
      t.push(
        await time(() =>
          store.update(async (tx) => {
            const doc = await tx.get(key);
            tx.put(key, { ...doc, created: new Date().toISOString() });
          }),
        ),
      );
    }
    out[size] = median(t);
  }
  return out;
}

/** Starts etcd on free ports with a temp data directory; resolves when it answers. */
async function startEtcd() {
  const dir = mkdtempSync(join(tmpdir(), 'nlnet-bench-etcd-'));
  const [client, peer] = [await freePort(), await freePort()];
  const child = spawn(
    ETCD,
    ['--data-dir', dir, '--listen-client-urls', `http://127.0.0.1:${client}`, '--advertise-client-urls', `http://127.0.0.1:${client}`, '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `default=http://127.0.0.1:${peer}`, '--name', 'default'],
    { stdio: 'ignore' },
  );
  const stop = () => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${client}/health`);
      if (r.ok) return { endpoint: `127.0.0.1:${client}`, stop };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  stop();
  throw new Error('etcd did not come up within 10 s');
}

export async function bench({ quick }) {
  const commits = quick ? 50 : 300;
  const rows = [];
  const notes = [];
  const dir = mkdtempSync(join(tmpdir(), 'nlnet-bench-store-'));
  try {
    const store = await FileStore.open({ dir });
    rows.push({ store: 'file (snapshot + journal, fdatasync per commit)', ...(await series(store, commits)) });
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!existsSync(ETCD)) {
    notes.push(`etcd row skipped: ${ETCD} is not installed (Debian's etcd-server)`);
  } else {
    const { EtcdStore } = await import('../dist/network/store/etcd.js');
    const etcd = await startEtcd();
    try {
      const store = await EtcdStore.open({ endpoints: [etcd.endpoint], prefix: `/nlnet-bench-${process.pid}/` });
      try {
        rows.push({ store: 'etcd (one server on 127.0.0.1, txn on mod revisions)', ...(await series(store, commits)) });
      } finally {
        await store.close();
      }
    } finally {
      etcd.stop();
    }
  }
  notes.push(`one commit: a get and a put of one sandbox document (~${JSON.stringify(sandbox(999)).length} bytes) in one transaction; median of ${commits} at each size, the state grown between sizes in untimed batches`);
  return { rows, notes };
}

export function table({ rows, notes }) {
  const head = ['store', ...SIZES.map((s) => `${s.toLocaleString('en')} sandboxes`), `${SIZES.at(-1).toLocaleString('en')} / ${SIZES[0]}`];
  const out = ['### One commit of the state store as the state grows\n', 'Medians in ms.\n', `| ${head.join(' | ')} |`, `|---|${SIZES.map(() => '---:').join('|')}|---:|`];
  for (const r of rows) out.push(`| ${[r.store, ...SIZES.map((s) => ms(r[s])), `${(r[SIZES.at(-1)] / r[SIZES[0]]).toFixed(2)}×`].join(' | ')} |`);
  out.push(`\n${notes.map((n) => `- ${n}`).join('\n')}`);
  return out.join('\n');
}
