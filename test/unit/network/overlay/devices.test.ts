// lib/network/overlay/devices.ts, its pure parts: what a resync adds and removes on vxlan0
// (peerDiff), and the name of an overlay network's namespace. No root needed.
import { describe, expect, it } from 'vitest';

import { sandboxNetnsName } from '../../../../lib/network/model/sandbox.js';
import { overlayNetnsName, peerDiff, type Peer } from '../../../../lib/network/overlay/devices.js';

const p = (n: number, vtep = '192.0.2.10'): Peer => ({ mac: `02:42:0a:00:00:${n.toString(16).padStart(2, '0')}`, ip: `10.0.0.${n}`, vtep });

describe('peerDiff', () => {
  it('nothing to do when both sides agree (in any order)', () => {
    expect(peerDiff([], [])).toEqual({ add: [], remove: [] });
    expect(peerDiff([p(2), p(3)], [p(3), p(2)])).toEqual({ add: [], remove: [] });
  });

  it('adds what is wanted and missing, removes what is there and unwanted', () => {
    expect(peerDiff([], [p(2), p(3)])).toEqual({ add: [p(2), p(3)], remove: [] });
    expect(peerDiff([p(2), p(3)], [])).toEqual({ add: [], remove: [p(2), p(3)] });
    expect(peerDiff([p(2), p(3)], [p(3), p(4)])).toEqual({ add: [p(4)], remove: [p(2)] });
  });

  it('an endpoint that moved to another host, or whose address or MAC changed, is withdrawn and programmed again', () => {
    const moved = p(2, '192.0.2.11');
    expect(peerDiff([p(2)], [moved])).toEqual({ add: [moved], remove: [p(2)] });
    const newIp = { ...p(2), ip: '10.0.0.9' };
    expect(peerDiff([p(2)], [newIp])).toEqual({ add: [newIp], remove: [p(2)] });
    const newMac = { ...p(2), mac: '02:aa:bb:cc:dd:ee' };
    expect(peerDiff([p(2)], [newMac])).toEqual({ add: [newMac], remove: [p(2)] });
  });

  it('keeps the order of its inputs and does not change them', () => {
    const have = [p(5), p(1), p(3)];
    const want = [p(9), p(3), p(7)];
    const copy = JSON.stringify([have, want]);
    expect(peerDiff(have, want)).toEqual({ add: [p(9), p(7)], remove: [p(5), p(1)] });
    expect(JSON.stringify([have, want])).toBe(copy);
  });

  it('scales: 5000 peers, one changed', () => {
    const have = Array.from({ length: 5000 }, (_, i) => ({ mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, ip: `10.1.${i >> 8}.${i & 255}`, vtep: '192.0.2.10' }));
    const want = have.map((x, i) => (i === 1234 ? { ...x, vtep: '192.0.2.99' } : x));
    const t = performance.now();
    const d = peerDiff(have, want);
    expect(performance.now() - t).toBeLessThan(500);
    expect(d).toEqual({ add: [want[1234]], remove: [have[1234]] });
  });
});

describe('overlayNetnsName', () => {
  it("is the host's sandbox prefix, '@1-' and 10 characters of the network id", () => {
    const id = 'abcdef0123456789'.repeat(4);
    const name = overlayNetnsName('myhost', id);
    expect(name).toBe(`${sandboxNetnsName('myhost', '')}@1-abcdef0123`);
    // Two hosts never share one; no sandbox name (Docker's name rule) has an '@'.
    expect(overlayNetnsName('other', id)).not.toBe(name);
    expect(name.startsWith(sandboxNetnsName('myhost', ''))).toBe(true);
  });
});
