// The one JSON writer: appends compact JSON to a string, with correct escaping.
// Callers are responsible for structure (keys inside objects, commas are automatic).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace agentlog {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& string(std::string_view s);
  JsonWriter& number(int64_t v);
  JsonWriter& number(double v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();
  // Inserts already-serialized JSON (e.g. a stored input document) verbatim.
  JsonWriter& raw(std::string_view json);

  // Convenience: key + value.
  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }
  JsonWriter& value(std::string_view s) { return string(s); }
  JsonWriter& value(const std::string& s) { return string(s); }
  JsonWriter& value(const char* s) { return string(s); }
  JsonWriter& value(int64_t v) { return number(v); }
  JsonWriter& value(int v) { return number(static_cast<int64_t>(v)); }
  JsonWriter& value(double v) { return number(v); }
  JsonWriter& value(bool v) { return boolean(v); }

  static void escape_into(std::string& out, std::string_view s);

 private:
  void separate();
  std::string& out_;
  bool need_comma_ = false;
};

}  // namespace agentlog
