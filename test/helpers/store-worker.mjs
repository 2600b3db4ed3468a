// Child process for the store tests: `node store-worker.mjs <file.js> <dir> <count> <key>` does
// <count> read-modify-write increments of <key> through its own FileStore, then exits 0.
// <file.js> is lib/network/store/file.ts compiled by the test (Node 20 cannot import .ts).
import { pathToFileURL } from 'node:url';

const [modulePath, dir, count, key] = process.argv.slice(2);
const { FileStore } = await import(pathToFileURL(modulePath).href);
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
