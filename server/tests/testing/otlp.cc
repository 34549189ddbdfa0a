#include "testing/otlp.h"

#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>

#include "util/ids.h"
#include "util/json_writer.h"

namespace agentlog::test::otlp {

namespace otlp = ingest::otlp;

namespace {
// Differential tests feed libprotobuf invalid UTF-8 on purpose; its complaints are noise.
const bool kQuietProtobuf = [] {
  google::protobuf::SetLogHandler(nullptr);
  return true;
}();
}  // namespace

std::string bytes_of_hex(std::string_view hex) {
  std::string out;
  auto nib = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("not hex");
  };
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(nib(hex[i]) << 4 | nib(hex[i + 1])));
  return out;
}

namespace {
pb_common::AnyValue* add(Attrs* attrs, std::string_view key) {
  auto* kv = attrs->Add();
  kv->set_key(std::string(key));
  return kv->mutable_value();
}
}  // namespace

void attr(Attrs* attrs, std::string_view key, const char* value) {
  add(attrs, key)->set_string_value(value);
}
void attr(Attrs* attrs, std::string_view key, std::string_view value) {
  add(attrs, key)->set_string_value(std::string(value));
}
void attr(Attrs* attrs, std::string_view key, int64_t value) {
  add(attrs, key)->set_int_value(value);
}
void attr(Attrs* attrs, std::string_view key, int value) { add(attrs, key)->set_int_value(value); }
void attr(Attrs* attrs, std::string_view key, double value) {
  add(attrs, key)->set_double_value(value);
}
void attr(Attrs* attrs, std::string_view key, bool value) {
  add(attrs, key)->set_bool_value(value);
}
void attr(Attrs* attrs, std::string_view key, const std::vector<std::string>& values) {
  auto* arr = add(attrs, key)->mutable_array_value();
  for (const auto& v : values) arr->add_values()->set_string_value(v);
}

RequestBuilder::RequestBuilder(std::string service, std::string scope) {
  resource(std::move(service), std::move(scope));
}

RequestBuilder& RequestBuilder::resource(std::string service, std::string scope) {
  for (auto& rs : *request_.mutable_resource_spans()) {
    for (const auto& kv : rs.resource().attributes()) {
      if (kv.key() != "service.name" || kv.value().string_value() != service) continue;
      current_resource_ = &rs;
      for (auto& ss : *rs.mutable_scope_spans()) {
        if (ss.scope().name() == scope) {
          current_ = &ss;
          return *this;
        }
      }
      current_ = rs.add_scope_spans();
      current_->mutable_scope()->set_name(scope);
      current_->mutable_scope()->set_version("1.0.0");
      return *this;
    }
  }
  current_resource_ = request_.add_resource_spans();
  attr(current_resource_->mutable_resource()->mutable_attributes(), "service.name",
       std::string_view(service));
  attr(current_resource_->mutable_resource()->mutable_attributes(), "telemetry.sdk.language",
       "python");
  current_ = current_resource_->add_scope_spans();
  current_->mutable_scope()->set_name(scope);
  current_->mutable_scope()->set_version("1.0.0");
  return *this;
}

Attrs* RequestBuilder::resource_attrs() {
  return current_resource_->mutable_resource()->mutable_attributes();
}

PbSpan& RequestBuilder::span(std::string_view name, std::string_view trace_hex,
                             std::string_view span_hex, std::string_view parent_hex,
                             uint64_t start_ns, uint64_t end_ns) {
  PbSpan* s = current_->add_spans();
  s->set_name(std::string(name));
  s->set_trace_id(bytes_of_hex(trace_hex));
  s->set_span_id(bytes_of_hex(span_hex));
  if (!parent_hex.empty()) s->set_parent_span_id(bytes_of_hex(parent_hex));
  s->set_kind(PbSpan::SPAN_KIND_INTERNAL);
  s->set_start_time_unix_nano(start_ns);
  s->set_end_time_unix_nano(end_ns);
  return *s;
}

std::string RequestBuilder::protobuf() const { return request_.SerializeAsString(); }
std::string RequestBuilder::json() const { return to_otlp_json(request_); }

pb_trace::Span_Event& event(
    PbSpan& span, std::string_view name, uint64_t time_ns,
    std::initializer_list<std::pair<std::string_view, std::string_view>> attrs) {
  auto* e = span.add_events();
  e->set_name(std::string(name));
  e->set_time_unix_nano(time_ns);
  for (const auto& [k, v] : attrs) attr(e->mutable_attributes(), k, v);
  return *e;
}

