#include "ingest/otlp/protobuf_reader.h"

#include <bit>
#include <cstring>
#include <deque>

namespace agentlog::ingest::otlp {

namespace {

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLen = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5
};

// Reads one message's bytes. Every method returns false on malformed input.
class Cursor {
 public:
  explicit Cursor(std::string_view s)
      : p_(reinterpret_cast<const uint8_t*>(s.data())), end_(p_ + s.size()) {}

  bool done() const { return p_ == end_; }

  bool varint(uint64_t& v) {
    if (p_ < end_ && *p_ < 0x80) {  // one byte: the common case
      v = *p_++;
      return true;
    }
    uint64_t out = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (p_ == end_) return false;
      const uint8_t b = *p_++;
      if (shift < 64) out |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (b < 0x80) {
        v = out;
        return true;
      }
    }
    return false;  // more than 10 bytes
  }

  // A tag is a varint of at most 5 bytes whose bits beyond 32 are dropped, as libprotobuf
  // reads it.
  bool tag(uint32_t& field, uint32_t& wire_type) {
    uint32_t t = 0;
    for (int i = 0;; ++i) {
      if (i == 5 || p_ == end_) return false;
      const uint8_t b = *p_++;
      t |= static_cast<uint32_t>(b & 0x7F) << (7 * i);
      if (b < 0x80) break;
    }
    field = t >> 3;
    wire_type = t & 7;
    return field != 0;
  }

  bool fixed64(uint64_t& v) {
    if (end_ - p_ < 8) return false;
    std::memcpy(&v, p_, 8);  // little-endian on every platform we build for
    p_ += 8;
    return true;
  }

  bool fixed32(uint32_t& v) {
    if (end_ - p_ < 4) return false;
    std::memcpy(&v, p_, 4);
    p_ += 4;
    return true;
  }

  // A length is a varint of at most 5 bytes below 2^31, as libprotobuf reads it.
  bool bytes(std::string_view& s) {
    uint64_t n = 0;
    for (int i = 0;; ++i) {
      if (i == 5 || p_ == end_) return false;
      const uint8_t b = *p_++;
      n |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
      if (b < 0x80) break;
    }
    if (n > INT32_MAX || n > static_cast<uint64_t>(end_ - p_)) return false;
    s = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }

  // Skips the value of an unknown field (or of a known one with an unexpected wire type).
  bool skip(uint32_t field, uint32_t wire_type, int depth) {
    uint64_t u64 = 0;
    uint32_t u32 = 0;
    std::string_view s;
    switch (wire_type) {
      case kVarint:
        return varint(u64);
      case kFixed64:
        return fixed64(u64);
      case kLen:
        return bytes(s);
      case kFixed32:
        return fixed32(u32);
      case kStartGroup: {
        if (depth > ProtobufReader::kMaxDepth) return false;
        for (;;) {
          uint32_t f = 0, wt = 0;
          if (!tag(f, wt)) return false;
          if (wt == kEndGroup) return f == field;
          if (!skip(f, wt, depth + 1)) return false;
        }
      }
      default:
        return false;  // a stray end-group, or wire types 6 and 7
    }
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

#define AL_TRY(expr) \
  if (!(expr)) return false

}  // namespace

// The parser proper; one per read() call, borrowing the reader's scratch state.
class Parser {
 public:
  Parser(TraceData& out, ScratchStack<Attr>& attrs, ScratchStack<Value>& values, std::string& error)
      : out_(out), attr_scratch_(attrs), value_scratch_(values), error_(error) {}

  bool request(std::string_view body) {
    Cursor c(body);
    while (!c.done()) {
      uint32_t f = 0, wt = 0;
      if (!c.tag(f, wt)) return fail("a field tag is malformed or truncated");
      if (f == 1 && wt == kLen) {
        std::string_view m;
        if (!c.bytes(m)) return fail("a length runs past the end of the body");
        if (!resource_spans(m, 1)) return false;
      } else if (!c.skip(f, wt, 1)) {
        return fail("an unknown field is malformed or truncated");
      }
    }
    return true;
  }

 private:
  bool fail(const char* what) {
    if (error_.empty()) error_ = what;
    return false;
  }
  bool depth_ok(int depth) {
    return depth <= ProtobufReader::kMaxDepth || fail("messages nest too deeply");
  }

