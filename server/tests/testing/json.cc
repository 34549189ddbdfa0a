#include "testing/json.h"

namespace agentlog::test {

ParsedJson::ParsedJson(std::string_view text) : parser_(std::make_unique<simdjson::dom::parser>()) {
  const simdjson::padded_string padded(text);
  error_ = parser_->parse(padded).get(root_);
}

bool is_valid_json(std::string_view text) { return ParsedJson(text).ok(); }

namespace {

bool is_number(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  return t == T::INT64 || t == T::UINT64 || t == T::DOUBLE;
}

}  // namespace

bool json_equal(simdjson::dom::element a, simdjson::dom::element b) {
  using T = simdjson::dom::element_type;
  const T ta = a.type();
  const T tb = b.type();
  if (is_number(ta) && is_number(tb)) {
    if (ta == T::DOUBLE || tb == T::DOUBLE) return double(a) == double(b);
    if (ta == T::INT64 && tb == T::INT64) return int64_t(a) == int64_t(b);
    if (ta == T::UINT64 && tb == T::UINT64) return uint64_t(a) == uint64_t(b);
    return false;  // one needs more than 63 bits, the other is signed: they differ
  }
  if (ta != tb) return false;
  switch (ta) {
    case T::OBJECT: {
      const simdjson::dom::object oa = a;
      const simdjson::dom::object ob = b;
      if (oa.size() != ob.size()) return false;
      for (auto [key, value] : oa) {
        simdjson::dom::element other;
        if (ob.at_key(key).get(other)) return false;
        if (!json_equal(value, other)) return false;
      }
      return true;
    }
    case T::ARRAY: {
      const simdjson::dom::array xa = a;
      const simdjson::dom::array xb = b;
      if (xa.size() != xb.size()) return false;
      auto ib = xb.begin();
      for (auto ea : xa) {
        if (!json_equal(ea, *ib)) return false;
        ++ib;
      }
      return true;
    }
    case T::STRING:
      return std::string_view(a) == std::string_view(b);
    case T::BOOL:
      return bool(a) == bool(b);
    case T::NULL_VALUE:
      return true;
    default:
      return false;
  }
}

bool json_equal(std::string_view a, std::string_view b) {
  const ParsedJson pa(a);
  const ParsedJson pb(b);
  return pa.ok() && pb.ok() && json_equal(pa.root(), pb.root());
}

}  // namespace agentlog::test
