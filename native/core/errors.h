// Failures carried from worker threads back to JS. A worker never touches JS values, so it fills
// a Failure; the main thread turns it into an Error carrying errno, code and the kernel's words.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace nlnet {

struct Failure {
  int errno_ = 0;         // positive errno; 0 means no failure
  std::string syscall;    // "sendmsg", "setns", "mount"… or "netlink" for a kernel NACK
  std::string extack;     // NLMSGERR_ATTR_MSG: the kernel's own explanation, when it gave one
  int32_t bad_attr = -1;  // NLMSGERR_ATTR_OFFS: byte offset of the attribute it rejected
  std::string path;       // the file a syscall worked on, if any
  int32_t step = -1;      // the batch step that failed

  explicit operator bool() const { return errno_ != 0; }
  static Failure sys(int err, const char* call, std::string path = {});
};

// { errno, code, syscall, extack?, badAttrOffset?, path?, step? } as an Error.
Napi::Error to_js_error(Napi::Env env, const Failure& f);

}  // namespace nlnet
