// Span -> event mapping, one fixture per convention in use (written from each project's
// published conventions), plus sessions, nesting, errors, limits and rejections. Every
// fixture is mapped from both encodings, which must give identical events.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "ingest/otlp/trace_decoder.h"
#include "testing/fake_clock.h"
#include "testing/json.h"
#include "testing/otlp.h"

namespace agentlog::ingest::otlp {
namespace {

namespace t = test::otlp;
using model::EventStatus;
using model::EventType;
using test::json_equal;
using test::ParsedJson;

constexpr int64_t kProject = 7;

std::string render(const model::Event& e) {
  std::string out = e.id + " session=" + e.session_id + " parent=" + e.parent_id.value_or("-") +
                    " type=" + std::string(model::to_string(e.type)) +
                    " name=" + e.name.value_or("-") + " agent=" + e.agent.value_or("-") +
                    " start=" + std::to_string(e.started_at) +
                    " end=" + (e.ended_at ? std::to_string(*e.ended_at) : "-") +
                    " status=" + std::string(model::to_string(e.status)) +
                    " model=" + e.model.value_or("-") + " provider=" + e.provider.value_or("-") +
                    " in=" + e.input_json.value_or("-") + " out=" + e.output_json.value_or("-") +
                    " attrs=" + e.attributes_json + " tags=" + e.tags_json;
  if (e.usage) {
    out += " usage=" + std::to_string(e.usage->input_tokens) + "/" +
           std::to_string(e.usage->output_tokens) + "/" + std::to_string(e.usage->total_tokens) +
           "/" + std::to_string(e.usage->cached_tokens);
  }
  if (e.cost_usd) out += " cost=" + std::to_string(*e.cost_usd);
  if (e.error) {
    out += " error=" + e.error->type.value_or("-") + "|" + e.error->message.value_or("-") + "|" +
           e.error->stack.value_or("-");
  }
  return out;
}

// Maps a request from protobuf, and from OTLP/JSON, and checks both agree.
MapResult map(const t::ExportRequest& req, TraceSessions* sessions = nullptr) {
  MapResult pb, js;
  std::string error;
  TraceDecoder d1(sessions), d2(nullptr);
  EXPECT_TRUE(d1.decode(req.SerializeAsString(), Encoding::kProtobuf, kProject, pb, error))
      << error;
  if (!sessions) {
    EXPECT_TRUE(d2.decode(t::to_otlp_json(req), Encoding::kJson, kProject, js, error)) << error;
    EXPECT_EQ(pb.batch.events.size(), js.batch.events.size());
    for (size_t i = 0; i < pb.batch.events.size() && i < js.batch.events.size(); ++i) {
      EXPECT_EQ(render(pb.batch.events[i]), render(js.batch.events[i]));
    }
    EXPECT_EQ(pb.rejections.size(), js.rejections.size());
  }
  for (const auto& e : pb.batch.events) {
    EXPECT_TRUE(test::is_valid_json(e.attributes_json)) << e.attributes_json;
    if (e.input_json) {
      EXPECT_TRUE(test::is_valid_json(*e.input_json)) << *e.input_json;
    }
    if (e.output_json) {
      EXPECT_TRUE(test::is_valid_json(*e.output_json)) << *e.output_json;
    }
    EXPECT_TRUE(test::is_valid_json(e.tags_json)) << e.tags_json;
  }
  return pb;
}
MapResult map(t::RequestBuilder& b, TraceSessions* sessions = nullptr) {
  return map(b.request(), sessions);
}

const model::Event& by_name(const MapResult& r, std::string_view name) {
  for (const auto& e : r.batch.events) {
    if (e.name == name) return e;
  }
  ADD_FAILURE() << "no event named " << name;
  static const model::Event kNone;
  return kNone;
}

const model::SessionPatch* patch_of(const MapResult& r, std::string_view id) {
  for (const auto& p : r.batch.sessions) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

// The value at a JSON pointer of a document, re-serialized ("" if absent).
std::string at(const std::string& json, std::string_view pointer) {
  ParsedJson j(json);
  simdjson::dom::element e;
  if (!j.ok() || j.root().at_pointer(pointer).get(e)) return "";
  return simdjson::minify(e);
}
std::string at(const std::optional<std::string>& json, std::string_view pointer) {
  return json ? at(*json, pointer) : std::string();
}

void expect_json(const std::optional<std::string>& actual, std::string_view expected) {
  ASSERT_TRUE(actual.has_value()) << "expected " << expected;
  EXPECT_TRUE(json_equal(*actual, expected))
      << "actual:   " << *actual << "\nexpected: " << expected;
}

constexpr std::string_view kTraceA = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kTraceB = "5bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kRoot = "00f067aa0ba902b7";
constexpr std::string_view kS1 = "1111111111111111";
constexpr std::string_view kS2 = "2222222222222222";
constexpr std::string_view kS3 = "3333333333333333";
constexpr std::string_view kS4 = "4444444444444444";
constexpr std::string_view kS5 = "5555555555555555";
constexpr std::string_view kS6 = "6666666666666666";
const std::string kId(std::string_view trace, std::string_view span) {
  return std::string(trace) + "-" + std::string(span);
}
uint64_t ms(int n) { return t::kT0Ns + static_cast<uint64_t>(n) * t::kMsNs; }

// ---- OpenTelemetry GenAI semantic conventions (current: v1.37+)

TEST(OtlpMapping, GenAiSemconvCurrent) {
  t::RequestBuilder b("travel-app", "opentelemetry.instrumentation.openai_v2");
  auto& agent = b.span("invoke_agent Planner", kTraceA, kRoot, {}, ms(0), ms(100));
  t::attr(agent.mutable_attributes(), "gen_ai.operation.name", "invoke_agent");
  t::attr(agent.mutable_attributes(), "gen_ai.agent.name", "Planner");
  t::attr(agent.mutable_attributes(), "gen_ai.conversation.id", "conv-1");
  t::attr(agent.mutable_attributes(), "gen_ai.usage.input_tokens",
          int64_t{999});  // a total: not counted
  auto& chat = b.span("chat gpt-4o", kTraceA, kS1, kRoot, ms(1), ms(40));
  chat.set_kind(t::PbSpan::SPAN_KIND_CLIENT);
  auto* a = chat.mutable_attributes();
  t::attr(a, "gen_ai.operation.name", "chat");
  t::attr(a, "gen_ai.provider.name", "openai");
  t::attr(a, "gen_ai.request.model", "gpt-4o");
  t::attr(a, "gen_ai.response.model", "gpt-4o-2024-08-06");
  t::attr(a, "gen_ai.request.temperature", 0.2);
  t::attr(a, "gen_ai.usage.input_tokens", int64_t{100});
  t::attr(a, "gen_ai.usage.output_tokens", int64_t{20});
  t::attr(a, "gen_ai.usage.cache_read.input_tokens", int64_t{30});
  t::attr(a, "gen_ai.system_instructions", R"([{"type":"text","content":"Be terse."}])");
  t::attr(a, "gen_ai.input.messages",
          R"([{"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]}])");
  t::attr(
      a, "gen_ai.output.messages",
      R"([{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"get_weather","arguments":{"city":"Paris"}}],"finish_reason":"tool_call"}])");
  auto& tool = b.span("execute_tool get_weather", kTraceA, kS2, kRoot, ms(41), ms(60));
  t::attr(tool.mutable_attributes(), "gen_ai.operation.name", "execute_tool");
  t::attr(tool.mutable_attributes(), "gen_ai.tool.name", "get_weather");
  t::attr(tool.mutable_attributes(), "gen_ai.tool.call.id", "c1");
  t::attr(tool.mutable_attributes(), "gen_ai.tool.call.arguments", R"({"city":"Paris"})");
  t::attr(tool.mutable_attributes(), "gen_ai.tool.call.result", R"({"temp_c":21})");
  auto& emb = b.span("embeddings text-embedding-3-small", kTraceA, kS3, kRoot, ms(61), ms(70));
  t::attr(emb.mutable_attributes(), "gen_ai.operation.name", "embeddings");
  t::attr(emb.mutable_attributes(), "gen_ai.request.model", "text-embedding-3-small");
  t::attr(emb.mutable_attributes(), "gen_ai.usage.input_tokens", int64_t{8});