  // Reads the next field's header; `m` receives the payload of length-delimited fields.
  // Returns false (with the error set) on malformed input.
  bool next(Cursor& c, uint32_t& f, uint32_t& wt) {
    if (!c.tag(f, wt)) return fail("a field tag is malformed or truncated");
    return true;
  }
  bool len(Cursor& c, std::string_view& m) {
    return c.bytes(m) || fail("a length runs past the end of its message");
  }
  bool varint(Cursor& c, uint64_t& v) {
    return c.varint(v) || fail("a varint is malformed or truncated");
  }
  bool skip(Cursor& c, uint32_t f, uint32_t wt, int depth) {
    return c.skip(f, wt, depth) || fail("an unknown field is malformed or truncated");
  }

  bool resource_spans(std::string_view body, int depth) {
    AL_TRY(depth_ok(depth));
    const auto resource_index = static_cast<uint32_t>(out_.resources.size());
    out_.resources.emplace_back();
    std::vector<Attr>& rattrs = attr_scratch_.at(static_cast<size_t>(depth));
    Cursor c(body);
    while (!c.done()) {
      uint32_t f = 0, wt = 0;
      AL_TRY(next(c, f, wt));
      std::string_view m;
      if (f == 1 && wt == kLen) {
        AL_TRY(len(c, m));
        AL_TRY(resource(m, depth + 1, rattrs, out_.resources[resource_index]));
      } else if (f == 2 && wt == kLen) {
        AL_TRY(len(c, m));
        AL_TRY(scope_spans(m, depth + 1, resource_index));
      } else if (f == 3 && wt == kLen) {
        AL_TRY(len(c, m));
        out_.resources[resource_index].schema_url = m;
      } else {
        AL_TRY(skip(c, f, wt, depth + 1));
      }
    }
    out_.resources[resource_index].attrs = ScratchStack<Attr>::append(out_.attrs, rattrs);
    return true;
  }

  bool resource(std::string_view body, int depth, std::vector<Attr>& attrs, Resource& r) {
    AL_TRY(depth_ok(depth));
    Cursor c(body);
    while (!c.done()) {
      uint32_t f = 0, wt = 0;
      AL_TRY(next(c, f, wt));
      std::string_view m;
      uint64_t v = 0;
      if (f == 1 && wt == kLen) {
        AL_TRY(len(c, m));
        AL_TRY(key_value(m, depth + 1, attrs));
      } else if (f == 2 && wt == kVarint) {
        AL_TRY(varint(c, v));
        r.dropped_attributes = static_cast<uint32_t>(v);
      } else {
        AL_TRY(skip(c, f, wt, depth + 1));  // entity_refs (3) and anything newer
      }
    }
    return true;
  }

  bool scope_spans(std::string_view body, int depth, uint32_t resource_index) {
    AL_TRY(depth_ok(depth));
    const auto scope_index = static_cast<uint32_t>(out_.scopes.size());
    out_.scopes.emplace_back();
    out_.scopes.back().resource = resource_index;
    std::vector<Attr>& sattrs = attr_scratch_.at(static_cast<size_t>(depth));
    Cursor c(body);
    while (!c.done()) {
      uint32_t f = 0, wt = 0;
      AL_TRY(next(c, f, wt));
      std::string_view m;
      if (f == 1 && wt == kLen) {
        AL_TRY(len(c, m));
        AL_TRY(scope(m, depth + 1, sattrs, out_.scopes[scope_index]));
      } else if (f == 2 && wt == kLen) {
        AL_TRY(len(c, m));
        AL_TRY(span(m, depth + 1, scope_index));
      } else if (f == 3 && wt == kLen) {
        AL_TRY(len(c, m));
        out_.scopes[scope_index].schema_url = m;
      } else {
        AL_TRY(skip(c, f, wt, depth + 1));
      }
    }
    out_.scopes[scope_index].attrs = ScratchStack<Attr>::append(out_.attrs, sattrs);
    return true;
  }

