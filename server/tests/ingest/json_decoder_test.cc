#include "ingest/json_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "testing/fake_clock.h"
#include "testing/json.h"

namespace agentlog::ingest {
namespace {

using model::EventStatus;
using model::EventType;
using model::SessionStatus;
using test::json_equal;
using test::kT0;
using Kind = DecodeFailure::Kind;

// 2026-11-25T10:00:00Z
constexpr Micros kNov25 = 1795600800LL * 1000000;
constexpr Micros kNow = kT0 + 42;

class JsonDecoderTest : public ::testing::Test {
 protected:
  // Decodes a body that must not fail as a whole.
  IngestBatch decode(std::string_view body) {
    auto d = decoder_.decode_ingest(body);
    EXPECT_FALSE(d.failure.has_value())
        << (d.failure ? d.failure->message : "") << "\nbody: " << body;
    return d.value ? std::move(*d.value) : IngestBatch{};
  }
  // The one event of `{"events":[<event>]}`, which must be valid.
  model::Event event(const std::string& event_json) {
    IngestBatch b = decode(R"({"events":[)" + event_json + "]}");
    EXPECT_TRUE(b.errors.empty()) << (b.errors.empty()
                                          ? ""
                                          : b.errors[0].field + ": " + b.errors[0].message);
    EXPECT_EQ(b.events.size(), 1u) << event_json;
    return b.events.empty() ? model::Event{} : b.events[0];
  }
  // The field errors of the one event of `{"events":[<event>]}`, which must be rejected.
  std::vector<std::string> event_errors(const std::string& event_json) {
    IngestBatch b = decode(R"({"events":[)" + event_json + "]}");
    EXPECT_TRUE(b.events.empty()) << "accepted: " << event_json;
    std::vector<std::string> fields;
    for (const auto& e : b.errors) fields.push_back(e.field);
    return fields;
  }
  model::SessionPatch session(const std::string& session_json) {
    IngestBatch b = decode(R"({"sessions":[)" + session_json + "]}");
    EXPECT_TRUE(b.errors.empty()) << (b.errors.empty()
                                          ? ""
                                          : b.errors[0].field + ": " + b.errors[0].message);
    EXPECT_EQ(b.sessions.size(), 1u) << session_json;
    return b.sessions.empty() ? model::SessionPatch{} : b.sessions[0];
  }
  std::vector<std::string> session_errors(const std::string& session_json) {
    IngestBatch b = decode(R"({"sessions":[)" + session_json + "]}");
    EXPECT_TRUE(b.sessions.empty()) << "accepted: " << session_json;
    std::vector<std::string> fields;
    for (const auto& e : b.errors) fields.push_back(e.field);
    return fields;
  }
  std::optional<Kind> failure(std::string_view body) {
    auto d = decoder_.decode_ingest(body);
    if (!d.failure) return std::nullopt;
    EXPECT_FALSE(d.failure->message.empty());
    EXPECT_FALSE(d.value.has_value());
    return d.failure->kind;
  }

