#include "ingest/otlp/span_mapper.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "ingest/json_decoder.h"
#include "util/ids.h"
#include "util/json_writer.h"
#include "util/time.h"

namespace agentlog::ingest::otlp {

namespace {

using model::EventStatus;
using model::EventType;

// Attributes the mapping reads. Everything else passes through to `attributes`.
enum class K : uint8_t {
  // session (in precedence order, see kSessionKeys)
  kSessionId,
  kLangfuseSessionId,
  kGenAiConversationId,
  kAiMetaSessionId,
  kTraceloopSessionId,
  kTraceloopThreadId,
  kLmnrSessionId,
  kMetadata,
  // end user
  kUserId,
  kEnduserId,
  kLangfuseUserId,
  kAiMetaUserId,
  kTraceloopUserId,
  kLmnrUserId,
  // agent
  kGenAiAgentName,
  kAgentName,
  kTraceloopEntityName,
  // type
  kGenAiOperationName,
  kOpenInferenceSpanKind,
  kLangfuseObservationType,
  kTraceloopSpanKind,
  kLlmRequestType,
  kAiOperationId,
  kLogfireSpanType,
  kGenAiToolName,
  kToolName,
  kAiToolCallName,
  // model and provider
  kGenAiResponseModel,
  kGenAiRequestModel,
  kLlmModelName,
  kLlmResponseModelName,
  kLlmRequestModelName,
  kAiResponseModel,
  kAiModelId,
  kEmbeddingModelName,
  kModelName,
  kGenAiProviderName,
  kGenAiSystem,
  kLlmProvider,
  kLlmSystem,
  kAiModelProvider,
  // usage and cost
  kGenAiUsageInput,
  kGenAiUsageOutput,
  kGenAiUsagePrompt,
  kGenAiUsageCompletion,
  kGenAiUsageTotal,
  kGenAiUsageCacheRead,
  kGenAiUsageCacheReadOld,
  kLlmTokPrompt,
  kLlmTokCompletion,
  kLlmTokTotal,
  kLlmTokCacheRead,
  kLlmUsagePrompt,
  kLlmUsageCompletion,
  kLlmUsageTotal,
  kAiUsageInput,
  kAiUsageOutput,
  kAiUsagePrompt,
  kAiUsageCompletion,
  kAiUsageTotal,
  kAiUsageCached,
  kGenAiUsageCost,
  kLlmCostTotal,
  // input and output
  kGenAiInputMessages,
  kGenAiOutputMessages,
  kGenAiSystemInstructions,
  kInputValue,
  kInputMime,
  kOutputValue,
  kOutputMime,
  kAiPrompt,
  kAiPromptMessages,
  kAiResponseText,
  kAiResponseToolCalls,
  kAiResponseObject,
  kAiToolCallArgs,
  kAiToolCallInput,
  kAiToolCallResult,
  kAiToolCallOutput,
  kAiValue,
  kAiValues,
  kGenAiToolCallArguments,
  kGenAiToolCallResult,
  kToolArguments,
  kToolResponse,
  kTraceloopEntityInput,
  kTraceloopEntityOutput,
  kPydanticAllMessages,
  kAllMessagesEvents,
  kFinalResult,
  kLogfireEvents,
  kGenAiPrompt,
  kGenAiCompletion,
  kInput,
  kOutput,
  // errors and tags
  kErrorType,
  kTagTags,
  kLangfuseTraceTags,
  kCount
};
constexpr size_t kKeyCount = static_cast<size_t>(K::kCount);

struct KeyName {
  std::string_view name;
  K key;
};
constexpr KeyName kKeyNames[] = {
    {"session.id", K::kSessionId},
    {"langfuse.session.id", K::kLangfuseSessionId},
    {"gen_ai.conversation.id", K::kGenAiConversationId},
    {"ai.telemetry.metadata.sessionId", K::kAiMetaSessionId},
    {"traceloop.association.properties.session_id", K::kTraceloopSessionId},
    {"traceloop.association.properties.thread_id", K::kTraceloopThreadId},
    {"lmnr.association.properties.session_id", K::kLmnrSessionId},
    {"metadata", K::kMetadata},
    {"user.id", K::kUserId},
    {"enduser.id", K::kEnduserId},
    {"langfuse.user.id", K::kLangfuseUserId},
    {"ai.telemetry.metadata.userId", K::kAiMetaUserId},
    {"traceloop.association.properties.user_id", K::kTraceloopUserId},
    {"lmnr.association.properties.user_id", K::kLmnrUserId},
    {"gen_ai.agent.name", K::kGenAiAgentName},
    {"agent_name", K::kAgentName},
    {"traceloop.entity.name", K::kTraceloopEntityName},
    {"gen_ai.operation.name", K::kGenAiOperationName},
    {"openinference.span.kind", K::kOpenInferenceSpanKind},
    {"langfuse.observation.type", K::kLangfuseObservationType},
    {"traceloop.span.kind", K::kTraceloopSpanKind},
    {"llm.request.type", K::kLlmRequestType},
    {"ai.operationId", K::kAiOperationId},
    {"logfire.span_type", K::kLogfireSpanType},
    {"gen_ai.tool.name", K::kGenAiToolName},
    {"tool.name", K::kToolName},
    {"ai.toolCall.name", K::kAiToolCallName},
    {"gen_ai.response.model", K::kGenAiResponseModel},
    {"gen_ai.request.model", K::kGenAiRequestModel},
    {"llm.model_name", K::kLlmModelName},
    {"llm.response.model_name", K::kLlmResponseModelName},
    {"llm.request.model_name", K::kLlmRequestModelName},
    {"ai.response.model", K::kAiResponseModel},
    {"ai.model.id", K::kAiModelId},
    {"embedding.model_name", K::kEmbeddingModelName},
    {"model_name", K::kModelName},
    {"gen_ai.provider.name", K::kGenAiProviderName},
    {"gen_ai.system", K::kGenAiSystem},
    {"llm.provider", K::kLlmProvider},
    {"llm.system", K::kLlmSystem},
    {"ai.model.provider", K::kAiModelProvider},
    {"gen_ai.usage.input_tokens", K::kGenAiUsageInput},
    {"gen_ai.usage.output_tokens", K::kGenAiUsageOutput},
    {"gen_ai.usage.prompt_tokens", K::kGenAiUsagePrompt},
    {"gen_ai.usage.completion_tokens", K::kGenAiUsageCompletion},
    {"gen_ai.usage.total_tokens", K::kGenAiUsageTotal},
    {"gen_ai.usage.cache_read.input_tokens", K::kGenAiUsageCacheRead},
    {"gen_ai.usage.cache_read_input_tokens", K::kGenAiUsageCacheReadOld},
    {"llm.token_count.prompt", K::kLlmTokPrompt},
    {"llm.token_count.completion", K::kLlmTokCompletion},
    {"llm.token_count.total", K::kLlmTokTotal},
    {"llm.token_count.prompt_details.cache_read", K::kLlmTokCacheRead},
    {"llm.usage.prompt_tokens", K::kLlmUsagePrompt},
    {"llm.usage.completion_tokens", K::kLlmUsageCompletion},
    {"llm.usage.total_tokens", K::kLlmUsageTotal},
    {"ai.usage.inputTokens", K::kAiUsageInput},
    {"ai.usage.outputTokens", K::kAiUsageOutput},
    {"ai.usage.promptTokens", K::kAiUsagePrompt},
    {"ai.usage.completionTokens", K::kAiUsageCompletion},
    {"ai.usage.totalTokens", K::kAiUsageTotal},
    {"ai.usage.cachedInputTokens", K::kAiUsageCached},
    {"gen_ai.usage.cost", K::kGenAiUsageCost},
    {"llm.cost.total", K::kLlmCostTotal},
    {"gen_ai.input.messages", K::kGenAiInputMessages},
    {"gen_ai.output.messages", K::kGenAiOutputMessages},
    {"gen_ai.system_instructions", K::kGenAiSystemInstructions},
    {"input.value", K::kInputValue},
    {"input.mime_type", K::kInputMime},
    {"output.value", K::kOutputValue},
    {"output.mime_type", K::kOutputMime},
    {"ai.prompt", K::kAiPrompt},
    {"ai.prompt.messages", K::kAiPromptMessages},
    {"ai.response.text", K::kAiResponseText},
    {"ai.response.toolCalls", K::kAiResponseToolCalls},
    {"ai.response.object", K::kAiResponseObject},
    {"ai.toolCall.args", K::kAiToolCallArgs},
    {"ai.toolCall.input", K::kAiToolCallInput},
    {"ai.toolCall.result", K::kAiToolCallResult},
    {"ai.toolCall.output", K::kAiToolCallOutput},
    {"ai.value", K::kAiValue},
    {"ai.values", K::kAiValues},
    {"gen_ai.tool.call.arguments", K::kGenAiToolCallArguments},
    {"gen_ai.tool.call.result", K::kGenAiToolCallResult},
    {"tool_arguments", K::kToolArguments},
    {"tool_response", K::kToolResponse},
    {"traceloop.entity.input", K::kTraceloopEntityInput},
    {"traceloop.entity.output", K::kTraceloopEntityOutput},
    {"pydantic_ai.all_messages", K::kPydanticAllMessages},
    {"all_messages_events", K::kAllMessagesEvents},
    {"final_result", K::kFinalResult},
    {"events", K::kLogfireEvents},
    {"gen_ai.prompt", K::kGenAiPrompt},
    {"gen_ai.completion", K::kGenAiCompletion},
    {"input", K::kInput},
    {"output", K::kOutput},
    {"error.type", K::kErrorType},
    {"tag.tags", K::kTagTags},
    {"langfuse.trace.tags", K::kLangfuseTraceTags},
};

// Session attributes in precedence order (docs/otlp.md, "Sessions").
constexpr K kSessionKeys[] = {K::kSessionId,       K::kLangfuseSessionId,  K::kGenAiConversationId,
                              K::kAiMetaSessionId, K::kTraceloopSessionId, K::kTraceloopThreadId,
                              K::kLmnrSessionId};
constexpr K kUserKeys[] = {K::kUserId,       K::kEnduserId,       K::kLangfuseUserId,
                           K::kAiMetaUserId, K::kTraceloopUserId, K::kLmnrUserId};

const std::unordered_map<std::string_view, K>& key_table() {
  static const std::unordered_map<std::string_view, K> table = [] {
    std::unordered_map<std::string_view, K> m;
    m.reserve(std::size(kKeyNames) * 2);
    for (const auto& [name, key] : kKeyNames) m.emplace(name, key);
    return m;
  }();
  return table;
}

// Flattened lists of messages: `<prefix><index>.<field>...`.
enum class Family : uint8_t {
  kGenAiPrompt,
  kGenAiCompletion,
  kLlmInputMessages,
  kLlmOutputMessages
};
constexpr std::pair<std::string_view, Family> kFamilies[] = {
    {"gen_ai.prompt.", Family::kGenAiPrompt},
    {"gen_ai.completion.", Family::kGenAiCompletion},
    {"llm.input_messages.", Family::kLlmInputMessages},
    {"llm.output_messages.", Family::kLlmOutputMessages},
};

struct FamilyEntry {
  Family family;
  uint32_t attr;          // absolute index into TraceData::attrs
  std::string_view path;  // after the prefix: "0.role"
};

constexpr char kHexDigits[] = "0123456789abcdef";
template <size_t N>
std::string hex(const std::array<uint8_t, N>& bytes) {
  std::string out(2 * N, '0');
  for (size_t i = 0; i < N; ++i) {
    out[2 * i] = kHexDigits[bytes[i] >> 4];
    out[2 * i + 1] = kHexDigits[bytes[i] & 0xF];
  }
  return out;
}
template <size_t N>
bool all_zero(const std::array<uint8_t, N>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}
bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// At most `max` bytes, cut at a UTF-8 character boundary.
std::string_view utf8_prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

bool looks_like_json(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  return i < s.size() && (s[i] == '{' || s[i] == '[');
}

std::optional<int64_t> as_int(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kInt:
      return v.i;
    case Value::Kind::kDouble:
      if (std::isfinite(v.d) && v.d == std::floor(v.d) && std::fabs(v.d) < 9.0e18)
        return static_cast<int64_t>(v.d);
      return std::nullopt;
    case Value::Kind::kString: {
      int64_t out = 0;
      const auto [end, ec] = std::from_chars(v.s.data(), v.s.data() + v.s.size(), out);
      if (ec == std::errc() && end == v.s.data() + v.s.size() && !v.s.empty()) return out;
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

std::optional<double> as_double(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kDouble:
      return v.d;
    case Value::Kind::kInt:
      return static_cast<double>(v.i);
    case Value::Kind::kString: {
      if (v.s.empty() || v.s.size() > 64) return std::nullopt;
      const std::string copy(v.s);
      char* end = nullptr;
      const double d = std::strtod(copy.c_str(), &end);
      if (end != copy.c_str() + copy.size()) return std::nullopt;
      return d;
    }
    default:
      return std::nullopt;
  }
}

// A string or integer attribute as text (ids are sometimes sent as integers).
std::optional<std::string> as_id_text(const Value& v) {
  if (v.kind == Value::Kind::kString && !v.s.empty()) return std::string(v.s);
  if (v.kind == Value::Kind::kInt) return std::to_string(v.i);
  return std::nullopt;
}

std::string_view span_kind_name(int32_t kind) {
  switch (kind) {
    case 1:
      return "internal";
    case 2:
      return "server";
    case 3:
      return "client";
    case 4:
      return "producer";
    case 5:
      return "consumer";
    default:
      return {};
  }
}

struct IdKey {
  TraceId trace;
  SpanId span;
  bool operator==(const IdKey&) const = default;
};
struct IdKeyHash {
  size_t operator()(const IdKey& k) const {
    uint64_t a = 0, b = 0;
    std::memcpy(&a, k.trace.data(), 8);
    std::memcpy(&b, k.span.data(), 8);
    return static_cast<size_t>(a ^ (b * 0x9E3779B97F4A7C15ULL));
  }
};
struct TraceIdHash {
  size_t operator()(const TraceId& t) const {
    uint64_t a = 0, b = 0;
    std::memcpy(&a, t.data(), 8);
    std::memcpy(&b, t.data() + 8, 8);
    return static_cast<size_t>(a ^ (b * 0x9E3779B97F4A7C15ULL));
  }
};

constexpr size_t kStringCapOnRetry = 16 * 1024;  // per string, when attributes exceed 1 MiB
constexpr size_t kPreviewBytes = 64 * 1024;      // kept of an input/output over 1 MiB
constexpr int kMaxValueDepth = 128;

}  // namespace

struct SpanMapper::Impl {
  TraceSessions* sessions;
  JsonCanonicalizer canonical;
  simdjson::dom::parser dom;
  std::string tmp;

