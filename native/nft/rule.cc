// nf_tables rules: NFTA_RULE_* and the expression list, where each NFTA_LIST_ELEM holds an
// NFTA_EXPR_NAME and that expression's NFTA_EXPR_DATA. The name decides how the data reads, so
// the list has its own codec; each expression's table lives in nft_expr_<name>.cc.
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft/nft.h"

namespace nlnet {

namespace {

struct ExprEntry {
  const char* name;
  const Schema& (*schema)();
};

// One row per expression: adding one adds a row and a file, never a branch.
const ExprEntry kExprs[] = {
    {"payload", nft_expr_payload}, {"meta", nft_expr_meta},       {"cmp", nft_expr_cmp},
    {"immediate", nft_expr_immediate}, {"counter", nft_expr_counter},
    {"bitwise", nft_expr_bitwise},     {"lookup", nft_expr_lookup},   {"range", nft_expr_range},
    {"fib", nft_expr_fib},             {"ct", nft_expr_ct},           {"nat", nft_expr_nat},
    {"masq", nft_expr_masq},           {"redir", nft_expr_redir},     {"reject", nft_expr_reject},
    {"limit", nft_expr_limit},         {"log", nft_expr_log},         {"notrack", nft_expr_notrack},
    {"dynset", nft_expr_dynset},       {"objref", nft_expr_objref},
};

// [{ type: 'payload', base, offset, len, dreg }, { type: 'cmp', … }, …]
void exprs_encode(EncodeCtx& ctx, MsgWriter& w, const Field& f, const Napi::Value& v) {
  if (!v.IsArray()) type_error(ctx, f.key, "expected an array of expressions");
  auto arr = v.As<Napi::Array>();
  std::string saved = ctx.path;
  size_t list = w.nest_start(f.id);
  for (uint32_t i = 0; i < arr.Length(); i++) {
    ctx.path = (saved.empty() ? std::string(f.key) : saved + "." + f.key) + "[" + std::to_string(i) + "]";
    Napi::Value e = arr.Get(i);
    if (!e.IsObject()) type_error(ctx, "type", "expected an expression object");
    Napi::Object o = e.As<Napi::Object>();
    std::string name = to_string(ctx, o.Get("type"), "type");
    const Schema* s = nft_expr_schema(name);
    Napi::Value raw = o.Get("raw");
    if (!s && !raw.IsBuffer()) type_error(ctx, "type", "unknown expression '" + name + "'");
    size_t elem = w.nest_start(NFTA_LIST_ELEM);
    w.put_str(NFTA_EXPR_NAME, name);
    // An expression listed without a table here (quota, numgen…) goes back as the bytes it came as.
    if (!s) {
      auto b = raw.As<Napi::Buffer<uint8_t>>();
      size_t data = w.nest_start(NFTA_EXPR_DATA);
      w.append_raw(b.Data(), b.Length());
      w.nest_end(data);
      w.nest_end(elem);
      continue;
    }
    // An expression with no attributes at all (notrack) has no NFTA_EXPR_DATA, as nft writes it;
    // one whose attributes are all optional (counter, masq) has an empty one.
    if (!s->attrs.empty()) {
      size_t data = w.nest_start(NFTA_EXPR_DATA);
      encode_attrs(ctx, w, *s, o);
      w.nest_end(data);
    }
    w.nest_end(elem);
  }
  w.nest_end(list);
  ctx.path = saved;
}

bool exprs_decode(DecodeCtx& ctx, const Attr& a, const Field&) {
  Tape& t = ctx.out;
  Tape::Mark m = t.mark();
  t.arr();
  AttrReader list(a.data, a.len);
  Attr elem;
  while (list.next(elem)) {
    if (elem.type != NFTA_LIST_ELEM) continue;
    std::string_view name;
    Attr data{};
    bool has_data = false;
    AttrReader r(elem.data, elem.len);
    Attr x;
    while (r.next(x)) {
      if (x.type == NFTA_EXPR_NAME) name = x.str();
      if (x.type == NFTA_EXPR_DATA) data = x, has_data = true;
    }
    if (r.malformed() || name.empty()) {
      t.rewind(m);
      return false;
    }
    t.obj();
    t.key("type");
    t.str(name.data(), name.size());
    const Schema* s = nft_expr_schema(name);
    if (has_data && s && !decode_attrs(ctx, *s, data.data, data.len)) {
      t.rewind(m);
      return false;
    }
    // An expression nlnet has no table for keeps its data as bytes.
    if (has_data && !s) {
      t.key("raw");
      t.bytes(data.data, data.len);
    }
    t.end();
  }
  if (list.malformed()) {
    t.rewind(m);
    return false;
  }
  t.end();
  return true;
}

const CustomCodec kExprsCodec = {exprs_encode, exprs_decode};

}  // namespace

const Schema* nft_expr_schema(std::string_view name) {
  for (const ExprEntry& e : kExprs)
    if (name == e.name) return &e.schema();
  return nullptr;
}

const Schema& nft_rule_schema() {
  static const Schema s{"nft_rule",
                        sizeof(nfgenmsg),
                        nft_table_schema().header,
                        {
                            {NFTA_RULE_TABLE, "table", FieldKind::STR},
                            {NFTA_RULE_CHAIN, "chain", FieldKind::STR},
                            {NFTA_RULE_HANDLE, "handle", FieldKind::BE64},
                            {NFTA_RULE_POSITION, "position", FieldKind::BE64},
                            {NFTA_RULE_ID, "id", FieldKind::BE32},
                            {NFTA_RULE_POSITION_ID, "positionId", FieldKind::BE32},
                            {NFTA_RULE_EXPRESSIONS, "exprs", FieldKind::CUSTOM, &kExprsCodec},
                            {NFTA_RULE_USERDATA, "userdata", FieldKind::BIN},
                        }};
  return s;
}

}  // namespace nlnet