  test::FakeClock clock_{kNow};
  UuidV7Generator ids_{clock_};
  JsonDecoder decoder_{clock_, ids_};
};

using Fields = std::vector<std::string>;

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string quoted(size_t bytes) { return "\"" + std::string(bytes, 'x') + "\""; }

// ---- valid input ---------------------------------------------------------------------------

TEST_F(JsonDecoderTest, DecodesEveryEventField) {
  const model::Event e = event(R"({
    "id": "e1", "session_id": "s1", "parent_id": "p0", "trace_id": "t0", "span_id": "sp0",
    "type": "llm", "name": "chat", "agent": "planner",
    "started_at": "2026-11-25T10:00:00.123456+02:00", "ended_at": 1795593600500.25, "status": "error",
    "input": {"messages": [{"role": "user", "content": "hi \u00e9"}], "n": 1.5e3},
    "output": ["ok", null, true],
    "error": {"type": "E", "message": "m", "stack": "s"},
    "model": "gpt", "provider": "openai",
    "usage": {"input_tokens": 10, "output_tokens": 20, "total_tokens": 35, "cached_tokens": 4},
    "cost_usd": 0.0125, "attributes": {"a": {"b": [1]}}, "tags": ["x", "y"],
    "unknown_field": {"ignored": [1, 2, 3]}})");
  EXPECT_EQ(e.id, "e1");
  EXPECT_TRUE(e.client_id);
  EXPECT_EQ(e.session_id, "s1");
  EXPECT_EQ(e.parent_id, "p0");
  EXPECT_EQ(e.trace_id, "t0");
  EXPECT_EQ(e.span_id, "sp0");
  EXPECT_EQ(e.type, EventType::kLlm);
  EXPECT_EQ(e.name, "chat");
  EXPECT_EQ(e.agent, "planner");
  EXPECT_EQ(e.started_at, kNov25 - 2 * 3600 * 1000000LL + 123456);
  EXPECT_EQ(e.ended_at, kNov25 - 2 * 3600 * 1000000LL + 500250);
  EXPECT_EQ(e.status, EventStatus::kError);
  ASSERT_TRUE(e.input_json.has_value());
  EXPECT_TRUE(
      json_equal(*e.input_json, R"({"messages":[{"role":"user","content":"hi é"}],"n":1500})"))
      << *e.input_json;
  ASSERT_TRUE(e.output_json.has_value());
  EXPECT_TRUE(json_equal(*e.output_json, R"(["ok",null,true])")) << *e.output_json;
  ASSERT_TRUE(e.error.has_value());
  EXPECT_EQ(e.error->type, "E");
  EXPECT_EQ(e.error->message, "m");
  EXPECT_EQ(e.error->stack, "s");
  EXPECT_EQ(e.model, "gpt");
  EXPECT_EQ(e.provider, "openai");
  ASSERT_TRUE(e.usage.has_value());
  EXPECT_EQ(e.usage->input_tokens, 10);
  EXPECT_EQ(e.usage->output_tokens, 20);
  EXPECT_EQ(e.usage->total_tokens, 35);
  EXPECT_EQ(e.usage->cached_tokens, 4);
  EXPECT_EQ(e.cost_usd, 0.0125);
  EXPECT_TRUE(json_equal(e.attributes_json, R"({"a":{"b":[1]}})")) << e.attributes_json;
  EXPECT_TRUE(json_equal(e.tags_json, R"(["x","y"])")) << e.tags_json;
}

TEST_F(JsonDecoderTest, StoresPayloadsAsCompactJsonWithNumbersVerbatim) {
  const model::Event e =
      event(R"({"session_id": "s", "input": { "big" : 123456789012345678901234567890 ,
      "exp": 1E+2, "neg": -0.0 }, "output": "just a string"})");
  EXPECT_EQ(e.input_json, R"({"big":123456789012345678901234567890,"exp":1E+2,"neg":-0.0})");
  EXPECT_EQ(e.output_json, R"("just a string")");
}

TEST_F(JsonDecoderTest, MinimalEventGetsDefaults) {
  const model::Event e = event(R"({"session_id": "s"})");
  EXPECT_EQ(e.session_id, "s");
  EXPECT_EQ(e.type, EventType::kCustom);
  EXPECT_EQ(e.status, EventStatus::kOk);
  EXPECT_EQ(e.started_at, kNow) << "started_at defaults to the injected clock's now";
  EXPECT_EQ(e.ended_at, std::nullopt);
  EXPECT_EQ(e.parent_id, std::nullopt);
  EXPECT_EQ(e.name, std::nullopt);
  EXPECT_EQ(e.input_json, std::nullopt);
  EXPECT_EQ(e.output_json, std::nullopt);
  EXPECT_FALSE(e.error.has_value());
  EXPECT_FALSE(e.usage.has_value());
  EXPECT_FALSE(e.cost_usd.has_value());
  EXPECT_TRUE(json_equal(e.attributes_json, "{}")) << e.attributes_json;
  EXPECT_TRUE(json_equal(e.tags_json, "[]")) << e.tags_json;
}

