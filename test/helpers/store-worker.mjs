// Child process for the store tests: `node store-worker.mjs <file.js> <mode> <dir> …`, where
// <file.js> is lib/network/store/file.ts compiled by the test (store-build.ts; Node 20 cannot
// import .ts) and <dir> the state directory. Modes:
// - `count <dir> <n> <key>`: n read-modify-write increments of <key>, then exit 0.
// - `hold <dir>`: takes the store's lock (a transaction that waits), writes `held\n` to stdout,
//   and lets go when stdin ends; exits 0.
// - `commit <dir> <fault> <tx> [<options>]`: one transaction; <fault> is a StoreFault as JSON or
//   `none`, <tx> `{"put":{key:value,…},"delete":[key,…]}`, <options> more FileStore options as
//   JSON. With a fault it dies by SIGKILL part-way through.
// - `probe <dir> <options>`: opens the store with <options> (JSON) and commits one document;
//   writes `{"ok":true}` or `{"ok":false,"error":{name,message,code,problem}}` to stdout.
import { pathToFileURL } from 'node:url';

const [modulePath, mode, dir, ...rest] = process.argv.slice(2);
const { FileStore } = await import(pathToFileURL(modulePath).href);

switch (mode) {
  case 'count': {
    const [count, key] = rest;
    const store = await FileStore.open({ dir });
    for (let i = 0; i < Number(count); i++) {
      await store.update(async (tx) => {
        const n = (await tx.get(key)) ?? 0;
        // Yield between read and write so a missing lock would lose updates, not hide behind timing.
        await new Promise((resolve) => setImmediate(resolve));
        tx.put(key, n + 1);
      });
    }
    await store.close();
    break;
  }
  case 'hold': {
    const store = await FileStore.open({ dir });
    await store.update(async () => {
      process.stdout.write('held\n');
      await new Promise((resolve) => {
        process.stdin.on('end', resolve).resume();
      });
    });
    await store.close();
    break;
  }
  case 'commit': {
    const [fault, tx, options = '{}'] = rest;
    const store = await FileStore.open({ dir, ...JSON.parse(options), ...(fault === 'none' ? {} : { fault: JSON.parse(fault) }) });
    const { put = {}, delete: del = [] } = JSON.parse(tx);
    await store.update((t) => {
      for (const [key, value] of Object.entries(put)) t.put(key, value);
      for (const key of del) t.delete(key);
    });
    await store.close();
    break;
  }
  case 'probe': {
    const [options] = rest;
    try {
      const store = await FileStore.open({ dir, ...JSON.parse(options) });
      await store.update((t) => t.put('probe/1', { at: Date.now() }));
      process.stdout.write(JSON.stringify({ ok: true }));
    } catch (e) {
      process.stdout.write(JSON.stringify({ ok: false, error: { name: e.name, message: e.message, code: e.code, problem: e.problem } }));
    }
    break;
  }
  default:
    throw new Error(`store-worker: unknown mode ${mode}`);
}
