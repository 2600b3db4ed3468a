#include "core/socket.h"

#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "core/attr.h"

namespace nlnet {

int open_netlink_fd(int protocol, Failure& err) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) {
    err = Failure::sys(errno, "socket");
    return -1;
  }
  int one = 1;
  // Large buffers: a 10,000-rule nf_tables batch is several megabytes, and dumps come faster.
  int size = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  // Extended ACKs carry the kernel's reason; capped ACKs do not echo our whole request back;
  // strict checking makes the kernel honour (or refuse) dump filters instead of ignoring them.
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    err = Failure::sys(errno, "bind");
    close(fd);
    return -1;
  }
  return fd;
}

NlSocket::NlSocket(int fd) : fd_(fd), seq_(static_cast<uint32_t>(time(nullptr))) {
  sockaddr_nl sa{};
  socklen_t len = sizeof sa;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0) portid_ = sa.nl_pid;
  buf_.resize(64 * 1024);
}

NlSocket::~NlSocket() { close(fd_); }

int parse_nlmsgerr(const uint8_t* payload, size_t len, uint16_t flags, bool done, Failure& f) {
  if (len < sizeof(int)) return done ? 0 : EPROTO;
  int error = 0;
  std::memcpy(&error, payload, sizeof error);
  // The kernel sends 0 or -errno, and no errno passes MAX_ERRNO (4095). Anything else would come
  // back as a negative errno, and negating INT_MIN overflows: not a reply to believe.
  if (error > 0 || error < -4095) return EPROTO;
  if (!(flags & NLM_F_ACK_TLVS)) return -error;
  // NLMSG_DONE puts its attributes right after the errno. An error message carries the
  // request's header first (only the header, with NETLINK_CAP_ACK; otherwise all of it).
  size_t tlv_at = done ? sizeof(int) : sizeof(nlmsgerr);
  if (!done && !(flags & NLM_F_CAPPED) && len >= sizeof(nlmsgerr)) {
    nlmsghdr orig;
    std::memcpy(&orig, payload + sizeof(int), sizeof orig);
    tlv_at = sizeof(int) + NLMSG_ALIGN(orig.nlmsg_len);
  }
  if (tlv_at > len) return -error;
  AttrReader r(payload + tlv_at, len - tlv_at);
  Attr a;
  while (r.next(a)) {
    if (a.type == NLMSGERR_ATTR_MSG) f.extack = std::string(a.str());
    if (a.type == NLMSGERR_ATTR_OFFS && a.is(4)) f.bad_attr = static_cast<int32_t>(a.u32());
  }
  return -error;
}

Failure NlSocket::receive(size_t& len) {
  for (;;) {
    // A zero-length peek learns the datagram's size without copying it.
    ssize_t n = recv(fd_, nullptr, 0, MSG_PEEK | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Failure::sys(errno, "recvmsg");
    }
    if (static_cast<size_t>(n) > buf_.size()) buf_.resize(static_cast<size_t>(n));
    n = recv(fd_, buf_.data(), buf_.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Failure::sys(errno, "recvmsg");
    }
    len = static_cast<size_t>(n);
    return {};
  }
}

