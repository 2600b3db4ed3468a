// Placeholder: filled in by its owner in this session.
#include <napi.h>

namespace nlnet {

void init_netns_socket(Napi::Env, Napi::Object) {}

}  // namespace nlnet
