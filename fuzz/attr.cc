// AttrReader and Attr (native/core/attr.h), the TLV walk under every decoder, on arbitrary bytes.
// Each attribute must lie inside what it was read from; each is then walked again as a nest, as
// NEST and LIST fields and the families' own codecs do, from a copy of exactly its size so that
// AddressSanitizer sees a read past the attribute and not only past the whole input.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/attr.h"
#include "decode.h"

namespace {

using nlnet::fuzz::check;

// Deep enough for the deepest nest nlnet reads (a rule's dynset expression in a list element in
// a list: about 8); deeper levels repeat the same walk on fewer bytes.
constexpr int kMaxDepth = 16;

volatile uint64_t sink;

void walk(const uint8_t* data, size_t len, int depth) {
  nlnet::AttrReader r(data, len);
  nlnet::Attr a;
  while (r.next(a)) {
    check(a.data >= data + NLA_HDRLEN && a.len <= len - static_cast<size_t>(a.data - data));
    check(a.type == (a.type & NLA_TYPE_MASK));
    // The accessors read no more than the attribute holds, whatever size it claims to be.
    sink = a.u8() ^ a.u16() ^ a.u32() ^ a.u64();
    check(a.str().size() <= a.len);
    if (depth < kMaxDepth) {
      std::vector<uint8_t> nest(a.data, a.data + a.len);
      walk(nest.data(), nest.size(), depth + 1);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  walk(data, size, 0);
  return 0;
}
