// Interval sets against the bytes `nft` 1.0.6 sends: prefixes, ranges and several of them in a
// single-field set (start and end elements), concatenated intervals (one element with a key end),
// maps, deletion; and what listing makes of the kernel's start and end elements.
// Vectors: node test/tools/capture.mjs --setup "$SETUP" -- nsenter --net=/run/netns/%NS% nft CMD,
// SETUP='nft add table ip t; nft add chain ip t x' and the sets below (for the deletions, with
// the elements deleted).
//
// Normalized: NFTA_SET_ELEM_LIST_SET_ID, as in nft-objects.test.ts; and the attribute type of
// each element in the list: nft numbers them 1, 2… where nlnet writes NFTA_LIST_ELEM (1) for
// each, and the kernel reads either (nla_for_each_nested).
import { describe, expect, it } from 'vitest';

import { ValidationError } from '../../../lib/core/errors.js';
import { nftOps, type Element, type SetRef } from '../../../lib/nft/objects.js';
import type { Op } from '../../../lib/core/op.js';
import { decode, encode, listElem1 } from '../../helpers/nft-golden.js';


const at = { family: 'ip', table: 't' } as const;
// nft add set ip t NAME { type …; flags interval; } (tmo: flags interval,timeout; m: a map)
const nets: SetRef = { ...at, name: 'nets', key: 'ipv4_addr', flags: ['interval'] };
const svci: SetRef = { ...at, name: 'svci', key: ['ipv4_addr', 'inet_service'], flags: ['interval'] };
const m: SetRef = { ...at, name: 'm', key: 'ipv4_addr', map: 'verdict', flags: ['interval'] };
const ports: SetRef = { ...at, name: 'ports', key: 'inet_service', flags: ['interval'] };
const s6: SetRef = { ...at, name: 's6', key: 'ipv6_addr', flags: ['interval'] };
const ifs: SetRef = { ...at, name: 'ifs', key: 'ifname', flags: ['interval'] };
const marks: SetRef = { ...at, name: 'marks', key: 'mark', flags: ['interval'] };
const tmo: SetRef = { ...at, name: 'tmo', key: 'ipv4_addr', flags: ['interval', 'timeout'] };

interface Vector {
  cmd: string;
  op: Op<unknown>;
  hex: string;
}

