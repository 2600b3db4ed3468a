// Golden-bytes helpers shared by the nf_tables unit tests.
import { native } from '../../lib/core/binding.js';
import { NFT_MSG_DELSETELEM, NFT_MSG_NEWSETELEM } from '../../lib/nft/constants.js';

export const NETLINK_NETFILTER = 12;
const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
const NFTA_LIST_ELEM = 1;
const NLA_F_NESTED = 0x8000;
const ELEMENT_MESSAGES = [NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM];

/** The one message in a captured hex string, with its body. */
export const decode = (hex: string) => {
  const [m] = native.decode(NETLINK_NETFILTER, Buffer.from(hex, 'hex'));
  if (!m?.body) throw new Error('no message');
  return { ...m, body: m.body };
};

export const encode = (type: number, flags: number, body: object): string =>
  native.encode(NETLINK_NETFILTER, type, flags, body).toString('hex');

/**
 * nft's bytes with every element of NFTA_SET_ELEM_LIST_ELEMENTS typed NFTA_LIST_ELEM: libnftnl
 * numbers them 1, 2, 3…, nlnet writes NFTA_LIST_ELEM each time, and the kernel reads both alike.
 */
export function listElem1(hex: string): string {
  const b = Buffer.from(hex, 'hex');
  if (!ELEMENT_MESSAGES.includes(b.readUInt16LE(4))) return hex;
  // After the netlink header (16 bytes) and nfgenmsg (4).
  for (let at = 20; at + 4 <= b.length; at += (b.readUInt16LE(at) + 3) & ~3) {
    if ((b.readUInt16LE(at + 2) & 0x3fff) !== NFTA_SET_ELEM_LIST_ELEMENTS) continue;
    const end = at + b.readUInt16LE(at);
    for (let i = at + 4; i + 4 <= end; i += (b.readUInt16LE(i) + 3) & ~3) b.writeUInt16LE(NLA_F_NESTED | NFTA_LIST_ELEM, i + 2);
  }
  return b.toString('hex');
}