TEST_F(JsonDecoderTest, NullFieldsMeanAbsent) {
  const model::Event e = event(R"({"session_id": "s", "parent_id": null, "type": null, "name": null,
      "started_at": null, "ended_at": null, "status": null, "input": null, "error": null, "usage": null,
      "cost_usd": null, "attributes": null, "tags": null})");
  EXPECT_EQ(e.type, EventType::kCustom);
  EXPECT_EQ(e.started_at, kNow);
  EXPECT_EQ(e.status, EventStatus::kOk);
  EXPECT_EQ(e.input_json, std::nullopt);
  EXPECT_FALSE(e.error.has_value());
  EXPECT_FALSE(e.usage.has_value());
}

TEST_F(JsonDecoderTest, AcceptsRfc3339AndEpochMilliseconds) {
  EXPECT_EQ(event(R"({"session_id":"s","started_at":"2026-11-25T10:00:00Z"})").started_at, kNov25);
  EXPECT_EQ(event(R"({"session_id":"s","started_at":"2026-11-25T12:30:00.5+02:30"})").started_at,
            kNov25 + 500000);
  EXPECT_EQ(event(R"({"session_id":"s","started_at":1795600800000})").started_at, kNov25);
  EXPECT_EQ(event(R"({"session_id":"s","started_at":1795600800000.5})").started_at, kNov25 + 500);
  EXPECT_EQ(
      event(R"({"session_id":"s","started_at":1795600800001,"ended_at":"2026-11-25T10:00:01Z"})")
          .ended_at,
      kNov25 + 1000000);
  EXPECT_EQ(event(R"({"session_id":"s","started_at":0})").started_at, 0);
}

TEST_F(JsonDecoderTest, GeneratesOrderedUuidV7IdsWhenMissing) {
  const IngestBatch b = decode(
      R"({"events":[{"session_id":"s"},{"id":"mine","session_id":"s"},{"session_id":"s"}]})");
  ASSERT_EQ(b.events.size(), 3u);
  const auto& first = b.events[0].id;
  const auto& third = b.events[2].id;
  for (const std::string& id : {first, third}) {
    ASSERT_EQ(id.size(), 36u) << id;
    EXPECT_EQ(id[8], '-');
    EXPECT_EQ(id[14], '7') << "version 7: " << id;
    EXPECT_NE(std::string_view("89ab").find(id[19]), std::string_view::npos) << id;
    // The 48-bit timestamp is the injected clock's millisecond.
    EXPECT_EQ(std::stoull(id.substr(0, 8) + id.substr(9, 4), nullptr, 16),
              static_cast<uint64_t>(kNow / 1000));
  }
  EXPECT_LT(first, third);
  EXPECT_FALSE(b.events[0].client_id);
  EXPECT_TRUE(b.events[1].client_id);
  EXPECT_FALSE(b.events[2].client_id);
  ASSERT_EQ(b.ids.size(), 3u);
  EXPECT_EQ(b.ids[0], first);
  EXPECT_EQ(b.ids[1], "mine");
  EXPECT_EQ(b.ids[2], third);
}

TEST_F(JsonDecoderTest, StatusDefaultsToErrorWhenAnErrorIsGiven) {
  EXPECT_EQ(event(R"({"session_id":"s","error":{"message":"x"}})").status, EventStatus::kError);
  EXPECT_EQ(event(R"({"session_id":"s","error":"plain message"})").status, EventStatus::kError);
  EXPECT_EQ(event(R"({"session_id":"s","error":"x","status":"ok"})").status, EventStatus::kOk)
      << "explicit wins";
  EXPECT_EQ(event(R"({"session_id":"s","status":"running"})").status, EventStatus::kRunning);
}

TEST_F(JsonDecoderTest, PlainStringErrorIsTheMessage) {
  const model::Event e = event(R"({"session_id":"s","error":"it broke"})");
  ASSERT_TRUE(e.error.has_value());
  EXPECT_EQ(e.error->message, "it broke");
  EXPECT_EQ(e.error->type, std::nullopt);
  EXPECT_EQ(e.error->stack, std::nullopt);
}

