// A netlink socket for requests: sequence numbers, ACK and error matching, multipart dumps,
// extended ACKs. It lives in whatever namespace the thread that opened it was in; the socket
// keeps that namespace for life, so it may then be used from any thread.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/errors.h"

namespace nlnet {

// Opens a netlink socket of `protocol` in the calling thread's network namespace, with the
// request options set (extended ACK, capped ACK, strict dump checks). Returns -1 and fills err.
int open_netlink_fd(int protocol, Failure& err);

class NlSocket {
 public:
  explicit NlSocket(int fd);
  ~NlSocket();
  NlSocket(const NlSocket&) = delete;
  NlSocket& operator=(const NlSocket&) = delete;

  // Sends one request (seq and pid are filled in here) and reads until its ACK, its error or,
  // for a dump, NLMSG_DONE. Every other message answering it is appended to `out`.
  // `interrupted` is set when a dump part carried NLM_F_DUMP_INTR.
  Failure transact(std::vector<uint8_t>& msg, std::vector<uint8_t>& out, bool& interrupted);

  // Sends msgs (an nf_tables batch: BEGIN, the operations, END) in one sendmsg and collects,
  // per operation, what answered it (echoes), until each is ACKed or refused. The kernel applies
  // all or nothing; `failed` is the index in msgs of the first refused operation, or -1.
  Failure transact_batch(std::vector<std::vector<uint8_t>>& msgs, std::vector<std::vector<uint8_t>>& replies,
                         int32_t& failed);

  int fd() const { return fd_; }

 private:
  // Receives one datagram into buf_, sized first with MSG_PEEK|MSG_TRUNC. Returns its length.
  Failure receive(size_t& len);

  int fd_;
  uint32_t portid_ = 0;
  uint32_t seq_;
  std::vector<uint8_t> buf_;
  // The size of the last dump's replies, per request type: the next one reserves that much up
  // front instead of growing its buffer a dozen times (each growth a copy into fresh memory).
  std::unordered_map<uint16_t, size_t> dump_sizes_;
};

// Reads the errno and extended-ack attributes of an NLMSG_ERROR (or, with done, NLMSG_DONE)
// payload, bounds-checked. Returns the positive errno, 0 for an ACK.
int parse_nlmsgerr(const uint8_t* payload, size_t len, uint16_t flags, bool done, Failure& f);

}  // namespace nlnet
