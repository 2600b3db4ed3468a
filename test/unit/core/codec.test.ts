// The codec engine against hostile bytes: truncated, oversized, self-referencing lengths and
// random mutations of real messages must be refused cleanly, never read out of bounds.
import { describe, expect, it } from 'vitest';

import { native } from '../../../lib/core/binding.js';
import { RTM_NEWLINK, RTM_NEWROUTE } from '../../../lib/core/constants.js';

// ip link add veth0 mtu 1400 type veth peer name veth1
const VETH_ADD = Buffer.from(
  '640000001000050600000000000000000000000000000000000000000000000008000400780500000a00030076657468300000003000120008000100766574682400020020000100000000000000000000000000000000000a0003007665746831000000',
  'hex',
);

/** A tiny deterministic PRNG, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

describe('codec robustness', () => {
  it('decodes the real message it was given', () => {
    const [m] = native.decode(0, VETH_ADD);
    expect(m!.type).toBe(RTM_NEWLINK);
    expect(m!.body).toMatchObject({ name: 'veth0', mtu: 1400, info: { kind: 'veth', data: { peer: { name: 'veth1' } } } });
  });

  it('refuses a message whose length runs past the buffer', () => {
    const b = Buffer.from(VETH_ADD);
    b.writeUInt32LE(VETH_ADD.length + 4, 0);
    expect(() => native.decode(0, b)).toThrow(RangeError);
  });

  it('refuses an attribute whose length runs past its message', () => {
    const b = Buffer.from(VETH_ADD);
    b.writeUInt16LE(0xfff0, 32); // IFLA_MTU's nla_len
    expect(() => native.decode(0, b)).toThrow(RangeError);
  });

  it('refuses an attribute shorter than its own header', () => {
    const b = Buffer.from(VETH_ADD);
    b.writeUInt16LE(2, 32);
    expect(() => native.decode(0, b)).toThrow(RangeError);
  });

  it('refuses a family header cut short', () => {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(24, 0);
    b.writeUInt16LE(RTM_NEWROUTE, 4); // rtmsg needs 12 bytes, 8 are there
    expect(() => native.decode(0, b)).toThrow(RangeError);
  });

  it('keeps a known attribute of the wrong size as unknown bytes instead of misreading it', () => {
    const b = Buffer.from(VETH_ADD);
    // Make IFLA_MTU 3 bytes long: not a u32 any more.
    b.writeUInt16LE(7, 32);
    const [m] = native.decode(0, b);
    expect(m!.body!.mtu).toBeUndefined();
    expect(m!.body!.unknown).toEqual([{ type: 4, data: Buffer.from([0x78, 0x05, 0x00]) }]);
  });

  it('survives 50,000 random mutations of a real message', () => {
    const next = rng(0x5eed);
    let decoded = 0;
    for (let i = 0; i < 50_000; i++) {
      const b = Buffer.from(VETH_ADD);
      const flips = 1 + Math.floor(next() * 6);
      for (let j = 0; j < flips; j++) b[Math.floor(next() * b.length)] = Math.floor(next() * 256);
      const cut = next() < 0.2 ? Math.floor(next() * b.length) : b.length;
      try {
        native.decode(0, b.subarray(0, cut));
        decoded++;
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError);
      }
    }
    expect(decoded).toBeGreaterThan(0);
  });

  it('round-trips unknown attributes it kept', () => {
    const b = Buffer.from(VETH_ADD);
    b.writeUInt16LE(0x7f, 34); // IFLA_MTU → an attribute type nlnet does not know
    const [m] = native.decode(0, b);
    expect(m!.body!.unknown).toEqual([{ type: 0x7f, data: Buffer.from([0x78, 0x05, 0, 0]) }]);
    const again = native.encode(0, m!.type, m!.flags, m!.body!);
    // Unknown attributes are written after the known ones.
    const [m2] = native.decode(0, again);
    expect(m2!.body).toEqual(m!.body);
  });

  it('refuses bad values at encode time with the field path', () => {
    expect(() => native.encode(0, RTM_NEWLINK, 5, { mtu: -1 })).toThrow(/mtu/);
    expect(() => native.encode(0, RTM_NEWLINK, 5, { address: 'zz:00' })).toThrow(/address/);
    expect(() => native.encode(0, RTM_NEWLINK, 5, { info: { kind: 'veth', data: { peer: { mtu: 'x' } } } })).toThrow(/peer\.mtu/);
    expect(() => native.encode(0, 999, 5, {})).toThrow(/unknown message type/);
  });
});