TEST_F(JsonDecoderTest, TotalTokensDefaultsToInputPlusOutput) {
  const model::Event e =
      event(R"({"session_id":"s","usage":{"input_tokens":7,"output_tokens":5}})");
  ASSERT_TRUE(e.usage.has_value());
  EXPECT_EQ(e.usage->total_tokens, 12);
  EXPECT_EQ(e.usage->cached_tokens, 0);
  EXPECT_EQ(event(R"({"session_id":"s","usage":{"input_tokens":7,"total_tokens":100}})")
                .usage->total_tokens,
            100);
}

// Token counts are non-negative integers: a total that does not fit in 64 bits must be
// refused, not wrapped around into a negative number.
TEST_F(JsonDecoderTest, TokenTotalThatWouldOverflowIsRejected) {
  const IngestBatch b = decode(
      R"({"events":[{"session_id":"s","usage":{"input_tokens":9223372036854775807,"output_tokens":1}}]})");
  if (b.events.empty()) {
    ASSERT_EQ(b.errors.size(), 1u);
    EXPECT_EQ(b.errors[0].field.rfind("usage", 0), 0u) << b.errors[0].field;
  } else {
    ASSERT_TRUE(b.events[0].usage.has_value());
    EXPECT_GE(b.events[0].usage->total_tokens, b.events[0].usage->input_tokens) << "wrapped around";
  }
}

// `\ud800` alone is well-formed JSON but no Unicode character: it becomes U+FFFD and the
// rest of the batch is kept, while escaped backslashes and proper pairs are left alone.
TEST_F(JsonDecoderTest, LoneSurrogateEscapesBecomeReplacementCharacters) {
  const IngestBatch b = decode(
      R"({"events":[{"id":"ok","session_id":"s","name":"fine"},)"
      R"({"id":"hi","session_id":"s","name":"a\ud800b"},)"
      R"({"id":"lo","session_id":"s","name":"\udc00"},)"
      R"({"id":"end","session_id":"s","name":"x\uD83D"},)"
      R"({"id":"pair","session_id":"s","name":"\ud83d\ude00"},)"
      R"({"id":"literal","session_id":"s","name":"\\ud800"}]})");
  EXPECT_TRUE(b.errors.empty());
  ASSERT_EQ(b.events.size(), 6u);
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(b.events[0].name, "fine");
  EXPECT_EQ(b.events[1].name, "a" + fffd + "b");
  EXPECT_EQ(b.events[2].name, fffd);
  EXPECT_EQ(b.events[3].name, "x" + fffd);
  EXPECT_EQ(b.events[4].name, "\xF0\x9F\x98\x80");
  EXPECT_EQ(b.events[5].name, "\\ud800") << "an escaped backslash followed by text is not an escape";
}

TEST_F(JsonDecoderTest, LoneSurrogateInASessionBodyIsReplaced) {
  auto d = decoder_.decode_session(R"({"id":"s","name":"\ud800"})", true);
  ASSERT_FALSE(d.failure.has_value()) << d.failure->message;
  ASSERT_TRUE(d.value->name.has_value() && d.value->name->has_value());
  EXPECT_EQ(**d.value->name, "\xEF\xBF\xBD");
}

TEST_F(JsonDecoderTest, DecodesUnicodeEscapes) {
  const model::Event e = event(R"({"session_id":"s","name":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/"})");
  EXPECT_EQ(e.name, "caf\xC3\xA9 \xF0\x9F\x98\x80 \"q\" \\ /");
}

TEST_F(JsonDecoderTest, DecodesEverySessionField) {
  const model::SessionPatch p = session(R"({"id":"s1","name":"run","agent":"planner","user_id":"u1",
      "tags":["a","b"],"metadata":{"git":"abc"},"status":"running",
      "started_at":"2026-11-25T10:00:00Z","ended_at":1795600801000})");
  EXPECT_EQ(p.id, "s1");
  EXPECT_EQ(p.name, std::optional<std::string>("run"));
  EXPECT_EQ(p.agent, std::optional<std::string>("planner"));
  EXPECT_EQ(p.user_id, std::optional<std::string>("u1"));
  ASSERT_TRUE(p.tags_json.has_value());
  EXPECT_TRUE(json_equal(*p.tags_json, R"(["a","b"])"));
  ASSERT_TRUE(p.metadata_json.has_value());
  EXPECT_TRUE(json_equal(*p.metadata_json, R"({"git":"abc"})"));
  EXPECT_EQ(p.status, SessionStatus::kRunning);
  EXPECT_EQ(p.started_at, std::optional<Micros>(kNov25));
  EXPECT_EQ(p.ended_at, std::optional<Micros>(kNov25 + 1000000));
}

