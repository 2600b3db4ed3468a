// Sets and maps: their declaration (`nft add set|map`) as the NEWSET body nft sends, and what
// listing returns. Elements are in elements.ts, a rule's anonymous sets in inline.ts.
import type { Body } from '../core/binding.js';
import { ValidationError } from '../core/errors.js';
import { knownKeys, object, oneOf, str, uint } from '../core/validate.js';
import * as K from './constants.js';
import { keyLayout, KEY_TYPES, SET_COMMENT_MAX, setComment, setUserdata, type KeyType, typesOf } from './values.js';

export const NFT_DATA_VERDICT = 0xffffff00;
const NAME_MAX = 255;

export const family = (field: string, v: unknown): K.NftFamily => oneOf(field, v, K.FAMILIES);
export const name = (field: string, v: unknown): string => str(field, v, NAME_MAX);

export interface SetSpec {
  family: K.NftFamily;
  table: string;
  name: string;
  /** The key's type, or several for a concatenation (`inet_proto . inet_service`). */
  key: KeyType | KeyType[];
  /** For a map: the type of its values, or 'verdict' for a verdict map. */
  map?: KeyType | KeyType[] | 'verdict';
  /**
   * 'interval': elements may be prefixes and ranges (see Element). 'dynamic': rules may add
   * elements (`add @set { … }`, the dynset expression).
   */
  flags?: ('constant' | 'interval' | 'timeout' | 'dynamic')[];
  /** Default element timeout, in milliseconds (needs the 'timeout' flag). */
  timeout?: number;
  /** Maximum number of elements. */
  size?: number;
  /** Kept in the set's user data, where `nft list` shows it. */
  comment?: string;
}

export interface NftSet {
  family: K.NftFamily;
  table: string;
  name: string;
  handle: number;
  key: KeyType[];
  map?: KeyType[] | 'verdict';
  /** A rule's anonymous set (`tcp dport { 22, 80 }`) has 'anonymous' and 'constant'. */
  flags: K.SetFlag[];
  timeout?: number;
  size?: number;
  comment?: string;
}

export const types = (field: string, v: unknown): KeyType[] => {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) throw new ValidationError(field, v, 'expected at least one type');
  return list.map((t, i) => oneOf(list.length > 1 ? `${field}[${i}]` : field, t, KEY_TYPES));
};

let setIds = 0;
/** NFTA_SET_ID names a set within its batch, before it has a handle: unique per process. */
export const nextSetId = (): number => (setIds = (setIds % 0x7fffffff) + 1);

export function setBody(s: SetSpec): Body {
  object('set', s);
  knownKeys('set', s, ['family', 'table', 'name', 'key', 'map', 'flags', 'timeout', 'size', 'comment']);
  const key = types('set.key', s.key);
  const k = keyLayout(key);
  const body: Body = { family: family('set.family', s.family), table: name('set.table', s.table), name: name('set.name', s.name), keyType: k.id, keyLen: k.len, id: nextSetId() };
  let flags = 0;
  for (const f of s.flags ?? []) {
    const flag = oneOf('set.flags', f, ['constant', 'interval', 'timeout', 'dynamic']);
    flags |= K.SET_FLAGS[flag];
  }
  // The kernel wants field lengths (and NFT_SET_CONCAT) only for concatenated intervals, which
  // need its pipapo backend; `nft` sends them only then too.
  const concatIntervals = key.length > 1 && (flags & K.SET_FLAGS.interval) !== 0;
  if (concatIntervals) flags |= K.SET_FLAGS.concat;
  const map = s.map === undefined || s.map === 'verdict' ? s.map : types('set.map', s.map);
  if (map !== undefined) {
    flags |= K.SET_FLAGS.map;
    // A verdict map's length is the kernel's business; nft sends 0.
    const d = map === 'verdict' ? { id: NFT_DATA_VERDICT, len: 0 } : keyLayout(map);
    body.dataType = d.id;
    body.dataLen = d.len;
  }
  body.flags = flags;
  if (s.timeout !== undefined) {
    if (!(flags & K.SET_FLAGS.timeout)) throw new ValidationError('set.timeout', s.timeout, "a timeout needs the 'timeout' flag");
    body.timeout = uint('set.timeout', s.timeout, 1, Number.MAX_SAFE_INTEGER);
  }
  const desc: Body = {};
  if (s.size !== undefined) desc.size = uint('set.size', s.size, 1, 0xffffffff);
  if (concatIntervals) desc.concat = k.fields.map((len) => ({ len }));
  if (Object.keys(desc).length) body.desc = desc;
  const comment = s.comment === undefined ? undefined : str('set.comment', s.comment, SET_COMMENT_MAX);
  body.userdata = setUserdata(key, map, comment);
  return body;
}

export function setFromNative(b: Body): NftSet {
  const flags = (Object.keys(K.SET_FLAGS) as K.SetFlag[]).filter((f) => ((b.flags as number) & K.SET_FLAGS[f]) !== 0);
  const s: NftSet = {
    family: b.family as K.NftFamily,
    table: b.table as string,
    name: b.name as string,
    handle: b.handle as number,
    key: typesOf(b.keyType as number, b.keyLen as number) ?? [],
    flags,
  };
  if (b.dataType === NFT_DATA_VERDICT) s.map = 'verdict';
  else if (typeof b.dataType === 'number') s.map = typesOf(b.dataType, b.dataLen as number) ?? [];
  if (typeof b.timeout === 'number') s.timeout = b.timeout;
  const desc = b.desc as { size?: number } | undefined;
  if (desc?.size !== undefined) s.size = desc.size;
  const comment = setComment(b.userdata);
  if (comment !== undefined) s.comment = comment;
  return s;
}
