// Child process for the reconcile tests: `node engine-child.mjs <dist/network/engine.js> <hostNetns>
// <stateDir> <step> <name> <network> [publish]` opens an Engine, starts createSandbox and, before
// <step> of the attach (an AttachStep: 'netns', 'veth', 'sandbox', 'publish'…) and once its
// record is written, prints "paused" and waits forever: the parent kills
// it with SIGKILL there. Uses dist/ (built by `npm test`), as Node 20 cannot import .ts.
import { pathToFileURL } from 'node:url';

const [modulePath, hostNetns, stateDir, pauseAt, name, network, publish] = process.argv.slice(2);
const { Engine } = await import(pathToFileURL(modulePath).href);
const engine = await Engine.open({ hostNetns, stateDir });
engine.faults = {
  beforeStep: async (step) => {
    if (step !== pauseAt) return;
    // The engine overlaps the kernel steps with the store's write; an empty transaction queues
    // behind that write, so the kill lands after the record is on disk.
    await engine.store.update(() => undefined);
    process.stdout.write('paused\n');
    await new Promise(() => setInterval(() => {}, 1 << 30));
  },
};
await engine.createSandbox({ name, network, ...(publish === undefined ? {} : { publish: [publish] }) });
process.stdout.write('finished\n');
