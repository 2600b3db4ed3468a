// Table-driven codec: a Schema lists a family header's fields and the attributes that may follow,
// each with the JS key it maps to and how its bytes look. One engine encodes a JS descriptor into
// a message and decodes a message back into a descriptor; the family files (rtnl/link.cc,
// rtnl/addr.cc, nft/table.cc, …) only declare tables, plus a hook where a family has something no
// table can say.
//
// Decoding keeps what it does not know: an attribute missing from the table comes back under
// `unknown` as { type, data } (only when asked, since dumps do not need it), and encoding writes
// those back, so decode → encode loses nothing.
#pragma once

#include <napi.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/attr.h"
#include "core/tape.h"

namespace nlnet {

enum class FieldKind : uint8_t {
  U8, U16, U32, U64, S32,
  BE16, BE32, BE64,  // network byte order (ports; nf_tables writes all its integers so)
  SBE32,       // a signed big-endian i32 (chain priorities)
  BOOL8,       // u8 0/1 <-> boolean
  FLAG,        // zero-length attribute: present <-> true
  STR,         // NUL-terminated string
  BIN,         // raw bytes <-> Buffer
  MAC,         // hardware address <-> "aa:bb:cc:dd:ee:ff"
  IP,          // 4 or 16 bytes <-> "192.0.2.1" / "2001:db8::1"
  IFREF,       // u32 ifindex: encodes a number, a name or { ref: step } (resolved by the executor)
  NSFD,        // u32 namespace descriptor: a number, or { jobNetns: true } (the job's, netns/job.cc)
  ENUM8, ENUM16, ENUM32,  // number <-> name through an EnumTable; unknown values stay numbers
  ENUMB32,     // the same for a big-endian u32 (nf_tables' registers, keys, verdicts…)
  NEST,        // nested attributes <-> object (extra: Schema without header), as iproute2 nests
  NESTF,       // the same, with NLA_F_NESTED set (nf_tables, IFLA_PROTINFO from `bridge`)
  NESTMSG,     // a family header plus attributes inside an attribute (extra: Schema)
  LIST,        // array <-> a nest of NLA_F_NESTED NFTA_LIST_ELEM(1) nests, each a Schema's attributes
  CUSTOM,      // family code (extra: CustomCodec)
};

struct EnumName {
  uint32_t value;
  const char* name;
};

struct EnumTable {
  const EnumName* items;
  size_t count;
  const char* lookup(uint32_t v) const;
  bool find(std::string_view name, uint32_t& out) const;
};

template <size_t N>
constexpr EnumTable enum_table(const EnumName (&items)[N]) { return {items, N}; }

struct Schema;
struct CustomCodec;

struct Field {
  uint16_t id;  // attribute type, or byte offset inside the family header for header fields
  const char* key;
  FieldKind kind;
  const void* extra = nullptr;  // EnumTable*, Schema* or CustomCodec*

  const EnumTable* enums() const { return static_cast<const EnumTable*>(extra); }
  const Schema* schema() const { return static_cast<const Schema*>(extra); }
  const CustomCodec* custom() const { return static_cast<const CustomCodec*>(extra); }
};

// Where the executor must write an ifindex it only learns at run time.
struct Patch {
  // step: the descriptor of the namespace the job made (netns/job.cc), for IFLA_NET_NS_FD.
  static constexpr int32_t kJobNetns = -2;
  size_t offset;
  int32_t step;      // >= 0: the ifindex of the link created by that step of the batch
  std::string name;  // step == -1: the ifindex of the link with this name
};

struct EncodeCtx {
  Napi::Env env;
  std::vector<Patch> patches;
  std::string path;  // "peer.mtu": where we are, for error messages
};

// Decoding writes into a Tape (tape.h) and touches no JS value, so it runs on any thread.
struct DecodeCtx {
  Tape& out;
  bool keep_unknown = false;
};

struct CustomCodec {
  void (*encode)(EncodeCtx& ctx, MsgWriter& w, const Field& f, const Napi::Value& v);
  // Writes exactly one value, or nothing and returns false (the bytes are then kept as unknown).
  bool (*decode)(DecodeCtx& ctx, const Attr& a, const Field& f);
};

struct Schema {
  const char* name;
  size_t header_len = 0;  // 0: a plain nested attribute set
  std::vector<Field> header;
  std::vector<Field> attrs;
  // For what tables cannot express (IFF_UP as `up`, the link kind that selects IFLA_INFO_DATA).
  void (*encode_hook)(EncodeCtx&, MsgWriter&, size_t header_at, const Napi::Object&) = nullptr;
  void (*decode_hook)(DecodeCtx&, const uint8_t* header, size_t len) = nullptr;  // writes keys and values
  // Picks another attribute order for encoding when one message type is written two ways by
  // the tools we match byte for byte (`ip neigh` and `bridge fdb` order NDA_* differently).
  const Schema* (*variant)(const Napi::Object& body) = nullptr;
  // Filled by field_for(); last, so that the tables' aggregate initializers leave them alone.
  mutable std::vector<const Field*> index_ = {};
  mutable std::once_flag indexed_ = {};

  // The field for an attribute type, or nullptr. The index is built once, on first use, by
  // whichever thread decodes first.
  const Field* field_for(uint16_t type) const;

  const Schema& for_encoding(const Napi::Object& body) const {
    const Schema* v = variant ? variant(body) : nullptr;
    return v ? *v : *this;
  }
};

// Writes the header fields at header_at and appends the attributes to w.
void encode_body(EncodeCtx& ctx, MsgWriter& w, const Schema& s, size_t header_at, const Napi::Object& o);
// Appends the attributes of s found in o (used for NEST and for kinds' data).
void encode_attrs(EncodeCtx& ctx, MsgWriter& w, const Schema& s, const Napi::Object& o);
void encode_field(EncodeCtx& ctx, MsgWriter& w, const Field& f, const Napi::Value& v);

// Decodes a family header (if the schema has one) followed by attributes, as one object.
// Returns false, having written nothing, when the bytes are malformed.
bool decode_body(DecodeCtx& ctx, const Schema& s, const uint8_t* data, size_t len);
// Writes the attributes as keys and values into the object the caller opened.
bool decode_attrs(DecodeCtx& ctx, const Schema& s, const uint8_t* data, size_t len);
// Writes one value for an attribute, or nothing (returning false) if it has the wrong size.
bool decode_field(DecodeCtx& ctx, const Field& f, const Attr& a);

// Value helpers shared by the family files.
// An ifindex field at `offset` of the message: written now, or patched by the executor.
uint32_t encode_ifref(EncodeCtx& ctx, const Napi::Value& v, const char* key, size_t offset);
uint64_t to_uint(EncodeCtx& ctx, const Napi::Value& v, const char* key, uint64_t max);
std::string to_string(EncodeCtx& ctx, const Napi::Value& v, const char* key);
[[noreturn]] void type_error(EncodeCtx& ctx, const char* key, const std::string& what);
void ip_to_tape(Tape& t, const uint8_t* data, size_t len);  // a string, or bytes if neither v4 nor v6
std::vector<uint8_t> ip_from_js(EncodeCtx& ctx, const Napi::Value& v, const char* key);
std::string mac_to_string(const uint8_t* data, size_t len);

// The schema for a message type of a protocol, or nullptr (registry.cc).
const Schema* schema_for(int protocol, uint16_t msg_type);

}  // namespace nlnet
