#include "core/attr.h"

namespace nlnet {

MsgWriter::MsgWriter(uint16_t type, uint16_t flags, size_t hdr_len) {
  buf_.reserve(256);
  buf_.resize(NLMSG_HDRLEN + align4(hdr_len), 0);
  nlmsghdr h{};
  h.nlmsg_type = type;
  h.nlmsg_flags = flags;
  std::memcpy(buf_.data(), &h, sizeof h);
}

void MsgWriter::write_at(size_t offset, const void* data, size_t len) {
  if (offset + len > buf_.size()) buf_.resize(offset + len, 0);
  std::memcpy(buf_.data() + offset, data, len);
}

void MsgWriter::put(uint16_t type, const void* data, size_t len) {
  if (NLA_HDRLEN + len > 0xffff) overflow_ = true;
  nlattr a{};
  a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
  a.nla_type = type;
  size_t at = buf_.size();
  buf_.resize(at + NLA_HDRLEN + align4(len), 0);
  std::memcpy(buf_.data() + at, &a, sizeof a);
  if (len) std::memcpy(buf_.data() + at + NLA_HDRLEN, data, len);
}

void MsgWriter::put_str(uint16_t type, std::string_view s) {
  size_t at = buf_.size();
  size_t len = s.size() + 1;
  nlattr a{};
  a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
  a.nla_type = type;
  buf_.resize(at + NLA_HDRLEN + align4(len), 0);
  std::memcpy(buf_.data() + at, &a, sizeof a);
  std::memcpy(buf_.data() + at + NLA_HDRLEN, s.data(), s.size());
}

size_t MsgWriter::append_raw(const void* data, size_t len) {
  size_t at = buf_.size();
  buf_.resize(at + align4(len), 0);
  if (data && len) std::memcpy(buf_.data() + at, data, len);
  return at;
}

size_t MsgWriter::nest_start(uint16_t type, bool nested_flag) {
  size_t at = buf_.size();
  put(nested_flag ? static_cast<uint16_t>(type | NLA_F_NESTED) : type, nullptr, 0);
  return at;
}

void MsgWriter::nest_end(size_t offset) {
  size_t len = buf_.size() - offset;
  // nla_len is 16 bits: a longer nest cannot be said, and truncating it would send garbage.
  if (len > 0xffff) overflow_ = true;
  uint16_t len16 = static_cast<uint16_t>(len);
  std::memcpy(buf_.data() + offset, &len16, sizeof len16);
}

std::vector<uint8_t>& MsgWriter::finish() {
  uint32_t len = static_cast<uint32_t>(buf_.size());
  std::memcpy(buf_.data(), &len, sizeof len);
  return buf_;
}

std::string_view Attr::str() const {
  const char* s = reinterpret_cast<const char*>(data);
  size_t n = 0;
  while (n < len && s[n] != '\0') n++;
  return {s, n};
}

bool AttrReader::next(Attr& out) {
  if (p_ >= end_ || malformed_) return false;
  size_t left = static_cast<size_t>(end_ - p_);
  if (left < NLA_HDRLEN) {
    // Trailing bytes shorter than a header can only be padding; anything else is garbage.
    for (size_t i = 0; i < left; i++) malformed_ |= p_[i] != 0;
    p_ = end_;
    return false;
  }
  nlattr a;
  std::memcpy(&a, p_, sizeof a);
  if (a.nla_len < NLA_HDRLEN || a.nla_len > left) {
    malformed_ = true;
    return false;
  }
  out.type = a.nla_type & NLA_TYPE_MASK;
  out.data = p_ + NLA_HDRLEN;
  out.len = a.nla_len - NLA_HDRLEN;
  size_t step = align4(a.nla_len);
  p_ = step >= left ? end_ : p_ + step;
  return true;
}

bool MsgReader::next(Msg& out) {
  if (p_ >= end_ || malformed_) return false;
  size_t left = static_cast<size_t>(end_ - p_);
  if (left < sizeof(nlmsghdr)) {
    malformed_ = true;
    return false;
  }
  nlmsghdr h;
  std::memcpy(&h, p_, sizeof h);
  if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > left) {
    malformed_ = true;
    return false;
  }
  out.hdr = h;
  out.payload = p_ + NLMSG_HDRLEN;
  out.payload_len = h.nlmsg_len - NLMSG_HDRLEN;
  size_t step = NLMSG_ALIGN(h.nlmsg_len);
  p_ = step >= left ? end_ : p_ + step;
  return true;
}

}  // namespace nlnet
