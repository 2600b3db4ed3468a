// Builds JS values from the addon's decoder output (see native/core/tape.h): a flat list of
// instructions, so that objects are made by JS code, which V8 does far faster than property
// sets through N-API.

export interface NativeTape {
  ops: Int32Array;
  nums: Float64Array;
  keys: string[];
  refs: unknown[];
}

// The low three bits of an op are the instruction, the rest its argument.
const OBJ = 0;
const ARR = 1;
const END = 2;
const KEY = 3;
const NUM = 4;
const REF = 5;
const TRUE = 6;
const FALSE = 7;

export function build(t: NativeTape): unknown {
  const { ops, nums, keys, refs } = t;
  const stack: (Record<string, unknown> | unknown[])[] = [];
  let cur: Record<string, unknown> | unknown[] | undefined;
  let key = '';
  let result: unknown;
  let n = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    let v: unknown;
    switch (op & 7) {
      case KEY:
        key = keys[op >>> 3]!;
        continue;
      case END:
        cur = stack.pop();
        continue;
      case NUM:
        v = nums[n++];
        break;
      case REF:
        v = refs[op >>> 3];
        break;
      case TRUE:
        v = true;
        break;
      case FALSE:
        v = false;
        break;
      case OBJ:
        v = {};
        break;
      default: // ARR
        v = [];
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