  // Per request.
  const TraceData* d = nullptr;
  int64_t project_id = 0;
  struct Info {
    bool valid = false, skip = false;
    std::array<int32_t, kKeyCount> slot{};
    uint32_t family_begin = 0, family_count = 0;
    std::optional<std::string> session;  // from the span's own attributes
    std::optional<std::string> user;
    std::string_view agent;  // from the span's own attributes
    std::string trace_hex, span_hex;
    int parent = -1;
  };
  std::vector<Info> infos;
  std::vector<FamilyEntry> families;
  std::vector<uint8_t> attr_used;   // by absolute attr index
  std::vector<uint8_t> event_used;  // by absolute event index
  std::vector<uint32_t> order;
  std::vector<std::string> resource_json, scope_json;
  std::vector<std::string_view> service_name;
  std::unordered_map<IdKey, int, IdKeyHash> by_id;
  std::unordered_map<TraceId, int, TraceIdHash>
      trace_session;  // span index whose session the trace uses
  std::unordered_map<TraceId, std::optional<TraceSessions::Entry>, TraceIdHash>
      cached;  // per request
  std::unordered_map<TraceId, int, TraceIdHash>
      fallback_traces;  // stored in their trace-id session

  explicit Impl(TraceSessions* s) : sessions(s) {}