const vectors: Vector[] = [
  {
    // A prefix: its start, and an end element one past its last address, after the end element at 0
    // nft puts first.
    cmd: "nft add element ip t nets { 10.0.0.0/8 }",
    op: nftOps.addElements(nets, [{ key: '10.0.0.0/8' }]),
    hex: '740000000c0a01040000000000000000020000000600010074000000090002006e657473000000000800040000000001440003801800018008000300000000010c0001800800010000000000100002800c000180080001000a0000001800038008000300000000010c000180080001000b000000',
  },
  {
    cmd: "nft add element ip t nets { 10.0.0.1-10.0.0.9 }",
    op: nftOps.addElements(nets, [{ key: '10.0.0.1', keyEnd: '10.0.0.9' }]),
    hex: '740000000c0a01040000000000000000020000000600010074000000090002006e657473000000000800040000000001440003801800018008000300000000010c0001800800010000000000100002800c000180080001000a0000011800038008000300000000010c000180080001000a00000a',
  },
  {
    // Several, sorted; a single address is the range of one.
    cmd: "nft add element ip t nets { 10.0.0.1-10.0.0.9, 192.168.0.0/16, 1.2.3.4 }",
    op: nftOps.addElements(nets, [{ key: '10.0.0.1', keyEnd: '10.0.0.9' }, { key: '192.168.0.0/16' }, { key: '1.2.3.4' }]),
    hex: 'c40000000c0a01040000000000000000020000000600010074000000090002006e657473000000000800040000000001940003801800018008000300000000010c0001800800010000000000100002800c00018008000100010203041800038008000300000000010c0001800800010001020305100004800c000180080001000a0000011800058008000300000000010c000180080001000a00000a100006800c00018008000100c0a800001800078008000300000000010c00018008000100c0a90000',
  },
  {
    // No leading end element when a range starts at 0; a range that runs to the last address has no
    // end element but a start flagged open in its user data.
    cmd: "nft add element ip t nets { 0.0.0.0/8, 255.0.0.0/8 }",
    op: nftOps.addElements(nets, [{ key: '0.0.0.0/8' }, { key: '255.0.0.0/8' }]),
    hex: '780000000c0a01040000000000000000020000000600010074000000090002006e65747300000000080004000000000148000380100001800c00018008000100000000001800028008000300000000010c00018008000100010000001c0003800c00018008000100ff0000000a0006000104010000000000',
  },
  {
    // Adjacent prefixes stay apart in a named set: the end of one is the start of the next.
    cmd: "nft add element ip t nets { 10.0.0.0/24, 10.0.1.0/24 }",
    op: nftOps.addElements(nets, [{ key: '10.0.0.0/24' }, { key: '10.0.1.0/24' }]),
    hex: '9c0000000c0a01040000000000000000020000000600010074000000090002006e6574730000000008000400000000016c0003801800018008000300000000010c0001800800010000000000100002800c000180080001000a0000001800038008000300000000010c000180080001000a000100100004800c000180080001000a0001001800058008000300000000010c000180080001000a000200',
  },
  {
    // Concatenated intervals: one element each, with NFTA_SET_ELEM_KEY_END.
    cmd: "nft add element ip t svci { 10.0.0.0/8 . 80-90, 10.1.2.3 . 22 }",
    op: nftOps.addElements(svci, [{ key: ['10.0.0.0', 80], keyEnd: ['10.255.255.255', 90] }, { key: ['10.1.2.3', 22] }]),
    hex: '7c0000000c0a0104000000000000000002000000060001007400000009000200737663690000000008000400000000024c00038024000180100001800c0001000a0000000050000010000a800c0001000affffff005a000024000280100001800c0001000a0102030016000010000a800c0001000a01020300160000',
  },
  {
    // A map's value goes with the start element only.
    cmd: "nft add element ip t m { 10.0.0.0/8 : accept, 192.168.1.0/24 : jump x }",
    op: nftOps.addElements(m, [{ key: '10.0.0.0/8', value: { code: 'accept' } }, { key: '192.168.1.0/24', value: { code: 'jump', chain: 'x' } }]),
    hex: 'c00000000c0a01040000000000000000020000000600010074000000060002006d0000000800040000000003940003801800018008000300000000010c0001800800010000000000200002800c000180080001000a000000100002800c00028008000100000000011800038008000300000000010c000180080001000b000000280004800c00018008000100c0a80100180002801400028008000100fffffffd06000200780000001800058008000300000000010c00018008000100c0a80200',
  },
  {
    cmd: "nft add element ip t ports { 1000-2000, 65000-65535 }",
    op: nftOps.addElements(ports, [{ key: 1000, keyEnd: 2000 }, { key: 65000, keyEnd: 65535 }]),
    hex: '900000000c0a010400000000000000000200000006000100740000000a000200706f7274730000000800040000000004600003801800018008000300000000010c0001800600010000000000100002800c0001800600010003e800001800038008000300000000010c0001800600010007d100001c0004800c00018006000100fde800000a0006000104010000000000',
  },
  {
    cmd: "nft add element ip t s6 { fd00::/64, 2001:db8::1-2001:db8::9 }",
    op: nftOps.addElements(s6, [{ key: 'fd00::/64' }, { key: '2001:db8::1', keyEnd: '2001:db8::9' }]),
    hex: 'd40000000c0a0104000000000000000002000000060001007400000007000200733600000800040000000005a80003802400018008000300000000011800018014000100000000000000000000000000000000001c000280180001801400010020010db8000000000000000000000001240003800800030000000001180001801400010020010db800000000000000000000000a1c0004801800018014000100fd0000000000000000000000000000002400058008000300000000011800018014000100fd000000000000010000000000000000',
  },
  {
    // Interface names: one name is a range of one, a wildcard a prefix of bytes.
    cmd: "nft add element ip t ifs { \"eth0\", \"veth*\" }",
    op: nftOps.addElements(ifs, [{ key: 'eth0' }, { key: 'veth*' }]),
    hex: 'd40000000c0a0104000000000000000002000000060001007400000008000200696673000800040000000006a80003802400018008000300000000011800018014000100000000000000000000000000000000001c0002801800018014000100657468300000000000000000000000002400038008000300000000011800018014000100657468300000000000000000000000011c000480180001801400010076657468000000000000000000000000240005800800030000000001180001801400010076657469000000000000000000000000',
  },
  {
    // Marks are host-endian elsewhere, big-endian in interval sets, so that they sort as numbers.
    cmd: "nft add element ip t marks { 0x10-0x20, 0x100 }",
    op: nftOps.addElements(marks, [{ key: 0x10, keyEnd: 0x20 }, { key: 0x100 }]),
    hex: '9c0000000c0a010400000000000000000200000006000100740000000a0002006d61726b7300000008000400000000076c0003801800018008000300000000010c0001800800010000000000100002800c00018008000100000000101800038008000300000000010c0001800800010000000021100004800c00018008000100000001001800058008000300000000010c0001800800010000000101',
  },
  {
    // A timeout goes with the start element.
    cmd: "nft add element ip t tmo { 10.0.0.0/8 timeout 10s }",
    op: nftOps.addElements(tmo, [{ key: '10.0.0.0/8', timeout: 10_000 }]),
    hex: '7c0000000c0a0104000000000000000002000000060001007400000008000200746d6f000800040000000008500003801800018008000300000000010c00018008000100000000001c0002800c00040000000000000027100c000180080001000a0000001800038008000300000000010c000180080001000b000000',
  },
  {
    // Deleting sends each range's start and end, without the leading element.
    cmd: "nft delete element ip t nets { 10.0.0.0/8 }",
    op: nftOps.delElements(nets, [{ key: '10.0.0.0/8' }]),
    hex: '540000000e0a01000000000000000000020000000600010074000000090002006e657473000000002c000380100001800c000180080001000a0000001800028008000300000000010c000180080001000b000000',
  },
  {
    // An open range is deleted by its start, flagged open.
    cmd: "nft delete element ip t nets { 255.0.0.0/8 }",
    op: nftOps.delElements(nets, [{ key: '255.0.0.0/8' }]),
    hex: '480000000e0a01000000000000000000020000000600010074000000090002006e65747300000000200003801c0001800c00018008000100ff0000000a0006000104010000000000',
  },
  {
    cmd: "nft delete element ip t svci { 10.0.0.0/8 . 80-90 }",
    op: nftOps.delElements(svci, [{ key: ['10.0.0.0', 80], keyEnd: ['10.255.255.255', 90] }]),
    hex: '500000000e0a010000000000000000000200000006000100740000000900020073766369000000002800038024000180100001800c0001000a0000000050000010000a800c0001000affffff005a0000',
  },
];