Failure NlSocket::transact(std::vector<uint8_t>& msg, std::vector<uint8_t>& out, bool& interrupted) {
  if (msg.size() < sizeof(nlmsghdr)) return Failure::sys(EINVAL, "sendmsg");
  nlmsghdr h;
  std::memcpy(&h, msg.data(), sizeof h);
  h.nlmsg_seq = ++seq_;
  h.nlmsg_pid = 0;
  std::memcpy(msg.data(), &h, sizeof h);
  const bool dump = (h.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  size_t* dump_size = dump ? &dump_sizes_[h.nlmsg_type] : nullptr;
  if (dump_size) out.reserve(out.size() + *dump_size + *dump_size / 8);
  const size_t out_at = out.size();

  sockaddr_nl to{};
  to.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t n = sendto(fd_, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    if (n >= 0) break;
    if (errno != EINTR) return Failure::sys(errno, "sendmsg");
  }

  interrupted = false;
  for (;;) {
    size_t len = 0;
    if (Failure f = receive(len)) return f;
    MsgReader r(buf_.data(), len);
    Msg m;
    while (r.next(m)) {
      // Anything for an earlier request (a reply read after a failure, say) is not ours.
      if (m.hdr.nlmsg_seq != h.nlmsg_seq || (portid_ && m.hdr.nlmsg_pid != portid_)) continue;
      if (m.hdr.nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
      if (m.hdr.nlmsg_type == NLMSG_ERROR) {
        Failure f;
        int err = parse_nlmsgerr(m.payload, m.payload_len, m.hdr.nlmsg_flags, false, f);
        if (err == 0) return {};
        f.errno_ = err;
        f.syscall = "netlink";
        return f;
      }
      if (m.hdr.nlmsg_type == NLMSG_DONE) {
        if (dump_size) *dump_size = out.size() - out_at;
        // A dump that failed part-way says so in NLMSG_DONE, with the same extended ack.
        Failure f;
        int err = parse_nlmsgerr(m.payload, m.payload_len, m.hdr.nlmsg_flags, true, f);
        if (err == 0) return {};
        f.errno_ = err;
        f.syscall = "netlink";
        return f;
      }
      if (m.hdr.nlmsg_type == NLMSG_NOOP || m.hdr.nlmsg_type == NLMSG_OVERRUN) continue;
      size_t at = out.size();
      out.resize(at + NLMSG_ALIGN(m.hdr.nlmsg_len));
      std::memcpy(out.data() + at, &m.hdr, sizeof m.hdr);
      std::memcpy(out.data() + at + NLMSG_HDRLEN, m.payload, m.payload_len);
      if (!dump && !(m.hdr.nlmsg_flags & NLM_F_MULTI) && !(h.nlmsg_flags & NLM_F_ACK)) return {};
    }
    if (r.malformed()) return Failure::sys(EBADMSG, "recvmsg");
  }
}

Failure NlSocket::transact_batch(std::vector<std::vector<uint8_t>>& msgs,
                                 std::vector<std::vector<uint8_t>>& replies, int32_t& failed) {
  failed = -1;
  const size_t n = msgs.size();
  if (n < 2) return Failure::sys(EINVAL, "sendmsg");
  const uint32_t first = seq_ + 1;
  std::vector<uint8_t> all;
  size_t total = 0;
  for (auto& m : msgs) total += m.size();
  all.reserve(total);
  for (size_t i = 0; i < n; i++) {
    nlmsghdr h;
    std::memcpy(&h, msgs[i].data(), sizeof h);
    h.nlmsg_seq = ++seq_;
    h.nlmsg_pid = 0;
    // Every operation is acknowledged, so that each one's fate (and echo) is known.
    if (i > 0 && i + 1 < n) h.nlmsg_flags |= NLM_F_ACK;
    std::memcpy(msgs[i].data(), &h, sizeof h);
    all.insert(all.end(), msgs[i].begin(), msgs[i].end());
  }
  // The batch goes in one datagram, and every ACK must fit before we read: size both buffers
  // for this batch (about 1 KiB of receive buffer per acknowledged message).
  int sndbuf = static_cast<int>(std::min<size_t>(all.size() + (64 << 10), INT32_MAX));
  int rcvbuf = static_cast<int>(std::min<size_t>(std::max<size_t>(4 << 20, n * 1024 * 2), INT32_MAX));
  setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  sockaddr_nl to{};
  to.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t sent = sendto(fd_, all.data(), all.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    if (sent >= 0) break;
    if (errno != EINTR) return Failure::sys(errno, "sendmsg");
  }

  replies.assign(n, {});
  std::vector<bool> answered(n, false);
  size_t pending = n - 2;
  Failure first_error;
  while (pending > 0) {
    // Never wait forever on a reply the kernel will not send.
    pollfd p{fd_, POLLIN, 0};
    int ready = poll(&p, 1, 30'000);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return Failure::sys(ready == 0 ? ETIMEDOUT : errno, "poll");
    size_t len = 0;
    if (Failure f = receive(len)) return f;
    MsgReader r(buf_.data(), len);
    Msg m;
    while (r.next(m)) {
      if ((portid_ && m.hdr.nlmsg_pid != portid_) || m.hdr.nlmsg_seq < first || m.hdr.nlmsg_seq >= first + n) continue;
      size_t i = m.hdr.nlmsg_seq - first;
      if (m.hdr.nlmsg_type != NLMSG_ERROR) {
        size_t at = replies[i].size();
        replies[i].resize(at + NLMSG_ALIGN(m.hdr.nlmsg_len));
        std::memcpy(replies[i].data() + at, &m.hdr, sizeof m.hdr);
        std::memcpy(replies[i].data() + at + NLMSG_HDRLEN, m.payload, m.payload_len);
        continue;
      }
      Failure f;
      int err = parse_nlmsgerr(m.payload, m.payload_len, m.hdr.nlmsg_flags, false, f);
      // An error on BEGIN (or END) refuses the whole batch.
      if (i == 0 || i + 1 == n) {
        if (err == 0) continue;
        f.errno_ = err;
        f.syscall = "netlink";
        failed = 0;
        return f;
      }
      if (answered[i]) continue;
      answered[i] = true;
      pending--;
      if (err != 0 && (failed < 0 || static_cast<int32_t>(i) < failed)) {
        f.errno_ = err;
        f.syscall = "netlink";
        first_error = f;
        failed = static_cast<int32_t>(i);
      }
    }
    if (r.malformed()) return Failure::sys(EBADMSG, "recvmsg");
  }
  return first_error;
}

}  // namespace nlnet
