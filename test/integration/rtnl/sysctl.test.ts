// sysctl inside a namespace, checked with the kernel's own files read from inside it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { NetlinkError, ValidationError } from '../../../lib/index.js';
import { isRoot, nsExec, ROOT_SKIP_REASON, useNetns } from '../../helpers/ns.js';

describe.skipIf(!isRoot)(`sysctl (${isRoot ? 'root' : ROOT_SKIP_REASON})`, () => {
  const ns = useNetns(1);

  it('reads and writes inside the namespace only', async () => {
    const [{ name, nl }] = ns as [(typeof ns)[0]];
    const machine = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    expect(await nl.sysctl.get('net.ipv4.ip_forward')).toBe('0');
    await nl.sysctl.set('net.ipv4.ip_forward', 1);
    expect(await nl.sysctl.get('net/ipv4/ip_forward')).toBe('1');
    expect(nsExec(name, 'cat', '/proc/sys/net/ipv4/ip_forward').stdout.trim()).toBe('1');
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(machine);
  });

  it('reaches per-interface keys with the slash form', async () => {
    const [{ name, nl }] = ns as [(typeof ns)[0]];
    await nl.link.add({ name: 'v0.x', kind: 'veth', peer: { name: 'v1' } });
    await nl.sysctl.set('net/ipv6/conf/v0.x/disable_ipv6', '1');
    expect(nsExec(name, 'cat', '/proc/sys/net/ipv6/conf/v0.x/disable_ipv6').stdout.trim()).toBe('1');
  });

  it('reports a missing key as ENOENT and refuses keys outside net', async () => {
    const [{ nl }] = ns as [(typeof ns)[0]];
    const e = await nl.sysctl.get('net.ipv4.no_such_key').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetlinkError);
    expect((e as NetlinkError).code).toBe('ENOENT');
    await expect(nl.sysctl.get('kernel.hostname')).rejects.toBeInstanceOf(ValidationError);
    await expect(nl.sysctl.get('net/../../etc/passwd')).rejects.toBeInstanceOf(ValidationError);
  });
});
