// Handles hold file descriptors (a namespace fd, sockets); opening and closing one 10,000 times
// across namespaces must leave the process with as many descriptors as before.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { Netlink } from '../../../lib/index.js';
import { isRoot, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

const openFds = (): number => readdirSync('/proc/self/fd').length;

describe.skipIf(!isRoot)(`descriptors (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const ns = useNetns(2);

  it('leaks nothing over 10,000 open/use/close cycles across namespaces', async () => {
    const names = ns.map((s) => s.name);
    // Warm up once: the addon's namespace thread opens its own descriptor on first use.
    (await Netlink.open({ netns: names[0]! })).close();
    const before = openFds();
    for (let i = 0; i < 10_000; i++) {
      const nl = await Netlink.open({ netns: names[i % 2]! });
      if (i % 10 === 0) await nl.link.get('lo');
      if (i % 500 === 0) (await nl.events({ groups: ['link'] })).close();
      nl.close();
    }
    expect(openFds()).toBe(before);
  });
});