  const MapResult r = map(b);
  ASSERT_EQ(r.batch.events.size(), 4u);
  EXPECT_TRUE(r.rejections.empty());

  const auto& ea = by_name(r, "invoke_agent Planner");
  EXPECT_EQ(ea.id, kId(kTraceA, kRoot));
  EXPECT_EQ(ea.type, EventType::kAgent);
  EXPECT_EQ(ea.session_id, "conv-1");
  EXPECT_EQ(ea.agent, "Planner");
  EXPECT_FALSE(ea.parent_id);
  EXPECT_FALSE(ea.usage) << "an agent span's token totals repeat its children's";
  EXPECT_EQ(at(ea.attributes_json, "/gen_ai.usage.input_tokens"), "999");
  EXPECT_EQ(at(ea.attributes_json, "/gen_ai.conversation.id"), "")
      << "mapped attributes are not repeated";

  const auto& ec = by_name(r, "chat gpt-4o");
  EXPECT_EQ(ec.type, EventType::kLlm);
  EXPECT_EQ(ec.session_id, "conv-1") << "children join their ancestor's conversation";
  EXPECT_EQ(ec.parent_id, kId(kTraceA, kRoot));
  EXPECT_EQ(ec.trace_id, std::string(kTraceA));
  EXPECT_EQ(ec.span_id, std::string(kS1));
  EXPECT_EQ(ec.agent, "Planner");
  EXPECT_EQ(ec.model, "gpt-4o-2024-08-06");
  EXPECT_EQ(ec.provider, "openai");
  ASSERT_TRUE(ec.usage);
  EXPECT_EQ(ec.usage->input_tokens, 100);
  EXPECT_EQ(ec.usage->output_tokens, 20);
  EXPECT_EQ(ec.usage->total_tokens, 120);
  EXPECT_EQ(ec.usage->cached_tokens, 30);
  EXPECT_EQ(ec.started_at, test::kT0 + 1000);
  EXPECT_EQ(ec.ended_at, test::kT0 + 40000);
  expect_json(ec.input_json, R"({"system":[{"type":"text","content":"Be terse."}],
      "messages":[{"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]}]})");
  EXPECT_EQ(at(ec.output_json, "/messages/0/parts/0/name"), R"("get_weather")");
  EXPECT_EQ(at(ec.attributes_json, "/gen_ai.request.model"), R"("gpt-4o")")
      << "the model not chosen stays";
  EXPECT_EQ(at(ec.attributes_json, "/gen_ai.request.temperature"), "0.2");
  EXPECT_EQ(at(ec.attributes_json, "/otel.span.kind"), R"("client")");
  EXPECT_EQ(at(ec.attributes_json, "/otel.resource/service.name"), R"("travel-app")");
  EXPECT_EQ(at(ec.attributes_json, "/otel.scope/name"),
            R"("opentelemetry.instrumentation.openai_v2")");

  const auto& et = by_name(r, "execute_tool get_weather");
  EXPECT_EQ(et.type, EventType::kTool);
  expect_json(et.input_json, R"({"city":"Paris"})");
  expect_json(et.output_json, R"({"temp_c":21})");

  const auto& ee = by_name(r, "embeddings text-embedding-3-small");
  EXPECT_EQ(ee.type, EventType::kEmbedding);
  ASSERT_TRUE(ee.usage);
  EXPECT_EQ(ee.usage->input_tokens, 8);

  // The finished root span ends the session's run.
  const auto* p = patch_of(r, "conv-1");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->status, model::SessionStatus::kSuccess);
  EXPECT_EQ(p->ended_at, std::optional<Micros>(test::kT0 + 100000));
  EXPECT_EQ(p->agent, std::optional<std::string>("Planner"));
  EXPECT_FALSE(p->name) << "a named conversation keeps its own name";
}

// ---- Older gen_ai conventions: prompt/completion token names, content as span events

TEST(OtlpMapping, GenAiSemconvOlderWithEvents) {
  t::RequestBuilder b("legacy-app", "opentelemetry.instrumentation.openai");
  auto& chat = b.span("chat gpt-3.5-turbo", kTraceA, kS1, {}, ms(0), ms(10));
  auto* a = chat.mutable_attributes();
  t::attr(a, "gen_ai.system", "openai");
  t::attr(a, "gen_ai.request.model", "gpt-3.5-turbo");
  t::attr(a, "gen_ai.usage.prompt_tokens", int64_t{11});
  t::attr(a, "gen_ai.usage.completion_tokens", int64_t{7});
  t::event(chat, "gen_ai.system.message", ms(0),
           {{"gen_ai.system", "openai"}, {"content", "You are terse."}});
  t::event(chat, "gen_ai.user.message", ms(0), {{"gen_ai.system", "openai"}, {"content", "Hi"}});
  t::event(chat, "gen_ai.choice", ms(10),
           {{"gen_ai.system", "openai"},
            {"finish_reason", "stop"},
            {"message", R"({"role":"assistant","content":"Hello!"})"}});
  t::event(chat, "log", ms(5), {{"note", "kept"}});
  auto& old = b.span("openai.completion", kTraceA, kS2, kS1, ms(1), ms(9));
  t::attr(old.mutable_attributes(), "gen_ai.request.model", "davinci");
  t::event(old, "gen_ai.content.prompt", ms(1),
           {{"gen_ai.prompt", R"([{"role":"user","content":"2+2?"}])"}});
  t::event(old, "gen_ai.content.completion", ms(9), {{"gen_ai.completion", "4"}});

  const MapResult r = map(b);
  const auto& e = by_name(r, "chat gpt-3.5-turbo");
  EXPECT_EQ(e.type, EventType::kLlm) << "a model and no kind attribute: an LLM call";
  EXPECT_EQ(e.provider, "openai");
  EXPECT_EQ(e.model, "gpt-3.5-turbo");
  ASSERT_TRUE(e.usage);
  EXPECT_EQ(e.usage->input_tokens, 11);
  EXPECT_EQ(e.usage->output_tokens, 7);
  EXPECT_EQ(e.usage->total_tokens, 18);
  expect_json(
      e.input_json,
      R"({"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Hi"}]})");
  expect_json(e.output_json,
              R"({"messages":[{"role":"assistant","content":"Hello!","finish_reason":"stop"}]})");
  EXPECT_EQ(at(e.attributes_json, "/otel.events/0/name"), R"("log")") << "other events are kept";
  EXPECT_EQ(at(e.attributes_json, "/otel.events/1"), "") << "message events became input/output";

  const auto& o = by_name(r, "openai.completion");
  expect_json(o.input_json, R"({"messages":[{"role":"user","content":"2+2?"}]})");
  expect_json(o.output_json, R"({"messages":[{"role":"assistant","content":"4"}]})");

  // No session attribute anywhere: the trace is the session, named after its root.
  EXPECT_EQ(e.session_id, std::string(kTraceA));
  const auto* p = patch_of(r, kTraceA);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->name, std::optional<std::string>("chat gpt-3.5-turbo"));
  EXPECT_EQ(p->agent, std::optional<std::string>("legacy-app"))
      << "no agent attribute: the service name";
}

