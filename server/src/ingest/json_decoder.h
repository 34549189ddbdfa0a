// Native JSON ingest decoder (simdjson on-demand): request bytes -> validated model
// values. Pure: no I/O, the clock and id generator are passed in. Fuzzed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/types.h"
#include "util/ids.h"
#include "util/time.h"

namespace agentlog::ingest {

inline constexpr size_t kMaxDepth = 512;
inline constexpr size_t kMaxTags = 100;

struct ItemError {
  size_t index = 0;
  std::string item;   // "event" | "session" | "" for body-level errors
  std::string field;  // "" when the item itself is wrong
  std::string message;
};

struct DecodeFailure {
  enum class Kind { kMalformed, kInvalid };  // 400 malformed-json | 422 validation-failed
  Kind kind = Kind::kMalformed;
  std::string message;
  std::vector<ItemError> errors;
};

struct IngestBatch {
  std::vector<model::Event> events;
  std::vector<model::SessionPatch> sessions;
  std::vector<ItemError> errors;
  std::vector<std::optional<std::string>> ids;  // aligned with the request's events
  size_t items = 0;                             // events + sessions in the request
};

template <typename T>
struct Decoded {
  std::optional<T> value;
  std::optional<DecodeFailure> failure;
};

// Not thread-safe: holds a reusable simdjson parser. Use one per thread.
class JsonDecoder {
 public:
  JsonDecoder(const Clock& clock, UuidV7Generator& ids);
  ~JsonDecoder();

  // `{"events":[...],"sessions":[...]}`. Invalid items are reported in `errors` and left
  // out; a body that is not JSON, or not an object of that shape, is a failure.
  Decoded<IngestBatch> decode_ingest(std::string_view body);
  // A session object (POST/PATCH /v1/sessions). With require_id=false a missing id is
  // left empty for the caller to generate.
  Decoded<model::SessionPatch> decode_session(std::string_view body, bool require_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// JSON escapes UTF-16 code units one by one, so `"\ud800"` is well-formed JSON but not
// Unicode. Rewrites each lone surrogate escape in place as `\ufffd` (same length).
void replace_lone_surrogates(char* s, size_t n);

// Validates a JSON document and appends it to `out` in the canonical form the ingest
// decoder stores (compact, numbers kept verbatim, lone surrogates replaced, at most
// kMaxDepth levels). Not thread-safe: holds a reusable parser.
class JsonCanonicalizer {
 public:
  JsonCanonicalizer();
  ~JsonCanonicalizer();
  // False, with `out` unchanged, when `text` is not one valid JSON document.
  bool append(std::string_view text, std::string& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentlog::ingest
