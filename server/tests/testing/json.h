// Reading JSON in tests with an independent parser (simdjson DOM), so assertions never
// rely on the code under test to interpret its own output.
#pragma once

#include <simdjson.h>

#include <memory>
#include <string>
#include <string_view>

namespace agentlog::test {

// Owns the parser that `root` points into.
class ParsedJson {
 public:
  explicit ParsedJson(std::string_view text);
  bool ok() const { return error_ == simdjson::SUCCESS; }
  simdjson::error_code error() const { return error_; }
  simdjson::dom::element root() const { return root_; }

 private:
  std::unique_ptr<simdjson::dom::parser> parser_;
  simdjson::dom::element root_;
  simdjson::error_code error_ = simdjson::SUCCESS;
};

bool is_valid_json(std::string_view text);

// Semantic equality: objects compare as maps (key order ignored), numbers by value.
bool json_equal(std::string_view a, std::string_view b);
bool json_equal(simdjson::dom::element a, simdjson::dom::element b);

}  // namespace agentlog::test