// ---- OpenLLMetry / Traceloop

TEST(OtlpMapping, OpenLLMetry) {
  t::RequestBuilder b("joke-service", "opentelemetry.instrumentation.openai");
  auto& wf = b.span("joke_workflow.workflow", kTraceA, kRoot, {}, ms(0), ms(50));
  auto* w = wf.mutable_attributes();
  t::attr(w, "traceloop.span.kind", "workflow");
  t::attr(w, "traceloop.entity.name", "joke_workflow");
  t::attr(w, "traceloop.workflow.name", "joke_workflow");
  t::attr(w, "traceloop.association.properties.session_id", "s-42");
  t::attr(w, "traceloop.association.properties.user_id", "u-7");
  t::attr(w, "traceloop.entity.input", R"({"args":[],"kwargs":{"topic":"cats"}})");
  t::attr(w, "traceloop.entity.output", R"("Why did the cat...")");
  auto& ag = b.span("joker.agent", kTraceA, kS1, kRoot, ms(1), ms(49));
  t::attr(ag.mutable_attributes(), "traceloop.span.kind", "agent");
  t::attr(ag.mutable_attributes(), "traceloop.entity.name", "joker");
  auto& task = b.span("compose.task", kTraceA, kS2, kS1, ms(2), ms(48));
  t::attr(task.mutable_attributes(), "traceloop.span.kind", "task");
  auto& llm = b.span("openai.chat", kTraceA, kS3, kS2, ms(3), ms(30));
  auto* l = llm.mutable_attributes();
  t::attr(l, "llm.request.type", "chat");
  t::attr(l, "gen_ai.system", "OpenAI");
  t::attr(l, "gen_ai.request.model", "gpt-4o-mini");
  t::attr(l, "gen_ai.response.model", "gpt-4o-mini-2024-07-18");
  t::attr(l, "gen_ai.prompt.0.role", "system");
  t::attr(l, "gen_ai.prompt.0.content", "You tell jokes.");
  t::attr(l, "gen_ai.prompt.1.role", "user");
  t::attr(l, "gen_ai.prompt.1.content", "About cats");
  t::attr(l, "gen_ai.completion.0.role", "assistant");
  t::attr(l, "gen_ai.completion.0.finish_reason", "tool_calls");
  t::attr(l, "gen_ai.completion.0.tool_calls.0.name", "get_joke");
  t::attr(l, "gen_ai.completion.0.tool_calls.0.arguments", R"({"topic":"cats"})");
  t::attr(l, "gen_ai.usage.prompt_tokens", int64_t{25});
  t::attr(l, "gen_ai.usage.completion_tokens", int64_t{9});
  t::attr(l, "llm.usage.total_tokens", int64_t{34});
  t::attr(l, "gen_ai.usage.cache_read_input_tokens", int64_t{4});
  auto& tool = b.span("get_joke.tool", kTraceA, kS4, kS2, ms(31), ms(40));
  t::attr(tool.mutable_attributes(), "traceloop.span.kind", "tool");
  t::attr(tool.mutable_attributes(), "traceloop.entity.name", "get_joke");
  t::attr(tool.mutable_attributes(), "traceloop.entity.input", R"({"args":["cats"],"kwargs":{}})");

  const MapResult r = map(b);
  ASSERT_EQ(r.batch.events.size(), 5u);
  for (const auto& e : r.batch.events) EXPECT_EQ(e.session_id, "s-42") << e.name.value_or("");
  const auto& ew = by_name(r, "joke_workflow.workflow");
  EXPECT_EQ(ew.type, EventType::kStep);
  EXPECT_EQ(ew.agent, "joke-service");
  expect_json(ew.input_json, R"({"args":[],"kwargs":{"topic":"cats"}})");
  expect_json(ew.output_json, R"("Why did the cat...")");
  EXPECT_EQ(by_name(r, "joker.agent").type, EventType::kAgent);
  EXPECT_EQ(by_name(r, "joker.agent").agent, "joker");
  EXPECT_EQ(by_name(r, "compose.task").type, EventType::kStep);
  EXPECT_EQ(by_name(r, "compose.task").agent, "joker") << "inherited from the enclosing agent";
  const auto& el = by_name(r, "openai.chat");
  EXPECT_EQ(el.type, EventType::kLlm);
  EXPECT_EQ(el.agent, "joker");
  EXPECT_EQ(el.model, "gpt-4o-mini-2024-07-18");
  EXPECT_EQ(el.provider, "OpenAI");
  ASSERT_TRUE(el.usage);
  EXPECT_EQ(el.usage->input_tokens, 25);
  EXPECT_EQ(el.usage->output_tokens, 9);
  EXPECT_EQ(el.usage->total_tokens, 34);
  EXPECT_EQ(el.usage->cached_tokens, 4);
  expect_json(
      el.input_json,
      R"({"messages":[{"role":"system","content":"You tell jokes."},{"role":"user","content":"About cats"}]})");
  expect_json(el.output_json, R"({"messages":[{"role":"assistant","finish_reason":"tool_calls",
      "tool_calls":[{"name":"get_joke","arguments":"{\"topic\":\"cats\"}"}]}]})");
  EXPECT_EQ(at(el.attributes_json, "/gen_ai.prompt.0.role"), "")
      << "flattened messages are consumed";
  const auto& et = by_name(r, "get_joke.tool");
  EXPECT_EQ(et.type, EventType::kTool);
  expect_json(et.input_json, R"({"args":["cats"],"kwargs":{}})");

  const auto* p = patch_of(r, "s-42");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->user_id, std::optional<std::string>("u-7"));
  EXPECT_EQ(p->status, model::SessionStatus::kSuccess);
}

// ---- OpenInference (Arize Phoenix; LangChain / LangGraph, LlamaIndex, OpenAI Agents SDK...)

