#include "core/tape.h"

#include <cstring>

namespace nlnet {

void Tape::key(const char* k) {
  auto [it, fresh] = key_index_.try_emplace(k, static_cast<uint32_t>(keys_.size()));
  if (fresh) keys_.push_back(k);
  ops_.push_back(op(KEY, it->second));
}

void Tape::ref(Ref r) {
  ops_.push_back(op(REF, refs_.size()));
  refs_.push_back(std::move(r));
}

void Tape::str(std::string s) { ref({Ref::STR, std::move(s)}); }

void Tape::static_str(const char* s) {
  auto it = static_index_.find(s);
  if (it != static_index_.end()) {
    ops_.push_back(op(REF, it->second));
    return;
  }
  static_index_.emplace(s, static_cast<uint32_t>(refs_.size()));
  ref({Ref::STATIC, {}, s});
}

void Tape::bytes(const uint8_t* data, size_t len) {
  ref({Ref::BYTES, std::string(reinterpret_cast<const char*>(data), len)});
}

void Tape::bigint(uint64_t n) { ref({Ref::BIGINT, {}, nullptr, n}); }

Napi::Value Tape::to_js(Napi::Env env) const {
  Napi::Object out = Napi::Object::New(env);
  Napi::ArrayBuffer ops = Napi::ArrayBuffer::New(env, ops_.size() * sizeof(int32_t));
  if (!ops_.empty()) std::memcpy(ops.Data(), ops_.data(), ops_.size() * sizeof(int32_t));
  out.Set("ops", Napi::Int32Array::New(env, ops_.size(), ops, 0));
  Napi::ArrayBuffer nums = Napi::ArrayBuffer::New(env, nums_.size() * sizeof(double));
  if (!nums_.empty()) std::memcpy(nums.Data(), nums_.data(), nums_.size() * sizeof(double));
  out.Set("nums", Napi::Float64Array::New(env, nums_.size(), nums, 0));
  Napi::Array keys = Napi::Array::New(env, keys_.size());
  for (size_t i = 0; i < keys_.size(); i++) keys.Set(i, Napi::String::New(env, keys_[i]));
  out.Set("keys", keys);
  Napi::Array refs = Napi::Array::New(env, refs_.size());
  for (size_t i = 0; i < refs_.size(); i++) {
    const Ref& r = refs_[i];
    napi_value v = nullptr;
    switch (r.kind) {
      case Ref::STR: v = Napi::String::New(env, r.data); break;
      case Ref::STATIC: v = Napi::String::New(env, r.static_str); break;
      case Ref::BYTES:
        v = Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(r.data.data()), r.data.size());
        break;
      case Ref::BIGINT: v = Napi::BigInt::New(env, r.n); break;
    }
    refs.Set(i, v);
  }
  out.Set("refs", refs);
  return out;
}

}  // namespace nlnet
