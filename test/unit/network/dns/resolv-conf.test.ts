// lib/network/dns/resolv-conf.ts: the resolv.conf a sandbox gets and the host's upstreams. Pure.
import { describe, expect, it } from 'vitest';

import { ValidationError } from '../../../../lib/core/errors.js';
import { isLoopback, parseResolvConf, parseUpstream, sandboxResolvConf } from '../../../../lib/network/dns/resolv-conf.js';

// What systemd-resolved leaves in /etc/resolv.conf: one loopback stub resolver.
const STUB = `# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).
nameserver 127.0.0.53
options edns0 trust-ad
search corp.example lab.example
`;
// A host with real resolvers, a loopback one and an IPv6 one.
const MIXED = `domain old.example
nameserver 10.0.0.2
nameserver ::1
nameserver 2001:db8::53
; a comment
nameserver 127.0.1.1
search corp.example
options ndots:2
options timeout:1
`;

describe('parseResolvConf', () => {
  it('reads nameservers in order, the last search or domain line, and all options', () => {
    expect(parseResolvConf(MIXED)).toEqual({
      nameservers: ['10.0.0.2', '::1', '2001:db8::53', '127.0.1.1'],
      search: ['corp.example'],
      options: ['ndots:2', 'timeout:1'],
    });
    expect(parseResolvConf(STUB)).toEqual({ nameservers: ['127.0.0.53'], search: ['corp.example', 'lab.example'], options: ['edns0', 'trust-ad'] });
  });

  it('skips comments, blank lines, junk and nameservers that are not addresses', () => {
    expect(parseResolvConf('#nameserver 1.1.1.1\n\n  nameserver   9.9.9.9  \nnameserver dns.example\nnameserver\nbogus line\n')).toEqual({
      nameservers: ['9.9.9.9'],
      search: [],
      options: [],
    });
    expect(parseResolvConf('')).toEqual({ nameservers: [], search: [], options: [] });
  });
});

describe('sandboxResolvConf', () => {
  it('user-defined network: the gateway as only nameserver, with the host search and options', () => {
    expect(sandboxResolvConf(STUB, '172.18.0.1')).toBe('nameserver 172.18.0.1\noptions edns0 trust-ad\nsearch corp.example lab.example\n');
    expect(sandboxResolvConf(MIXED, 'fd00::1')).toBe('nameserver fd00::1\ndomain old.example\nsearch corp.example\noptions ndots:2\noptions timeout:1\n');
    expect(sandboxResolvConf('', '10.1.0.1')).toBe('nameserver 10.1.0.1\n');
  });

  it('default bridge: the host file without loopback nameservers', () => {
    expect(sandboxResolvConf(MIXED)).toBe(
      'domain old.example\nnameserver 10.0.0.2\nnameserver 2001:db8::53\n; a comment\nsearch corp.example\noptions ndots:2\noptions timeout:1\n',
    );
  });

  it("default bridge: Docker's fallbacks when only loopback resolvers were there", () => {
    expect(sandboxResolvConf(STUB)).toBe(
      '# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\noptions edns0 trust-ad\nsearch corp.example lab.example\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n',
    );
    expect(sandboxResolvConf('')).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  });

  it('refuses a nameserver that is not an address', () => {
    expect(() => sandboxResolvConf(STUB, 'gateway')).toThrow(ValidationError);
  });

  it('isLoopback: 127/8 and ::1 in any spelling', () => {
    for (const a of ['127.0.0.1', '127.0.0.53', '127.255.1.1', '::1', '0:0:0:0:0:0:0:1']) expect(isLoopback(a), a).toBe(true);
    for (const a of ['10.0.0.1', '128.0.0.1', '::', '::2', 'fe80::1', 'x']) expect(isLoopback(a), a).toBe(false);
  });
});

describe('parseUpstream (dockerd --dns)', () => {
  it.each([
    ['10.0.0.2', { address: '10.0.0.2', port: 53 }],
    ['10.0.0.2:5353', { address: '10.0.0.2', port: 5353 }],
    ['2001:db8::53', { address: '2001:db8::53', port: 53 }],
    ['[2001:db8::53]:5353', { address: '2001:db8::53', port: 5353 }],
    ['[::1]', { address: '::1', port: 53 }],
  ])('%s', (spec, want) => expect(parseUpstream(spec)).toEqual(want));

  it.each(['', 'dns.example', '10.0.0.2:', '10.0.0.2:0', '10.0.0.2:65536', '10.0.0.2:53x', '[10.0.0.2]:53', '[2001:db8::53]:', '2001:db8::53:99999', 'fe80::1%eth0', '[fe80::1%eth0]:53'])(
    'refuses %j',
    (spec) => expect(() => parseUpstream(spec)).toThrow(ValidationError),
  );
});