TEST(OtlpMapping, OpenInference) {
  t::RequestBuilder b("rag-app", "openinference.instrumentation.langchain");
  auto& chain = b.span("LangGraph", kTraceA, kRoot, {}, ms(0), ms(90));
  auto* c = chain.mutable_attributes();
  t::attr(c, "openinference.span.kind", "CHAIN");
  t::attr(c, "input.value", R"({"messages":[["user","What is the weather in Paris?"]]})");
  t::attr(c, "input.mime_type", "application/json");
  t::attr(c, "output.value", "It is sunny.");
  t::attr(c, "output.mime_type", "text/plain");
  t::attr(c, "metadata", R"({"thread_id":"thread-9","langgraph_step":1})");
  auto& ag = b.span("agent", kTraceA, kS1, kRoot, ms(1), ms(80));
  t::attr(ag.mutable_attributes(), "openinference.span.kind", "AGENT");
  auto& llm = b.span("ChatOpenAI", kTraceA, kS2, kS1, ms(2), ms(40));
  auto* l = llm.mutable_attributes();
  t::attr(l, "openinference.span.kind", "LLM");
  t::attr(l, "llm.model_name", "gpt-4o");
  t::attr(l, "llm.provider", "openai");
  t::attr(l, "llm.system", "openai");
  t::attr(l, "llm.invocation_parameters", R"({"temperature":0})");
  t::attr(l, "input.value",
          R"({"messages":[{"role":"user","content":"What is the weather in Paris?"}]})");
  t::attr(l, "input.mime_type", "application/json");
  t::attr(l, "llm.input_messages.0.message.role", "system");
  t::attr(l, "llm.input_messages.0.message.content", "Use tools.");
  t::attr(l, "llm.input_messages.1.message.role", "user");
  t::attr(l, "llm.input_messages.1.message.contents.0.message_content.type", "text");
  t::attr(l, "llm.input_messages.1.message.contents.0.message_content.text",
          "What is the weather in Paris?");
  t::attr(l, "llm.output_messages.0.message.role", "assistant");
  t::attr(l, "llm.output_messages.0.message.tool_calls.0.tool_call.function.name", "search");
  t::attr(l, "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
          R"({"q":"Paris weather"})");
  t::attr(l, "llm.token_count.prompt", int64_t{50});
  t::attr(l, "llm.token_count.completion", int64_t{10});
  t::attr(l, "llm.token_count.total", int64_t{60});
  t::attr(l, "llm.token_count.prompt_details.cache_read", int64_t{5});
  t::attr(l, "llm.cost.total", 0.0012);
  t::attr(l, "metadata", R"({"thread_id":"thread-9"})");
  auto& tool = b.span("search", kTraceA, kS3, kS1, ms(41), ms(60));
  t::attr(tool.mutable_attributes(), "openinference.span.kind", "TOOL");
  t::attr(tool.mutable_attributes(), "tool.name", "search");
  t::attr(tool.mutable_attributes(), "input.value", R"({"q": "Paris weather"})");
  t::attr(tool.mutable_attributes(), "output.value", "Sunny, 21°C");
  for (auto [name, kind, span] :
       {std::tuple{"retrieve", "RETRIEVER", kS4}, std::tuple{"rerank", "RERANKER", kS5},
        std::tuple{"embed", "EMBEDDING", kS6}}) {
    auto& s = b.span(name, kTraceA, span, kS1, ms(61), ms(70));
    t::attr(s.mutable_attributes(), "openinference.span.kind", kind);
  }
  t::attr(b.request()
              .mutable_resource_spans(0)
              ->mutable_scope_spans(0)
              ->mutable_spans(6)
              ->mutable_attributes(),
          "embedding.model_name", "text-embedding-3-small");
  auto& guard = b.span("moderation", kTraceB, kRoot, {}, ms(91), ms(95));
  t::attr(guard.mutable_attributes(), "openinference.span.kind", "GUARDRAIL");
  t::attr(guard.mutable_attributes(), "session.id", "user-session-1");  // using_session()
  t::attr(guard.mutable_attributes(), "user.id", "alice");
  t::attr(guard.mutable_attributes(), "tag.tags", std::vector<std::string>{"prod", "eu"});

  const MapResult r = map(b);
  ASSERT_EQ(r.batch.events.size(), 8u);
  const auto& ec = by_name(r, "LangGraph");
  EXPECT_EQ(ec.type, EventType::kStep);
  EXPECT_EQ(ec.session_id, "thread-9") << "LangGraph's thread id (OpenInference metadata)";
  expect_json(ec.input_json, R"({"messages":[["user","What is the weather in Paris?"]]})");
  expect_json(ec.output_json, R"("It is sunny.")");
  EXPECT_EQ(by_name(r, "agent").type, EventType::kAgent);
  const auto& el = by_name(r, "ChatOpenAI");
  EXPECT_EQ(el.type, EventType::kLlm);
  EXPECT_EQ(el.session_id, "thread-9");
  EXPECT_EQ(el.model, "gpt-4o");
  EXPECT_EQ(el.provider, "openai");
  ASSERT_TRUE(el.usage);
  EXPECT_EQ(el.usage->input_tokens, 50);
  EXPECT_EQ(el.usage->output_tokens, 10);
  EXPECT_EQ(el.usage->total_tokens, 60);
  EXPECT_EQ(el.usage->cached_tokens, 5);
  ASSERT_TRUE(el.cost_usd);
  EXPECT_DOUBLE_EQ(*el.cost_usd, 0.0012);
  expect_json(el.input_json, R"({"messages":[{"role":"system","content":"Use tools."},
      {"role":"user","contents":[{"type":"text","text":"What is the weather in Paris?"}]}]})");
  expect_json(el.output_json, R"({"messages":[{"role":"assistant",
      "tool_calls":[{"function":{"name":"search","arguments":"{\"q\":\"Paris weather\"}"}}]}]})");
  EXPECT_NE(at(el.attributes_json, "/input.value"), "") << "the raw request stays in attributes";
  const auto& et = by_name(r, "search");
  EXPECT_EQ(et.type, EventType::kTool);
  expect_json(et.input_json, R"({"q":"Paris weather"})");
  expect_json(et.output_json, R"("Sunny, 21°C")");
  EXPECT_EQ(by_name(r, "retrieve").type, EventType::kRetrieval);
  EXPECT_EQ(by_name(r, "rerank").type, EventType::kRetrieval);
  EXPECT_EQ(by_name(r, "embed").type, EventType::kEmbedding);
  EXPECT_EQ(by_name(r, "embed").model, "text-embedding-3-small");
  const auto& eg = by_name(r, "moderation");
  EXPECT_EQ(eg.type, EventType::kStep);
  EXPECT_EQ(eg.session_id, "user-session-1");
  EXPECT_EQ(eg.tags_json, R"(["prod","eu"])");
  const auto* p = patch_of(r, "user-session-1");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->user_id, std::optional<std::string>("alice"));
}

// ---- Vercel AI SDK (experimental_telemetry)

