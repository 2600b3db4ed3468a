// Inputs the fuzz targets (fuzz/) found, each kept as a test once fixed: the addon must answer
// with decoded messages or a clean RangeError, never crash. The same bytes are in
// fuzz/regressions/<target>/, which `npm run fuzz` replays under AddressSanitizer and UBSan first.
import { describe, expect, it } from 'vitest';

import { native } from '../../../lib/core/binding.js';

const NETLINK_ROUTE = 0;
const NLMSG_ERROR = 2;

describe('fuzz regressions', () => {
  // fuzz/ack, done-positive-errno: an NLMSG_DONE (NLM_F_MULTI | NLM_F_ACK_TLVS) whose errno field
  // holds 0x74f96b11, with NLMSGERR_ATTR_MSG "Dump interrupted", then 12 bytes claiming to be a
  // message of about 2 GB. parse_nlmsgerr (native/core/socket.cc) negated the errno into a
  // negative one; it now answers EPROTO for anything but 0…-4095. That function reads only what a
  // netlink socket received, which a unit test cannot forge, so the fix is checked by the fuzz
  // regression corpus; here the addon's own decoder must refuse the truncated second message.
  it('refuses the NLMSG_DONE with an impossible errno and a runaway length after it', () => {
    const bytes = Buffer.from(
      '2c000000030002020000000000000000116bf9740000000000002800f0ffffff1500010044756d7020696e74657272757074656400000000',
      'hex',
    );
    expect(() => native.decode(NETLINK_ROUTE, bytes)).toThrow(RangeError);
  });

  // fuzz/ack, error-int-min, written by hand beside it: an NLMSG_ERROR whose errno is INT_MIN,
  // which parse_nlmsgerr negated (signed overflow); the same check now makes it EPROTO. The addon frames it as a bodiless message.
  it('frames an NLMSG_ERROR whose errno is INT_MIN', () => {
    const bytes = Buffer.from('1400000002000000000000000000000000000080', 'hex');
    expect(native.decode(NETLINK_ROUTE, bytes)).toEqual([{ type: NLMSG_ERROR, flags: 0, seq: 0, pid: 0 }]);
  });
});
