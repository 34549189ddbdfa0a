#include "ingest/otlp/json_reader.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "ingest/json_decoder.h"
#include "util/ids.h"

namespace agentlog::ingest::otlp {

namespace od = simdjson::ondemand;
using simdjson::error_code;

std::optional<std::string> decode_base64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string url(text);
  for (char& c : url) {
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
  }
  return base64url_decode(url);
}

namespace {

// A field name in either of the two spellings protobuf's JSON mapping accepts.
bool is(std::string_view key, std::string_view camel, std::string_view snake) {
  return key == camel || key == snake;
}

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}
bool parse_i64(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

struct JsonReader::Impl {
  od::parser parser{simdjson::SIMDJSON_MAXSIZE_BYTES};
  std::string buffer;  // the body plus simdjson's padding, reused between requests
  ScratchStack<Attr> attr_scratch;
  ScratchStack<Value> value_scratch;
  std::vector<SpanEvent> events;
  std::vector<SpanLink> links;
  TraceData* out = nullptr;
  std::string* error = nullptr;

  // Records the first error; always returns a failing code so callers can `return fail(...)`.
  error_code fail(std::string_view what, error_code e = simdjson::INCORRECT_TYPE) {
    if (error->empty()) {
      *error = std::string(what);
      if (e != simdjson::INCORRECT_TYPE) {
        *error += ": ";
        *error += simdjson::error_message(e);
      }
    }
    return e == simdjson::SUCCESS ? simdjson::INCORRECT_TYPE : e;
  }

  // One member of an object being iterated: its key and value.
  error_code member(simdjson::simdjson_result<od::field> f, std::string_view& key, od::value& v) {
    od::field field;
    if (auto e = std::move(f).get(field)) return fail("malformed JSON", e);
    if (auto e = field.unescaped_key().get(key)) return fail("malformed JSON", e);
    v = field.value();
    return simdjson::SUCCESS;
  }

  static bool is_null(od::value& v) {
    od::json_type t;
    return !v.type().get(t) && t == od::json_type::null;
  }

  error_code object(od::value& v, od::object& o, std::string_view what) {
    if (auto e = v.get_object().get(o)) return fail(std::string(what) + " must be an object", e);
    return simdjson::SUCCESS;
  }
  error_code array(od::value& v, od::array& a, std::string_view what) {
    if (auto e = v.get_array().get(a)) return fail(std::string(what) + " must be an array", e);
    return simdjson::SUCCESS;
  }
  error_code string(od::value& v, std::string_view& s, std::string_view what) {
    if (is_null(v)) {
      s = {};
      return simdjson::SUCCESS;
    }
    if (auto e = v.get_string().get(s)) return fail(std::string(what) + " must be a string", e);
    return simdjson::SUCCESS;
  }
  // uint64 / fixed64 / uint32: a number or a decimal string.
  error_code unsigned_int(od::value& v, uint64_t& out_value, std::string_view what) {
    od::json_type t;
    if (auto e = v.type().get(t)) return fail(what, e);
    if (t == od::json_type::null) return simdjson::SUCCESS;
    if (t == od::json_type::string) {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return fail(what, e);
      if (!parse_u64(s, out_value))
        return fail(std::string(what) + " must be a non-negative integer");
      return simdjson::SUCCESS;
    }
    if (auto e = v.get_uint64().get(out_value))
      return fail(std::string(what) + " must be a non-negative integer", e);
    return simdjson::SUCCESS;
  }
  // An enum: its integer value (OTLP/JSON) or its name.
  error_code enumeration(od::value& v, int32_t& out_value, std::string_view what,
                         std::initializer_list<std::string_view> names) {
    od::json_type t;
    if (auto e = v.type().get(t)) return fail(what, e);
    if (t == od::json_type::null) return simdjson::SUCCESS;
    if (t == od::json_type::string) {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return fail(what, e);
      int32_t i = 0;
      for (std::string_view n : names) {
        if (n == s) {
          out_value = i;
          return simdjson::SUCCESS;
        }
        ++i;
      }
      return fail(std::string(what) + " has an unknown enum name");
    }
    int64_t i = 0;
    if (auto e = v.get_int64().get(i)) return fail(std::string(what) + " must be an integer", e);
    if (i < std::numeric_limits<int32_t>::min() || i > std::numeric_limits<int32_t>::max()) {
      return fail(std::string(what) + " is out of range");
    }
    out_value = static_cast<int32_t>(i);
    return simdjson::SUCCESS;
  }

  template <size_t N>
  error_code id(od::value& v, std::array<uint8_t, N>& to, bool& present, bool& bad,
                std::string_view what) {
    std::string_view s;
    if (auto e = string(v, s, what)) return e;
    present = false;
    bad = false;
    if (s.empty()) return simdjson::SUCCESS;
    if (decode_hex(s, to)) {
      present = true;
    } else {
      bad = true;
    }
    return simdjson::SUCCESS;
  }

  error_code request(od::document& doc) {
    od::object top;
    if (auto e = doc.get_object().get(top)) return fail("the body must be a JSON object", e);
    for (auto f : top) {
      std::string_view key;
      od::value v;
      if (auto e = member(std::move(f), key, v)) return e;
      if (!is(key, "resourceSpans", "resource_spans") || is_null(v)) continue;
      od::array arr;
      if (auto e = array(v, arr, "resourceSpans")) return e;
      for (auto el : arr) {
        od::value item;
        if (auto e = el.get(item)) return fail("malformed JSON", e);
        if (auto e = resource_spans(item)) return e;
      }
    }
    return simdjson::SUCCESS;
  }

  error_code resource_spans(od::value& v) {
    od::object o;
    if (auto e = object(v, o, "resourceSpans[]")) return e;
    const auto resource_index = static_cast<uint32_t>(out->resources.size());
    out->resources.emplace_back();
    std::vector<Attr>& rattrs = attr_scratch.at(1);
    for (auto f : o) {
      std::string_view key;
      od::value fv;
      if (auto e = member(std::move(f), key, fv)) return e;
      if (is_null(fv)) continue;
      if (key == "resource") {
        od::object ro;
        if (auto e = object(fv, ro, "resource")) return e;
        for (auto rf : ro) {
          std::string_view rkey;
          od::value rv;
          if (auto e = member(std::move(rf), rkey, rv)) return e;
          if (is_null(rv)) continue;
          if (rkey == "attributes") {
            if (auto e = key_values(rv, 3, rattrs, "resource.attributes")) return e;
          } else if (is(rkey, "droppedAttributesCount", "dropped_attributes_count")) {
            uint64_t n = 0;
            if (auto e = unsigned_int(rv, n, "resource.droppedAttributesCount")) return e;
            out->resources[resource_index].dropped_attributes = static_cast<uint32_t>(n);
          }
        }
      } else if (is(key, "scopeSpans", "scope_spans")) {
        od::array arr;
        if (auto e = array(fv, arr, "scopeSpans")) return e;
        for (auto el : arr) {
          od::value item;
          if (auto e = el.get(item)) return fail("malformed JSON", e);
          if (auto e = scope_spans(item, resource_index)) return e;
        }
      } else if (is(key, "schemaUrl", "schema_url")) {
        std::string_view s;
        if (auto e = string(fv, s, "schemaUrl")) return e;
        out->resources[resource_index].schema_url = s;
      }
    }
    out->resources[resource_index].attrs = ScratchStack<Attr>::append(out->attrs, rattrs);
    return simdjson::SUCCESS;
  }

  error_code scope_spans(od::value& v, uint32_t resource_index) {
    od::object o;
    if (auto e = object(v, o, "scopeSpans[]")) return e;
    const auto scope_index = static_cast<uint32_t>(out->scopes.size());
    out->scopes.emplace_back();
    out->scopes.back().resource = resource_index;
    std::vector<Attr>& sattrs = attr_scratch.at(2);
    for (auto f : o) {
      std::string_view key;
      od::value fv;
      if (auto e = member(std::move(f), key, fv)) return e;
      if (is_null(fv)) continue;
      if (key == "scope") {
        od::object so;
        if (auto e = object(fv, so, "scope")) return e;
        for (auto sf : so) {
          std::string_view skey;
          od::value sv;
          if (auto e = member(std::move(sf), skey, sv)) return e;
          if (is_null(sv)) continue;
          Scope& scope = out->scopes[scope_index];
          if (skey == "name") {
            if (auto e = string(sv, scope.name, "scope.name")) return e;
          } else if (skey == "version") {
            if (auto e = string(sv, scope.version, "scope.version")) return e;
          } else if (skey == "attributes") {
            if (auto e = key_values(sv, 4, sattrs, "scope.attributes")) return e;
          } else if (is(skey, "droppedAttributesCount", "dropped_attributes_count")) {
            uint64_t n = 0;
            if (auto e = unsigned_int(sv, n, "scope.droppedAttributesCount")) return e;
            scope.dropped_attributes = static_cast<uint32_t>(n);
          }
        }
      } else if (key == "spans") {
        od::array arr;
        if (auto e = array(fv, arr, "spans")) return e;
        for (auto el : arr) {
          od::value item;
          if (auto e = el.get(item)) return fail("malformed JSON", e);
          if (auto e = span(item, scope_index)) return e;
        }
      } else if (is(key, "schemaUrl", "schema_url")) {
        if (auto e = string(fv, out->scopes[scope_index].schema_url, "schemaUrl")) return e;
      }
    }
    out->scopes[scope_index].attrs = ScratchStack<Attr>::append(out->attrs, sattrs);
    return simdjson::SUCCESS;
  }

  error_code span(od::value& v, uint32_t scope_index) {
    od::object o;
    if (auto e = object(v, o, "spans[]")) return e;
    Span s;
    s.scope = scope_index;
    bool bad_trace = false, bad_span = false, bad_parent = false;
    std::vector<Attr>& attrs = attr_scratch.at(3);
    events.clear();
    links.clear();
    for (auto f : o) {
      std::string_view key;
      od::value fv;
      if (auto e = member(std::move(f), key, fv)) return e;
      if (is_null(fv)) continue;
      uint64_t n = 0;
      error_code e = simdjson::SUCCESS;
      if (is(key, "traceId", "trace_id")) {
        e = id(fv, s.trace_id, s.has_trace_id, bad_trace, "span.traceId");
      } else if (is(key, "spanId", "span_id")) {
        e = id(fv, s.span_id, s.has_span_id, bad_span, "span.spanId");
      } else if (is(key, "parentSpanId", "parent_span_id")) {
        e = id(fv, s.parent_span_id, s.has_parent, bad_parent, "span.parentSpanId");
      } else if (is(key, "traceState", "trace_state")) {
        e = string(fv, s.trace_state, "span.traceState");
      } else if (key == "name") {
        e = string(fv, s.name, "span.name");
      } else if (key == "kind") {
        e = enumeration(fv, s.kind, "span.kind",
                        {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
                         "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"});
      } else if (is(key, "startTimeUnixNano", "start_time_unix_nano")) {
        e = unsigned_int(fv, s.start_ns, "span.startTimeUnixNano");
      } else if (is(key, "endTimeUnixNano", "end_time_unix_nano")) {
        e = unsigned_int(fv, s.end_ns, "span.endTimeUnixNano");
      } else if (key == "attributes") {
        e = key_values(fv, 4, attrs, "span.attributes");
      } else if (is(key, "droppedAttributesCount", "dropped_attributes_count")) {
        e = unsigned_int(fv, n, "span.droppedAttributesCount");
        s.dropped_attributes = static_cast<uint32_t>(n);
      } else if (key == "events") {
        e = span_events(fv);
      } else if (is(key, "droppedEventsCount", "dropped_events_count")) {
        e = unsigned_int(fv, n, "span.droppedEventsCount");
        s.dropped_events = static_cast<uint32_t>(n);
      } else if (key == "links") {
        e = span_links(fv);
      } else if (is(key, "droppedLinksCount", "dropped_links_count")) {
        e = unsigned_int(fv, n, "span.droppedLinksCount");
        s.dropped_links = static_cast<uint32_t>(n);
      } else if (key == "status") {
        e = status(fv, s);
      } else if (key == "flags") {
        e = unsigned_int(fv, n, "span.flags");
        s.flags = static_cast<uint32_t>(n);
      }
      if (e) return e;
    }
    if (bad_trace)
      s.invalid =
          "traceId must be 32 hexadecimal digits (OTLP/JSON encodes ids as hex, not base64)";
    else if (bad_span)
      s.invalid = "spanId must be 16 hexadecimal digits (OTLP/JSON encodes ids as hex, not base64)";
    else if (bad_parent)
      s.invalid = "parentSpanId must be 16 hexadecimal digits or empty";
    s.attrs = ScratchStack<Attr>::append(out->attrs, attrs);
    s.events = {static_cast<uint32_t>(out->events.size()), static_cast<uint32_t>(events.size())};
    out->events.insert(out->events.end(), events.begin(), events.end());
    s.links = {static_cast<uint32_t>(out->links.size()), static_cast<uint32_t>(links.size())};
    out->links.insert(out->links.end(), links.begin(), links.end());
    out->spans.push_back(s);
    return simdjson::SUCCESS;
  }

  error_code status(od::value& v, Span& s) {
    od::object o;
    if (auto e = object(v, o, "span.status")) return e;
    for (auto f : o) {
      std::string_view key;
      od::value fv;
      if (auto e = member(std::move(f), key, fv)) return e;
      if (is_null(fv)) continue;
      if (key == "message") {
        if (auto e = string(fv, s.status_message, "span.status.message")) return e;
      } else if (key == "code") {
        if (auto e = enumeration(fv, s.status_code, "span.status.code",
                                 {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"})) {
          return e;
        }
      }
    }
    return simdjson::SUCCESS;
  }

  error_code span_events(od::value& v) {
    od::array arr;
    if (auto e = array(v, arr, "span.events")) return e;
    for (auto el : arr) {
      od::value item;
      if (auto e = el.get(item)) return fail("malformed JSON", e);
      od::object o;
      if (auto e = object(item, o, "span.events[]")) return e;
      SpanEvent ev;
      std::vector<Attr>& attrs = attr_scratch.at(4);
      for (auto f : o) {
        std::string_view key;
        od::value fv;
        if (auto e = member(std::move(f), key, fv)) return e;
        if (is_null(fv)) continue;
        error_code e = simdjson::SUCCESS;
        uint64_t n = 0;
        if (is(key, "timeUnixNano", "time_unix_nano")) {
          e = unsigned_int(fv, ev.time_ns, "event.timeUnixNano");
        } else if (key == "name") {
          e = string(fv, ev.name, "event.name");
        } else if (key == "attributes") {
          e = key_values(fv, 5, attrs, "event.attributes");
        } else if (is(key, "droppedAttributesCount", "dropped_attributes_count")) {
          e = unsigned_int(fv, n, "event.droppedAttributesCount");
          ev.dropped_attributes = static_cast<uint32_t>(n);
        }
        if (e) return e;
      }
      ev.attrs = ScratchStack<Attr>::append(out->attrs, attrs);
      events.push_back(ev);
    }
    return simdjson::SUCCESS;
  }

  error_code span_links(od::value& v) {
    od::array arr;
    if (auto e = array(v, arr, "span.links")) return e;
    for (auto el : arr) {
      od::value item;
      if (auto e = el.get(item)) return fail("malformed JSON", e);
      od::object o;
      if (auto e = object(item, o, "span.links[]")) return e;
      SpanLink l;
      bool has_trace = false, has_span = false, bad_trace = false, bad_span = false;
      std::vector<Attr>& attrs = attr_scratch.at(4);
      for (auto f : o) {
        std::string_view key;
        od::value fv;
        if (auto e = member(std::move(f), key, fv)) return e;
        if (is_null(fv)) continue;
        error_code e = simdjson::SUCCESS;
        if (is(key, "traceId", "trace_id")) {
          e = id(fv, l.trace_id, has_trace, bad_trace, "link.traceId");
        } else if (is(key, "spanId", "span_id")) {
          e = id(fv, l.span_id, has_span, bad_span, "link.spanId");
        } else if (is(key, "traceState", "trace_state")) {
          e = string(fv, l.trace_state, "link.traceState");
        } else if (key == "attributes") {
          e = key_values(fv, 5, attrs, "link.attributes");
        }
        if (e) return e;
      }
      l.ids_valid = has_trace && has_span;
      l.attrs = ScratchStack<Attr>::append(out->attrs, attrs);
      links.push_back(l);
    }
    return simdjson::SUCCESS;
  }

  // An array of KeyValue, appended to `to`; `depth` is the nesting level of the KeyValues.
  error_code key_values(od::value& v, int depth, std::vector<Attr>& to, std::string_view what) {
    if (depth > kMaxDepth) return fail("attribute values nest too deeply");
    od::array arr;
    if (auto e = array(v, arr, what)) return e;
    for (auto el : arr) {
      od::value item;
      if (auto e = el.get(item)) return fail("malformed JSON", e);
      od::object o;
      if (auto e = object(item, o, std::string(what) + "[]")) return e;
      Attr a;
      for (auto f : o) {
        std::string_view key;
        od::value fv;
        if (auto e = member(std::move(f), key, fv)) return e;
        if (is_null(fv)) continue;
        if (key == "key") {
          if (auto e = string(fv, a.key, "KeyValue.key")) return e;
        } else if (key == "value") {
          if (auto e = any_value(fv, depth + 1, a.value)) return e;
        }
      }
      to.push_back(a);
    }
    return simdjson::SUCCESS;
  }

  error_code any_value(od::value& v, int depth, Value& out_value) {
    if (depth > kMaxDepth) return fail("attribute values nest too deeply");
    od::object o;
    if (auto e = object(v, o, "AnyValue")) return e;
    for (auto f : o) {
      std::string_view key;
      od::value fv;
      if (auto e = member(std::move(f), key, fv)) return e;
      if (is_null(fv)) continue;
      Value r;
      if (is(key, "stringValue", "string_value")) {
        r.kind = Value::Kind::kString;
        if (auto e = string(fv, r.s, "stringValue")) return e;
      } else if (is(key, "boolValue", "bool_value")) {
        r.kind = Value::Kind::kBool;
        if (auto e = fv.get_bool().get(r.b)) return fail("boolValue must be true or false", e);
      } else if (is(key, "intValue", "int_value")) {
        r.kind = Value::Kind::kInt;
        od::json_type t;
        if (auto e = fv.type().get(t)) return fail("intValue", e);
        if (t == od::json_type::string) {
          std::string_view s;
          if (auto e = fv.get_string().get(s)) return fail("intValue", e);
          if (!parse_i64(s, r.i)) return fail("intValue must be a 64-bit integer");
        } else if (auto e = fv.get_int64().get(r.i)) {
          return fail("intValue must be a 64-bit integer", e);
        }
      } else if (is(key, "doubleValue", "double_value")) {
        r.kind = Value::Kind::kDouble;
        od::json_type t;
        if (auto e = fv.type().get(t)) return fail("doubleValue", e);
        if (t == od::json_type::string) {
          std::string_view s;
          if (auto e = fv.get_string().get(s)) return fail("doubleValue", e);
          if (s == "NaN")
            r.d = std::numeric_limits<double>::quiet_NaN();
          else if (s == "Infinity")
            r.d = std::numeric_limits<double>::infinity();
          else if (s == "-Infinity")
            r.d = -std::numeric_limits<double>::infinity();
          else {
            char* end = nullptr;
            const std::string copy(s);
            r.d = std::strtod(copy.c_str(), &end);
            if (copy.empty() || end != copy.c_str() + copy.size())
              return fail("doubleValue must be a number");
          }
        } else if (auto e = fv.get_double().get(r.d)) {
          return fail("doubleValue must be a number", e);
        }
      } else if (is(key, "bytesValue", "bytes_value")) {
        r.kind = Value::Kind::kBytes;
        std::string_view s;
        if (auto e = string(fv, s, "bytesValue")) return e;
        auto bytes = decode_base64(s);
        if (!bytes) return fail("bytesValue must be base64");
        out->owned.push_back(std::move(*bytes));
        r.s = out->owned.back();
      } else if (is(key, "arrayValue", "array_value")) {
        r.kind = Value::Kind::kArray;
        if (auto e = array_value(fv, depth + 1, r)) return e;
      } else if (is(key, "kvlistValue", "kvlist_value")) {
        r.kind = Value::Kind::kKvList;
        if (auto e = kvlist_value(fv, depth + 1, r)) return e;
      } else {
        continue;
      }
      out_value = r;  // oneof: the last member present wins
    }
    return simdjson::SUCCESS;
  }

  error_code array_value(od::value& v, int depth, Value& r) {
    if (depth > kMaxDepth) return fail("attribute values nest too deeply");
    od::object o;
    if (auto e = object(v, o, "arrayValue")) return e;
    std::vector<Value>& items = value_scratch.at(static_cast<size_t>(depth));
    for (auto f : o) {
      std::string_view key;
      od::value fv;
      if (auto e = member(std::move(f), key, fv)) return e;
      if (key != "values" || is_null(fv)) continue;
      od::array arr;
      if (auto e = array(fv, arr, "arrayValue.values")) return e;
      for (auto el : arr) {
        od::value item;
        if (auto e = el.get(item)) return fail("malformed JSON", e);
        Value iv;
        if (auto e = any_value(item, depth + 1, iv)) return e;
        items.push_back(iv);
      }
    }
    r.children = ScratchStack<Value>::append(out->values, items);
    return simdjson::SUCCESS;
  }

  error_code kvlist_value(od::value& v, int depth, Value& r) {
    if (depth > kMaxDepth) return fail("attribute values nest too deeply");
    od::object o;
    if (auto e = object(v, o, "kvlistValue")) return e;
    std::vector<Attr>& items = attr_scratch.at(static_cast<size_t>(depth) + 8);
    for (auto f : o) {
      std::string_view key;
      od::value fv;
      if (auto e = member(std::move(f), key, fv)) return e;
      if (key != "values" || is_null(fv)) continue;
      if (auto e = key_values(fv, depth + 1, items, "kvlistValue.values")) return e;
    }
    r.children = ScratchStack<Attr>::append(out->attrs, items);
    return simdjson::SUCCESS;
  }
};

JsonReader::JsonReader() : impl_(std::make_unique<Impl>()) {}
JsonReader::~JsonReader() = default;

bool JsonReader::read(std::string_view body, TraceData& out, std::string& error) {
  out.clear();
  error.clear();
  Impl& im = *impl_;
  im.out = &out;
  im.error = &error;
  im.buffer.assign(body);
  im.buffer.resize(body.size() + simdjson::SIMDJSON_PADDING, '\0');
  replace_lone_surrogates(im.buffer.data(), body.size());
  od::document doc;
  if (auto e = im.parser.iterate(im.buffer.data(), body.size(), im.buffer.size()).get(doc)) {
    im.fail("the body is not valid JSON", e);
    return false;
  }
  if (im.request(doc)) {
    if (error.empty()) error = "the body is not valid OTLP/JSON";
    if (error.rfind("the body", 0) != 0)
      error = "the body is not a valid OTLP/JSON request: " + error;
    return false;
  }
  const char* loc = nullptr;
  if (doc.current_location().get(loc) != simdjson::OUT_OF_BOUNDS) {
    error = "the body is not valid JSON: content after the top-level object";
    return false;
  }
  return true;
}

}  // namespace agentlog::ingest::otlp
