#include "cli/seed.h"

#include <fmt/format.h>

#include <array>
#include <random>

#include "util/json_writer.h"

namespace agentlog::cli {
namespace {

using model::Event;
using model::EventStatus;
using model::EventType;

struct Scenario {
  const char* agent;
  const char* model;
  const char* provider;
  std::array<const char*, 3> tools;
  std::array<const char*, 4> tasks;
};

constexpr std::array<Scenario, 4> kScenarios = {{
    {"research-assistant", "gpt-4o", "openai", {"web_search", "fetch_page", "summarize_pdf"},
     {"Compare vector databases for a 10M document corpus", "Summarize recent papers on agent evaluation",
      "Find the pricing of the top three LLM observability tools", "Explain retrieval-augmented generation to a PM"}},
    {"support-bot", "claude-3-5-sonnet", "anthropic", {"lookup_order", "refund_order", "search_kb"},
     {"Where is my order #48213?", "I was charged twice for my subscription", "How do I reset my password?",
      "Cancel my plan and refund the last invoice"}},
    {"code-reviewer", "gpt-4o-mini", "openai", {"read_file", "run_tests", "post_comment"},
     {"Review PR #812: add retry to the HTTP client", "Review PR #815: migrate config to TOML",
      "Review PR #820: fix race in the cache", "Review PR #823: bump dependencies"}},
    {"travel-planner", "gemini-1.5-pro", "google", {"search_flights", "get_weather", "book_hotel"},
     {"Plan a 3-day trip to Lisbon in May", "Find a cheap flight from Berlin to Rome next Friday",
      "Weekend in Kyoto with kids, budget 1500 EUR", "Business trip to New York, hotel near Midtown"}},
}};

std::string json_text(std::string_view key, std::string_view value) {
  std::string out;
  JsonWriter(out).begin_object().field(key, value).end_object();
  return out;
}

}  // namespace

Result<SeedSummary> seed_demo(store::Store& store, int64_t project_id, Micros now) {
  std::mt19937 rng(42);  // fixed seed: the same demo every time
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  model::WriteBatch batch;
  batch.project_id = project_id;
  SeedSummary summary;
  const int kSessions = 50;
  for (int s = 0; s < kSessions; ++s) {
    const Scenario& sc = kScenarios[static_cast<size_t>(s) % kScenarios.size()];
    const std::string task = sc.tasks[static_cast<size_t>(uniform(0, 3))];
    const std::string sid = fmt::format("demo-{:03}", s);
    // Spread over the last two days, newest last; the final three are still running.
    Micros t = now - static_cast<Micros>(kSessions - s) * 55 * 60 * 1000000LL - uniform(0, 600) * 1000000LL;
    const bool running = s >= kSessions - 3;
    const bool fails = !running && uniform(0, 6) == 0;

    model::SessionPatch sp;
    sp.id = sid;
    sp.name = std::optional<std::string>(task);
    sp.agent = std::optional<std::string>(sc.agent);
    sp.user_id = std::optional<std::string>(fmt::format("user-{:02}", uniform(1, 12)));
    sp.tags_json = fmt::format(R"(["demo","{}"])", s % 2 ? "production" : "staging");
    sp.metadata_json = fmt::format(R"({{"app_version":"1.{}.0","region":"{}"}})", uniform(2, 5),
                                   s % 3 ? "eu-west-1" : "us-east-1");
    sp.started_at = std::optional<Micros>(t);

    int n = 0;
    auto add = [&](Event e) {
      e.session_id = sid;
      e.agent = sc.agent;
      e.id = fmt::format("{}-{:02}", sid, n++);
      batch.events.push_back(std::move(e));
      return batch.events.back().id;
    };
    Event root;
    root.type = EventType::kAgent;
    root.name = sc.agent;
    root.started_at = t;
    root.input_json = json_text("task", task);
    const std::string root_id = add(root);
    const size_t root_index = batch.events.size() - 1;

    const int steps = uniform(2, 5);
    bool failed_step = false;
    for (int st = 0; st < steps; ++st) {
      t += uniform(50, 400) * 1000;
      Event step;
      step.type = EventType::kStep;
      step.name = fmt::format("step {}: {}", st + 1, st == 0 ? "plan" : st == steps - 1 ? "answer" : "act");
      step.parent_id = root_id;
      step.started_at = t;
      const std::string step_id = add(step);
      const size_t step_index = batch.events.size() - 1;

      Event llm;
      llm.type = EventType::kLlm;
      llm.name = "chat.completions";
      llm.parent_id = step_id;
      llm.model = sc.model;
      llm.provider = sc.provider;
      llm.started_at = t + 1000;
      const int in_tok = uniform(300, 4000), out_tok = uniform(40, 900);
      t += uniform(600, 4500) * 1000;
      llm.ended_at = t;
      llm.usage = model::Usage{in_tok, out_tok, in_tok + out_tok, uniform(0, 1) ? in_tok / 2 : 0};
      llm.cost_usd = (in_tok * 2.5 + out_tok * 10.0) / 1e6;
      llm.input_json = fmt::format(
          R"({{"messages":[{{"role":"system","content":"You are the {} agent."}},{{"role":"user","content":"{}"}}]}})",
          sc.agent, task);
      llm.output_json = json_text("content", st == steps - 1 ? "Here is the final answer with sources and next steps."
                                                              : fmt::format("I will call {} next.", sc.tools[static_cast<size_t>(st) % 3]));
      add(llm);

      if (st < steps - 1) {
        Event tool;
        tool.type = EventType::kTool;
        tool.name = sc.tools[static_cast<size_t>(st) % 3];
        tool.parent_id = step_id;
        tool.started_at = t + 500;
        t += uniform(100, 2500) * 1000;
        tool.ended_at = t;
        tool.input_json = json_text("query", task);
        if (fails && st == steps - 2) {
          tool.status = EventStatus::kError;
          tool.error = model::ErrorInfo{std::string("TimeoutError"),
                                        fmt::format("{} did not answer within 30s", *tool.name),
                                        std::string("Traceback (most recent call last):\n  File \"agent.py\", line 88, in "
                                                    "call_tool\nTimeoutError")};
          failed_step = true;
        } else {
          tool.output_json = json_text("result", fmt::format("{} returned {} results", *tool.name, uniform(1, 12)));
        }
        add(tool);
      }
      batch.events[step_index].ended_at = t;
      if (failed_step) {
        batch.events[step_index].status = EventStatus::kError;
        break;
      }
    }
    if (running) {
      batch.events[root_index].status = EventStatus::kRunning;
      sp.status = model::SessionStatus::kRunning;
    } else {
      t += 1000;
      batch.events[root_index].ended_at = t;
      batch.events[root_index].status = fails ? EventStatus::kError : EventStatus::kOk;
      if (fails) batch.events[root_index].error = model::ErrorInfo{std::string("AgentError"), std::string("tool call failed"), std::nullopt};
      sp.status = fails ? model::SessionStatus::kFailure : model::SessionStatus::kSuccess;
      sp.ended_at = std::optional<Micros>(t);
    }
    batch.sessions.push_back(std::move(sp));
    ++summary.sessions;
  }
  summary.events = static_cast<int>(batch.events.size());
  // A re-seed replaces the same ids; rollups are recomputed exactly by the store.
  const model::WriteBatch* batches[] = {&batch};
  if (auto s = store.write(batches, nullptr); !s.is_ok()) return s;
  return summary;
}

}  // namespace agentlog::cli