  bool scope(std::string_view body, int depth, std::vector<Attr>& attrs, Scope& s) {
    AL_TRY(depth_ok(depth));
    Cursor c(body);
    while (!c.done()) {
      uint32_t f = 0, wt = 0;
      AL_TRY(next(c, f, wt));
      std::string_view m;
      uint64_t v = 0;
      if (f == 1 && wt == kLen) {
        AL_TRY(len(c, s.name));
      } else if (f == 2 && wt == kLen) {
        AL_TRY(len(c, s.version));
      } else if (f == 3 && wt == kLen) {
        AL_TRY(len(c, m));
        AL_TRY(key_value(m, depth + 1, attrs));
      } else if (f == 4 && wt == kVarint) {
        AL_TRY(varint(c, v));
        s.dropped_attributes = static_cast<uint32_t>(v);
      } else {
        AL_TRY(skip(c, f, wt, depth + 1));
      }
    }
    return true;
  }

  // An id field: exactly `N` bytes, or empty (= absent, the proto3 default).
  template <size_t N>
  static void id(std::string_view m, std::array<uint8_t, N>& to, bool& present, bool& bad_length) {
    present = false;
    bad_length = false;
    if (m.empty()) return;
    if (m.size() != N) {
      bad_length = true;
      return;
    }
    std::memcpy(to.data(), m.data(), N);
    present = true;
  }

  bool span(std::string_view body, int depth, uint32_t scope_index) {
    AL_TRY(depth_ok(depth));
    Span s;
    s.scope = scope_index;
    bool bad_trace = false, bad_span = false, bad_parent = false;
    std::vector<Attr>& attrs = attr_scratch_.at(static_cast<size_t>(depth));
    events_.clear();
    links_.clear();
    Cursor c(body);
    while (!c.done()) {
      uint32_t f = 0, wt = 0;
      AL_TRY(next(c, f, wt));
      std::string_view m;
      uint64_t v = 0;
      uint32_t v32 = 0;
      switch (f) {
        case 1:
          if (wt != kLen) break;
          AL_TRY(len(c, m));
          id(m, s.trace_id, s.has_trace_id, bad_trace);
          continue;
        case 2:
          if (wt != kLen) break;
          AL_TRY(len(c, m));
          id(m, s.span_id, s.has_span_id, bad_span);
          continue;
        case 3:
          if (wt != kLen) break;
          AL_TRY(len(c, s.trace_state));
          continue;
        case 4:
          if (wt != kLen) break;
          AL_TRY(len(c, m));
          id(m, s.parent_span_id, s.has_parent, bad_parent);
          continue;
        case 5:
          if (wt != kLen) break;
          AL_TRY(len(c, s.name));
          continue;
        case 6:
          if (wt != kVarint) break;
          AL_TRY(varint(c, v));
          s.kind = static_cast<int32_t>(static_cast<uint32_t>(v));
          continue;
        case 7:
          if (wt != kFixed64) break;
          AL_TRY(c.fixed64(s.start_ns) || fail("a fixed64 is truncated"));
          continue;
        case 8:
          if (wt != kFixed64) break;
          AL_TRY(c.fixed64(s.end_ns) || fail("a fixed64 is truncated"));
          continue;
        case 9:
          if (wt != kLen) break;
          AL_TRY(len(c, m));
          AL_TRY(key_value(m, depth + 1, attrs));
          continue;
        case 10:
        case 12:
        case 14:
          if (wt != kVarint) break;
          AL_TRY(varint(c, v));
          (f == 10   ? s.dropped_attributes
           : f == 12 ? s.dropped_events
                     : s.dropped_links) = static_cast<uint32_t>(v);
          continue;
        case 11:
          if (wt != kLen) break;
          AL_TRY(len(c, m));
          AL_TRY(event(m, depth + 1));
          continue;
        case 13:
          if (wt != kLen) break;
          AL_TRY(len(c, m));
          AL_TRY(link(m, depth + 1));
          continue;
        case 15:
          if (wt != kLen) break;
          AL_TRY(len(c, m));
          AL_TRY(status(m, depth + 1, s));
          continue;
        case 16:
          if (wt != kFixed32) break;
          AL_TRY(c.fixed32(v32) || fail("a fixed32 is truncated"));
          s.flags = v32;
          continue;
        default:
          break;
      }
      AL_TRY(skip(c, f, wt, depth + 1));
    }
    if (bad_trace)
      s.invalid = "trace_id must be 16 bytes";
    else if (bad_span)
      s.invalid = "span_id must be 8 bytes";
    else if (bad_parent)
      s.invalid = "parent_span_id must be 8 bytes or empty";
    s.attrs = ScratchStack<Attr>::append(out_.attrs, attrs);
    s.events = {static_cast<uint32_t>(out_.events.size()), static_cast<uint32_t>(events_.size())};
    out_.events.insert(out_.events.end(), events_.begin(), events_.end());
    s.links = {static_cast<uint32_t>(out_.links.size()), static_cast<uint32_t>(links_.size())};
    out_.links.insert(out_.links.end(), links_.begin(), links_.end());
    out_.spans.push_back(s);
    return true;
  }

