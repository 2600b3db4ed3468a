// What a store accepts as a key and as a value, for every back end (file.ts, etcd.ts), so that a state moves between back ends without a document being refused on
// the way. etcd adds one reason of its own: its internal keys (etcd-tx.ts) hold a control
// character, which no store key may, so the two can never meet.
import { ValidationError } from '../../core/errors.js';

/** Keys are `collection/id`-style paths: non-empty, no empty segment, no control characters. */
export function checkKey(key: string): void {
  if (typeof key !== 'string' || !/^[^/\0-\x1f]+(?:\/[^/\0-\x1f]+)*$/.test(key)) {
    throw new ValidationError('key', key, "must be a non-empty path like 'networks/<id>'");
  }
}

export function checkPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw new ValidationError('prefix', prefix, 'must be a string');
}

/** Rejects what JSON.stringify would silently change or drop, so a value reads back as it was put. */
export function checkJson(value: unknown, where: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return;
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => checkJson(v, `${where}[${i}]`));
    return;
  } else if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) checkJson(v, `${where}.${k}`);
    return;
  }
  throw new ValidationError(where, value, 'must be plain JSON (null, boolean, finite number, string, array, plain object)');
}

/** The collection a key belongs to: its first segment (`networks` of `networks/a`). */
export function collectionOf(key: string): string {
  const slash = key.indexOf('/');
  return slash === -1 ? key : key.slice(0, slash);
}