  const Value* get(const Info& info, K k) const {
    const int32_t i = info.slot[static_cast<size_t>(k)];
    return i < 0 ? nullptr : &d->attrs[static_cast<size_t>(i)].value;
  }
  std::optional<std::string_view> str(const Info& info, K k) const {
    const Value* v = get(info, k);
    if (!v || v->kind != Value::Kind::kString || v->s.empty()) return std::nullopt;
    return v->s;
  }
  void use(const Info& info, K k) {
    const int32_t i = info.slot[static_cast<size_t>(k)];
    if (i >= 0) attr_used[static_cast<size_t>(i)] = 1;
  }
  // The first of `keys` present as a non-empty string; marks it used.
  std::optional<std::string_view> pick_str(const Info& info, std::initializer_list<K> keys) {
    for (K k : keys) {
      if (auto s = str(info, k)) {
        use(info, k);
        return s;
      }
    }
    return std::nullopt;
  }
  std::optional<int64_t> pick_count(const Info& info, std::initializer_list<K> keys) {
    for (K k : keys) {
      const Value* v = get(info, k);
      if (!v) continue;
      if (auto n = as_int(*v); n && *n >= 0) {
        use(info, k);
        return n;
      }
    }
    return std::nullopt;
  }

  // ---- JSON output of values

  void write_value(JsonWriter& w, const Value& v, size_t string_cap = 0, int depth = 0) {
    switch (v.kind) {
      case Value::Kind::kEmpty:
        w.null();
        return;
      case Value::Kind::kString:
        if (string_cap && v.s.size() > string_cap) {
          w.string(std::string(utf8_prefix(v.s, string_cap)) + "…[truncated " +
                   std::to_string(v.s.size()) + " bytes]");
        } else {
          w.string(v.s);
        }
        return;
      case Value::Kind::kBool:
        w.boolean(v.b);
        return;
      case Value::Kind::kInt:
        w.number(v.i);
        return;
      case Value::Kind::kDouble:
        if (std::isfinite(v.d))
          w.number(v.d);
        else
          w.string(std::isnan(v.d) ? "NaN" : v.d > 0 ? "Infinity" : "-Infinity");
        return;
      case Value::Kind::kBytes:
        w.string(base64url_encode(v.s));
        return;
      case Value::Kind::kArray:
        if (depth >= kMaxValueDepth) {
          w.null();
          return;
        }
        w.begin_array();
        for (uint32_t k = 0; k < v.children.count; ++k) {
          write_value(w, d->values[v.children.begin + k], string_cap, depth + 1);
        }
        w.end_array();
        return;
      case Value::Kind::kKvList:
        if (depth >= kMaxValueDepth) {
          w.null();
          return;
        }
        w.begin_object();
        for (uint32_t k = 0; k < v.children.count; ++k) {
          const Attr& a = d->attrs[v.children.begin + k];
          w.key(a.key);
          write_value(w, a.value, string_cap, depth + 1);
        }
        w.end_object();
        return;
    }
  }

  // A string holding JSON (most GenAI payload attributes) is embedded as that JSON;
  // anything else is written as its value.
  void write_payload(JsonWriter& w, const Value& v, bool json_hint = false) {
    if (v.kind == Value::Kind::kString && (json_hint || looks_like_json(v.s))) {
      tmp.clear();
      if (canonical.append(v.s, tmp)) {
        w.raw(tmp);
        return;
      }
    }
    write_value(w, v);
  }

  void write_dom(JsonWriter& w, simdjson::dom::element e, int depth = 0) {
    using simdjson::dom::element_type;
    switch (e.type()) {
      case element_type::ARRAY:
        if (depth >= kMaxValueDepth) {
          w.null();
          return;
        }
        {
          simdjson::dom::array arr;
          if (e.get_array().get(arr)) arr = {};
          w.begin_array();
          for (auto child : arr) write_dom(w, child, depth + 1);
          w.end_array();
        }
        return;
      case element_type::OBJECT:
        if (depth >= kMaxValueDepth) {
          w.null();
          return;
        }
        {
          simdjson::dom::object obj;
          if (e.get_object().get(obj)) obj = {};
          w.begin_object();
          for (auto field : obj) {
            w.key(field.key);
            write_dom(w, field.value, depth + 1);
          }
          w.end_object();
        }
        return;
      case element_type::INT64:
        w.number(e.get_int64().value_unsafe());
        return;
      case element_type::UINT64:
        w.raw(std::to_string(e.get_uint64().value_unsafe()));
        return;
      case element_type::DOUBLE:
        w.number(e.get_double().value_unsafe());
        return;
      case element_type::STRING:
        w.string(e.get_string().value_unsafe());
        return;
      case element_type::BOOL:
        w.boolean(e.get_bool().value_unsafe());
        return;
      case element_type::NULL_VALUE:
        w.null();
        return;
    }
  }

  // ---- request-level preparation

  void render_resources_and_scopes() {
    resource_json.clear();
    service_name.clear();
    for (const Resource& r : d->resources) {
      std::string out;
      JsonWriter w(out);
      w.begin_object();
      std::string_view service;
      for (uint32_t k = 0; k < r.attrs.count; ++k) {
        const Attr& a = d->attrs[r.attrs.begin + k];
        w.key(a.key);
        write_value(w, a.value);
        if (a.key == "service.name" && a.value.kind == Value::Kind::kString) service = a.value.s;
      }
      if (r.dropped_attributes)
        w.field("otel.dropped_attributes_count", static_cast<int64_t>(r.dropped_attributes));
      w.end_object();
      resource_json.push_back(std::move(out));
      // The SDK default ("unknown_service:python") names no agent.
      service_name.push_back(starts_with(service, "unknown_service") ? std::string_view()
                                                                     : service);
    }
    scope_json.clear();
    for (const Scope& s : d->scopes) {
      std::string out;
      if (!s.name.empty() || !s.version.empty() || s.attrs.count) {
        JsonWriter w(out);
        w.begin_object();
        if (!s.name.empty()) w.field("name", s.name);
        if (!s.version.empty()) w.field("version", s.version);
        if (s.attrs.count) {
          w.key("attributes").begin_object();
          for (uint32_t k = 0; k < s.attrs.count; ++k) {
            const Attr& a = d->attrs[s.attrs.begin + k];
            w.key(a.key);
            write_value(w, a.value);
          }
          w.end_object();
        }
        w.end_object();
      }
      scope_json.push_back(std::move(out));
    }
  }

  // Why a span cannot be stored, or nullptr.
  static const char* invalid_reason(const Span& s) {
    if (s.invalid) return s.invalid;
    if (!s.has_trace_id || all_zero(s.trace_id)) return "trace_id is missing or all zeroes";
    if (!s.has_span_id || all_zero(s.span_id)) return "span_id is missing or all zeroes";
    if (s.start_ns == 0) return "start_time_unix_nano is missing";
    if (s.end_ns != 0 && s.end_ns < s.start_ns)
      return "end_time_unix_nano is before start_time_unix_nano";
    return nullptr;
  }