TEST_F(JsonDecoderTest, SessionDistinguishesAbsentFromNull) {
  const model::SessionPatch absent = session(R"({"id":"s"})");
  EXPECT_FALSE(absent.name.has_value());
  EXPECT_FALSE(absent.agent.has_value());
  EXPECT_FALSE(absent.user_id.has_value());
  EXPECT_FALSE(absent.tags_json.has_value());
  EXPECT_FALSE(absent.metadata_json.has_value());
  EXPECT_FALSE(absent.status.has_value());
  EXPECT_FALSE(absent.started_at.has_value());
  EXPECT_FALSE(absent.ended_at.has_value());

  const model::SessionPatch nulls = session(
      R"({"id":"s","name":null,"agent":null,"user_id":null,"started_at":null,"ended_at":null})");
  ASSERT_TRUE(nulls.name.has_value());
  EXPECT_FALSE(nulls.name->has_value());
  ASSERT_TRUE(nulls.agent.has_value());
  EXPECT_FALSE(nulls.agent->has_value());
  ASSERT_TRUE(nulls.user_id.has_value());
  EXPECT_FALSE(nulls.user_id->has_value());
  ASSERT_TRUE(nulls.started_at.has_value());
  EXPECT_FALSE(nulls.started_at->has_value());
  ASSERT_TRUE(nulls.ended_at.has_value());
  EXPECT_FALSE(nulls.ended_at->has_value());
}

TEST_F(JsonDecoderTest, TerminalStatusWithoutEndEndsTheSessionNow) {
  for (const char* status : {"success", "failure", "cancelled"}) {
    const model::SessionPatch p = session(std::string(R"({"id":"s","status":")") + status + "\"}");
    EXPECT_EQ(p.ended_at, std::optional<std::optional<Micros>>(kNow)) << status;
  }
  EXPECT_FALSE(session(R"({"id":"s","status":"running"})").ended_at.has_value());
  EXPECT_EQ(session(R"({"id":"s","status":"success","ended_at":"2026-11-25T10:00:00Z"})").ended_at,
            std::optional<std::optional<Micros>>(kNov25));
}

TEST_F(JsonDecoderTest, EmptyAndNullArraysAreValid) {
  for (const char* body : {"{}", R"({"events":[]})", R"({"events":null,"sessions":null})",
                           R"({"other":[1,2]})", " \n\t{ \"events\" : [ ] } \r\n"}) {
    const IngestBatch b = decode(body);
    EXPECT_EQ(b.items, 0u) << body;
    EXPECT_TRUE(b.events.empty());
    EXPECT_TRUE(b.errors.empty());
  }
}

// ---- per-item errors -----------------------------------------------------------------------