describe('nft interval elements: golden bytes from nft', () => {
  for (const t of vectors) {
    describe(t.cmd, () => {
      const hex = listElem1(t.hex);

      it('encodes back to the same bytes', () => {
        const msg = decode(hex);
        expect(encode(msg.type, msg.flags, msg.body)).toBe(hex);
      });

      it('is what nlnet sends', () => {
        const msg = decode(hex);
        expect(t.op.type).toBe(msg.type);
        expect(t.op.flags).toBe(msg.flags);
        const ids = Object.fromEntries(Object.entries(msg.body).filter(([k]) => k === 'setId'));
        expect(encode(t.op.type, msg.flags, { ...t.op.body, ...ids })).toBe(hex);
      });
    });
  }
});

/**
 * What the kernel lists for the elements nft added: the same elements, in its own order (the
 * rbtree walks from the highest key down).
 */
function listed(set: SetRef, cmd: string): Element[] {
  const body = decode(vectors.find((t) => t.cmd === cmd)!.hex).body;
  const reversed = { ...body, elements: [...(body.elements as unknown[])].reverse() };
  return nftOps.listElements(set).parse([reversed]);
}

/** What nlnet sends, decoded as the kernel's reply would be. */
const asReply = (op: Op<unknown>) => decode(encode(op.type, op.flags, op.body)).body;