  void index(const Span& s, Info& info) {
    info.slot.fill(-1);
    info.family_begin = static_cast<uint32_t>(families.size());
    const auto& table = key_table();
    for (uint32_t k = 0; k < s.attrs.count; ++k) {
      const uint32_t ai = s.attrs.begin + k;
      const std::string_view key = d->attrs[ai].key;
      if (auto it = table.find(key); it != table.end()) {
        int32_t& slot = info.slot[static_cast<size_t>(it->second)];
        if (slot < 0) slot = static_cast<int32_t>(ai);  // the first of duplicates wins
        continue;
      }
      for (const auto& [prefix, family] : kFamilies) {
        if (key.size() > prefix.size() && starts_with(key, prefix) && key[prefix.size()] >= '0' &&
            key[prefix.size()] <= '9') {
          families.push_back(FamilyEntry{family, ai, key.substr(prefix.size())});
          break;
        }
      }
    }
    info.family_count = static_cast<uint32_t>(families.size()) - info.family_begin;
  }

  // The session a span names itself, in precedence order; or a thread/session id in an
  // OpenInference `metadata` JSON object (LangChain/LangGraph runs).
  std::optional<std::string> own_session(Info& info) {
    for (K k : kSessionKeys) {
      const Value* v = get(info, k);
      if (!v) continue;
      if (auto s = as_id_text(*v)) {
        use(info, k);
        return s;
      }
    }
    if (auto meta = str(info, K::kMetadata); meta && looks_like_json(*meta)) {
      simdjson::dom::element doc;
      if (!dom.parse(meta->data(), meta->size()).get(doc)) {
        for (std::string_view key :
             {"session_id", "thread_id", "conversation_id", "sessionId", "threadId"}) {
          simdjson::dom::element e;
          if (doc.at_key(key).get(e)) continue;
          if (e.is_string()) {
            if (auto sv = e.get_string().value_unsafe(); !sv.empty()) return std::string(sv);
          } else if (e.is_int64()) {
            return std::to_string(e.get_int64().value_unsafe());
          }
        }
      }
    }
    return std::nullopt;
  }

  std::string resolve_session(size_t i) {
    const Span& s = d->spans[i];
    int cur = static_cast<int>(i);
    for (size_t steps = 0; cur >= 0 && steps <= infos.size(); ++steps) {
      if (infos[static_cast<size_t>(cur)].session) return *infos[static_cast<size_t>(cur)].session;
      cur = infos[static_cast<size_t>(cur)].parent;
    }
    if (auto it = trace_session.find(s.trace_id); it != trace_session.end()) {
      return *infos[static_cast<size_t>(it->second)].session;
    }
    if (const auto& entry = cache_entry(s.trace_id); entry && !entry->fallback)
      return entry->session;
    fallback_traces.emplace(s.trace_id, static_cast<int>(i));
    return infos[i].trace_hex;
  }

  const std::optional<TraceSessions::Entry>& cache_entry(const TraceId& trace) {
    auto it = cached.find(trace);
    if (it == cached.end()) {
      it = cached.emplace(trace, sessions ? sessions->find(project_id, trace) : std::nullopt).first;
    }
    return it->second;
  }

  std::string_view resolve_agent(size_t i) {
    int cur = static_cast<int>(i);
    for (size_t steps = 0; cur >= 0 && steps <= infos.size(); ++steps) {
      if (!infos[static_cast<size_t>(cur)].agent.empty())
        return infos[static_cast<size_t>(cur)].agent;
      cur = infos[static_cast<size_t>(cur)].parent;
    }
    return service_name[d->scopes[d->spans[i].scope].resource];
  }

  // ---- type

  EventType resolve_type(const Span& s, const Info& info) {
    if (auto op = str(info, K::kGenAiOperationName)) {
      for (std::string_view v : {"chat", "text_completion", "generate_content", "completion"}) {
        if (iequals(*op, v)) return EventType::kLlm;
      }
      if (iequals(*op, "embeddings")) return EventType::kEmbedding;
      if (iequals(*op, "invoke_agent") || iequals(*op, "create_agent")) return EventType::kAgent;
      if (iequals(*op, "execute_tool")) return EventType::kTool;
    }
    if (auto kind = str(info, K::kOpenInferenceSpanKind)) {
      if (iequals(*kind, "LLM")) return EventType::kLlm;
      if (iequals(*kind, "TOOL")) return EventType::kTool;
      if (iequals(*kind, "AGENT")) return EventType::kAgent;
      if (iequals(*kind, "RETRIEVER") || iequals(*kind, "RERANKER")) return EventType::kRetrieval;
      if (iequals(*kind, "EMBEDDING")) return EventType::kEmbedding;
      for (std::string_view v : {"CHAIN", "GUARDRAIL", "EVALUATOR", "PROMPT", "DECISION"}) {
        if (iequals(*kind, v)) return EventType::kStep;
      }
    }
    if (auto t = str(info, K::kLangfuseObservationType)) {
      if (iequals(*t, "generation")) return EventType::kLlm;
      if (iequals(*t, "agent")) return EventType::kAgent;
      if (iequals(*t, "tool")) return EventType::kTool;
      if (iequals(*t, "retriever")) return EventType::kRetrieval;
      if (iequals(*t, "embedding")) return EventType::kEmbedding;
      if (iequals(*t, "event")) return EventType::kLog;
      for (std::string_view v : {"span", "chain", "evaluator", "guardrail"}) {
        if (iequals(*t, v)) return EventType::kStep;
      }
    }
    if (auto t = str(info, K::kTraceloopSpanKind)) {
      if (iequals(*t, "agent")) return EventType::kAgent;
      if (iequals(*t, "tool")) return EventType::kTool;
      if (iequals(*t, "workflow") || iequals(*t, "task")) return EventType::kStep;
    }
    if (auto t = str(info, K::kLlmRequestType)) {
      if (iequals(*t, "chat") || iequals(*t, "completion")) return EventType::kLlm;
      if (iequals(*t, "embedding")) return EventType::kEmbedding;
      if (iequals(*t, "rerank")) return EventType::kRetrieval;
    }
    if (auto op = str(info, K::kAiOperationId)) {  // Vercel AI SDK
      if (ends_with(*op, ".doGenerate") || ends_with(*op, ".doStream")) return EventType::kLlm;
      if (ends_with(*op, ".doEmbed")) return EventType::kEmbedding;
      if (*op == "ai.toolCall") return EventType::kTool;
      if (starts_with(*op, "ai.")) return EventType::kStep;
    }
    // Conventions without a kind attribute: Pydantic AI, Logfire's OpenAI Agents SDK spans.
    const std::string_view name = s.name;
    if (get(info, K::kGenAiToolName) || get(info, K::kToolName) || get(info, K::kAiToolCallName) ||
        name == "running tool" || starts_with(name, "execute_tool") ||
        starts_with(name, "Function: ")) {
      return EventType::kTool;
    }
    if (get(info, K::kGenAiAgentName) || get(info, K::kAgentName) || name == "agent run" ||
        starts_with(name, "invoke_agent") || starts_with(name, "Agent run: ")) {
      return EventType::kAgent;
    }
    if (starts_with(name, "Handoff: ")) return EventType::kAction;
    if (name == "running tools" || starts_with(name, "Guardrail ")) return EventType::kStep;
    for (K k : {K::kGenAiRequestModel, K::kGenAiResponseModel, K::kLlmModelName, K::kAiModelId,
                K::kGenAiUsageInput, K::kGenAiUsagePrompt, K::kLlmTokPrompt}) {
      if (get(info, k)) return EventType::kLlm;
    }
    return EventType::kCustom;
  }