// ---- OTLP/JSON

namespace {

std::string hex_of(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

void json_value(JsonWriter& w, const pb_common::AnyValue& v);

void json_attrs(JsonWriter& w, const Attrs& attrs) {
  w.begin_array();
  for (const auto& kv : attrs) {
    w.begin_object().field("key", kv.key()).key("value");
    json_value(w, kv.value());
    w.end_object();
  }
  w.end_array();
}

void json_value(JsonWriter& w, const pb_common::AnyValue& v) {
  w.begin_object();
  switch (v.value_case()) {
    case pb_common::AnyValue::kStringValue:
      w.field("stringValue", v.string_value());
      break;
    case pb_common::AnyValue::kBoolValue:
      w.field("boolValue", v.bool_value());
      break;
    case pb_common::AnyValue::kIntValue:
      w.field("intValue", std::to_string(v.int_value()));
      break;
    case pb_common::AnyValue::kDoubleValue:
      if (std::isfinite(v.double_value()))
        w.field("doubleValue", v.double_value());
      else
        w.field("doubleValue", std::isnan(v.double_value()) ? "NaN"
                               : v.double_value() > 0       ? "Infinity"
                                                            : "-Infinity");
      break;
    case pb_common::AnyValue::kBytesValue:
      w.field("bytesValue", base64url_encode(v.bytes_value()));
      break;
    case pb_common::AnyValue::kArrayValue:
      w.key("arrayValue").begin_object().key("values").begin_array();
      for (const auto& item : v.array_value().values()) json_value(w, item);
      w.end_array().end_object();
      break;
    case pb_common::AnyValue::kKvlistValue:
      w.key("kvlistValue").begin_object().key("values");
      json_attrs(w, v.kvlist_value().values());
      w.end_object();
      break;
    default:
      break;
  }
  w.end_object();
}

}  // namespace

std::string to_otlp_json(const ExportRequest& request) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("resourceSpans").begin_array();
  for (const auto& rs : request.resource_spans()) {
    w.begin_object().key("resource").begin_object().key("attributes");
    json_attrs(w, rs.resource().attributes());
    if (rs.resource().dropped_attributes_count()) {
      w.field("droppedAttributesCount",
              static_cast<int64_t>(rs.resource().dropped_attributes_count()));
    }
    w.end_object().key("scopeSpans").begin_array();
    for (const auto& ss : rs.scope_spans()) {
      w.begin_object().key("scope").begin_object().field("name", ss.scope().name());
      w.field("version", ss.scope().version());
      if (ss.scope().attributes_size()) {
        w.key("attributes");
        json_attrs(w, ss.scope().attributes());
      }
      w.end_object().key("spans").begin_array();
      for (const auto& s : ss.spans()) {
        w.begin_object()
            .field("traceId", hex_of(s.trace_id()))
            .field("spanId", hex_of(s.span_id()));
        if (!s.parent_span_id().empty()) w.field("parentSpanId", hex_of(s.parent_span_id()));
        if (!s.trace_state().empty()) w.field("traceState", s.trace_state());
        w.field("name", s.name()).field("kind", static_cast<int64_t>(s.kind()));
        w.field("startTimeUnixNano", std::to_string(s.start_time_unix_nano()));
        w.field("endTimeUnixNano", std::to_string(s.end_time_unix_nano()));
        w.key("attributes");
        json_attrs(w, s.attributes());
        if (s.dropped_attributes_count())
          w.field("droppedAttributesCount", static_cast<int64_t>(s.dropped_attributes_count()));
        if (s.dropped_events_count())
          w.field("droppedEventsCount", static_cast<int64_t>(s.dropped_events_count()));
        if (s.dropped_links_count())
          w.field("droppedLinksCount", static_cast<int64_t>(s.dropped_links_count()));
        if (s.flags()) w.field("flags", static_cast<int64_t>(s.flags()));
        if (s.events_size()) {
          w.key("events").begin_array();
          for (const auto& e : s.events()) {
            w.begin_object()
                .field("timeUnixNano", std::to_string(e.time_unix_nano()))
                .field("name", e.name());
            w.key("attributes");
            json_attrs(w, e.attributes());
            w.end_object();
          }
          w.end_array();
        }
        if (s.links_size()) {
          w.key("links").begin_array();
          for (const auto& l : s.links()) {
            w.begin_object()
                .field("traceId", hex_of(l.trace_id()))
                .field("spanId", hex_of(l.span_id()));
            if (!l.trace_state().empty()) w.field("traceState", l.trace_state());
            w.key("attributes");
            json_attrs(w, l.attributes());
            w.end_object();
          }
          w.end_array();
        }
        if (s.has_status()) {
          w.key("status").begin_object();
          if (!s.status().message().empty()) w.field("message", s.status().message());
          w.field("code", static_cast<int64_t>(s.status().code()));
          w.end_object();
        }
        w.end_object();
      }
      w.end_array().end_object();
    }
    w.end_array().end_object();
  }
  w.end_array().end_object();
  return out;
}

