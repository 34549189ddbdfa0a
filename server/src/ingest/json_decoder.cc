#include "ingest/json_decoder.h"

#include <simdjson.h>

#include <cmath>
#include <cstring>

#include "util/json_writer.h"

namespace agentlog::ingest {

namespace od = simdjson::ondemand;
using simdjson::error_code;
using model::Event;
using model::SessionPatch;

namespace {

// JSON number grammar (RFC 8259 §6); simdjson rejects big integers we want to keep verbatim.
bool valid_number(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Walks a value completely, validating it; with a writer, re-emits it as canonical JSON.
error_code walk(od::value v, JsonWriter* w, size_t depth) {
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  switch (t) {
    case od::json_type::object: {
      od::object o;
      if (auto e = v.get_object().get(o)) return e;
      if (w) w->begin_object();
      for (auto field : o) {
        std::string_view k;
        if (auto e = field.unescaped_key().get(k)) return e;
        if (w) w->key(k);
        od::value fv;
        if (auto e = field.value().get(fv)) return e;
        if (auto e = walk(fv, w, depth + 1)) return e;
      }
      if (w) w->end_object();
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a)) return e;
      if (w) w->begin_array();
      for (auto el : a) {
        od::value ev;
        if (auto e = el.get(ev)) return e;
        if (auto e = walk(ev, w, depth + 1)) return e;
      }
      if (w) w->end_array();
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return e;
      if (w) w->string(s);
      return simdjson::SUCCESS;
    }
    case od::json_type::number: {
      const std::string_view raw = trim_right(v.raw_json_token());
      if (!valid_number(raw)) return simdjson::NUMBER_ERROR;
      if (w) w->raw(raw);
      return simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
      bool b;
      if (auto e = v.get_bool().get(b)) return e;
      if (w) w->boolean(b);
      return simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto e = v.is_null().get(is_null)) return e;
      if (!is_null) return simdjson::N_ATOM_ERROR;
      if (w) w->null();
      return simdjson::SUCCESS;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

// Validates the whole document (structure, UTF-8, depth, numbers) before decoding, so
// the decoding pass can treat every remaining error as a field error.
error_code validate_document(od::document& doc) {
  od::json_type t;
  if (auto e = doc.type().get(t)) return e;
  if (t == od::json_type::object || t == od::json_type::array) {
    od::value v;
    if (auto e = doc.get_value().get(v)) return e;
    if (auto e = walk(v, nullptr, 1)) return e;
  } else {
    switch (t) {
      case od::json_type::string: {
        std::string_view s;
        if (auto e = doc.get_string().get(s)) return e;
        break;
      }
      case od::json_type::number: {
        std::string_view raw;
        if (auto e = doc.raw_json_token().get(raw)) return e;
        if (!valid_number(trim_right(raw))) return simdjson::NUMBER_ERROR;
        // Consume it so the trailing-content check below sees the end of the document.
        double ignored = 0;
        if (auto e = doc.get_double().get(ignored)) return e;
        break;
      }
      case od::json_type::boolean: {
        bool b;
        if (auto e = doc.get_bool().get(b)) return e;
        break;
      }
      default: {
        bool n = false;
        if (auto e = doc.is_null().get(n)) return e;
        if (!n) return simdjson::N_ATOM_ERROR;
      }
    }
  }
  // At the end of the document current_location() reports OUT_OF_BOUNDS; anything
  // else means bytes follow the first value.
  const char* loc = nullptr;
  if (doc.current_location().get(loc) != simdjson::OUT_OF_BOUNDS) return simdjson::TRAILING_CONTENT;
  return simdjson::SUCCESS;
}

// Collects the errors of one item.
struct ItemErrors {
  std::vector<ItemError>& out;
  size_t index;
  const char* item;
  bool failed = false;
  void add(std::string_view field, std::string message) {
    out.push_back(ItemError{index, item, std::string(field), std::move(message)});
    failed = true;
  }
};

class FieldReader {
 public:
  explicit FieldReader(ItemErrors& errs) : errs_(errs) {}

  bool is_null(od::value& v) {
    bool n = false;
    return !v.is_null().get(n) && n;
  }

  // A string of at most max bytes (min 1 when required_non_empty). nullopt on error.
  std::optional<std::string> string(od::value& v, std::string_view field, size_t max, bool non_empty = false) {
    std::string_view s;
    if (v.get_string().get(s)) {
      errs_.add(field, "must be a string");
      return std::nullopt;
    }
    if (s.size() > max) {
      errs_.add(field, "must be at most " + std::to_string(max) + " bytes");
      return std::nullopt;
    }
    if (non_empty && s.empty()) {
      errs_.add(field, "must not be empty");
      return std::nullopt;
    }
    return std::string(s);
  }

  // string | null -> optional<optional<string>> (outer nullopt on error).
  std::optional<std::optional<std::string>> nullable_string(od::value& v, std::string_view field, size_t max) {
    if (is_null(v)) return std::optional<std::string>();
    auto s = string(v, field, max);
    if (!s) return std::nullopt;
    return std::optional<std::string>(std::move(*s));
  }

  // RFC 3339 string or epoch milliseconds.
  std::optional<Micros> time(od::value& v, std::string_view field) {
    od::json_type t;
    if (!v.type().get(t)) {
      if (t == od::json_type::string) {
        std::string_view s;
        if (!v.get_string().get(s)) {
          if (auto m = parse_rfc3339(s)) return m;
        }
      } else if (t == od::json_type::number) {
        double ms;
        if (!v.get_double().get(ms)) {
          if (auto m = from_epoch_millis(ms)) return m;
        }
      }
    }
    errs_.add(field, "must be an RFC 3339 timestamp or epoch milliseconds (years 0001-9999)");
    return std::nullopt;
  }

  std::optional<int64_t> non_negative_int(od::value& v, std::string_view field) {
    int64_t n;
    if (v.get_int64().get(n) || n < 0) {
      errs_.add(field, "must be a non-negative integer");
      return std::nullopt;
    }
    return n;
  }

  std::optional<double> non_negative_number(od::value& v, std::string_view field) {
    double d;
    if (v.get_double().get(d) || !std::isfinite(d) || d < 0) {
      errs_.add(field, "must be a non-negative number");
      return std::nullopt;
    }
    return d;
  }

  // Any JSON value, re-serialized canonically; size-capped.
  std::optional<std::string> any_json(od::value& v, std::string_view field, bool object_only = false) {
    if (object_only) {
      od::json_type t;
      if (v.type().get(t) || t != od::json_type::object) {
        errs_.add(field, "must be an object");
        return std::nullopt;
      }
    }
    std::string out;
    JsonWriter w(out);
    if (walk(v, &w, 2)) {
      errs_.add(field, "is not valid JSON");
      return std::nullopt;
    }
    if (out.size() > model::kMaxPayloadBytes) {
      errs_.add(field, "must be at most 1 MiB when serialized");
      return std::nullopt;
    }
    return out;
  }

  std::optional<std::string> tags(od::value& v, std::string_view field) {
    od::array a;
    if (v.get_array().get(a)) {
      errs_.add(field, "must be an array of strings");
      return std::nullopt;
    }
    std::string out;
    JsonWriter w(out);
    w.begin_array();
    size_t n = 0;
    for (auto el : a) {
      std::string_view s;
      if (el.get_string().get(s) || s.size() > 256) {
        errs_.add(field, "must be an array of strings of at most 256 bytes");
        return std::nullopt;
      }
      if (++n > kMaxTags) {
        errs_.add(field, "must have at most 100 tags");
        return std::nullopt;
      }
      w.string(s);
    }
    w.end_array();
    return out;
  }

 private:
  ItemErrors& errs_;
};

}  // namespace

struct JsonDecoder::Impl {
  const Clock& clock;
  UuidV7Generator& ids;
  od::parser parser{simdjson::SIMDJSON_MAXSIZE_BYTES};