  // ---- messages

  // Rebuilds a flattened list (`0.role`, `0.tool_calls.1.name`...) as JSON. Elements that
  // are single-key wrappers (OpenInference's `message`, `tool_call`, `message_content`)
  // are unwrapped.
  struct Node {
    std::string_view seg;
    bool numeric = false;
    uint64_t index = 0;
    const Value* leaf = nullptr;
    std::vector<uint32_t> kids;
  };
  std::vector<Node> nodes;

  bool write_unflattened(JsonWriter& w, const Info& info, Family family) {
    nodes.clear();
    nodes.emplace_back();
    bool any = false;
    for (uint32_t k = 0; k < info.family_count; ++k) {
      const FamilyEntry& fe = families[info.family_begin + k];
      if (fe.family != family) continue;
      any = true;
      attr_used[fe.attr] = 1;
      uint32_t cur = 0;
      std::string_view path = fe.path;
      size_t segments = 0;
      while (!path.empty() && segments++ < 32) {
        const size_t dot = path.find('.');
        const std::string_view seg = path.substr(0, dot);
        path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
        uint32_t found = 0;
        for (uint32_t kid : nodes[cur].kids) {
          if (nodes[kid].seg == seg) {
            found = kid;
            break;
          }
        }
        if (!found) {
          Node n;
          n.seg = seg;
          uint64_t idx = 0;
          const auto [end, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), idx);
          n.numeric = ec == std::errc() && end == seg.data() + seg.size() && !seg.empty();
          n.index = idx;
          found = static_cast<uint32_t>(nodes.size());
          nodes.push_back(std::move(n));
          nodes[cur].kids.push_back(found);
        }
        cur = found;
      }
      if (!nodes[cur].leaf) nodes[cur].leaf = &d->attrs[fe.attr].value;
    }
    if (!any) return false;
    emit_node(w, 0, 0);
    return true;
  }

  void emit_node(JsonWriter& w, uint32_t id, int depth) {
    Node& n = nodes[id];
    if (n.kids.empty() || depth > 32) {
      if (n.leaf)
        write_value(w, *n.leaf);
      else
        w.null();
      return;
    }
    const bool array =
        std::all_of(n.kids.begin(), n.kids.end(), [&](uint32_t k) { return nodes[k].numeric; });
    if (array) {
      std::vector<uint32_t> kids = n.kids;
      std::stable_sort(kids.begin(), kids.end(),
                       [&](uint32_t a, uint32_t b) { return nodes[a].index < nodes[b].index; });
      w.begin_array();
      for (uint32_t k : kids) {
        uint32_t item = k;
        // Unwrap {"message": {...}}-style elements.
        while (nodes[item].kids.size() == 1) {
          const std::string_view s = nodes[nodes[item].kids[0]].seg;
          if (s != "message" && s != "tool_call" && s != "message_content") break;
          item = nodes[item].kids[0];
        }
        emit_node(w, item, depth + 1);
      }
      w.end_array();
    } else {
      w.begin_object();
      for (uint32_t k : n.kids) {
        w.key(nodes[k].seg);
        emit_node(w, k, depth + 1);
      }
      w.end_object();
    }
  }

  static std::string_view role_of_event(std::string_view name) {
    if (name == "gen_ai.system.message") return "system";
    if (name == "gen_ai.user.message") return "user";
    if (name == "gen_ai.assistant.message") return "assistant";
    if (name == "gen_ai.tool.message") return "tool";
    return {};
  }

  static const Value* event_attr(const TraceData& data, const SpanEvent& ev, std::string_view key) {
    for (uint32_t k = 0; k < ev.attrs.count; ++k) {
      const Attr& a = data.attrs[ev.attrs.begin + k];
      if (a.key == key) return &a.value;
    }
    return nullptr;
  }

  // Writes the members of a JSON object held by `v` (a kvlist, or a string of JSON) into
  // the object being written; returns whether it had a "role".
  bool splice_object(JsonWriter& w, const Value& v) {
    bool has_role = false;
    if (v.kind == Value::Kind::kKvList) {
      for (uint32_t k = 0; k < v.children.count; ++k) {
        const Attr& a = d->attrs[v.children.begin + k];
        has_role |= a.key == "role";
        w.key(a.key);
        write_payload(w, a.value);
      }
      return has_role;
    }
    simdjson::dom::element doc;
    simdjson::dom::object obj;
    if (v.kind == Value::Kind::kString && !dom.parse(v.s.data(), v.s.size()).get(doc) &&
        !doc.get_object().get(obj)) {
      for (auto field : obj) {
        has_role |= field.key == "role";
        w.key(field.key);
        write_dom(w, field.value);
      }
      return has_role;
    }
    w.key("content");
    write_payload(w, v);
    return false;
  }

  // Span events of the GenAI conventions (gen_ai.*.message, gen_ai.choice and the older
  // gen_ai.content.prompt/completion) -> the messages of input (or output).
  bool write_event_messages(JsonWriter& w, const Span& s, bool output) {
    bool any = false;
    for (uint32_t k = 0; k < s.events.count; ++k) {
      const uint32_t ei = s.events.begin + k;
      const SpanEvent& ev = d->events[ei];
      const std::string_view role = role_of_event(ev.name);
      const bool choice = ev.name == "gen_ai.choice";
      const bool legacy =
          ev.name == (output ? "gen_ai.content.completion" : "gen_ai.content.prompt");
      if (!(output ? choice || legacy : !role.empty() || legacy)) continue;
      if (!any) w.begin_object().key("messages").begin_array();
      any = true;
      event_used[ei] = 1;
      if (legacy) {
        // One attribute holding the whole list (JSON) or a text.
        const Value* v = event_attr(*d, ev, output ? "gen_ai.completion" : "gen_ai.prompt");
        simdjson::dom::element doc;
        simdjson::dom::array arr;
        if (v && v->kind == Value::Kind::kString && !dom.parse(v->s.data(), v->s.size()).get(doc) &&
            !doc.get_array().get(arr)) {
          for (auto el : arr) write_dom(w, el);
        } else if (v) {
          w.begin_object().field("role", output ? "assistant" : "user").key("content");
          write_payload(w, *v);
          w.end_object();
        }
        continue;
      }
      w.begin_object();
      bool has_role = false;
      if (choice) {
        if (const Value* m = event_attr(*d, ev, "message")) has_role = splice_object(w, *m);
      }
      for (uint32_t a = 0; a < ev.attrs.count; ++a) {
        const Attr& attr = d->attrs[ev.attrs.begin + a];
        if ((choice && attr.key == "message") || attr.key == "gen_ai.system" ||
            attr.key == "event.name")
          continue;
        has_role |= attr.key == "role";
        w.key(attr.key);
        if (attr.key == "content" || attr.key == "tool_calls")
          write_payload(w, attr.value);
        else
          write_value(w, attr.value);
      }
      if (!has_role) w.field("role", choice ? std::string_view("assistant") : role);
      w.end_object();
    }
    if (any) w.end_array().end_object();
    return any;
  }

