// Child process for the etcd store tests: `node etcd-child.mjs <endpoint> <prefix> <mode> …`,
// importing the compiled store from dist/ (run `npx tsc -p tsconfig.json` first; Node 20 cannot
// import .ts). A child is its own process so that it can be a separate writer, or die by SIGKILL
// holding a lease. Modes:
// - `count <n> <key>`: n read-modify-write increments of <key>; prints the attempts it took; exit 0.
// - `host <id> <ttlSeconds>`: registers the host, prints `registered\n`, then idles until killed.
// - `exit`: opens, updates, watches, registers a host, closes all, and must then exit by itself.
// - `down <timeoutMs>`: opens against an etcd that is down; prints the error as JSON; exits.
import { EtcdStore } from '../../dist/network/store/etcd.js';

const [endpoint, prefix, mode, ...rest] = process.argv.slice(2);
const open = (extra = {}) => EtcdStore.open({ endpoints: [endpoint], prefix, ...extra });

switch (mode) {
  case 'count': {
    const [count, key] = rest;
    const store = await open({ maxAttempts: 1000 });
    let attempts = 0;
    for (let i = 0; i < Number(count); i++) {
      await store.update(async (tx) => {
        attempts++;
        const n = (await tx.get(key)) ?? 0;
        // Yield between read and write so a lost update would show, not hide behind timing.
        await new Promise((resolve) => setImmediate(resolve));
        tx.put(key, n + 1);
      });
    }
    await store.close();
    process.stdout.write(`${attempts}\n`);
    break;
  }
  case 'host': {
    const [id, ttl] = rest;
    const store = await open();
    await store.registerHost({ id, address: '192.0.2.1', ttlSeconds: Number(ttl) });
    process.stdout.write('registered\n');
    setInterval(() => {}, 60_000);
    break;
  }
  case 'exit': {
    const store = await open();
    await store.update((tx) => tx.put('exit/1', 1));
    await store.watch('exit/', {}, () => {});
    await store.registerHost({ id: 'exiting', address: '192.0.2.2', ttlSeconds: 5 });
    await store.close();
    process.stdout.write('closed\n');
    break;
  }
  case 'down': {
    const started = Date.now();
    try {
      await open({ timeoutMs: Number(rest[0]) });
      process.stdout.write(JSON.stringify({ ok: true }));
    } catch (e) {
      process.stdout.write(JSON.stringify({ name: e.name, message: e.message, code: e.code, ms: Date.now() - started }));
    }
    break;
  }
  default:
    throw new Error(`etcd-child: unknown mode ${mode}`);
}