// ---- libprotobuf -> TraceData

namespace {

class Adapter {
 public:
  explicit Adapter(otlp::TraceData& out) : out_(out) {}

  otlp::Range attrs(const Attrs& kvs) {
    std::vector<otlp::Attr> items;
    for (const auto& kv : kvs) items.push_back(otlp::Attr{kv.key(), value(kv.value())});
    return otlp::ScratchStack<otlp::Attr>::append(out_.attrs, items);
  }

  otlp::Value value(const pb_common::AnyValue& v) {
    otlp::Value r;
    using K = otlp::Value::Kind;
    switch (v.value_case()) {
      case pb_common::AnyValue::kStringValue:
        r.kind = K::kString;
        r.s = v.string_value();
        break;
      case pb_common::AnyValue::kBoolValue:
        r.kind = K::kBool;
        r.b = v.bool_value();
        break;
      case pb_common::AnyValue::kIntValue:
        r.kind = K::kInt;
        r.i = v.int_value();
        break;
      case pb_common::AnyValue::kDoubleValue:
        r.kind = K::kDouble;
        r.d = v.double_value();
        break;
      case pb_common::AnyValue::kBytesValue:
        r.kind = K::kBytes;
        r.s = v.bytes_value();
        break;
      case pb_common::AnyValue::kArrayValue: {
        r.kind = K::kArray;
        std::vector<otlp::Value> items;
        for (const auto& item : v.array_value().values()) items.push_back(value(item));
        r.children = otlp::ScratchStack<otlp::Value>::append(out_.values, items);
        break;
      }
      case pb_common::AnyValue::kKvlistValue:
        r.kind = K::kKvList;
        r.children = attrs(v.kvlist_value().values());
        break;
      default:
        break;
    }
    return r;
  }

  template <size_t N>
  static void id(const std::string& bytes, std::array<uint8_t, N>& to, bool& present, bool& bad) {
    present = bad = false;
    if (bytes.empty()) return;
    if (bytes.size() != N) {
      bad = true;
      return;
    }
    std::memcpy(to.data(), bytes.data(), N);
    present = true;
  }