TEST(OtlpMapping, VercelAiSdk) {
  t::RequestBuilder b("next-app", "ai");
  auto& outer = b.span("ai.generateText", kTraceA, kRoot, {}, ms(0), ms(60));
  auto* o = outer.mutable_attributes();
  t::attr(o, "operation.name", "ai.generateText weather-fn");
  t::attr(o, "ai.operationId", "ai.generateText");
  t::attr(o, "ai.model.id", "gpt-4o");
  t::attr(o, "ai.model.provider", "openai.chat");
  t::attr(o, "ai.telemetry.functionId", "weather-fn");
  t::attr(o, "ai.telemetry.metadata.sessionId", "chat-123");
  t::attr(o, "ai.telemetry.metadata.userId", "user-9");
  t::attr(o, "ai.prompt", R"({"system":"Be brief.","prompt":"Weather in Paris?"})");
  t::attr(o, "ai.response.text", "Sunny.");
  t::attr(o, "ai.usage.promptTokens", int64_t{40});
  t::attr(o, "ai.usage.completionTokens", int64_t{6});
  auto& gen = b.span("ai.generateText.doGenerate", kTraceA, kS1, kRoot, ms(1), ms(30));
  auto* g = gen.mutable_attributes();
  t::attr(g, "operation.name", "ai.generateText.doGenerate weather-fn");
  t::attr(g, "ai.operationId", "ai.generateText.doGenerate");
  t::attr(g, "ai.model.id", "gpt-4o");
  t::attr(g, "ai.model.provider", "openai.chat");
  t::attr(g, "gen_ai.system", "openai.chat");
  t::attr(g, "gen_ai.request.model", "gpt-4o");
  t::attr(g, "gen_ai.response.model", "gpt-4o-2024-08-06");
  t::attr(g, "ai.telemetry.metadata.sessionId", "chat-123");
  t::attr(
      g, "ai.prompt.messages",
      R"([{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Weather in Paris?"}]}])");
  t::attr(
      g, "ai.response.toolCalls",
      R"([{"toolCallType":"function","toolCallId":"call_1","toolName":"weather","args":"{\"city\":\"Paris\"}"}])");
  t::attr(g, "ai.usage.promptTokens", int64_t{40});
  t::attr(g, "ai.usage.completionTokens", int64_t{6});
  t::attr(g, "gen_ai.usage.input_tokens", int64_t{40});
  t::attr(g, "gen_ai.usage.output_tokens", int64_t{6});
  auto& tool = b.span("ai.toolCall", kTraceA, kS2, kRoot, ms(31), ms(40));
  t::attr(tool.mutable_attributes(), "ai.operationId", "ai.toolCall");
  t::attr(tool.mutable_attributes(), "ai.toolCall.name", "weather");
  t::attr(tool.mutable_attributes(), "ai.toolCall.id", "call_1");
  t::attr(tool.mutable_attributes(), "ai.toolCall.args", R"({"city":"Paris"})");
  t::attr(tool.mutable_attributes(), "ai.toolCall.result", R"({"sky":"clear"})");
  auto& emb = b.span("ai.embed.doEmbed", kTraceB, kS3, {}, ms(61), ms(62));
  t::attr(emb.mutable_attributes(), "ai.operationId", "ai.embed.doEmbed");
  t::attr(emb.mutable_attributes(), "ai.model.id", "text-embedding-3-small");
  t::attr(emb.mutable_attributes(), "ai.usage.tokens", int64_t{5});
  t::attr(emb.mutable_attributes(), "ai.value", R"("hello")");

  const MapResult r = map(b);
  const auto& eo = by_name(r, "ai.generateText");
  EXPECT_EQ(eo.type, EventType::kStep);
  EXPECT_EQ(eo.session_id, "chat-123");
  EXPECT_FALSE(eo.usage) << "the generateText span repeats its doGenerate steps' usage";
  EXPECT_EQ(at(eo.attributes_json, "/ai.usage.promptTokens"), "40");
  expect_json(eo.input_json, R"({"system":"Be brief.","prompt":"Weather in Paris?"})");
  expect_json(eo.output_json, R"({"messages":[{"role":"assistant","content":"Sunny."}]})");
  const auto& eg = by_name(r, "ai.generateText.doGenerate");
  EXPECT_EQ(eg.type, EventType::kLlm);
  EXPECT_EQ(eg.provider, "openai");
  EXPECT_EQ(eg.model, "gpt-4o-2024-08-06");
  ASSERT_TRUE(eg.usage);
  EXPECT_EQ(eg.usage->input_tokens, 40);
  EXPECT_EQ(eg.usage->output_tokens, 6);
  EXPECT_EQ(at(eg.input_json, "/messages/1/content/0/text"), R"("Weather in Paris?")");
  EXPECT_EQ(at(eg.output_json, "/messages/0/tool_calls/0/toolName"), R"("weather")");
  const auto& et = by_name(r, "ai.toolCall");
  EXPECT_EQ(et.type, EventType::kTool);
  expect_json(et.input_json, R"({"city":"Paris"})");
  expect_json(et.output_json, R"({"sky":"clear"})");
  const auto& ee = by_name(r, "ai.embed.doEmbed");
  EXPECT_EQ(ee.type, EventType::kEmbedding);
  expect_json(ee.input_json, R"("hello")");
  const auto* p = patch_of(r, "chat-123");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->user_id, std::optional<std::string>("user-9"));
}

// ---- Pydantic AI through Logfire (instrumentation versions 1 and 2)

TEST(OtlpMapping, LogfirePydanticAi) {
  t::RequestBuilder b("support-bot", "pydantic-ai");
  auto& run = b.span("agent run", kTraceA, kRoot, {}, ms(0), ms(100));
  auto* a = run.mutable_attributes();
  t::attr(a, "agent_name", "support");
  t::attr(a, "model_name", "gpt-4o");
  t::attr(a, "logfire.msg", "support run");
  t::attr(a, "logfire.span_type", "span");
  t::attr(a, "gen_ai.usage.input_tokens", int64_t{200});
  t::attr(a, "pydantic_ai.all_messages",
          R"([{"role":"user","parts":[{"type":"text","content":"Refund?"}]}])");
  t::attr(a, "final_result", "Refunds take 5 days.");
  auto& chat = b.span("chat gpt-4o", kTraceA, kS1, kRoot, ms(1), ms(40));
  auto* c = chat.mutable_attributes();
  t::attr(c, "gen_ai.operation.name", "chat");
  t::attr(c, "gen_ai.system", "openai");
  t::attr(c, "gen_ai.request.model", "gpt-4o");
  t::attr(c, "gen_ai.usage.input_tokens", int64_t{150});
  t::attr(c, "gen_ai.usage.output_tokens", int64_t{20});
  t::attr(
      c, "events",
      R"([{"event.name":"gen_ai.system.message","content":"Be helpful.","role":"system","gen_ai.system":"openai"},
      {"event.name":"gen_ai.user.message","content":"Refund?","role":"user","gen_ai.system":"openai"},
      {"event.name":"gen_ai.choice","index":0,"message":{"role":"assistant","content":"Let me check."},"gen_ai.system":"openai"}])");
  auto& tool = b.span("running tool", kTraceA, kS2, kRoot, ms(41), ms(50));
  t::attr(tool.mutable_attributes(), "gen_ai.tool.name", "lookup_policy");
  t::attr(tool.mutable_attributes(), "gen_ai.tool.call.id", "call_9");
  t::attr(tool.mutable_attributes(), "tool_arguments", R"({"topic":"refunds"})");
  t::attr(tool.mutable_attributes(), "tool_response", "5 days");
  auto& pending = b.span("agent run", kTraceA, kS3, kRoot, ms(0), ms(0));
  t::attr(pending.mutable_attributes(), "logfire.span_type", "pending_span");
  t::attr(pending.mutable_attributes(), "logfire.pending_parent_id", std::string_view(kRoot));

  const MapResult r = map(b);
  EXPECT_EQ(r.skipped, 1u) << "Logfire's pending-span placeholders are not stored";
  ASSERT_EQ(r.batch.events.size(), 3u);
  const auto& er = r.batch.events[0];
  EXPECT_EQ(er.name, "agent run");
  EXPECT_EQ(er.type, EventType::kAgent);
  EXPECT_EQ(er.agent, "support");
  EXPECT_EQ(er.model, "gpt-4o");
  EXPECT_FALSE(er.usage);
  expect_json(er.input_json,
              R"({"messages":[{"role":"user","parts":[{"type":"text","content":"Refund?"}]}]})");
  expect_json(er.output_json, R"("Refunds take 5 days.")");
  const auto& ec = by_name(r, "chat gpt-4o");
  EXPECT_EQ(ec.type, EventType::kLlm);
  EXPECT_EQ(ec.agent, "support");
  ASSERT_TRUE(ec.usage);
  EXPECT_EQ(ec.usage->input_tokens, 150);
  expect_json(
      ec.input_json,
      R"({"messages":[{"content":"Be helpful.","role":"system"},{"content":"Refund?","role":"user"}]})");
  expect_json(ec.output_json,
              R"({"messages":[{"index":0,"role":"assistant","content":"Let me check."}]})");
  EXPECT_EQ(at(ec.attributes_json, "/events"), "") << "the event list became input/output";
  const auto& et = by_name(r, "running tool");
  EXPECT_EQ(et.type, EventType::kTool);
  expect_json(et.input_json, R"({"topic":"refunds"})");
  expect_json(et.output_json, R"("5 days")");
}

