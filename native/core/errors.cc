#include "core/errors.h"

#include <uv.h>

#include <cerrno>
#include <cstring>

namespace nlnet {

Failure Failure::sys(int err, const char* call, std::string path) {
  Failure f;
  f.errno_ = err;
  f.syscall = call;
  f.path = std::move(path);
  return f;
}

Napi::Error to_js_error(Napi::Env env, const Failure& f) {
  // libuv names errno values exactly as Node's own errors do ('EEXIST', 'ENODEV', …); the ones it
  // does not know (nf_tables' ERESTART for a stale generation, a full bridge's EXFULL) get their
  // errno.h names from the C library.
  const char* code = uv_err_name(-f.errno_);
  if (std::strncmp(code, "Unknown", 7) == 0) {
    const char* name = strerrorname_np(f.errno_);
    code = name != nullptr ? name : "EUNKNOWN";
  }
  std::string msg = f.extack.empty() ? std::strerror(f.errno_) : f.extack;
  Napi::Error e = Napi::Error::New(env, msg);
  Napi::Object o = e.Value();
  o.Set("errno", Napi::Number::New(env, f.errno_));
  o.Set("code", Napi::String::New(env, code));
  o.Set("syscall", Napi::String::New(env, f.syscall));
  if (!f.extack.empty()) o.Set("extack", Napi::String::New(env, f.extack));
  if (f.bad_attr >= 0) o.Set("badAttrOffset", Napi::Number::New(env, f.bad_attr));
  if (!f.path.empty()) o.Set("path", Napi::String::New(env, f.path));
  if (f.step >= 0) o.Set("step", Napi::Number::New(env, f.step));
  return e;
}

}  // namespace nlnet
