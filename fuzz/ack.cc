// The reply path of NlSocket::transact and transact_batch (native/core/socket.cc) without the socket:
// a datagram framed by MsgReader, and parse_nlmsgerr on each NLMSG_ERROR (an ACK, or an errno
// with the echoed request and the extended ack: NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS) and each
// NLMSG_DONE that ends a multipart dump.
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/attr.h"
#include "core/socket.h"
#include "decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nlnet;
  MsgReader r(data, size);
  Msg m;
  while (r.next(m)) {
    fuzz::check(m.payload >= data && m.payload_len <= size - static_cast<size_t>(m.payload - data));
    if (m.hdr.nlmsg_type != NLMSG_ERROR && m.hdr.nlmsg_type != NLMSG_DONE) continue;
    // Exactly the payload's size: an over-read into the next message would otherwise go unseen.
    std::vector<uint8_t> payload(m.payload, m.payload + m.payload_len);
    Failure f;
    int err = parse_nlmsgerr(payload.data(), payload.size(), m.hdr.nlmsg_flags, m.hdr.nlmsg_type == NLMSG_DONE, f);
    // socket.h: "the positive errno, 0 for an ACK"; the caller stores it as Failure::errno_.
    fuzz::check(err >= 0);
    fuzz::check(f.extack.size() <= payload.size());
  }
  return 0;
}