// ---- OpenAI Agents SDK (Logfire's instrument_openai_agents span names)

TEST(OtlpMapping, OpenAiAgentsSdk) {
  t::RequestBuilder b("agents-app", "logfire.openai_agents");
  auto& wf = b.span("Agent workflow", kTraceA, kRoot, {}, ms(0), ms(100));
  t::attr(wf.mutable_attributes(), "group_id", "conversation-5");
  auto& triage = b.span("Agent run: 'Triage'", kTraceA, kS1, kRoot, ms(1), ms(30));
  t::attr(triage.mutable_attributes(), "agent_name", "Triage");
  t::attr(triage.mutable_attributes(), "handoffs", std::vector<std::string>{"Billing"});
  auto& resp = b.span("Responses API with 'gpt-4o'", kTraceA, kS2, kS1, ms(2), ms(20));
  t::attr(resp.mutable_attributes(), "gen_ai.system", "openai");
  t::attr(resp.mutable_attributes(), "gen_ai.request.model", "gpt-4o");
  t::attr(resp.mutable_attributes(), "gen_ai.response.model", "gpt-4o-2024-08-06");
  t::attr(resp.mutable_attributes(), "gen_ai.usage.input_tokens", int64_t{80});
  t::attr(resp.mutable_attributes(), "gen_ai.usage.output_tokens", int64_t{12});
  auto& handoff = b.span("Handoff: Triage → Billing", kTraceA, kS3, kS1, ms(21), ms(22));
  t::attr(handoff.mutable_attributes(), "from_agent", "Triage");
  auto& billing = b.span("Agent run: 'Billing'", kTraceA, kS4, kRoot, ms(31), ms(90));
  t::attr(billing.mutable_attributes(), "agent_name", "Billing");
  auto& fn = b.span("Function: refund_order", kTraceA, kS5, kS4, ms(40), ms(50));
  t::attr(fn.mutable_attributes(), "input", R"({"order_id":"A-1"})");
  t::attr(fn.mutable_attributes(), "output", "refunded");
  auto& guard = b.span("Guardrail 'pii' triggered=False", kTraceA, kS6, kS4, ms(51), ms(52));
  (void)guard;

  const MapResult r = map(b);
  EXPECT_EQ(by_name(r, "Agent workflow").type, EventType::kCustom);
  EXPECT_EQ(by_name(r, "Agent run: 'Triage'").type, EventType::kAgent);
  const auto& er = by_name(r, "Responses API with 'gpt-4o'");
  EXPECT_EQ(er.type, EventType::kLlm);
  EXPECT_EQ(er.agent, "Triage");
  ASSERT_TRUE(er.usage);
  EXPECT_EQ(er.usage->total_tokens, 92);
  EXPECT_EQ(by_name(r, "Handoff: Triage → Billing").type, EventType::kAction);
  const auto& ef = by_name(r, "Function: refund_order");
  EXPECT_EQ(ef.type, EventType::kTool);
  EXPECT_EQ(ef.agent, "Billing");
  expect_json(ef.input_json, R"({"order_id":"A-1"})");
  expect_json(ef.output_json, R"("refunded")");
  EXPECT_EQ(by_name(r, "Guardrail 'pii' triggered=False").type, EventType::kStep);
}

// ---- Langfuse and Laminar attributes

TEST(OtlpMapping, LangfuseAndLaminarAttributes) {
  t::RequestBuilder b;
  auto& gen = b.span("generation", kTraceA, kS1, {}, ms(0), ms(5));
  t::attr(gen.mutable_attributes(), "langfuse.observation.type", "generation");
  t::attr(gen.mutable_attributes(), "langfuse.session.id", "lf-session");
  t::attr(gen.mutable_attributes(), "langfuse.user.id", "lf-user");
  t::attr(gen.mutable_attributes(), "langfuse.trace.tags", std::vector<std::string>{"beta"});
  auto& ev = b.span("event", kTraceB, kS2, {}, ms(0), 0);
  t::attr(ev.mutable_attributes(), "langfuse.observation.type", "event");
  t::attr(ev.mutable_attributes(), "lmnr.association.properties.session_id", "lmnr-session");
  const MapResult r = map(b);
  const auto& eg = by_name(r, "generation");
  EXPECT_EQ(eg.type, EventType::kLlm);
  EXPECT_EQ(eg.session_id, "lf-session");
  EXPECT_EQ(eg.tags_json, R"(["beta"])");
  const auto& ee = by_name(r, "event");
  EXPECT_EQ(ee.type, EventType::kLog);
  EXPECT_EQ(ee.session_id, "lmnr-session");
  EXPECT_EQ(ee.status, EventStatus::kRunning) << "no end time: still running";
  EXPECT_FALSE(ee.ended_at);
}

// ---- sessions

TEST(OtlpMapping, SessionAttributesFollowTheDocumentedPrecedence) {
  t::RequestBuilder b;
  auto& s = b.span("s", kTraceA, kS1);
  t::attr(s.mutable_attributes(), "traceloop.association.properties.session_id", "d");
  t::attr(s.mutable_attributes(), "gen_ai.conversation.id", "c");
  t::attr(s.mutable_attributes(), "langfuse.session.id", "b");
  t::attr(s.mutable_attributes(), "session.id", "a");
  EXPECT_EQ(map(b).batch.events[0].session_id, "a");
  t::RequestBuilder b2;
  auto& s2 = b2.span("s", kTraceA, kS1);
  t::attr(s2.mutable_attributes(), "ai.telemetry.metadata.sessionId", "e");
  t::attr(s2.mutable_attributes(), "gen_ai.conversation.id", int64_t{77});
  EXPECT_EQ(map(b2).batch.events[0].session_id, "77") << "integer ids are accepted";
}

TEST(OtlpMapping, SpansWithoutASessionJoinTheSessionTheirTraceNames) {
  t::RequestBuilder b;
  // The child arrives first, the root (with the session) last, in another scope.
  b.span("child", kTraceA, kS1, kRoot, ms(1), ms(2));
  b.resource("other-service");
  auto& root = b.span("root", kTraceA, kRoot, {}, ms(0), ms(3));
  t::attr(root.mutable_attributes(), "session.id", "named");
  b.span("sibling-trace", kTraceB, kS2, {}, ms(0), ms(1));
  const MapResult r = map(b);
  EXPECT_EQ(by_name(r, "child").session_id, "named");
  EXPECT_EQ(by_name(r, "sibling-trace").session_id, std::string(kTraceB));
}