  std::optional<Event> decode_event(od::value item, ItemErrors& errs, Micros now);
  std::optional<SessionPatch> decode_session(od::value item, ItemErrors& errs, Micros now, bool require_id);
};

JsonDecoder::JsonDecoder(const Clock& clock, UuidV7Generator& ids)
    : impl_(std::make_unique<Impl>(Impl{clock, ids})) {}
JsonDecoder::~JsonDecoder() = default;

std::optional<Event> JsonDecoder::Impl::decode_event(od::value item, ItemErrors& errs, Micros now) {
  od::object obj;
  if (item.get_object().get(obj)) {
    errs.add("", "must be an object");
    return std::nullopt;
  }
  FieldReader r(errs);
  Event e;
  bool has_id = false, has_session = false, has_status = false;
  std::optional<Micros> started;
  for (auto field : obj) {
    std::string_view key;
    od::value v;
    if (field.unescaped_key().get(key) || field.value().get(v)) {
      errs.add("", "is not valid JSON");
      return std::nullopt;
    }
    if (key == "id") {
      if (auto s = r.string(v, key, model::kMaxIdBytes, true)) {
        e.id = std::move(*s);
        has_id = true;
      }
    } else if (key == "session_id") {
      if (auto s = r.string(v, key, model::kMaxIdBytes, true)) {
        e.session_id = std::move(*s);
        has_session = true;
      }
    } else if (key == "parent_id") {
      if (auto s = r.nullable_string(v, key, model::kMaxIdBytes)) e.parent_id = std::move(*s);
    } else if (key == "trace_id") {
      if (auto s = r.nullable_string(v, key, model::kMaxIdBytes)) e.trace_id = std::move(*s);
    } else if (key == "span_id") {
      if (auto s = r.nullable_string(v, key, model::kMaxIdBytes)) e.span_id = std::move(*s);
    } else if (key == "type") {
      if (r.is_null(v)) continue;
      if (auto s = r.string(v, key, 64)) {
        if (auto t = model::parse_event_type(*s)) {
          e.type = *t;
        } else {
          errs.add(key, "must be one of agent, step, llm, tool, retrieval, embedding, message, action, error, log, custom");
        }
      }
    } else if (key == "name") {
      if (auto s = r.nullable_string(v, key, model::kMaxNameBytes)) e.name = std::move(*s);
    } else if (key == "agent") {
      if (auto s = r.nullable_string(v, key, model::kMaxAgentBytes)) e.agent = std::move(*s);
    } else if (key == "started_at") {
      if (r.is_null(v)) continue;
      started = r.time(v, key);
    } else if (key == "ended_at") {
      if (r.is_null(v)) continue;
      e.ended_at = r.time(v, key);
    } else if (key == "status") {
      if (r.is_null(v)) continue;
      if (auto s = r.string(v, key, 64)) {
        if (auto st = model::parse_event_status(*s)) {
          e.status = *st;
          has_status = true;
        } else {
          errs.add(key, "must be one of ok, error, running");
        }
      }
    } else if (key == "input" || key == "output") {
      if (r.is_null(v)) continue;
      (key == "input" ? e.input_json : e.output_json) = r.any_json(v, key);
    } else if (key == "error") {
      if (r.is_null(v)) continue;
      od::json_type t;
      if (!v.type().get(t) && t == od::json_type::string) {
        if (auto s = r.string(v, key, model::kMaxPayloadBytes)) e.error = model::ErrorInfo{std::nullopt, std::move(*s), std::nullopt};
        continue;
      }
      od::object eo;
      if (v.get_object().get(eo)) {
        errs.add(key, "must be an object {type, message, stack} or a string");
        continue;
      }
      model::ErrorInfo info;
      for (auto ef : eo) {
        std::string_view ek;
        od::value ev;
        if (ef.unescaped_key().get(ek) || ef.value().get(ev)) break;
        std::optional<std::string>* slot = ek == "type" ? &info.type : ek == "message" ? &info.message
                                         : ek == "stack" ? &info.stack : nullptr;
        if (!slot) continue;
        if (auto s = r.nullable_string(ev, std::string("error.") + std::string(ek), model::kMaxPayloadBytes)) *slot = std::move(*s);
      }
      e.error = std::move(info);
    } else if (key == "model") {
      if (auto s = r.nullable_string(v, key, model::kMaxModelBytes)) e.model = std::move(*s);
    } else if (key == "provider") {
      if (auto s = r.nullable_string(v, key, model::kMaxModelBytes)) e.provider = std::move(*s);
    } else if (key == "usage") {
      if (r.is_null(v)) continue;
      od::object uo;
      if (v.get_object().get(uo)) {
        errs.add(key, "must be an object");
        continue;
      }
      model::Usage u;
      bool has_total = false;
      for (auto uf : uo) {
        std::string_view uk;
        od::value uv;
        if (uf.unescaped_key().get(uk) || uf.value().get(uv)) break;
        int64_t* slot = uk == "input_tokens" ? &u.input_tokens : uk == "output_tokens" ? &u.output_tokens
                      : uk == "total_tokens" ? &u.total_tokens : uk == "cached_tokens" ? &u.cached_tokens : nullptr;
        if (!slot || r.is_null(uv)) continue;
        if (auto n = r.non_negative_int(uv, std::string("usage.") + std::string(uk))) {
          *slot = *n;
          has_total |= uk == "total_tokens";
        }
      }
      if (!has_total && __builtin_add_overflow(u.input_tokens, u.output_tokens, &u.total_tokens)) {
        errs.add("usage.total_tokens", "input_tokens + output_tokens must fit in 64 bits");
      }
      e.usage = u;
    } else if (key == "cost_usd") {
      if (r.is_null(v)) continue;
      e.cost_usd = r.non_negative_number(v, key);
    } else if (key == "attributes") {
      if (r.is_null(v)) continue;
      if (auto s = r.any_json(v, key, true)) e.attributes_json = std::move(*s);
    } else if (key == "tags") {
      if (r.is_null(v)) continue;
      if (auto s = r.tags(v, key)) e.tags_json = std::move(*s);
    }
    // Unknown fields are ignored so newer clients work with older servers.
  }
  if (!has_session && !errs.failed) errs.add("session_id", "is required");
  if (errs.failed) return std::nullopt;
  e.started_at = started.value_or(now);
  if (e.ended_at && *e.ended_at < e.started_at) {
    errs.add("ended_at", "must not be before started_at");
    return std::nullopt;
  }
  if (!has_status && e.error) e.status = model::EventStatus::kError;
  if (!has_id) {
    e.id = ids.next();
    e.client_id = false;
  }
  return e;
}

std::optional<SessionPatch> JsonDecoder::Impl::decode_session(od::value item, ItemErrors& errs, Micros now,
                                                             bool require_id) {
  od::object obj;
  if (item.get_object().get(obj)) {
    errs.add("", "must be an object");
    return std::nullopt;
  }
  FieldReader r(errs);
  SessionPatch p;
  bool has_id = false;
  for (auto field : obj) {
    std::string_view key;
    od::value v;
    if (field.unescaped_key().get(key) || field.value().get(v)) {
      errs.add("", "is not valid JSON");
      return std::nullopt;
    }
    if (key == "id") {
      if (auto s = r.string(v, key, model::kMaxIdBytes, true)) {
        p.id = std::move(*s);
        has_id = true;
      }
    } else if (key == "name") {
      if (auto s = r.nullable_string(v, key, model::kMaxNameBytes)) p.name = std::move(*s);
    } else if (key == "agent") {
      if (auto s = r.nullable_string(v, key, model::kMaxAgentBytes)) p.agent = std::move(*s);
    } else if (key == "user_id") {
      if (auto s = r.nullable_string(v, key, model::kMaxAgentBytes)) p.user_id = std::move(*s);
    } else if (key == "tags") {
      if (r.is_null(v)) {
        p.tags_json = "[]";
      } else if (auto s = r.tags(v, key)) {
        p.tags_json = std::move(*s);
      }
    } else if (key == "metadata") {
      if (r.is_null(v)) {
        p.metadata_json = "{}";
      } else if (auto s = r.any_json(v, key, true)) {
        p.metadata_json = std::move(*s);
      }
    } else if (key == "status") {
      if (auto s = r.string(v, key, 64)) {
        if (auto st = model::parse_session_status(*s)) {
          p.status = *st;
        } else {
          errs.add(key, "must be one of running, success, failure, cancelled");
        }
      }
    } else if (key == "started_at" || key == "ended_at") {
      auto& slot = key == "started_at" ? p.started_at : p.ended_at;
      if (r.is_null(v)) {
        slot = std::optional<Micros>();
      } else if (auto t = r.time(v, key)) {
        slot = std::optional<Micros>(*t);
      }
    }
  }
  if (require_id && !has_id && !errs.failed) errs.add("id", "is required");
  if (errs.failed) return std::nullopt;
  if (p.started_at && *p.started_at && p.ended_at && *p.ended_at && **p.ended_at < **p.started_at) {
    errs.add("ended_at", "must not be before started_at");
    return std::nullopt;
  }
  // A terminal status without an end time ends the session now.
  if (p.status && model::is_terminal(*p.status) && !p.ended_at) p.ended_at = std::optional<Micros>(now);
  return p;
}

// JSON escapes UTF-16 code units one by one, so `"\ud800"` is well-formed JSON but not
// Unicode, and simdjson refuses the whole document for it. Each lone surrogate escape
// becomes `\ufffd` in place (same length), as browsers' decoders do, so one bad string
// does not cost the other items of a batch.
void replace_lone_surrogates(char* s, size_t n) {
  auto hex4 = [&](size_t at, uint32_t& v) {
    if (at + 4 > n) return false;
    v = 0;
    for (size_t k = at; k < at + 4; ++k) {
      const char c = s[k];
      const int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
      if (d < 0) return false;
      v = v * 16 + static_cast<uint32_t>(d);
    }
    return true;
  };
  size_t i = 0;
  while (i + 1 < n) {
    const void* hit = std::memchr(s + i, '\\', n - i);
    if (!hit) break;
    i = static_cast<size_t>(static_cast<const char*>(hit) - s);
    uint32_t cp = 0;
    if (i + 1 >= n || s[i + 1] != 'u' || !hex4(i + 2, cp)) {
      i += 2;  // another escape (or a malformed one, which the parser reports)
      continue;
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      uint32_t lo = 0;
      if (i + 7 < n && s[i + 6] == '\\' && s[i + 7] == 'u' && hex4(i + 8, lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
        i += 12;  // a proper pair
        continue;
      }
      std::memcpy(s + i + 2, "fffd", 4);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      std::memcpy(s + i + 2, "fffd", 4);
    }
    i += 6;
  }
}

// Re-serializes one JSON document; shares walk() with the ingest decoder so both produce
// the same canonical form.
struct JsonCanonicalizer::Impl {
  od::parser parser{simdjson::SIMDJSON_MAXSIZE_BYTES};
  std::string buffer;
};

JsonCanonicalizer::JsonCanonicalizer() : impl_(std::make_unique<Impl>()) {}
JsonCanonicalizer::~JsonCanonicalizer() = default;

bool JsonCanonicalizer::append(std::string_view text, std::string& out) {
  std::string& buf = impl_->buffer;
  buf.assign(text);
  buf.resize(text.size() + simdjson::SIMDJSON_PADDING, '\0');
  replace_lone_surrogates(buf.data(), text.size());
  od::document doc;
  if (impl_->parser.iterate(buf.data(), text.size(), buf.size()).get(doc)) return false;
  if (validate_document(doc)) return false;
  doc.rewind();
  const size_t mark = out.size();
  JsonWriter w(out);
  od::json_type t;
  error_code e = doc.type().get(t);
  if (!e && (t == od::json_type::object || t == od::json_type::array)) {
    od::value v;
    e = doc.get_value().get(v);
    if (!e) e = walk(v, &w, 1);
  } else if (!e) {
    // A scalar document: validated above; copy its token as is.
    std::string_view raw;
    e = doc.raw_json_token().get(raw);
    if (!e) w.raw(trim_right(raw));
  }
  if (e) {
    out.resize(mark);
    return false;
  }
  return true;
}

namespace {

template <typename T>
Decoded<T> fail(DecodeFailure::Kind kind, std::string message, std::vector<ItemError> errors = {}) {
  Decoded<T> d;
  d.failure = DecodeFailure{kind, std::move(message), std::move(errors)};
  return d;
}

std::string malformed_message(error_code e) {
  return std::string("body is not valid JSON: ") + simdjson::error_message(e);
}

}  // namespace

Decoded<IngestBatch> JsonDecoder::decode_ingest(std::string_view body) {
  using Kind = DecodeFailure::Kind;
  simdjson::padded_string padded(body);
  replace_lone_surrogates(padded.data(), padded.size());
  od::document doc;
  if (auto e = impl_->parser.iterate(padded).get(doc)) return fail<IngestBatch>(Kind::kMalformed, malformed_message(e));
  if (auto e = validate_document(doc)) return fail<IngestBatch>(Kind::kMalformed, malformed_message(e));
  doc.rewind();

  od::object top;
  if (doc.get_object().get(top)) {
    return fail<IngestBatch>(Kind::kInvalid, "body must be an object {\"events\": [...], \"sessions\": [...]}",
                             {{0, "", "", "must be an object"}});
  }
  const Micros now = impl_->clock.now();
  IngestBatch batch;
  for (auto field : top) {
    std::string_view key;
    od::value v;
    if (field.unescaped_key().get(key) || field.value().get(v)) return fail<IngestBatch>(Kind::kMalformed, "body is not valid JSON");
    const bool is_events = key == "events";
    if (!is_events && key != "sessions") continue;
    bool null = false;
    if (!v.is_null().get(null) && null) continue;
    od::array arr;
    if (v.get_array().get(arr)) {
      return fail<IngestBatch>(Kind::kInvalid, std::string(key) + " must be an array",
                               {{0, "", std::string(key), "must be an array"}});
    }
    size_t index = 0;
    for (auto el : arr) {
      od::value item;
      if (el.get(item)) return fail<IngestBatch>(Kind::kMalformed, "body is not valid JSON");
      ++batch.items;
      ItemErrors errs{batch.errors, index, is_events ? "event" : "session"};
      if (is_events) {
        auto e = impl_->decode_event(item, errs, now);
        batch.ids.push_back(e ? std::optional<std::string>(e->id) : std::nullopt);
        if (e) batch.events.push_back(std::move(*e));
      } else if (auto s = impl_->decode_session(item, errs, now, true)) {
        batch.sessions.push_back(std::move(*s));
      }
      ++index;
    }
  }
  return Decoded<IngestBatch>{std::move(batch), std::nullopt};
}

Decoded<SessionPatch> JsonDecoder::decode_session(std::string_view body, bool require_id) {
  using Kind = DecodeFailure::Kind;
  simdjson::padded_string padded(body);
  replace_lone_surrogates(padded.data(), padded.size());
  od::document doc;
  if (auto e = impl_->parser.iterate(padded).get(doc)) return fail<SessionPatch>(Kind::kMalformed, malformed_message(e));
  if (auto e = validate_document(doc)) return fail<SessionPatch>(Kind::kMalformed, malformed_message(e));
  doc.rewind();
  od::value v;
  std::vector<ItemError> errors;
  ItemErrors errs{errors, 0, "session"};
  std::optional<SessionPatch> p;
  if (!doc.get_value().get(v)) p = impl_->decode_session(v, errs, impl_->clock.now(), require_id);
  if (!p) {
    if (errors.empty()) errors.push_back({0, "session", "", "must be an object"});
    return fail<SessionPatch>(Kind::kInvalid, "the session is not valid", std::move(errors));
  }
  return Decoded<SessionPatch>{std::move(p), std::nullopt};
}

}  // namespace agentlog::ingest