  bool status(std::string_view body, int depth, Span& s) {
    AL_TRY(depth_ok(depth));
    Cursor c(body);
    while (!c.done()) {
      uint32_t f = 0, wt = 0;
      AL_TRY(next(c, f, wt));
      uint64_t v = 0;
      if (f == 2 && wt == kLen) {
        AL_TRY(len(c, s.status_message));
      } else if (f == 3 && wt == kVarint) {
        AL_TRY(varint(c, v));
        s.status_code = static_cast<int32_t>(static_cast<uint32_t>(v));
      } else {
        AL_TRY(skip(c, f, wt, depth + 1));
      }
    }
    return true;
  }

  bool event(std::string_view body, int depth) {
    AL_TRY(depth_ok(depth));
    SpanEvent e;
    std::vector<Attr>& attrs = attr_scratch_.at(static_cast<size_t>(depth));
    Cursor c(body);
    while (!c.done()) {
      uint32_t f = 0, wt = 0;
      AL_TRY(next(c, f, wt));
      std::string_view m;
      uint64_t v = 0;
      if (f == 1 && wt == kFixed64) {
        AL_TRY(c.fixed64(e.time_ns) || fail("a fixed64 is truncated"));
      } else if (f == 2 && wt == kLen) {
        AL_TRY(len(c, e.name));
      } else if (f == 3 && wt == kLen) {
        AL_TRY(len(c, m));
        AL_TRY(key_value(m, depth + 1, attrs));
      } else if (f == 4 && wt == kVarint) {
        AL_TRY(varint(c, v));
        e.dropped_attributes = static_cast<uint32_t>(v);
      } else {
        AL_TRY(skip(c, f, wt, depth + 1));
      }
    }
    e.attrs = ScratchStack<Attr>::append(out_.attrs, attrs);
    events_.push_back(e);
    return true;
  }

  bool link(std::string_view body, int depth) {
    AL_TRY(depth_ok(depth));
    SpanLink l;
    bool has_trace = false, has_span = false, bad_trace = false, bad_span = false;
    std::vector<Attr>& attrs = attr_scratch_.at(static_cast<size_t>(depth));
    Cursor c(body);
    while (!c.done()) {
      uint32_t f = 0, wt = 0;
      AL_TRY(next(c, f, wt));
      std::string_view m;
      if (f == 1 && wt == kLen) {
        AL_TRY(len(c, m));
        id(m, l.trace_id, has_trace, bad_trace);
      } else if (f == 2 && wt == kLen) {
        AL_TRY(len(c, m));
        id(m, l.span_id, has_span, bad_span);
      } else if (f == 3 && wt == kLen) {
        AL_TRY(len(c, l.trace_state));
      } else if (f == 4 && wt == kLen) {
        AL_TRY(len(c, m));
        AL_TRY(key_value(m, depth + 1, attrs));
      } else {
        AL_TRY(skip(c, f, wt, depth + 1));  // dropped_attributes_count (5), flags (6)
      }
    }
    l.ids_valid = has_trace && has_span;
    l.attrs = ScratchStack<Attr>::append(out_.attrs, attrs);
    links_.push_back(l);
    return true;
  }