  // Logfire/Pydantic AI (instrumentation v1): an `events` attribute holding a JSON list of
  // the same GenAI events.
  bool write_logfire_events(JsonWriter& w, const Info& info, bool output) {
    auto text = str(info, K::kLogfireEvents);
    if (!text || !looks_like_json(*text)) return false;
    simdjson::dom::element doc;
    simdjson::dom::array arr;
    if (dom.parse(text->data(), text->size()).get(doc) || doc.get_array().get(arr)) return false;
    bool any = false;
    for (auto el : arr) {
      simdjson::dom::object o;
      std::string_view name;
      if (el.get_object().get(o) || o["event.name"].get_string().get(name)) continue;
      const bool choice = name == "gen_ai.choice";
      const std::string_view role = role_of_event(name);
      if (output ? !choice : role.empty()) continue;
      if (!any) w.begin_object().key("messages").begin_array();
      any = true;
      w.begin_object();
      bool has_role = false;
      for (auto field : o) {
        if (field.key == "event.name" || field.key == "gen_ai.system") continue;
        simdjson::dom::object message;
        if (choice && field.key == "message" && !field.value.get_object().get(message)) {
          for (auto mf : message) {
            has_role |= mf.key == "role";
            w.key(mf.key);
            write_dom(w, mf.value);
          }
          continue;
        }
        has_role |= field.key == "role";
        w.key(field.key);
        write_dom(w, field.value);
      }
      if (!has_role) w.field("role", choice ? std::string_view("assistant") : role);
      w.end_object();
    }
    if (any) w.end_array().end_object();
    return any;
  }

  // `{"messages": <value>}` (plus "system") from a whole-list attribute.
  void write_messages_value(JsonWriter& w, const Value& v, const Value* system = nullptr) {
    w.begin_object();
    if (system) {
      w.key("system");
      write_payload(w, *system);
    }
    w.key("messages");
    write_payload(w, v, true);
    w.end_object();
  }

  std::optional<std::string> build_input(const Span& s, Info& info, EventType type) {
    std::string out;
    JsonWriter w(out);
    if (const Value* v = get(info, K::kGenAiInputMessages)) {
      const Value* sys = get(info, K::kGenAiSystemInstructions);
      write_messages_value(w, *v, sys);
      use(info, K::kGenAiInputMessages);
      if (sys) use(info, K::kGenAiSystemInstructions);
      return out;
    }
    for (Family f : {Family::kGenAiPrompt, Family::kLlmInputMessages}) {
      std::string list;
      JsonWriter lw(list);
      if (write_unflattened(lw, info, f)) {
        w.begin_object().key("messages").raw(list).end_object();
        return out;
      }
    }
    if (write_event_messages(w, s, false)) return out;
    if (write_logfire_events(w, info, false)) {
      use(info, K::kLogfireEvents);
      return out;
    }
    if (const Value* v = get(info, K::kAiPromptMessages)) {
      write_messages_value(w, *v);
      use(info, K::kAiPromptMessages);
      return out;
    }
    // Whole-value attributes, most specific first.
    const bool tool = type == EventType::kTool;
    for (K k : {K::kAiPrompt, K::kGenAiToolCallArguments, K::kAiToolCallArgs, K::kAiToolCallInput,
                K::kToolArguments, K::kTraceloopEntityInput, K::kPydanticAllMessages,
                K::kAllMessagesEvents, K::kInputValue, K::kAiValue, K::kAiValues, K::kGenAiPrompt,
                K::kInput}) {
      const Value* v = get(info, k);
      if (!v || (k == K::kInput && !tool))
        continue;  // a bare "input" is only trusted on tool spans
      if (k == K::kPydanticAllMessages || k == K::kAllMessagesEvents) {
        if (tool) continue;
        write_messages_value(w, *v);
      } else if (k == K::kInputValue) {
        auto mime = str(info, K::kInputMime);
        if (mime && iequals(*mime, "text/plain"))
          write_value(w, *v);
        else
          write_payload(w, *v, mime && iequals(*mime, "application/json"));
        use(info, K::kInputMime);
      } else {
        write_payload(
            w, *v, true);  // these hold JSON-serialized values (text that is not JSON stays text)
      }
      use(info, k);
      return out;
    }
    return std::nullopt;
  }

  std::optional<std::string> build_output(const Span& s, Info& info, EventType type) {
    std::string out;
    JsonWriter w(out);
    if (const Value* v = get(info, K::kGenAiOutputMessages)) {
      write_messages_value(w, *v);
      use(info, K::kGenAiOutputMessages);
      return out;
    }
    for (Family f : {Family::kGenAiCompletion, Family::kLlmOutputMessages}) {
      std::string list;
      JsonWriter lw(list);
      if (write_unflattened(lw, info, f)) {
        w.begin_object().key("messages").raw(list).end_object();
        return out;
      }
    }
    if (write_event_messages(w, s, true)) return out;
    if (write_logfire_events(w, info, true)) {
      use(info, K::kLogfireEvents);
      return out;
    }
    const Value* text = get(info, K::kAiResponseText);
    const Value* calls = get(info, K::kAiResponseToolCalls);
    if (text || calls) {  // Vercel AI SDK: one assistant message
      w.begin_object().key("messages").begin_array().begin_object().field("role", "assistant");
      if (text) {
        w.key("content");
        write_value(w, *text);
        use(info, K::kAiResponseText);
      }
      if (calls) {
        w.key("tool_calls");
        write_payload(w, *calls, true);
        use(info, K::kAiResponseToolCalls);
      }
      w.end_object().end_array().end_object();
      return out;
    }
    for (K k : {K::kAiResponseObject, K::kGenAiToolCallResult, K::kAiToolCallResult,
                K::kAiToolCallOutput, K::kToolResponse, K::kTraceloopEntityOutput, K::kFinalResult,
                K::kOutputValue, K::kGenAiCompletion, K::kOutput}) {
      const Value* v = get(info, k);
      if (!v || (k == K::kOutput && type != EventType::kTool)) continue;
      if (k == K::kOutputValue) {
        auto mime = str(info, K::kOutputMime);
        if (mime && iequals(*mime, "text/plain"))
          write_value(w, *v);
        else
          write_payload(w, *v, mime && iequals(*mime, "application/json"));
        use(info, K::kOutputMime);
      } else {
        write_payload(w, *v, true);
      }
      use(info, k);
      return out;
    }
    return std::nullopt;
  }

  // Over 1 MiB: a preview of the JSON text instead, so the event (and its tokens) is kept.
  static std::string cap_payload(std::string json) {
    if (json.size() <= model::kMaxPayloadBytes) return json;
    std::string out;
    JsonWriter w(out);
    w.begin_object().field("truncated", true).field("bytes", static_cast<int64_t>(json.size()));
    w.field("preview", utf8_prefix(json, kPreviewBytes));
    w.end_object();
    return out;
  }

  // ---- attributes