describe('nft interval elements: what nlnet reads back', () => {
  it('prefixes as prefixes, ranges as key and keyEnd, single keys as keys', () => {
    expect(listed(nets, 'nft add element ip t nets { 10.0.0.1-10.0.0.9, 192.168.0.0/16, 1.2.3.4 }')).toEqual([
      { key: '1.2.3.4' },
      { key: '10.0.0.1', keyEnd: '10.0.0.9' },
      { key: '192.168.0.0/16' },
    ]);
    expect(listed(s6, 'nft add element ip t s6 { fd00::/64, 2001:db8::1-2001:db8::9 }')).toEqual([
      { key: '2001:db8::1', keyEnd: '2001:db8::9' },
      { key: 'fd00::/64' },
    ]);
    expect(listed(ports, 'nft add element ip t ports { 1000-2000, 65000-65535 }')).toEqual([{ key: 1000, keyEnd: 2000 }, { key: 65000, keyEnd: 65535 }]);
    expect(listed(ifs, 'nft add element ip t ifs { "eth0", "veth*" }')).toEqual([{ key: 'eth0' }, { key: 'veth*' }]);
    expect(listed(marks, 'nft add element ip t marks { 0x10-0x20, 0x100 }')).toEqual([{ key: 0x10, keyEnd: 0x20 }, { key: 0x100 }]);
  });

  it('ranges from 0, to the last key, and adjacent ones', () => {
    expect(listed(nets, 'nft add element ip t nets { 0.0.0.0/8, 255.0.0.0/8 }')).toEqual([{ key: '0.0.0.0/8' }, { key: '255.0.0.0/8' }]);
    expect(listed(nets, 'nft add element ip t nets { 10.0.0.0/24, 10.0.1.0/24 }')).toEqual([{ key: '10.0.0.0/24' }, { key: '10.0.1.0/24' }]);
  });

  it("a map's values and an element's timeout, from the start element", () => {
    expect(listed(m, 'nft add element ip t m { 10.0.0.0/8 : accept, 192.168.1.0/24 : jump x }')).toEqual([
      { key: '10.0.0.0/8', value: { code: 'accept' } },
      { key: '192.168.1.0/24', value: { code: 'jump', chain: 'x' } },
    ]);
    expect(listed(tmo, 'nft add element ip t tmo { 10.0.0.0/8 timeout 10s }')).toEqual([{ key: '10.0.0.0/8', timeout: 10_000 }]);
  });

  it('concatenated intervals: prefixes where every field is one, else key and keyEnd', () => {
    expect(listed(svci, 'nft add element ip t svci { 10.0.0.0/8 . 80-90, 10.1.2.3 . 22 }')).toEqual([
      { key: ['10.1.2.3', 22] },
      { key: ['10.0.0.0', 80], keyEnd: ['10.255.255.255', 90] },
    ]);
    const op = nftOps.addElements(svci, [{ key: ['10.0.0.0/8', 80] }]);
    expect(nftOps.listElements(svci).parse([asReply(op)])).toEqual([{ key: ['10.0.0.0/8', 80] }]);
  });

  it('knows an interval set from its elements when the set ref has no flags', () => {
    const { flags: _, ...bare } = nets;
    expect(listed(bare, 'nft add element ip t nets { 10.0.0.0/8 }')).toEqual([{ key: '10.0.0.0/8' }]);
    expect(listed(bare, 'nft add element ip t nets { 0.0.0.0/8, 255.0.0.0/8 }')).toEqual([{ key: '0.0.0.0/8' }, { key: '255.0.0.0/8' }]);
  });

  it('round-trips every form it writes', () => {
    const forms: Element[] = [{ key: '10.0.0.0/8' }, { key: '11.0.0.1', keyEnd: '11.0.0.3' }, { key: '12.0.0.1' }, { key: '128.0.0.0/1' }];
    const op = nftOps.addElements(nets, forms);
    expect(nftOps.listElements(nets).parse([asReply(op)])).toEqual(forms);
  });
});

describe('nft interval elements: what encoding refuses', () => {
  const field = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      if (e instanceof ValidationError) return e.field;
      throw e;
    }
    throw new Error('not refused');
  };

  it('ranges and prefixes in a set without the interval flag', () => {
    const plain: SetRef = { ...at, name: 'p', key: 'ipv4_addr' };
    expect(field(() => nftOps.addElements(plain, [{ key: '10.0.0.1', keyEnd: '10.0.0.2' }]))).toBe('elements[0].keyEnd');
    expect(field(() => nftOps.addElements(plain, [{ key: '10.0.0.0/8' }]))).toBe('elements[0].key');
  });

  it('a range that ends before it starts', () => {
    expect(field(() => nftOps.addElements(ports, [{ key: 2000, keyEnd: 1000 }]))).toBe('elements[0].keyEnd');
    expect(field(() => nftOps.addElements(svci, [{ key: ['10.0.0.1', 90], keyEnd: ['10.0.0.1', 80] }]))).toBe('elements[0].keyEnd[1]');
  });

  it('overlapping ranges in a named set, as nft does', () => {
    expect(() => nftOps.addElements(nets, [{ key: '10.0.0.0/8' }, { key: '10.1.0.0/16' }])).toThrow(/overlap/);
  });

  it('a concatenated key or key end of the wrong length', () => {
    expect(field(() => nftOps.addElements(svci, [{ key: ['10.0.0.1', 80], keyEnd: ['10.0.0.9'] }]))).toBe('elements[0].keyEnd');
  });
});