  bool key_value(std::string_view body, int depth, std::vector<Attr>& to) {
    AL_TRY(depth_ok(depth));
    Attr a;
    Cursor c(body);
    while (!c.done()) {
      uint32_t f = 0, wt = 0;
      AL_TRY(next(c, f, wt));
      std::string_view m;
      if (f == 1 && wt == kLen) {
        AL_TRY(len(c, a.key));
      } else if (f == 2 && wt == kLen) {
        AL_TRY(len(c, m));
        AL_TRY(any_value(m, depth + 1, a.value));
      } else {
        AL_TRY(skip(c, f, wt, depth + 1));
      }
    }
    to.push_back(a);
    return true;
  }

  bool any_value(std::string_view body, int depth, Value& v) {
    AL_TRY(depth_ok(depth));
    Cursor c(body);
    while (!c.done()) {
      uint32_t f = 0, wt = 0;
      AL_TRY(next(c, f, wt));
      std::string_view m;
      uint64_t u = 0;
      if (f == 1 && wt == kLen) {
        AL_TRY(len(c, m));
        v = Value{};
        v.kind = Value::Kind::kString;
        v.s = m;
      } else if (f == 2 && wt == kVarint) {
        AL_TRY(varint(c, u));
        v = Value{};
        v.kind = Value::Kind::kBool;
        v.b = u != 0;
      } else if (f == 3 && wt == kVarint) {
        AL_TRY(varint(c, u));
        v = Value{};
        v.kind = Value::Kind::kInt;
        v.i = static_cast<int64_t>(u);
      } else if (f == 4 && wt == kFixed64) {
        AL_TRY(c.fixed64(u) || fail("a fixed64 is truncated"));
        v = Value{};
        v.kind = Value::Kind::kDouble;
        v.d = std::bit_cast<double>(u);
      } else if (f == 5 && wt == kLen) {
        AL_TRY(len(c, m));
        v = Value{};
        v.kind = Value::Kind::kArray;
        AL_TRY(array_value(m, depth + 1, v));
      } else if (f == 6 && wt == kLen) {
        AL_TRY(len(c, m));
        v = Value{};
        v.kind = Value::Kind::kKvList;
        AL_TRY(kvlist_value(m, depth + 1, v));
      } else if (f == 7 && wt == kLen) {
        AL_TRY(len(c, m));
        v = Value{};
        v.kind = Value::Kind::kBytes;
        v.s = m;
      } else {
        AL_TRY(skip(c, f, wt, depth + 1));
      }
    }
    return true;
  }

  bool array_value(std::string_view body, int depth, Value& v) {
    AL_TRY(depth_ok(depth));
    std::vector<Value>& items = value_scratch_.at(static_cast<size_t>(depth));
    Cursor c(body);
    while (!c.done()) {
      uint32_t f = 0, wt = 0;
      AL_TRY(next(c, f, wt));
      std::string_view m;
      if (f == 1 && wt == kLen) {
        AL_TRY(len(c, m));
        Value item;
        AL_TRY(any_value(m, depth + 1, item));
        items.push_back(item);
      } else {
        AL_TRY(skip(c, f, wt, depth + 1));
      }
    }
    v.children = ScratchStack<Value>::append(out_.values, items);
    return true;
  }

  bool kvlist_value(std::string_view body, int depth, Value& v) {
    AL_TRY(depth_ok(depth));
    std::vector<Attr>& items = attr_scratch_.at(static_cast<size_t>(depth));
    Cursor c(body);
    while (!c.done()) {
      uint32_t f = 0, wt = 0;
      AL_TRY(next(c, f, wt));
      std::string_view m;
      if (f == 1 && wt == kLen) {
        AL_TRY(len(c, m));
        AL_TRY(key_value(m, depth + 1, items));
      } else {
        AL_TRY(skip(c, f, wt, depth + 1));
      }
    }
    v.children = ScratchStack<Attr>::append(out_.attrs, items);
    return true;
  }

  TraceData& out_;
  ScratchStack<Attr>& attr_scratch_;
  ScratchStack<Value>& value_scratch_;
  std::string& error_;
  std::vector<SpanEvent> events_;
  std::vector<SpanLink> links_;
};

#undef AL_TRY

bool ProtobufReader::read(std::string_view body, TraceData& out, std::string& error) {
  out.clear();
  error.clear();
  Parser p(out, attr_scratch_, value_scratch_, error);
  if (p.request(body)) return true;
  if (error.empty()) error = "malformed protobuf";
  return false;
}

}  // namespace agentlog::ingest::otlp