TEST_F(JsonDecoderTest, ReportsEachInvalidItemAndKeepsTheValidOnes) {
  const IngestBatch b = decode(R"({
    "events": [
      {"id": "good", "session_id": "s"},
      {"session_id": "s", "type": "bogus"},
      {"id": "orphan"},
      {"session_id": "s", "started_at": "2026-01-01T00:00:10Z", "ended_at": "2026-01-01T00:00:00Z"},
      {"session_id": "s", "usage": {"input_tokens": -1}},
      5,
      {"session_id": "s", "cost_usd": -0.5},
      {"id": "good2", "session_id": "s"}
    ],
    "sessions": [{"name": "no id"}, {"id": "fine"}]})");
  EXPECT_EQ(b.items, 10u);
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(b.events[0].id, "good");
  EXPECT_EQ(b.events[1].id, "good2");
  ASSERT_EQ(b.sessions.size(), 1u);
  EXPECT_EQ(b.sessions[0].id, "fine");
  ASSERT_EQ(b.ids.size(), 8u) << "aligned with the request's events";
  EXPECT_EQ(b.ids[0], "good");
  for (size_t i = 1; i < 7; ++i) EXPECT_EQ(b.ids[i], std::nullopt) << i;
  EXPECT_EQ(b.ids[7], "good2");

  std::vector<std::tuple<size_t, std::string, std::string>> errors;
  for (const auto& e : b.errors) {
    errors.emplace_back(e.index, e.item, e.field);
    EXPECT_FALSE(e.message.empty()) << e.field;
  }
  using E = std::tuple<size_t, std::string, std::string>;
  EXPECT_EQ(errors, (std::vector<E>{{1, "event", "type"},
                                    {2, "event", "session_id"},
                                    {3, "event", "ended_at"},
                                    {4, "event", "usage.input_tokens"},
                                    {5, "event", ""},
                                    {6, "event", "cost_usd"},
                                    {0, "session", "id"}}));
}

TEST_F(JsonDecoderTest, RejectsFieldsOfTheWrongType) {
  EXPECT_EQ(event_errors(R"({"session_id": 5})"), Fields{"session_id"});
  EXPECT_EQ(event_errors(R"({"session_id": ""})"), Fields{"session_id"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "id": ""})"), Fields{"id"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "id": 7})"), Fields{"id"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "name": 1})"), Fields{"name"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "parent_id": {}})"), Fields{"parent_id"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "status": "done"})"), Fields{"status"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "started_at": "yesterday"})"),
            Fields{"started_at"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "started_at": "1795600800000"})"),
            Fields{"started_at"})
      << "epoch milliseconds are numbers, not strings";
  EXPECT_EQ(event_errors(R"({"session_id": "s", "started_at": true})"), Fields{"started_at"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "started_at": 1e20})"), Fields{"started_at"})
      << "out of range";
  EXPECT_EQ(event_errors(R"({"session_id": "s", "started_at": "0000-01-01T00:00:00Z"})"),
            Fields{"started_at"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "error": 404})"), Fields{"error"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "error": {"message": 1}})"),
            Fields{"error.message"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "usage": [1]})"), Fields{"usage"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "usage": {"output_tokens": 1.5}})"),
            Fields{"usage.output_tokens"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "usage": {"total_tokens": "9"}})"),
            Fields{"usage.total_tokens"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "cost_usd": "0.1"})"), Fields{"cost_usd"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "attributes": [1]})"), Fields{"attributes"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "tags": "a"})"), Fields{"tags"});
  EXPECT_EQ(event_errors(R"({"session_id": "s", "tags": ["a", 1]})"), Fields{"tags"});

  EXPECT_EQ(session_errors(R"({"id": "s", "status": "done"})"), Fields{"status"});
  EXPECT_EQ(session_errors(R"({"id": "s", "metadata": [1]})"), Fields{"metadata"});
  EXPECT_EQ(session_errors(R"({"id": "s", "name": false})"), Fields{"name"});
  EXPECT_EQ(session_errors(R"({"id": ""})"), Fields{"id"});
  EXPECT_EQ(session_errors(
                R"({"id": "s", "started_at": "2026-11-25T10:00:01Z", "ended_at": 1795600800000})"),
            Fields{"ended_at"});
  EXPECT_EQ(session_errors(R"("s")"), Fields{""});
}