  void run(const ExportRequest& request) {
    for (const auto& rs : request.resource_spans()) {
      const auto ri = static_cast<uint32_t>(out_.resources.size());
      otlp::Resource r;
      r.attrs = attrs(rs.resource().attributes());
      r.dropped_attributes = rs.resource().dropped_attributes_count();
      r.schema_url = rs.schema_url();
      out_.resources.push_back(r);
      for (const auto& ss : rs.scope_spans()) {
        const auto si = static_cast<uint32_t>(out_.scopes.size());
        otlp::Scope sc;
        sc.name = ss.scope().name();
        sc.version = ss.scope().version();
        sc.schema_url = ss.schema_url();
        sc.attrs = attrs(ss.scope().attributes());
        sc.dropped_attributes = ss.scope().dropped_attributes_count();
        sc.resource = ri;
        out_.scopes.push_back(sc);
        for (const auto& s : ss.spans()) {
          otlp::Span o;
          o.scope = si;
          bool bad_trace = false, bad_span = false, bad_parent = false;
          id(s.trace_id(), o.trace_id, o.has_trace_id, bad_trace);
          id(s.span_id(), o.span_id, o.has_span_id, bad_span);
          id(s.parent_span_id(), o.parent_span_id, o.has_parent, bad_parent);
          if (bad_trace)
            o.invalid = "trace_id must be 16 bytes";
          else if (bad_span)
            o.invalid = "span_id must be 8 bytes";
          else if (bad_parent)
            o.invalid = "parent_span_id must be 8 bytes or empty";
          o.name = s.name();
          o.trace_state = s.trace_state();
          o.kind = static_cast<int32_t>(s.kind());
          o.start_ns = s.start_time_unix_nano();
          o.end_ns = s.end_time_unix_nano();
          o.flags = s.flags();
          o.dropped_attributes = s.dropped_attributes_count();
          o.dropped_events = s.dropped_events_count();
          o.dropped_links = s.dropped_links_count();
          o.status_message = s.status().message();
          o.status_code = static_cast<int32_t>(s.status().code());
          o.attrs = attrs(s.attributes());
          std::vector<otlp::SpanEvent> events;
          for (const auto& e : s.events()) {
            otlp::SpanEvent ev;
            ev.time_ns = e.time_unix_nano();
            ev.name = e.name();
            ev.attrs = attrs(e.attributes());
            ev.dropped_attributes = e.dropped_attributes_count();
            events.push_back(ev);
          }
          o.events = otlp::ScratchStack<otlp::SpanEvent>::append(out_.events, events);
          std::vector<otlp::SpanLink> links;
          for (const auto& l : s.links()) {
            otlp::SpanLink ln;
            bool ht = false, hs = false, bt = false, bs = false;
            id(l.trace_id(), ln.trace_id, ht, bt);
            id(l.span_id(), ln.span_id, hs, bs);
            ln.ids_valid = ht && hs;
            ln.trace_state = l.trace_state();
            ln.attrs = attrs(l.attributes());
            links.push_back(ln);
          }
          o.links = otlp::ScratchStack<otlp::SpanLink>::append(out_.links, links);
          out_.spans.push_back(o);
        }
      }
    }
  }

 private:
  otlp::TraceData& out_;
};

}  // namespace

void adapt(const ExportRequest& request, otlp::TraceData& out) {
  out.clear();
  Adapter(out).run(request);
}

// ---- dump

namespace {

void dump_value(std::string& out, const otlp::TraceData& d, const otlp::Value& v);

void dump_attrs(std::string& out, const otlp::TraceData& d, otlp::Range r) {
  out += "{";
  for (uint32_t k = 0; k < r.count; ++k) {
    const otlp::Attr& a = d.attrs[r.begin + k];
    if (k) out += ", ";
    out += std::string(a.key) + "=";
    dump_value(out, d, a.value);
  }
  out += "}";
}

void dump_value(std::string& out, const otlp::TraceData& d, const otlp::Value& v) {
  using K = otlp::Value::Kind;
  switch (v.kind) {
    case K::kEmpty:
      out += "empty";
      break;
    case K::kString:
      out += "s'" + std::string(v.s) + "'";
      break;
    case K::kBool:
      out += v.b ? "true" : "false";
      break;
    case K::kInt:
      out += "i" + std::to_string(v.i);
      break;
    case K::kDouble:
      out += "d" + std::to_string(v.d);
      break;
    case K::kBytes:
      out += "b'" + hex_of(v.s) + "'";
      break;
    case K::kArray:
      out += "[";
      for (uint32_t k = 0; k < v.children.count; ++k) {
        if (k) out += ", ";
        dump_value(out, d, d.values[v.children.begin + k]);
      }
      out += "]";
      break;
    case K::kKvList:
      dump_attrs(out, d, v.children);
      break;
  }
}

template <size_t N>
std::string hex_arr(const std::array<uint8_t, N>& a) {
  return hex_of(std::string_view(reinterpret_cast<const char*>(a.data()), N));
}

}  // namespace

