// What native.decode(protocol, buffer) does (native/core/addon.cc), without the JS objects at the end: frame
// the datagram with MsgReader, pick each message's schema with schema_for, decode the body into a
// Tape. Each target passes the schemas it is about, so that its time goes to one family; the
// others' messages are framed and skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <vector>

#include "core/codec.h"

namespace nlnet::fuzz {

// A broken promise is a finding even when no sanitizer sees it: abort so libFuzzer keeps the input.
inline void check(bool ok) {
  if (!ok) std::abort();
}

inline void decode_datagram(int protocol, std::initializer_list<const Schema*> only, const uint8_t* data,
                            size_t size) {
  Tape t;
  DecodeCtx ctx{t, true};
  MsgReader r(data, size);
  Msg m;
  while (r.next(m)) {
    check(m.payload >= data && m.payload_len <= size - static_cast<size_t>(m.payload - data));
    const Schema* s = schema_for(protocol, m.hdr.nlmsg_type);
    bool wanted = false;
    for (const Schema* o : only) wanted |= s == o;
    if (!wanted) continue;
    // A copy of exactly the payload's size, so that AddressSanitizer sees a read past this
    // message even when the datagram goes on with another one.
    std::vector<uint8_t> body(m.payload, m.payload + m.payload_len);
    Tape::Mark before = t.mark();
    if (!decode_body(ctx, *s, body.data(), body.size())) {
      // codec.h: a refused body has written nothing, so the caller's tape stays well formed.
      Tape::Mark after = t.mark();
      check(after.ops == before.ops && after.nums == before.nums);
    }
  }
}

}  // namespace nlnet::fuzz