  // The span's attributes as a JSON object; *shared_suffix is set to the length of its tail
  // that every span of the same scope shares (the scope and resource members and the '}').
  std::string build_attributes(const Span& s, size_t string_cap, bool error_status, size_t* shared_suffix) {
    order.clear();
    for (uint32_t k = 0; k < s.attrs.count; ++k) {
      if (!attr_used[s.attrs.begin + k]) order.push_back(s.attrs.begin + k);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return d->attrs[a].key < d->attrs[b].key; });
    std::string out;
    JsonWriter w(out);
    w.begin_object();
    std::string_view previous;
    bool first = true;
    for (uint32_t ai : order) {
      const Attr& a = d->attrs[ai];
      if (!first && a.key == previous) continue;  // duplicate keys: the first wins
      first = false;
      previous = a.key;
      w.key(a.key);
      write_value(w, a.value, string_cap);
    }
    if (auto kind = span_kind_name(s.kind); !kind.empty()) w.field("otel.span.kind", kind);
    if (!s.status_message.empty() && !error_status)
      w.field("otel.status_message", s.status_message);
    if (!s.trace_state.empty()) w.field("otel.trace_state", s.trace_state);
    if (s.dropped_attributes || s.dropped_events || s.dropped_links) {
      w.key("otel.dropped").begin_object();
      w.field("attributes", static_cast<int64_t>(s.dropped_attributes));
      w.field("events", static_cast<int64_t>(s.dropped_events));
      w.field("links", static_cast<int64_t>(s.dropped_links));
      w.end_object();
    }
    bool events_open = false;
    for (uint32_t k = 0; k < s.events.count; ++k) {
      const uint32_t ei = s.events.begin + k;
      if (event_used[ei]) continue;
      if (!events_open) w.key("otel.events").begin_array();
      events_open = true;
      const SpanEvent& ev = d->events[ei];
      w.begin_object().field("name", ev.name);
      if (ev.time_ns) w.field("time", format_rfc3339(static_cast<Micros>(ev.time_ns / 1000)));
      if (ev.attrs.count) {
        w.key("attributes").begin_object();
        for (uint32_t a = 0; a < ev.attrs.count; ++a) {
          const Attr& attr = d->attrs[ev.attrs.begin + a];
          w.key(attr.key);
          write_value(w, attr.value, string_cap);
        }
        w.end_object();
      }
      w.end_object();
    }
    if (events_open) w.end_array();
    if (s.links.count) {
      w.key("otel.links").begin_array();
      for (uint32_t k = 0; k < s.links.count; ++k) {
        const SpanLink& l = d->links[s.links.begin + k];
        w.begin_object();
        if (l.ids_valid) w.field("trace_id", hex(l.trace_id)).field("span_id", hex(l.span_id));
        if (!l.trace_state.empty()) w.field("trace_state", l.trace_state);
        if (l.attrs.count) {
          w.key("attributes").begin_object();
          for (uint32_t a = 0; a < l.attrs.count; ++a) {
            const Attr& attr = d->attrs[l.attrs.begin + a];
            w.key(attr.key);
            write_value(w, attr.value, string_cap);
          }
          w.end_object();
        }
        w.end_object();
      }
      w.end_array();
    }
    const size_t own_end = out.size();
    if (const std::string& scope = scope_json[s.scope]; !scope.empty())
      w.key("otel.scope").raw(scope);
    const std::string& resource = resource_json[d->scopes[s.scope].resource];
    if (resource.size() > 2) w.key("otel.resource").raw(resource);
    w.end_object();
    // The shared tail starts after the comma that separates it from the span's own members,
    // so spans with and without attributes of their own share the same tail.
    *shared_suffix = out.size() - own_end - (out[own_end] == ',' ? 1 : 0);
    return out;
  }

  std::string tags(const Info& info) {
    std::string out;
    JsonWriter w(out);
    w.begin_array();
    size_t n = 0;
    for (K k : {K::kTagTags, K::kLangfuseTraceTags}) {
      const Value* v = get(info, k);
      if (!v || v->kind != Value::Kind::kArray) continue;
      bool all_strings = true;
      for (uint32_t c = 0; c < v->children.count; ++c) {
        all_strings &= d->values[v->children.begin + c].kind == Value::Kind::kString;
      }
      if (!all_strings) continue;
      use(info, k);
      for (uint32_t c = 0; c < v->children.count && n < kMaxTags; ++c, ++n) {
        w.string(utf8_prefix(d->values[v->children.begin + c].s, 256));
      }
    }
    w.end_array();
    return out;
  }

  // ---- one span

  std::optional<model::Event> build_event(size_t i, std::string& reject) {
    const Span& s = d->spans[i];
    Info& info = infos[i];
    model::Event e;
    e.id = info.trace_hex + "-" + info.span_hex;
    e.trace_id = info.trace_hex;
    e.span_id = info.span_hex;
    if (s.has_parent) e.parent_id = info.trace_hex + "-" + hex(s.parent_span_id);
    e.session_id = resolve_session(i);
    e.type = resolve_type(s, info);
    if (!s.name.empty()) e.name = std::string(utf8_prefix(s.name, model::kMaxNameBytes));
    if (auto agent = resolve_agent(i); !agent.empty())
      e.agent = std::string(utf8_prefix(agent, model::kMaxAgentBytes));
    e.started_at = static_cast<Micros>(s.start_ns / 1000);
    if (s.end_ns) e.ended_at = static_cast<Micros>(s.end_ns / 1000);
    const bool error = s.status_code == 2;
    e.status = error           ? EventStatus::kError
               : s.end_ns == 0 ? EventStatus::kRunning
                               : EventStatus::kOk;
    if (error) {
      model::ErrorInfo err;
      for (uint32_t k = s.events.count; k-- > 0;) {  // the last exception explains the failure
        const uint32_t ei = s.events.begin + k;
        const SpanEvent& ev = d->events[ei];
        if (ev.name != "exception") continue;
        auto text = [&](std::string_view key) -> std::optional<std::string> {
          const Value* v = event_attr(*d, ev, key);
          if (!v || v->kind != Value::Kind::kString) return std::nullopt;
          return std::string(utf8_prefix(v->s, model::kMaxPayloadBytes));
        };
        err.type = text("exception.type");
        err.message = text("exception.message");
        err.stack = text("exception.stacktrace");
        event_used[ei] = 1;
        break;
      }
      if (!err.type) {
        if (auto t = str(info, K::kErrorType)) {
          err.type = std::string(utf8_prefix(*t, model::kMaxPayloadBytes));
          use(info, K::kErrorType);
        }
      }
      if (!err.message && !s.status_message.empty()) {
        err.message = std::string(utf8_prefix(s.status_message, model::kMaxPayloadBytes));
      }
      e.error = std::move(err);
    }
    if (auto m =
            pick_str(info, {K::kGenAiResponseModel, K::kGenAiRequestModel, K::kLlmModelName,
                            K::kLlmResponseModelName, K::kLlmRequestModelName, K::kAiResponseModel,
                            K::kAiModelId, K::kEmbeddingModelName, K::kModelName})) {
      e.model = std::string(utf8_prefix(*m, model::kMaxModelBytes));
    }
    if (auto vp = str(info, K::kAiModelProvider)) {
      // Vercel AI SDK spans name the provider "openai.chat" (also in gen_ai.system): "openai".
      e.provider = std::string(utf8_prefix(vp->substr(0, vp->find('.')), model::kMaxModelBytes));
    } else if (auto p = pick_str(info, {K::kGenAiProviderName, K::kGenAiSystem, K::kLlmProvider,
                                        K::kLlmSystem})) {
      e.provider = std::string(utf8_prefix(*p, model::kMaxModelBytes));
    }
    // Usage and cost count only on the model call itself: enclosing agent/workflow spans
    // often repeat the totals of their children, which would count them twice.
    if (e.type == EventType::kLlm || e.type == EventType::kEmbedding) {
      const auto in = pick_count(info, {K::kGenAiUsageInput, K::kGenAiUsagePrompt, K::kLlmTokPrompt,
                                        K::kLlmUsagePrompt, K::kAiUsageInput, K::kAiUsagePrompt});
      const auto out =
          pick_count(info, {K::kGenAiUsageOutput, K::kGenAiUsageCompletion, K::kLlmTokCompletion,
                            K::kLlmUsageCompletion, K::kAiUsageOutput, K::kAiUsageCompletion});
      const auto total = pick_count(
          info, {K::kLlmTokTotal, K::kLlmUsageTotal, K::kGenAiUsageTotal, K::kAiUsageTotal});
      const auto cached = pick_count(info, {K::kGenAiUsageCacheRead, K::kGenAiUsageCacheReadOld,
                                            K::kLlmTokCacheRead, K::kAiUsageCached});
      if (in || out || total || cached) {
        model::Usage u;
        u.input_tokens = in.value_or(0);
        u.output_tokens = out.value_or(0);
        u.cached_tokens = cached.value_or(0);
        if (total)
          u.total_tokens = *total;
        else if (__builtin_add_overflow(u.input_tokens, u.output_tokens, &u.total_tokens)) {
          u.total_tokens = std::numeric_limits<int64_t>::max();
        }
        e.usage = u;
      }
      for (K k : {K::kGenAiUsageCost, K::kLlmCostTotal}) {
        const Value* v = get(info, k);
        if (!v) continue;
        if (auto c = as_double(*v); c && std::isfinite(*c) && *c >= 0) {
          e.cost_usd = *c;
          use(info, k);
          break;
        }
      }
    }
    if (auto in = build_input(s, info, e.type)) e.input_json = cap_payload(std::move(*in));
    if (auto out = build_output(s, info, e.type)) e.output_json = cap_payload(std::move(*out));
    e.tags_json = tags(info);
    e.attributes_json = build_attributes(s, 0, error, &e.attributes_shared_suffix);
    if (e.attributes_json.size() > model::kMaxPayloadBytes) {
      e.attributes_json = build_attributes(s, kStringCapOnRetry, error, &e.attributes_shared_suffix);
      if (e.attributes_json.size() > model::kMaxPayloadBytes) {
        reject = "the span's attributes exceed 1 MiB even with long strings shortened";
        return std::nullopt;
      }
    }
    return e;
  }