TEST_F(JsonDecoderTest, EnforcesDocumentedSizeLimits) {
  auto with = [](const std::string& field, const std::string& value) {
    return R"({"session_id": "s", ")" + field + "\": " + value + "}";
  };
  const std::pair<std::string, size_t> limits[] = {
      {"id", 128},    {"parent_id", 128}, {"trace_id", 128}, {"span_id", 128},
      {"name", 1024}, {"agent", 256},     {"model", 256},    {"provider", 256},
  };
  for (const auto& [field, max] : limits) {
    SCOPED_TRACE(field);
    EXPECT_EQ(event(with(field, quoted(max))).session_id, "s");
    EXPECT_EQ(event_errors(with(field, quoted(max + 1))), Fields{field});
  }
  EXPECT_EQ(event(R"({"session_id": )" + quoted(128) + "}").session_id, std::string(128, 'x'));
  EXPECT_EQ(event_errors(R"({"session_id": )" + quoted(129) + "}"), Fields{"session_id"});
  EXPECT_EQ(session_errors(R"({"id": )" + quoted(129) + "}"), Fields{"id"});
  EXPECT_EQ(session_errors(R"({"id": "s", "name": )" + quoted(1025) + "}"), Fields{"name"});

  // Payloads: at most 1 MiB each once serialized.
  const std::string big = quoted(1 << 20);
  EXPECT_EQ(event_errors(with("input", big)), Fields{"input"});
  EXPECT_EQ(event_errors(with("output", "[" + big + "]")), Fields{"output"});
  EXPECT_EQ(event_errors(with("attributes", R"({"k":)" + big + "}")), Fields{"attributes"});
  EXPECT_TRUE(event(with("input", quoted((1 << 20) - 100))).input_json.has_value());

  // Tags: at most 100, each at most 256 bytes.
  const std::string hundred = "[" + repeat(R"("t",)", 99) + R"("t"])";
  const std::string hundred_one = "[" + repeat(R"("t",)", 100) + R"("t"])";
  EXPECT_TRUE(json_equal(event(with("tags", hundred)).tags_json, hundred));
  EXPECT_EQ(event_errors(with("tags", hundred_one)), Fields{"tags"});
  EXPECT_EQ(event(with("tags", "[" + quoted(256) + "]")).session_id, "s");
  EXPECT_EQ(event_errors(with("tags", "[" + quoted(257) + "]")), Fields{"tags"});
}

// ---- whole-body failures -------------------------------------------------------------------

TEST_F(JsonDecoderTest, MalformedJsonIsRefusedWhole) {
  const std::string cases[] = {
      "",
      "   ",
      "{",
      R"({"events":[)",
      R"({"events":[{"session_id":"s"}])",
      R"({"events":[{"session_id":"s"})",
      R"({"events":[]} {})",
      R"({"events":[]}x)",
      R"({"events":[]}])",
      R"({"events":[1,]})",
      R"({"events":[],})",
      R"({'events':[]})",
      R"({events:[]})",
      R"({"a":01})",
      R"({"a":1.})",
      R"({"a":-})",
      R"({"a":1e})",
      R"({"a":.5})",
      R"({"a":+1})",
      R"({"a":NaN})",
      R"({"a":Infinity})",
      R"({"a":0x10})",
      R"({"a":tru})",
      R"({"a":nul})",
      R"({"a":"\q"})",
      R"({"a":"\u12"})",
      "{\"a\":\"raw\x01control\"}",
      "{\"a\":\"unterminated}",
      "{\"a\":\"\xFF\"}",
      "{\"events\":[{\"session_id\":\"s\",\"name\":\"\xC0\xAF\"}]}",
      "{\"events\":[{\"session_id\":\"s\",\"name\":\"\xED\xA0\x80\"}]}",
      "{\"events\":[{\"session_id\":\"s\",\"name\":\"\xF4\x90\x80\x80\"}]}",
      "{\"events\":[{\"session_id\":\"s\",\"name\":\"trunc\xE2\x82\"}]}",
      "{\"\xFF\":1}",
      "{\"ignored\":[\"\xFE\"],\"events\":[]}",
      std::string("{\"a\":1}\0", 8),
  };
  for (const std::string& body : cases) EXPECT_EQ(failure(body), Kind::kMalformed) << body;
}

TEST_F(JsonDecoderTest, BadNumbersInsideEventsAreMalformed) {
  EXPECT_EQ(failure(R"({"events":[{"session_id":"s","cost_usd":01}]})"), Kind::kMalformed);
  EXPECT_EQ(failure(R"({"events":[{"session_id":"s","input":{"x":[1,2,-]}}]})"), Kind::kMalformed);
  EXPECT_EQ(failure(R"({"events":[{"session_id":"s","started_at":1.e5}]})"), Kind::kMalformed);
}