std::string dump(const otlp::TraceData& d) {
  std::string out;
  for (size_t i = 0; i < d.resources.size(); ++i) {
    out += "resource " + std::to_string(i) + " ";
    dump_attrs(out, d, d.resources[i].attrs);
    out += " dropped=" + std::to_string(d.resources[i].dropped_attributes) + "\n";
  }
  for (size_t i = 0; i < d.scopes.size(); ++i) {
    const auto& s = d.scopes[i];
    out += "scope " + std::to_string(i) + " of " + std::to_string(s.resource) + " '" +
           std::string(s.name) + "' '" + std::string(s.version) + "' ";
    dump_attrs(out, d, s.attrs);
    out += "\n";
  }
  for (const auto& s : d.spans) {
    out += "span scope=" + std::to_string(s.scope) +
           " trace=" + (s.has_trace_id ? hex_arr(s.trace_id) : "-") +
           " span=" + (s.has_span_id ? hex_arr(s.span_id) : "-") +
           " parent=" + (s.has_parent ? hex_arr(s.parent_span_id) : "-") +
           " invalid=" + (s.invalid ? "yes" : "no") + " name='" + std::string(s.name) +
           "' kind=" + std::to_string(s.kind) + " start=" + std::to_string(s.start_ns) +
           " end=" + std::to_string(s.end_ns) + " status=" + std::to_string(s.status_code) + ":'" +
           std::string(s.status_message) + "' state='" + std::string(s.trace_state) +
           "' flags=" + std::to_string(s.flags) +
           " dropped=" + std::to_string(s.dropped_attributes) + "/" +
           std::to_string(s.dropped_events) + "/" + std::to_string(s.dropped_links) + "\n  attrs ";
    dump_attrs(out, d, s.attrs);
    out += "\n";
    for (uint32_t k = 0; k < s.events.count; ++k) {
      const auto& e = d.events[s.events.begin + k];
      out += "  event '" + std::string(e.name) + "' t=" + std::to_string(e.time_ns) + " ";
      dump_attrs(out, d, e.attrs);
      out += "\n";
    }
    for (uint32_t k = 0; k < s.links.count; ++k) {
      const auto& l = d.links[s.links.begin + k];
      out +=
          "  link " +
          (l.ids_valid ? hex_arr(l.trace_id) + "/" + hex_arr(l.span_id) : std::string("invalid")) +
          " state='" + std::string(l.trace_state) + "' ";
      dump_attrs(out, d, l.attrs);
      out += "\n";
    }
  }
  return out;
}

// ---- synthetic GenAI workload

namespace {

constexpr std::string_view kQuestions[] = {
    "What were the main causes of the 2008 financial crisis, and which regulations followed?",
    "Summarize the attached incident report and list the follow-up actions with owners.",
    "Find three flights from Lisbon to Oslo next Tuesday under 300 euros and compare them.",
    "Write a SQL query that returns the top ten customers by revenue for the last quarter.",
    "Explain the difference between optimistic and pessimistic locking with an example.",
};
constexpr std::string_view kTools[] = {"web_search", "sql_query", "read_file", "calculator",
                                       "http_get"};

std::string hex_id(std::mt19937_64& rng, size_t bytes) {
  std::string out;
  while (out.size() < bytes) {
    uint64_t v = rng();
    for (int i = 0; i < 8 && out.size() < bytes; ++i, v >>= 8)
      out.push_back(static_cast<char>(v & 0xFF));
  }
  return out;
}

}  // namespace

