#include "socket.h"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "attr.h"

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
    ssize_t n = recv(fd_, buf_.data(), buf_.size(), MSG_PEEK | MSG_TRUNC);
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

}  // namespace nlnet
