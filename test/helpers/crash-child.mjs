// Child process for the crash tests: `node crash-child.mjs <dist/network/engine.js> <hostNetns>
// <stateDir> <op> <at>` opens an Engine and runs one operation, killing itself with SIGKILL on
// the way. <at> is `step:NAME` (at that step boundary, before the step runs; see Step in
// lib/network/model/types.ts) or `after:MS` (MS milliseconds after the operation's first step began,
// wherever the process is then: in JS, or with a batch in flight on a native thread). Prints
// "finished MS" (the operation's own time) if it ended before the kill. The operations work on what
// crash.test.ts prepares. Uses dist/ (built by `npm test`), as Node 20 cannot import .ts.
import { pathToFileURL } from 'node:url';

const [modulePath, hostNetns, stateDir, op, at] = process.argv.slice(2);
const { Engine } = await import(pathToFileURL(modulePath).href);
const engine = await Engine.open({ hostNetns, stateDir });

const die = () => process.kill(process.pid, 'SIGKILL');
let began;
engine.faults = {
  beforeStep(step) {
    if (at === `step:${step}`) die();
    if (began === undefined) {
      began = performance.now();
      if (at.startsWith('after:')) setTimeout(die, Number(at.slice('after:'.length)));
    }
  },
};

const OPS = {
  attach: () => engine.createSandbox({ name: 'ca', network: 'n1', publish: ['18100:80'] }),
  detach: () => engine.removeSandbox('cd'),
  connect: () => engine.connect('n2', 'cc'),
  disconnect: () => engine.disconnect('n2', 'cx'),
  'network-create': () => engine.createNetwork({ name: 'n9', subnet: '10.119.0.0/24' }),
  'network-rm': () => engine.removeNetwork('n3'),
};
await OPS[op]();
// How long the operation took from its first step: the range the random kills are drawn from.
process.stdout.write(`finished ${(performance.now() - began).toFixed(1)}\n`);
process.exit(0);
