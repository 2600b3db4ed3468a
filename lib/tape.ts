// Builds JS values from the addon's decoder output (see native/tape.h): a flat list of
// instructions, so that objects are made by JS code, which V8 does far faster than property
// sets through N-API.

export interface NativeTape {
  ops: Float64Array;
  keys: string[];
  refs: unknown[];
}

const OBJ = 0;
const ARR = 1;
const END = 2;
const KEY = 3;
const NUM = 4;
const REF = 5;
const TRUE = 6;
const FALSE = 7;

export function build(t: NativeTape): unknown {
  const { ops, keys, refs } = t;
  const stack: (Record<string, unknown> | unknown[])[] = [];
  let cur: Record<string, unknown> | unknown[] | undefined;
  let key = '';
  let result: unknown;
  const n = ops.length;
  for (let i = 0; i < n; ) {
    const op = ops[i++];
    let v: unknown;
    switch (op) {
      case KEY:
        key = keys[ops[i++]!]!;
        continue;
      case END:
        cur = stack.pop();
        continue;
      case NUM:
        v = ops[i++];
        break;
      case REF:
        v = refs[ops[i++]!];
        break;
      case TRUE:
        v = true;
        break;
      case FALSE:
        v = false;
        break;
      case OBJ:
      case ARR:
        v = op === OBJ ? {} : [];
        break;
      default:
        throw new RangeError(`bad decoder output at ${i - 1}`);
    }
    if (cur === undefined) result = v;
    else if (Array.isArray(cur)) cur.push(v);
    else cur[key] = v;
    if (op === OBJ || op === ARR) {
      if (cur !== undefined) stack.push(cur);
      cur = v as Record<string, unknown> | unknown[];
    }
  }
  return result;
}