TEST(OtlpMapping, LaterRequestsOfATraceJoinItsSession) {
  TraceSessions sessions;
  t::RequestBuilder first;
  auto& root = first.span("root", kTraceA, kRoot, {}, ms(0), ms(10));
  t::attr(root.mutable_attributes(), "session.id", "named");
  EXPECT_EQ(map(first, &sessions).batch.events[0].session_id, "named");
  t::RequestBuilder later;
  later.span("late child", kTraceA, kS1, kRoot, ms(5), ms(6));
  EXPECT_EQ(map(later, &sessions).batch.events[0].session_id, "named");
  // Without the cache (a restart) the late span falls back to its trace.
  EXPECT_EQ(map(later).batch.events[0].session_id, std::string(kTraceA));
  // Another project does not see this project's traces.
  TraceDecoder other(&sessions);
  MapResult r;
  std::string error;
  ASSERT_TRUE(other.decode(later.protobuf(), Encoding::kProtobuf, kProject + 1, r, error));
  EXPECT_EQ(r.batch.events[0].session_id, std::string(kTraceA));
}

// Trace ids that vary in one part only (AWS X-Ray ids start with their second; a load
// generator may vary one half) still spread over the cache's buckets.
TEST(OtlpMapping, TraceHashUsesEveryByteOfTheTraceId) {
  constexpr size_t kBuckets = 10007;  // prime, as std::unordered_map's bucket counts
  std::mt19937_64 rng(7);
  for (const auto& [from, to] : {std::pair{0, 8}, std::pair{8, 16}, std::pair{4, 16}, std::pair{0, 4}}) {
    TraceId fixed{};
    for (auto& b : fixed) b = static_cast<uint8_t>(rng());
    std::set<size_t> buckets;
    for (int i = 0; i < 10000; ++i) {
      TraceId id = fixed;
      for (int k = from; k < to; ++k) id[k] = static_cast<uint8_t>(rng());
      buckets.insert(trace_hash(kProject, id) % kBuckets);
    }
    // Random hashes fill ~6,300 of the buckets (10,007 * (1 - 1/e)); bytes 0..4 vary
    // over at most 10,000 values as well.
    EXPECT_GT(buckets.size(), 5800u) << "random bytes " << from << ".." << to;
  }
}

TEST(OtlpMapping, ASessionNamedAfterChildrenWereStoredAsksForThemToBeMoved) {
  TraceSessions sessions;
  t::RequestBuilder children;  // exported first, no session attribute
  children.span("child", kTraceA, kS1, kRoot, ms(1), ms(2));
  const MapResult first = map(children, &sessions);
  EXPECT_EQ(first.batch.events[0].session_id, std::string(kTraceA));
  EXPECT_TRUE(first.moves.empty());
  // It reports the trace it filed under the fallback: were the root mapped, committed and
  // moved while this request still waited for its commit, the root's move would miss these
  // spans, and the caller moves them after this commit instead.
  ASSERT_EQ(first.fallbacks.size(), 1u);
  EXPECT_EQ(first.fallbacks[0].second, std::string(kTraceA));
  t::RequestBuilder root;  // the root names the session
  auto& r = root.span("root", kTraceA, kRoot, {}, ms(0), ms(3));
  t::attr(r.mutable_attributes(), "session.id", "named");
  const MapResult second = map(root, &sessions);
  EXPECT_EQ(second.batch.events[0].session_id, "named");
  ASSERT_EQ(second.moves.size(), 1u);
  EXPECT_EQ(second.moves[0].first, std::string(kTraceA));
  EXPECT_EQ(second.moves[0].second, "named");
  // Later spans join directly; nothing more to move.
  const MapResult third = map(children, &sessions);
  EXPECT_EQ(third.batch.events[0].session_id, "named");
  EXPECT_TRUE(third.moves.empty());
  EXPECT_TRUE(third.fallbacks.empty());
  // What the caller finds for the first request's fallback after its commit.
  const auto known = sessions.find(kProject, first.fallbacks[0].first);
  ASSERT_TRUE(known.has_value());
  EXPECT_FALSE(known->fallback);
  EXPECT_EQ(known->session, "named");
}

TEST(OtlpMapping, ReSentSpansMapToTheSameIds) {
  t::RequestBuilder b;
  b.span("root", kTraceA, kRoot, {}, ms(0), ms(10));
  b.span("child", kTraceA, kS1, kRoot, ms(1), ms(2));
  const MapResult r1 = map(b), r2 = map(b);
  ASSERT_EQ(r1.batch.events.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(render(r1.batch.events[i]), render(r2.batch.events[i]));
  EXPECT_EQ(by_name(r1, "child").parent_id, kId(kTraceA, kRoot));
}

// ---- errors, times, status

TEST(OtlpMapping, ErrorsComeFromStatusAndTheLastExceptionEvent) {
  t::RequestBuilder b;
  auto& s = b.span("root", kTraceA, kRoot, {}, ms(0), ms(10));
  s.mutable_status()->set_code(t::pb_trace::Status::STATUS_CODE_ERROR);
  s.mutable_status()->set_message("Tool failed");
  t::event(s, "exception", ms(5), {{"exception.type", "KeyError"}, {"exception.message", "first"}});
  t::event(s, "exception", ms(9),
           {{"exception.type", "TimeoutError"},
            {"exception.message", "no answer in 30s"},
            {"exception.stacktrace", "Traceback (most recent call last):\n  ...\nTimeoutError"}});
  auto& handled = b.span("handled", kTraceA, kS1, kRoot, ms(1), ms(2));
  t::event(handled, "exception", ms(1), {{"exception.type", "ValueError"}});
  auto& typed = b.span("typed", kTraceA, kS2, kRoot, ms(3), ms(4));
  typed.mutable_status()->set_code(t::pb_trace::Status::STATUS_CODE_ERROR);
  t::attr(typed.mutable_attributes(), "error.type", "rate_limited");

  const MapResult r = map(b);
  const auto& e = by_name(r, "root");
  EXPECT_EQ(e.status, EventStatus::kError);
  ASSERT_TRUE(e.error);
  EXPECT_EQ(e.error->type, "TimeoutError");
  EXPECT_EQ(e.error->message, "no answer in 30s");
  EXPECT_EQ(e.error->stack, "Traceback (most recent call last):\n  ...\nTimeoutError");
  EXPECT_EQ(at(e.attributes_json, "/otel.events/0/attributes/exception.message"), R"("first")");
  EXPECT_EQ(at(e.attributes_json, "/otel.events/1"), "");
  const auto& h = by_name(r, "handled");
  EXPECT_EQ(h.status, EventStatus::kOk) << "a recorded exception without ERROR status was handled";
  EXPECT_FALSE(h.error);
  EXPECT_EQ(at(h.attributes_json, "/otel.events/0/name"), R"("exception")");
  const auto& ty = by_name(r, "typed");
  ASSERT_TRUE(ty.error);
  EXPECT_EQ(ty.error->type, "rate_limited");
  EXPECT_FALSE(ty.error->message);
  const auto* p = patch_of(r, kTraceA);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->status, model::SessionStatus::kFailure);
}

TEST(OtlpMapping, TimesKeepMicroseconds) {
  t::RequestBuilder b;
  b.span("s", kTraceA, kS1, {}, 1767225600123456789ULL, 1767225600123457999ULL);
  const MapResult r = map(b);
  const auto& e = r.batch.events[0];
  EXPECT_EQ(e.started_at, 1767225600123456LL);
  EXPECT_EQ(e.ended_at, std::optional<Micros>(1767225600123457LL));
}

// ---- attributes

