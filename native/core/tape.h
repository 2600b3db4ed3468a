// The decoder's output: a flat list of instructions (start an object, a key, a number, …) that
// lib/core/tape.ts turns into JS objects. Building objects one N-API property at a time costs V8 a
// slow runtime call per property; JS code building them from this list is several times faster,
// and the decoding itself no longer needs the JS thread, so workers do it.
//
//   ops:  int32s, the low 3 bits the instruction, the rest its argument:
//         OBJ | ARR | END | KEY+key index | NUM (next number) | REF+ref index | TRUE | FALSE
//   nums: the numbers, in order      keys: the property names, each once
//   refs: strings, Buffers, BigInts
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace nlnet {

class Tape {
 public:
  enum Op : int { OBJ = 0, ARR = 1, END = 2, KEY = 3, NUM = 4, REF = 5, TRUE = 6, FALSE = 7 };

  void obj() { ops_.push_back(OBJ); }
  void arr() { ops_.push_back(ARR); }
  void end() { ops_.push_back(END); }
  void key(const char* static_key);  // a string with static storage: deduplicated by address
  void num(double v) {
    ops_.push_back(NUM);
    nums_.push_back(v);
  }
  void boolean(bool b) { ops_.push_back(b ? TRUE : FALSE); }
  void str(std::string s);
  void str(const char* data, size_t len) { str(std::string(data, len)); }
  void static_str(const char* s);  // enum names: deduplicated by address
  void bytes(const uint8_t* data, size_t len);
  void bigint(uint64_t n);

  struct Mark {
    size_t ops, nums;
  };
  // Where the output is now; rewind() drops what came after (a message found malformed half-way).
  Mark mark() const { return {ops_.size(), nums_.size()}; }
  void rewind(Mark m) {
    ops_.resize(m.ops);
    nums_.resize(m.nums);
  }
  // Room for about this many instructions, so that a big dump does not regrow the buffers.
  void reserve(size_t ops) {
    ops_.reserve(ops);
    nums_.reserve(ops / 2);
  }

  // { ops: Int32Array, nums: Float64Array, keys: string[], refs: unknown[] } for lib/core/tape.ts.
  // JS thread only.
  Napi::Value to_js(Napi::Env env) const;

 private:
  struct Ref {
    enum Kind { STR, STATIC, BYTES, BIGINT } kind;
    std::string data;  // STR and BYTES
    const char* static_str = nullptr;
    uint64_t n = 0;
  };
  void ref(Ref r);

  static int32_t op(Op o, size_t arg) { return static_cast<int32_t>(o | (arg << 3)); }

  std::vector<int32_t> ops_;
  std::vector<double> nums_;
  std::vector<const char*> keys_;
  std::unordered_map<const char*, uint32_t> key_index_;
  std::vector<Ref> refs_;
  std::unordered_map<const char*, uint32_t> static_index_;
};

}  // namespace nlnet