ExportRequest genai_workload(size_t spans, uint64_t seed, std::string_view marker, IdOrder order) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](int lo, int hi) {
    return lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  ExportRequest req;
  auto* rs = req.add_resource_spans();
  auto* rattrs = rs->mutable_resource()->mutable_attributes();
  attr(rattrs, "service.name", "support-agent");
  attr(rattrs, "service.version", "2.4.1");
  attr(rattrs, "deployment.environment", "production");
  attr(rattrs, "telemetry.sdk.language", "python");
  attr(rattrs, "telemetry.sdk.name", "opentelemetry");
  attr(rattrs, "telemetry.sdk.version", "1.45.2");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("opentelemetry.instrumentation.openai_v2");
  ss->mutable_scope()->set_version("2.1b0");

  // A load generator's bodies (with a marker) hold time placeholders instead of times:
  // "~@T" and the offset from kT0Ns in microseconds (5 bytes), read as a little-endian
  // fixed64. Its traces run concurrently, within 5 s of each other, as in one batch of a
  // live exporter; otherwise one after another.
  const bool live = marker.size() == 8;
  auto stamp = [&](uint64_t ns) { return live ? kTimePlaceholder | ((ns - kT0Ns) / 1000) << 24 : ns; };
  uint64_t t = kT0Ns;
  size_t made = 0;
  while (made < spans) {
    if (live) t = kT0Ns + static_cast<uint64_t>(uniform(0, 5000)) * kMsNs;
    std::string trace = hex_id(rng, 16);
    std::string session = "sess-" + std::to_string(rng() % 1000000);
    if (live && order == IdOrder::kGrouped) {
      trace.replace(0, 8, marker);
      session = std::string(marker) + "-" + std::to_string(rng() % 100000);
    } else if (live) {
      trace.replace(8, 8, marker);
      session = std::to_string(rng() % 100000) + "-" + std::string(marker);
    }
    const size_t in_trace = std::min<size_t>(spans - made, static_cast<size_t>(uniform(6, 12)));
    const std::string root_id = hex_id(rng, 8);
    const uint64_t root_start = t;
    PbSpan* root = ss->add_spans();
    ++made;
    root->set_trace_id(trace);
    root->set_span_id(root_id);
    root->set_name("invoke_agent support-agent");
    root->set_kind(PbSpan::SPAN_KIND_INTERNAL);
    auto* a = root->mutable_attributes();
    attr(a, "gen_ai.operation.name", "invoke_agent");
    attr(a, "gen_ai.agent.name", "support-agent");
    attr(a, "gen_ai.agent.id", "agt_7f3a9c");
    attr(a, "session.id", std::string_view(session));
    const std::string_view question = kQuestions[rng() % std::size(kQuestions)];
    t += kMsNs;
    for (size_t k = 1; k < in_trace; ++k, ++made) {
      PbSpan* s = ss->add_spans();
      s->set_trace_id(trace);
      s->set_span_id(hex_id(rng, 8));
      s->set_parent_span_id(root_id);
      const uint64_t start = t;
      const bool llm = k % 2 == 1;
      auto* sa = s->mutable_attributes();
      attr(sa, "session.id", std::string_view(session));
      if (llm) {
        s->set_name("chat gpt-4o");
        s->set_kind(PbSpan::SPAN_KIND_CLIENT);
        attr(sa, "gen_ai.operation.name", "chat");
        attr(sa, "gen_ai.system", "openai");
        attr(sa, "gen_ai.request.model", "gpt-4o");
        attr(sa, "gen_ai.response.model", "gpt-4o-2024-08-06");
        attr(sa, "gen_ai.request.temperature", 0.2);
        attr(sa, "gen_ai.request.max_tokens", int64_t{1024});
        attr(sa, "gen_ai.response.id", "chatcmpl-" + std::to_string(rng() % 100000000));
        attr(sa, "gen_ai.response.finish_reasons",
             std::vector<std::string>{k + 1 < in_trace ? "tool_calls" : "stop"});
        attr(sa, "gen_ai.usage.input_tokens", static_cast<int64_t>(uniform(300, 4000)));
        attr(sa, "gen_ai.usage.output_tokens", static_cast<int64_t>(uniform(20, 800)));
        attr(sa, "server.address", "api.openai.com");
        attr(sa, "server.port", int64_t{443});
        std::string input =
            R"([{"role":"system","parts":[{"type":"text","content":"You are a support agent for Acme. Answer precisely, cite sources, and use tools when facts are needed."}]},{"role":"user","parts":[{"type":"text","content":")";
        input += question;
        input += R"("}]}])";
        attr(sa, "gen_ai.input.messages", std::string_view(input));
        std::string output =
            R"([{"role":"assistant","parts":[{"type":"text","content":"Based on the search results, the answer has three parts; first, the context; second, the details; third, what to do next."}],"finish_reason":"stop"}])";
        attr(sa, "gen_ai.output.messages", std::string_view(output));
        t += static_cast<uint64_t>(uniform(400, 3000)) * kMsNs;
      } else {
        const std::string_view tool = kTools[rng() % std::size(kTools)];
        s->set_name("execute_tool " + std::string(tool));
        attr(sa, "gen_ai.operation.name", "execute_tool");
        attr(sa, "gen_ai.tool.name", tool);
        attr(sa, "gen_ai.tool.call.id", "call_" + std::to_string(rng() % 1000000000));
        attr(sa, "gen_ai.tool.type", "function");
        attr(sa, "gen_ai.tool.call.arguments", R"({"query":"acme refund policy 2026","limit":5})");
        attr(
            sa, "gen_ai.tool.call.result",
            R"({"results":[{"title":"Refunds","url":"https://acme.example/refunds","snippet":"Refunds within 30 days of purchase."}]})");
        t += static_cast<uint64_t>(uniform(50, 800)) * kMsNs;
      }
      s->set_start_time_unix_nano(stamp(start));
      s->set_end_time_unix_nano(stamp(t));
    }
    root->set_start_time_unix_nano(stamp(root_start));
    root->set_end_time_unix_nano(stamp(t + kMsNs));
    t += 5 * kMsNs;
  }
  return req;
}

}  // namespace agentlog::test::otlp
