// dynset: add or update the key in sreg (and a map's value) in a set from the packet path
// (`add @s { ip saddr }`, `update @s { ip saddr timeout 10s }`), optionally with stateful
// expressions attached to the element (`… counter }`). Follows NFTA_DYNSET_* and enum
// nft_dynset_ops. One expression travels alone in NFTA_DYNSET_EXPR, several as an
// NFTA_DYNSET_EXPRESSIONS list shaped like a rule's (libnftnl writes it so).
#include <linux/netfilter/nf_tables.h>

#include "nft/nft.h"

namespace nlnet {

namespace {
const EnumName kOps[] = {
    {NFT_DYNSET_OP_ADD, "add"}, {NFT_DYNSET_OP_UPDATE, "update"}, {NFT_DYNSET_OP_DELETE, "delete"}};
const EnumTable kOpTable = enum_table(kOps);

// NFTA_DYNSET_EXPR: one { type, …attributes } as NFTA_EXPR_NAME and NFTA_EXPR_DATA.
void expr_encode(EncodeCtx& ctx, MsgWriter& w, const Field& f, const Napi::Value& v) {
  if (!v.IsObject()) type_error(ctx, f.key, "expected an expression object");
  Napi::Object o = v.As<Napi::Object>();
  std::string name = to_string(ctx, o.Get("type"), "type");
  const Schema* s = nft_expr_schema(name);
  if (!s) type_error(ctx, "type", "unknown expression '" + name + "'");
  size_t nest = w.nest_start(f.id);
  w.put_str(NFTA_EXPR_NAME, name);
  size_t data = w.nest_start(NFTA_EXPR_DATA);
  encode_attrs(ctx, w, *s, o);
  w.nest_end(data);
  w.nest_end(nest);
}

bool expr_decode(DecodeCtx& ctx, const Attr& a, const Field&) {
  std::string_view name;
  Attr data{};
  AttrReader r(a.data, a.len);
  Attr x;
  while (r.next(x)) {
    if (x.type == NFTA_EXPR_NAME) name = x.str();
    if (x.type == NFTA_EXPR_DATA) data = x;
  }
  const Schema* s = nft_expr_schema(name);
  if (r.malformed() || !s) return false;  // kept as unknown bytes
  Tape& t = ctx.out;
  Tape::Mark m = t.mark();
  t.obj();
  t.key("type");
  t.str(name.data(), name.size());
  if (!decode_attrs(ctx, *s, data.data, data.len)) {
    t.rewind(m);
    return false;
  }
  t.end();
  return true;
}

const CustomCodec kExprCodec = {expr_encode, expr_decode};
}  // namespace

const Schema& nft_expr_dynset() {
  // The list reads and writes exactly as a rule's expressions do: borrow the rule's codec.
  static const void* const expr_list = nft_rule_schema().field_for(NFTA_RULE_EXPRESSIONS)->extra;
  // Rows in the order libnftnl writes them, so that our bytes are nft's.
  static const Schema s{"dynset",
                        0,
                        {},
                        {
                            {NFTA_DYNSET_SREG_KEY, "sregKey", FieldKind::BE32},
                            {NFTA_DYNSET_SREG_DATA, "sregData", FieldKind::BE32},
                            {NFTA_DYNSET_OP, "op", FieldKind::ENUMB32, &kOpTable},
                            {NFTA_DYNSET_TIMEOUT, "timeout", FieldKind::BE64},  // milliseconds
                            {NFTA_DYNSET_SET_NAME, "set", FieldKind::STR},
                            {NFTA_DYNSET_SET_ID, "setId", FieldKind::BE32},
                            {NFTA_DYNSET_EXPR, "expr", FieldKind::CUSTOM, &kExprCodec},
                            {NFTA_DYNSET_EXPRESSIONS, "exprs", FieldKind::CUSTOM, expr_list},
                            {NFTA_DYNSET_FLAGS, "flags", FieldKind::BE32},  // NFT_DYNSET_F_INV, _F_EXPR
                        }};
  return s;
}

}  // namespace nlnet