  // ---- the request

  void map(const TraceData& data, int64_t project, MapResult& out) {
    d = &data;
    project_id = project;
    const size_t n = data.spans.size();
    out.spans += n;
    out.batch.events.reserve(out.batch.events.size() + n);
    infos.assign(n, Info{});
    families.clear();
    attr_used.assign(data.attrs.size(), 0);
    event_used.assign(data.events.size(), 0);
    by_id.clear();
    trace_session.clear();
    cached.clear();
    fallback_traces.clear();
    render_resources_and_scopes();

    auto reject = [&](size_t i, std::string reason) {
      infos[i].valid = false;
      out.rejections.push_back(SpanRejection{i, std::move(reason)});
    };
    for (size_t i = 0; i < n; ++i) {
      const Span& s = data.spans[i];
      Info& info = infos[i];
      if (const char* why = invalid_reason(s)) {
        reject(i, why);
        continue;
      }
      info.valid = true;
      index(s, info);
      if (auto t = str(info, K::kLogfireSpanType); t && *t == "pending_span") {
        info.skip = true;  // Logfire's placeholder for a span still running; the real one follows
        ++out.skipped;
        continue;
      }
      info.trace_hex = hex(s.trace_id);
      info.span_hex = hex(s.span_id);
      info.session = own_session(info);
      if (info.session && info.session->size() > model::kMaxIdBytes) {
        reject(i, "the session id attribute is longer than 128 bytes");
        continue;
      }
      for (K k : kUserKeys) {
        const Value* v = get(info, k);
        if (!v) continue;
        if (auto u = as_id_text(*v)) {
          info.user = std::string(utf8_prefix(*u, model::kMaxAgentBytes));
          break;
        }
      }
      if (auto a = str(info, K::kGenAiAgentName))
        info.agent = *a;
      else if (auto a2 = str(info, K::kAgentName))
        info.agent = *a2;
      else if (auto kind = str(info, K::kTraceloopSpanKind); kind && iequals(*kind, "agent")) {
        if (auto en = str(info, K::kTraceloopEntityName)) info.agent = *en;
      }
      by_id.emplace(IdKey{s.trace_id, s.span_id}, static_cast<int>(i));
    }
    for (size_t i = 0; i < n; ++i) {
      const Span& s = data.spans[i];
      Info& info = infos[i];
      if (!info.valid || info.skip) continue;
      if (s.has_parent) {
        if (auto it = by_id.find(IdKey{s.trace_id, s.parent_span_id}); it != by_id.end())
          info.parent = it->second;
      }
      // A trace without its own session attribute on some span joins the session that
      // another span of the trace names (the root's, when it names one).
      if (info.session) {
        auto [it, inserted] = trace_session.emplace(s.trace_id, static_cast<int>(i));
        if (!inserted && !s.has_parent) it->second = static_cast<int>(i);
      }
    }

    struct SessionUpdate {
      std::optional<std::string> user;
      int root = -1;  // the latest-ending finished root span
    };
    std::unordered_map<std::string, SessionUpdate> updates;
    std::vector<std::string> update_order;
    for (size_t i = 0; i < n; ++i) {
      if (!infos[i].valid || infos[i].skip) continue;
      std::string why;
      auto e = build_event(i, why);
      if (!e) {
        reject(i, std::move(why));
        continue;
      }
      auto [it, inserted] = updates.try_emplace(e->session_id);
      if (inserted) update_order.push_back(e->session_id);
      SessionUpdate& u = it->second;
      if (!u.user && infos[i].user) u.user = infos[i].user;
      const Span& s = data.spans[i];
      if (!s.has_parent && s.end_ns &&
          (u.root < 0 || data.spans[static_cast<size_t>(u.root)].end_ns <= s.end_ns)) {
        u.root = static_cast<int>(i);
      }
      out.batch.events.push_back(std::move(*e));
    }
    for (const std::string& id : update_order) {
      const SessionUpdate& u = updates[id];
      model::SessionPatch p;
      p.id = id;
      bool any = false;
      if (u.user) {
        p.user_id = std::optional<std::string>(*u.user);
        any = true;
      }
      if (u.root >= 0) {
        // A finished root span ends the run: the session takes its outcome and end time.
        const Span& root = data.spans[static_cast<size_t>(u.root)];
        p.status =
            root.status_code == 2 ? model::SessionStatus::kFailure : model::SessionStatus::kSuccess;
        p.ended_at = std::optional<Micros>(static_cast<Micros>(root.end_ns / 1000));
        if (auto agent = resolve_agent(static_cast<size_t>(u.root)); !agent.empty()) {
          p.agent =
              std::optional<std::string>(std::string(utf8_prefix(agent, model::kMaxAgentBytes)));
        }
        // A session that is one trace is named after its root span.
        if (id == infos[static_cast<size_t>(u.root)].trace_hex && !root.name.empty()) {
          p.name =
              std::optional<std::string>(std::string(utf8_prefix(root.name, model::kMaxNameBytes)));
        }
        any = true;
      }
      if (any) out.batch.sessions.push_back(std::move(p));
    }
    if (sessions) {
      for (const auto& [trace, i] : trace_session) {
        const Info& info = infos[static_cast<size_t>(i)];
        if (const auto& entry = cache_entry(trace); entry && entry->fallback) {
          out.moves.emplace_back(info.trace_hex, *info.session);
        }
        sessions->remember(project_id, trace, *info.session);
      }
      for (const auto& [trace, i] : fallback_traces) {
        sessions->remember_fallback(project_id, trace);
        out.fallbacks.emplace_back(trace, infos[static_cast<size_t>(i)].trace_hex);
      }
    }
    if (!out.rejections.empty()) {
      out.error_message = std::to_string(out.rejections.size()) + " of " +
                          std::to_string(out.spans) + " spans rejected";
      size_t shown = 0;
      for (const auto& r : out.rejections) {
        if (shown == 5) {
          out.error_message += "; …";
          break;
        }
        out.error_message += shown ? "; " : ": ";
        out.error_message += "span " + std::to_string(r.span) + ": " + r.reason;
        ++shown;
      }
    }
    d = nullptr;
  }
};

SpanMapper::SpanMapper(TraceSessions* sessions) : impl_(std::make_unique<Impl>(sessions)) {}
SpanMapper::~SpanMapper() = default;

void SpanMapper::map(const TraceData& data, int64_t project_id, MapResult& out) {
  out.batch.project_id = project_id;
  impl_->map(data, project_id, out);
}

}  // namespace agentlog::ingest::otlp
