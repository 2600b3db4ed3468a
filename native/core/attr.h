// Netlink message and attribute (TLV) layer, after libmnl's attr.c.
//
//   |<- NLMSG_HDRLEN ->|<- family header ->|<------------ attributes ------------>|
//   +------------------+-------------------+--------+----------+-----+--------+---+
//   |     nlmsghdr     | ifinfomsg, rtmsg… | nla_len| nla_type | data| padding|...|
//   +------------------+-------------------+--------+----------+-----+--------+---+
//                                          |<-- NLA_HDRLEN --->|     |<- to 4 ->|
//
// The writer appends to a byte vector and refers to earlier parts by offset, never by pointer,
// because the vector may move. The reader never trusts a length the kernel sent: every step is
// checked against the end of the enclosing buffer.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace nlnet {

inline constexpr size_t align4(size_t n) { return (n + 3u) & ~size_t{3}; }

class MsgWriter {
 public:
  // Starts a message: nlmsghdr followed by a zeroed family header of hdr_len bytes.
  MsgWriter(uint16_t type, uint16_t flags, size_t hdr_len);

  std::vector<uint8_t>& bytes() { return buf_; }
  size_t size() const { return buf_.size(); }

  // Offset of the family header, where callers write header fields.
  static constexpr size_t kHeaderOffset = NLMSG_HDRLEN;
  void write_at(size_t offset, const void* data, size_t len);
  template <typename T>
  void write_at(size_t offset, T value) { write_at(offset, &value, sizeof value); }

  void put(uint16_t type, const void* data, size_t len);
  void put_u8(uint16_t type, uint8_t v) { put(type, &v, 1); }
  void put_u16(uint16_t type, uint16_t v) { put(type, &v, 2); }
  void put_u32(uint16_t type, uint32_t v) { put(type, &v, 4); }
  void put_u64(uint16_t type, uint64_t v) { put(type, &v, 8); }
  void put_str(uint16_t type, std::string_view s);  // NUL-terminated, as the kernel expects
  void put_flag(uint16_t type) { put(type, nullptr, 0); }
  // Appends raw bytes (a nested family header such as the veth peer's ifinfomsg), padded to 4;
  // with data null, zeroes to fill in later.
  size_t append_raw(const void* data, size_t len);

  // Returns the nest's offset. iproute2 leaves NLA_F_NESTED off for most rtnetlink nests and
  // the kernel accepts both; nf_tables and newer attributes want it set.
  size_t nest_start(uint16_t type, bool nested_flag = true);
  void nest_end(size_t offset);

  // Sets nlmsg_len; call once the last attribute is written.
  std::vector<uint8_t>& finish();

  // An attribute or nest passed 64 KiB, which netlink cannot express: the message is unusable.
  bool overflowed() const { return overflow_; }

 private:
  std::vector<uint8_t> buf_;
  bool overflow_ = false;
};

struct Attr {
  uint16_t type;  // NLA_TYPE_MASK applied: the nested and byte-order bits are stripped
  const uint8_t* data;
  size_t len;

  bool is(size_t n) const { return len == n; }
  uint8_t u8() const { return len >= 1 ? data[0] : 0; }
  uint16_t u16() const { uint16_t v = 0; if (len >= 2) std::memcpy(&v, data, 2); return v; }
  uint32_t u32() const { uint32_t v = 0; if (len >= 4) std::memcpy(&v, data, 4); return v; }
  uint64_t u64() const { uint64_t v = 0; if (len >= 8) std::memcpy(&v, data, 8); return v; }
  // A string attribute without trusting the terminator: stops at the first NUL or at len.
  std::string_view str() const;
};

// Iterates the attributes in [data, data+len). A malformed attribute (length below the header
// or past the end) stops the walk and sets malformed(), so callers can reject the message.
class AttrReader {
 public:
  AttrReader(const uint8_t* data, size_t len) : p_(data), end_(data + len) {}
  bool next(Attr& out);
  bool malformed() const { return malformed_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  bool malformed_ = false;
};

// One netlink message inside a datagram, with its payload (family header + attributes).
struct Msg {
  nlmsghdr hdr;  // a copy: kernel buffers are aligned, but test buffers from JS may not be
  const uint8_t* payload;
  size_t payload_len;
};

// Iterates the messages in a datagram, with the same bounds checks as AttrReader.
class MsgReader {
 public:
  MsgReader(const uint8_t* data, size_t len) : p_(data), end_(data + len) {}
  bool next(Msg& out);
  bool malformed() const { return malformed_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  bool malformed_ = false;
};

}  // namespace nlnet