TEST(OtlpMapping, UnknownAttributesAreKeptSortedFirstDuplicateWins) {
  t::RequestBuilder b;
  t::attr(b.resource_attrs(), "host.name", "box-1");
  auto& s = b.span("s", kTraceA, kS1);
  s.set_trace_state("congo=t61rcWkgMzE");
  auto* a = s.mutable_attributes();
  t::attr(a, "zeta", "z");
  t::attr(a, "alpha", int64_t{1});
  t::attr(a, "alpha", int64_t{2});
  t::attr(a, "http.request.method", "POST");
  t::attr(a, "ratio", 0.5);
  t::attr(a, "flag", false);
  t::attr(a, "inf", std::numeric_limits<double>::infinity());
  auto* bytes = a->Add();
  bytes->set_key("raw");
  bytes->mutable_value()->set_bytes_value("\x01\x02");
  auto* link = s.add_links();
  link->set_trace_id(t::bytes_of_hex(kTraceB));
  link->set_span_id(t::bytes_of_hex(kS2));
  const MapResult r = map(b);
  const auto& e = r.batch.events[0];
  EXPECT_EQ(at(e.attributes_json, "/alpha"), "1");
  EXPECT_EQ(at(e.attributes_json, "/zeta"), R"("z")");
  EXPECT_EQ(at(e.attributes_json, "/ratio"), "0.5");
  EXPECT_EQ(at(e.attributes_json, "/flag"), "false");
  EXPECT_EQ(at(e.attributes_json, "/inf"), R"("Infinity")");
  EXPECT_EQ(at(e.attributes_json, "/raw"), R"("AQI")");
  EXPECT_EQ(at(e.attributes_json, "/otel.trace_state"), R"("congo=t61rcWkgMzE")");
  EXPECT_EQ(at(e.attributes_json, "/otel.links/0/trace_id"), "\"" + std::string(kTraceB) + "\"");
  EXPECT_EQ(at(e.attributes_json, "/otel.resource/host.name"), R"("box-1")");
  EXPECT_LT(e.attributes_json.find("\"alpha\""), e.attributes_json.find("\"zeta\""));
  EXPECT_EQ(e.attributes_json.find("\"alpha\"", e.attributes_json.find("\"alpha\"") + 1),
            std::string::npos);
}

TEST(OtlpMapping, InvalidUtf8BecomesReplacementCharacters) {
  t::RequestBuilder b;
  auto& s = b.span("bad \xff name", kTraceA, kS1);
  t::attr(s.mutable_attributes(), "k\xfe", "v\xc3");
  // (The OTLP/JSON form cannot carry these bytes, so only protobuf is mapped here.)
  TraceSessions protobuf_only;
  const MapResult r = map(b, &protobuf_only);
  ASSERT_EQ(r.batch.events.size(), 1u);
  EXPECT_TRUE(test::is_valid_json(r.batch.events[0].attributes_json));
}

TEST(OtlpMapping, OversizedPayloadsAreShortenedNotDropped) {
  t::RequestBuilder b;
  auto& s = b.span("big", kTraceA, kS1);
  const std::string huge(1200 * 1024, 'x');
  t::attr(s.mutable_attributes(), "gen_ai.operation.name", "chat");
  t::attr(s.mutable_attributes(), "gen_ai.usage.input_tokens", int64_t{5});
  t::attr(s.mutable_attributes(), "input.value", std::string_view(huge));
  t::attr(s.mutable_attributes(), "blob", std::string_view(huge));
  const MapResult r = map(b);
  ASSERT_EQ(r.batch.events.size(), 1u);
  const auto& e = r.batch.events[0];
  ASSERT_TRUE(e.input_json);
  EXPECT_LE(e.input_json->size(), model::kMaxPayloadBytes);
  EXPECT_EQ(at(e.input_json, "/truncated"), "true");
  EXPECT_LE(e.attributes_json.size(), model::kMaxPayloadBytes);
  EXPECT_NE(at(e.attributes_json, "/blob").find("truncated"), std::string::npos);
  ASSERT_TRUE(e.usage);
  EXPECT_EQ(e.usage->input_tokens, 5);
}

TEST(OtlpMapping, LongNamesAreCutAtACharacterBoundary) {
  t::RequestBuilder b;
  std::string name(1023, 'a');
  name += "é";  // a two-byte character across the 1024-byte limit
  b.span(name, kTraceA, kS1);
  const MapResult r = map(b);
  const auto& e = r.batch.events[0];
  EXPECT_EQ(e.name->size(), 1023u);
}

// ---- rejections (partial success)

TEST(OtlpMapping, InvalidSpansAreRejectedAndTheOthersKept) {
  t::RequestBuilder b;
  b.span("ok", kTraceA, kS1);
  b.span("zero trace", "00000000000000000000000000000000", kS1);
  b.span("zero span", kTraceA, "0000000000000000");
  b.span("no start", kTraceA, kS2, {}, 0, 0);
  b.span("backwards", kTraceA, kS3, {}, ms(10), ms(5));
  b.span("short id", "abcd", kS4);
  auto& huge_session = b.span("long session", kTraceA, kS5);
  t::attr(huge_session.mutable_attributes(), "session.id", std::string_view(std::string(200, 's')));
  b.span("no ids", "", "");
  const MapResult r = map(b);
  ASSERT_EQ(r.batch.events.size(), 1u);
  EXPECT_EQ(r.batch.events[0].name, "ok");
  ASSERT_EQ(r.rejections.size(), 7u);
  EXPECT_EQ(r.rejections[0].span, 1u);
  EXPECT_EQ(r.rejections[0].reason, "trace_id is missing or all zeroes");
  EXPECT_EQ(r.rejections[2].reason, "start_time_unix_nano is missing");
  EXPECT_EQ(r.rejections[3].reason, "end_time_unix_nano is before start_time_unix_nano");
  EXPECT_EQ(r.rejections[4].reason, "trace_id must be 16 bytes");
  EXPECT_NE(r.error_message.find("7 of 8 spans rejected"), std::string::npos) << r.error_message;
  EXPECT_NE(r.error_message.find("span 1: trace_id is missing"), std::string::npos)
      << r.error_message;
}

// ---- responses

TEST(OtlpResponses, ExportResponseInBothEncodings) {
  EXPECT_EQ(export_response(Encoding::kProtobuf, 0, ""), "");
  EXPECT_EQ(export_response(Encoding::kJson, 0, ""), "{}");
  t::ExportResponse parsed;
  ASSERT_TRUE(
      parsed.ParseFromString(export_response(Encoding::kProtobuf, 3, "3 of 9 spans rejected")));
  EXPECT_EQ(parsed.partial_success().rejected_spans(), 3);
  EXPECT_EQ(parsed.partial_success().error_message(), "3 of 9 spans rejected");
  EXPECT_TRUE(json_equal(export_response(Encoding::kJson, 3, "why"),
                         R"({"partialSuccess":{"rejectedSpans":"3","errorMessage":"why"}})"));
}

TEST(OtlpResponses, ContentTypes) {
  EXPECT_EQ(encoding_of("application/x-protobuf"), Encoding::kProtobuf);
  EXPECT_EQ(encoding_of("Application/X-Protobuf; charset=binary"), Encoding::kProtobuf);
  EXPECT_EQ(encoding_of("application/protobuf"), Encoding::kProtobuf);
  EXPECT_EQ(encoding_of("application/json; charset=utf-8"), Encoding::kJson);
  EXPECT_FALSE(encoding_of("text/plain"));
  EXPECT_FALSE(encoding_of(""));
  EXPECT_FALSE(encoding_of("application/jsonl"));
}

}  // namespace
}  // namespace agentlog::ingest::otlp