TEST_F(JsonDecoderTest, NestingDeeperThan512IsMalformed) {
  // The top-level object is depth 1, the events array 2, the event 3, so k arrays in
  // `input` reach depth 3 + k.
  auto body = [](size_t k) {
    return R"({"events":[{"session_id":"s","input":)" + repeat("[", k) + repeat("]", k) + "}]}";
  };
  const IngestBatch ok = decode(body(509));
  ASSERT_EQ(ok.events.size(), 1u);
  EXPECT_EQ(ok.events[0].input_json, repeat("[", 509) + repeat("]", 509));
  EXPECT_EQ(failure(body(510)), Kind::kMalformed);
  EXPECT_EQ(failure(repeat("[", 513) + repeat("]", 513)), Kind::kMalformed);
}

TEST_F(JsonDecoderTest, HugeNestingIsRefusedWithoutCrashing) {
  EXPECT_EQ(failure(repeat("[", 200000)), Kind::kMalformed);
  EXPECT_EQ(failure(repeat("[", 200000) + repeat("]", 200000)), Kind::kMalformed);
  EXPECT_EQ(failure(repeat(R"({"a":)", 200000) + "1" + repeat("}", 200000)), Kind::kMalformed);
  EXPECT_EQ(failure(R"({"events":[{"session_id":"s","input":)" + repeat("[", 200000) + "}]}"),
            Kind::kMalformed);
}

TEST_F(JsonDecoderTest, WrongTopLevelShapeIsInvalid) {
  for (const char* body :
       {"[]", R"([{"events":[]}])", R"("events")", "42", "null", "true", R"({"events":{}})",
        R"({"events":"x"})", R"({"sessions":5})", R"({"events":[], "sessions":{}})"}) {
    auto d = decoder_.decode_ingest(body);
    ASSERT_TRUE(d.failure.has_value()) << body;
    EXPECT_EQ(d.failure->kind, Kind::kInvalid) << body;
    EXPECT_FALSE(d.failure->errors.empty()) << body;
  }
  auto d = decoder_.decode_ingest(R"({"events":5})");
  ASSERT_TRUE(d.failure.has_value());
  ASSERT_EQ(d.failure->errors.size(), 1u);
  EXPECT_EQ(d.failure->errors[0].field, "events");
}

TEST_F(JsonDecoderTest, DecodeSessionForPostAndPatch) {
  auto without_id = decoder_.decode_session(R"({"name":"n"})", false);
  ASSERT_TRUE(without_id.value.has_value());
  EXPECT_EQ(without_id.value->id, "") << "left for the caller to generate";
  EXPECT_EQ(without_id.value->name, std::optional<std::string>("n"));

  auto required = decoder_.decode_session(R"({"name":"n"})", true);
  ASSERT_TRUE(required.failure.has_value());
  EXPECT_EQ(required.failure->kind, Kind::kInvalid);
  ASSERT_FALSE(required.failure->errors.empty());
  EXPECT_EQ(required.failure->errors[0].field, "id");

  for (const char* body : {"[]", "5", "null", R"({"status":"nope"})"}) {
    auto d = decoder_.decode_session(body, false);
    ASSERT_TRUE(d.failure.has_value()) << body;
    EXPECT_EQ(d.failure->kind, Kind::kInvalid) << body;
    EXPECT_FALSE(d.failure->errors.empty()) << body;
  }
  for (const std::string body : {"{", "{\"name\":\"\xFF\"}", "{} {}", ""}) {
    auto d = decoder_.decode_session(body, false);
    ASSERT_TRUE(d.failure.has_value()) << body;
    EXPECT_EQ(d.failure->kind, Kind::kMalformed) << body;
  }
}

TEST_F(JsonDecoderTest, DecoderIsReusableAfterFailures) {
  EXPECT_EQ(failure("{\"a\":"), Kind::kMalformed);
  EXPECT_EQ(failure(repeat("[", 1000)), Kind::kMalformed);
  EXPECT_EQ(event(R"({"session_id":"after"})").session_id, "after");
}

}  // namespace
}  // namespace agentlog::ingest
