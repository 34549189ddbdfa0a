#include "store/store_conformance.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "testing/builders.h"
#include "testing/eventually.h"
#include "testing/fake_clock.h"
#include "testing/json.h"
#include "testing/status_matchers.h"
#include "util/crypto.h"

namespace agentlog::store::conformance {

using model::Event;
using model::EventQuery;
using model::EventStatus;
using model::EventType;
using model::SessionQuery;
using model::SessionSort;
using model::SessionStatus;
using test::HasCode;
using test::IsOk;
using test::json_equal;
using test::kMilli;
using test::kSecond;
using test::kT0;
using test::make_batch;
using test::make_event;
using test::make_patch;

// ---- fixture -----------------------------------------------------------------------------

void PrintTo(const StoreBackend& backend, std::ostream* os) { *os << backend.name; }

std::string StoreBackendName(const ::testing::TestParamInfo<StoreBackend>& info) {
  return info.param.name;
}

void StoreConformanceTest::SetUp() {
  store_ = GetParam().make(dir_.path());
  ASSERT_NE(store_, nullptr);
  ASSERT_TRUE(IsOk(store_->migrate()));
  auto p = store_->find_project("default");
  ASSERT_TRUE(IsOk(p));
  project_ = p->id;
}

void StoreConformanceTest::TearDown() { store_.reset(); }

int64_t StoreConformanceTest::other_project() {
  if (other_project_ == 0) {
    auto p = store_->create_project("other", kT0);
    EXPECT_TRUE(IsOk(p));
    if (p.is_ok()) other_project_ = p->id;
  }
  return other_project_;
}

Status StoreConformanceTest::write(std::vector<Event> events,
                                   std::vector<model::SessionPatch> sessions) {
  return write_to(project_, std::move(events), std::move(sessions));
}

Status StoreConformanceTest::write_to(int64_t project_id, std::vector<Event> events,
                                      std::vector<model::SessionPatch> sessions) {
  const model::WriteBatch batch = make_batch(project_id, std::move(events), std::move(sessions));
  const model::WriteBatch* batches[] = {&batch};
  return store_->write(batches, nullptr);
}

Session StoreConformanceTest::session(const std::string& id, int64_t project_id) {
  auto s = store_->get_session(project_id, id);
  EXPECT_TRUE(IsOk(s)) << "session " << id;
  return s.is_ok() ? s.value() : Session{};
}

std::vector<StoredEvent> StoreConformanceTest::all_session_events(const std::string& id,
                                                                  int64_t project_id,
                                                                  int page_size) {
  std::vector<StoredEvent> out;
  std::optional<EventCursor> after;
  for (int pages = 0; pages < 1000; ++pages) {
    auto page = store_->session_events(project_id, id, page_size, after);
    EXPECT_TRUE(IsOk(page));
    if (!page.is_ok()) break;
    EXPECT_LE(page->items.size(), static_cast<size_t>(page_size));
    out.insert(out.end(), page->items.begin(), page->items.end());
    if (!page->next) break;
    after = page->next;
  }
  return out;
}

std::vector<std::string> StoreConformanceTest::search_ids(EventQuery q) {
  std::vector<std::string> out;
  for (int pages = 0; pages < 1000; ++pages) {
    auto page = store_->search_events(q);
    EXPECT_TRUE(IsOk(page));
    if (!page.is_ok()) break;
    EXPECT_LE(page->items.size(), static_cast<size_t>(q.limit));
    for (const auto& e : page->items) out.push_back(e.event.id);
    if (!page->next) break;
    q.after = page->next;
  }
  return out;
}

std::vector<std::string> StoreConformanceTest::list_ids(SessionQuery q) {
  std::vector<std::string> out;
  for (int pages = 0; pages < 1000; ++pages) {
    auto page = store_->list_sessions(q);
    EXPECT_TRUE(IsOk(page));
    if (!page.is_ok()) break;
    EXPECT_LE(page->items.size(), static_cast<size_t>(q.limit));
    for (const auto& s : page->items) out.push_back(s.id);
    if (!page->next) break;
    q.after = page->next;
  }
  return out;
}

namespace {

// ---- expectations computed independently of the store ---------------------------------------

// A session's rollups as docs/api.md defines them, from the events it holds.
struct Rollup {
  int64_t events = 0, errors = 0, llm = 0, tools = 0;
  int64_t input_tokens = 0, output_tokens = 0, total_tokens = 0;
  double cost = 0;
  std::optional<Micros> first_start, last_event;
};

Rollup rollup_of(const std::vector<Event>& events) {
  Rollup r;
  for (const Event& e : events) {
    ++r.events;
    r.errors += e.status == EventStatus::kError ? 1 : 0;
    r.llm += e.type == EventType::kLlm ? 1 : 0;
    r.tools += e.type == EventType::kTool ? 1 : 0;
    if (e.usage) {
      r.input_tokens += e.usage->input_tokens;
      r.output_tokens += e.usage->output_tokens;
      r.total_tokens += e.usage->total_tokens;
    }
    r.cost += e.cost_usd.value_or(0.0);
    const Micros end = e.ended_at ? *e.ended_at : e.started_at;
    r.first_start = r.first_start ? std::min(*r.first_start, e.started_at) : e.started_at;
    r.last_event = r.last_event ? std::max(*r.last_event, end) : end;
  }
  return r;
}

// started_at is the earliest of the session's own start and its events' starts.
void expect_rollup(const Session& s, const std::vector<Event>& events,
                   std::optional<Micros> own_start = {}) {
  SCOPED_TRACE("rollups of session " + s.id);
  const Rollup r = rollup_of(events);
  EXPECT_EQ(s.event_count, r.events);
  EXPECT_EQ(s.error_count, r.errors);
  EXPECT_EQ(s.llm_count, r.llm);
  EXPECT_EQ(s.tool_count, r.tools);
  EXPECT_EQ(s.input_tokens, r.input_tokens);
  EXPECT_EQ(s.output_tokens, r.output_tokens);
  EXPECT_EQ(s.total_tokens, r.total_tokens);
  EXPECT_NEAR(s.cost_usd, r.cost, 1e-9);
  std::optional<Micros> start = r.first_start;
  if (own_start) start = start ? std::min(*start, *own_start) : *own_start;
  EXPECT_EQ(s.started_at, start);
  EXPECT_EQ(s.last_event_at, r.last_event);
}

void expect_same_json(const std::optional<std::string>& want, const std::optional<std::string>& got,
                      std::string_view what) {
  ASSERT_EQ(want.has_value(), got.has_value()) << what;
  if (want) {
    EXPECT_TRUE(json_equal(*want, *got)) << what << ": want " << *want << ", got " << *got;
  }
}

void expect_same_event(const Event& want, const Event& got) {
  SCOPED_TRACE("event " + want.id);
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.session_id, want.session_id);
  EXPECT_EQ(got.parent_id, want.parent_id);
  EXPECT_EQ(got.trace_id, want.trace_id);
  EXPECT_EQ(got.span_id, want.span_id);
  EXPECT_EQ(model::to_string(got.type), model::to_string(want.type));
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.agent, want.agent);
  EXPECT_EQ(got.started_at, want.started_at);
  EXPECT_EQ(got.ended_at, want.ended_at);
  EXPECT_EQ(model::to_string(got.status), model::to_string(want.status));
  expect_same_json(want.input_json, got.input_json, "input");
  expect_same_json(want.output_json, got.output_json, "output");
  ASSERT_EQ(got.error.has_value(), want.error.has_value()) << "error";
  if (want.error) {
    EXPECT_EQ(got.error->type, want.error->type);
    EXPECT_EQ(got.error->message, want.error->message);
    EXPECT_EQ(got.error->stack, want.error->stack);
  }
  EXPECT_EQ(got.model, want.model);
  EXPECT_EQ(got.provider, want.provider);
  ASSERT_EQ(got.usage.has_value(), want.usage.has_value()) << "usage";
  if (want.usage) {
    EXPECT_EQ(got.usage->input_tokens, want.usage->input_tokens);
    EXPECT_EQ(got.usage->output_tokens, want.usage->output_tokens);
    EXPECT_EQ(got.usage->total_tokens, want.usage->total_tokens);
    EXPECT_EQ(got.usage->cached_tokens, want.usage->cached_tokens);
  }
  EXPECT_EQ(got.cost_usd, want.cost_usd);
  EXPECT_TRUE(json_equal(got.attributes_json, want.attributes_json)) << got.attributes_json;
  EXPECT_TRUE(json_equal(got.tags_json, want.tags_json)) << got.tags_json;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> ids_of(const std::vector<StoredEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.event.id);
  return out;
}

// Tag lists in these tests hold plain words, so quoting is all the JSON they need.
std::string tags_json(const std::vector<std::string>& tags) {
  std::string out = "[";
  for (const auto& t : tags) out += (out.size() > 1 ? ",\"" : "\"") + t + "\"";
  return out + "]";
}

Event llm_event(std::string id, std::string session, Micros start, int64_t in, int64_t out,
                double cost) {
  Event e = make_event(std::move(id), std::move(session), start);
  e.type = EventType::kLlm;
  e.ended_at = start + 250 * kMilli;
  e.usage = model::Usage{in, out, in + out, 0};
  e.cost_usd = cost;
  return e;
}

Event full_event() {
  Event e = make_event("evt-full", "sess-full", kT0 + 123456);
  e.parent_id = "evt-parent";
  e.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  e.span_id = "00f067aa0ba902b7";
  e.type = EventType::kLlm;
  e.name = "chat completion";
  e.agent = "planner";
  e.ended_at = kT0 + 2123457;
  e.status = EventStatus::kError;
  e.input_json =
      R"({"messages":[{"role":"user","content":"héllo ✓ \"quoted\"\n"}],"temperature":0.25,"n":3})";
  e.output_json = R"(["first",null,true,{"k":[]}])";
  e.error = model::ErrorInfo{"RateLimitError", "slow down", "at line 1\nat line 2"};
  e.model = "gpt-4o-mini";
  e.provider = "openai";
  e.usage = model::Usage{120, 45, 165, 100};
  e.cost_usd = 0.0012345;
  e.attributes_json = R"({"gen_ai.system":"openai","retries":2,"nested":{"ok":false}})";
  e.tags_json = R"(["prod","eu-west"])";
  return e;
}

}  // namespace

// ---- migrations, projects and keys ---------------------------------------------------------

TEST_P(StoreConformanceTest, MigrateIsIdempotentAndKeepsData) {
  ASSERT_TRUE(IsOk(write({make_event("e1", "s1", kT0)})));
  ASSERT_TRUE(IsOk(store().migrate()));
  ASSERT_TRUE(IsOk(store().migrate()));
  EXPECT_TRUE(store().ready());

  EXPECT_TRUE(IsOk(store().get_event(project(), "e1")));
  EXPECT_EQ(session("s1").event_count, 1);
  auto projects = store().list_projects();
  ASSERT_TRUE(IsOk(projects));
  ASSERT_EQ(projects->size(), 1u) << "re-running migrations must not add another default project";
  EXPECT_EQ((*projects)[0].name, "default");
}

TEST_P(StoreConformanceTest, CreatesListsAndFindsProjects) {
  auto alpha = store().create_project("alpha", kT0);
  auto beta = store().create_project("beta", kT0 + kSecond);
  ASSERT_TRUE(IsOk(alpha));
  ASSERT_TRUE(IsOk(beta));
  EXPECT_EQ(alpha->name, "alpha");
  EXPECT_EQ(alpha->created_at, kT0);
  EXPECT_NE(alpha->id, beta->id);
  EXPECT_NE(alpha->id, project());
  EXPECT_NE(beta->id, project());

  auto found = store().find_project("beta");
  ASSERT_TRUE(IsOk(found));
  EXPECT_EQ(found->id, beta->id);
  EXPECT_EQ(found->name, "beta");
  EXPECT_EQ(found->created_at, kT0 + kSecond);
  EXPECT_TRUE(HasCode(store().find_project("gamma"), Status::Code::kNotFound));

  auto projects = store().list_projects();
  ASSERT_TRUE(IsOk(projects));
  std::map<std::string, int64_t> by_name;
  for (const auto& p : *projects) by_name[p.name] = p.id;
  EXPECT_EQ(by_name, (std::map<std::string, int64_t>{
                         {"default", project()}, {"alpha", alpha->id}, {"beta", beta->id}}));
}

TEST_P(StoreConformanceTest, DuplicateProjectNameConflicts) {
  ASSERT_TRUE(IsOk(store().create_project("alpha", kT0)));
  EXPECT_TRUE(HasCode(store().create_project("alpha", kT0 + kSecond), Status::Code::kConflict));
  EXPECT_TRUE(HasCode(store().create_project("default", kT0), Status::Code::kConflict));
  auto projects = store().list_projects();
  ASSERT_TRUE(IsOk(projects));
  EXPECT_EQ(projects->size(), 2u);
}

TEST_P(StoreConformanceTest, CreatesAndFindsKeysByHash) {
  const std::string hash = sha256_hex("al_secret-one");
  auto key = store().create_key(project(), "ci", "al_secret-", hash, kT0);
  ASSERT_TRUE(IsOk(key));
  EXPECT_EQ(key->project_id, project());
  EXPECT_EQ(key->project_name, "default");
  EXPECT_EQ(key->name, "ci");
  EXPECT_EQ(key->prefix, "al_secret-");
  EXPECT_EQ(key->hash, hash);
  EXPECT_EQ(key->created_at, kT0);
  EXPECT_EQ(key->last_used_at, std::nullopt);
  EXPECT_EQ(key->revoked_at, std::nullopt);

  auto found = store().find_key_by_hash(hash);
  ASSERT_TRUE(IsOk(found));
  EXPECT_EQ(found->id, key->id);
  EXPECT_EQ(found->name, "ci");
  EXPECT_EQ(found->prefix, "al_secret-");
  EXPECT_EQ(found->project_id, project());
  EXPECT_TRUE(HasCode(store().find_key_by_hash(sha256_hex("al_other")), Status::Code::kNotFound));

  auto second =
      store().create_key(project(), "laptop", "al_second", sha256_hex("al_secret-two"), kT0 + 1);
  ASSERT_TRUE(IsOk(second));
  EXPECT_NE(second->id, key->id);
  auto keys = store().list_keys(project());
  ASSERT_TRUE(IsOk(keys));
  std::set<std::string> names;
  for (const auto& k : *keys) names.insert(k.name);
  EXPECT_EQ(names, (std::set<std::string>{"ci", "laptop"}));

  EXPECT_TRUE(HasCode(store().create_key(project(), "again", "al_secret-", hash, kT0 + 2),
                      Status::Code::kConflict));
}

TEST_P(StoreConformanceTest, RevokesKeysOnlyWithinTheirProject) {
  const std::string hash = sha256_hex("al_revocable");
  auto key = store().create_key(project(), "ci", "al_revoca", hash, kT0);
  ASSERT_TRUE(IsOk(key));

  EXPECT_TRUE(HasCode(store().revoke_key(other_project(), key->id, kT0 + kSecond),
                      Status::Code::kNotFound));
  auto untouched = store().find_key_by_hash(hash);
  ASSERT_TRUE(IsOk(untouched));
  EXPECT_EQ(untouched->revoked_at, std::nullopt)
      << "another project's revoke must not reach this key";

  ASSERT_TRUE(IsOk(store().revoke_key(project(), key->id, kT0 + 5 * kSecond)));
  auto revoked = store().find_key_by_hash(hash);
  ASSERT_TRUE(IsOk(revoked));
  EXPECT_EQ(revoked->revoked_at, kT0 + 5 * kSecond);
  auto listed = store().list_keys(project());
  ASSERT_TRUE(IsOk(listed));
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].revoked_at, kT0 + 5 * kSecond);

  EXPECT_TRUE(HasCode(store().revoke_key(project(), key->id + 1000, kT0), Status::Code::kNotFound));
  auto other_keys = store().list_keys(other_project());
  ASSERT_TRUE(IsOk(other_keys));
  EXPECT_TRUE(other_keys->empty());
}

TEST_P(StoreConformanceTest, EnsureKeyIsIdempotent) {
  const std::string hash = sha256_hex("al_from_env");
  ASSERT_TRUE(IsOk(store().ensure_key(project(), "AGENTLOG_API_KEY", "al_from_e", hash, kT0)));
  ASSERT_TRUE(
      IsOk(store().ensure_key(project(), "AGENTLOG_API_KEY", "al_from_e", hash, kT0 + kSecond)));
  ASSERT_TRUE(IsOk(store().ensure_key(project(), "renamed", "al_from_e", hash, kT0 + 2 * kSecond)));

  auto keys = store().list_keys(project());
  ASSERT_TRUE(IsOk(keys));
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].hash, hash);
  EXPECT_EQ((*keys)[0].name, "AGENTLOG_API_KEY") << "an existing key is left as it is";
  EXPECT_EQ((*keys)[0].created_at, kT0);
  EXPECT_TRUE(IsOk(store().find_key_by_hash(hash)));
}

TEST_P(StoreConformanceTest, TouchKeyRecordsLastUse) {
  const std::string hash = sha256_hex("al_touched");
  auto key = store().create_key(project(), "ci", "al_touche", hash, kT0);
  ASSERT_TRUE(IsOk(key));
  ASSERT_TRUE(IsOk(store().touch_key(key->id, kT0 + 9 * kSecond)));
  auto found = store().find_key_by_hash(hash);
  ASSERT_TRUE(IsOk(found));
  EXPECT_EQ(found->last_used_at, kT0 + 9 * kSecond);
}

// ---- writes and rollups --------------------------------------------------------------------

TEST_P(StoreConformanceTest, ReadsBackEveryEventField) {
  const Event want = full_event();
  ASSERT_TRUE(IsOk(write({want})));

  auto got = store().get_event(project(), want.id);
  ASSERT_TRUE(IsOk(got));
  expect_same_event(want, got->event);

  const auto listed = all_session_events(want.session_id, project());
  ASSERT_EQ(listed.size(), 1u);
  expect_same_event(want, listed[0].event);

  EventQuery q;
  q.project_id = project();
  q.session_id = want.session_id;
  auto found = store().search_events(q);
  ASSERT_TRUE(IsOk(found));
  ASSERT_EQ(found->items.size(), 1u);
  expect_same_event(want, found->items[0].event);
}

// An OTLP span's attributes end with its scope and resource, which the mapper marks as
// shared (attributes_shared_suffix); every read returns the attributes whole, whether the
// backend keeps the shared part once or in every row.
TEST_P(StoreConformanceTest, ReadsBackAttributesWithASharedSuffixWhole) {
  const std::string resource =
      R"("otel.scope":{"name":"opentelemetry.instrumentation.openai_v2","version":"2.1b0"},)"
      R"("otel.resource":{"service.name":"support-agent","deployment.environment":"production"}})";
  const std::string other_resource =
      R"("otel.scope":{"name":"openinference.instrumentation.langchain","version":"0.1.9"},)"
      R"("otel.resource":{"service.name":"research-agent","deployment.environment":"staging"}})";
  auto with_suffix = [](Event e, const std::string& own, const std::string& shared) {
    e.attributes_json = own + shared;
    e.attributes_shared_suffix = shared.size();
    return e;
  };
  std::vector<Event> events = {
      with_suffix(make_event("sh1", "s", kT0), R"({"gen_ai.operation.name":"chat",)", resource),
      with_suffix(make_event("sh2", "s", kT0 + kMilli), "{", resource),  // no attributes of its own
      with_suffix(make_event("sh3", "s", kT0 + 2 * kMilli), R"({"retries":2,)", other_resource),
      with_suffix(make_event("sh4", "s", kT0 + 3 * kMilli), R"({"short":true,)", R"("k":1})"),
  };
  ASSERT_TRUE(IsOk(write(events)));
  // The same suffix again, in a later commit, in another project, and in a resent event.
  Event again = with_suffix(make_event("sh5", "s", kT0 + 4 * kMilli), R"({"n":5,)", resource);
  ASSERT_TRUE(IsOk(write({again})));
  events.push_back(again);
  Event elsewhere = with_suffix(make_event("sh1", "s", kT0), R"({"p":2,)", resource);
  ASSERT_TRUE(IsOk(write_to(other_project(), {elsewhere})));
  Event resent = with_suffix(make_event("sh3", "s", kT0 + 2 * kMilli), R"({"retries":3,)", resource);
  ASSERT_TRUE(IsOk(write({resent})));
  events[2] = resent;

  for (const Event& want : events) {
    auto got = store().get_event(project(), want.id);
    ASSERT_TRUE(IsOk(got));
    EXPECT_TRUE(json_equal(got->event.attributes_json, want.attributes_json))
        << want.id << ": " << got->event.attributes_json;
  }
  auto got = store().get_event(other_project(), "sh1");
  ASSERT_TRUE(IsOk(got));
  EXPECT_TRUE(json_equal(got->event.attributes_json, elsewhere.attributes_json)) << got->event.attributes_json;

  const auto listed = all_session_events("s", project());
  ASSERT_EQ(listed.size(), events.size());
  EventQuery q;
  q.project_id = project();
  auto found = store().search_events(q);
  ASSERT_TRUE(IsOk(found));
  auto replayed = store().events_after(q, 0);
  ASSERT_TRUE(IsOk(replayed));
  const std::vector<StoredEvent>* lists[] = {&listed, &found->items, &*replayed};
  for (const std::vector<StoredEvent>* list : lists) {
    ASSERT_EQ(list->size(), events.size());
    for (const StoredEvent& se : *list) {
      const auto want = std::find_if(events.begin(), events.end(), [&](const Event& e) { return e.id == se.event.id; });
      ASSERT_NE(want, events.end()) << se.event.id;
      EXPECT_TRUE(json_equal(se.event.attributes_json, want->attributes_json))
          << se.event.id << ": " << se.event.attributes_json;
    }
  }
}

TEST_P(StoreConformanceTest, ReadsBackMinimalEventWithAbsentFields) {
  const Event want = make_event("evt-min", "sess-min", kT0);
  ASSERT_TRUE(IsOk(write({want})));
  auto got = store().get_event(project(), want.id);
  ASSERT_TRUE(IsOk(got));
  expect_same_event(want, got->event);
  EXPECT_FALSE(got->event.error.has_value());
  EXPECT_FALSE(got->event.usage.has_value());
  EXPECT_FALSE(got->event.cost_usd.has_value());
  EXPECT_FALSE(got->event.input_json.has_value());
}

TEST_P(StoreConformanceTest, KeepsZeroValuesDistinctFromAbsent) {
  Event e = make_event("evt-zero", "s", kT0);
  e.usage = model::Usage{};
  e.cost_usd = 0.0;
  e.error = model::ErrorInfo{};  // present, every member null
  e.output_json = "0";
  ASSERT_TRUE(IsOk(write({e})));
  auto got = store().get_event(project(), e.id);
  ASSERT_TRUE(IsOk(got));
  expect_same_event(e, got->event);
}

TEST_P(StoreConformanceTest, ReturnsNotFoundForUnknownIds) {
  ASSERT_TRUE(IsOk(write({make_event("e1", "s1", kT0)})));
  EXPECT_TRUE(HasCode(store().get_event(project(), "nope"), Status::Code::kNotFound));
  EXPECT_TRUE(HasCode(store().get_session(project(), "nope"), Status::Code::kNotFound));
  auto page = store().session_events(project(), "nope", 10, std::nullopt);
  ASSERT_TRUE(IsOk(page));
  EXPECT_TRUE(page->items.empty());
  EXPECT_FALSE(page->next.has_value());
}

TEST_P(StoreConformanceTest, EventCreatesItsSessionWithTheEventsAgent) {
  Event e = make_event("e1", "implicit", kT0 + kSecond);
  e.agent = "planner";
  ASSERT_TRUE(IsOk(write({e})));

  const Session s = session("implicit");
  EXPECT_EQ(s.id, "implicit");
  EXPECT_EQ(s.agent, "planner");
  EXPECT_EQ(s.status, SessionStatus::kRunning);
  EXPECT_EQ(s.name, std::nullopt);
  EXPECT_EQ(s.user_id, std::nullopt);
  EXPECT_EQ(s.ended_at, std::nullopt);
  EXPECT_TRUE(json_equal(s.tags_json, "[]")) << s.tags_json;
  EXPECT_TRUE(json_equal(s.metadata_json, "{}")) << s.metadata_json;
  expect_rollup(s, {e});
}

TEST_P(StoreConformanceTest, RollupsSumEveryBatch) {
  std::map<std::string, std::vector<Event>> by_session;
  auto add = [&](Event e) {
    by_session[e.session_id].push_back(e);
    return e;
  };
  Event tool = make_event("t1", "a", kT0 + 3 * kSecond);
  tool.type = EventType::kTool;
  tool.status = EventStatus::kError;
  tool.ended_at = kT0 + 9 * kSecond;
  Event log = make_event("l1", "b", kT0 - kSecond);
  log.type = EventType::kLog;
  log.cost_usd = 0.125;

  ASSERT_TRUE(IsOk(write({add(llm_event("e1", "a", kT0, 10, 20, 0.5)), add(tool)})));
  expect_rollup(session("a"), by_session["a"]);
  ASSERT_TRUE(IsOk(write({add(llm_event("e2", "a", kT0 + kSecond, 5, 7, 0.25)), add(log),
                          add(llm_event("e3", "b", kT0 + 2 * kSecond, 1, 1, 0.0))})));
  ASSERT_TRUE(IsOk(write({add(make_event("e4", "a", kT0 + 4 * kSecond))})));

  expect_rollup(session("a"), by_session["a"]);
  expect_rollup(session("b"), by_session["b"]);
  // The sums spelled out once, so the expectation helper is checked too.
  const Session a = session("a");
  EXPECT_EQ(a.event_count, 4);
  EXPECT_EQ(a.error_count, 1);
  EXPECT_EQ(a.llm_count, 2);
  EXPECT_EQ(a.tool_count, 1);
  EXPECT_EQ(a.input_tokens, 15);
  EXPECT_EQ(a.output_tokens, 27);
  EXPECT_EQ(a.total_tokens, 42);
  EXPECT_DOUBLE_EQ(a.cost_usd, 0.75);
  EXPECT_EQ(a.started_at, kT0);
  EXPECT_EQ(a.last_event_at, kT0 + 9 * kSecond);
}

TEST_P(StoreConformanceTest, ResentEventReplacesInsteadOfDuplicating) {
  Event running = make_event("e1", "s", kT0);
  running.type = EventType::kLlm;
  running.status = EventStatus::kRunning;
  running.usage = model::Usage{10, 0, 10, 0};
  const Event other = llm_event("e2", "s", kT0 + kSecond, 1, 2, 0.5);
  ASSERT_TRUE(IsOk(write({running, other})));

  Event done = running;
  done.status = EventStatus::kError;
  done.ended_at = kT0 + 5 * kSecond;
  done.usage = model::Usage{100, 50, 150, 0};
  done.cost_usd = 0.25;
  done.output_json = R"({"text":"finished"})";
  ASSERT_TRUE(IsOk(write({done})));
  ASSERT_TRUE(IsOk(write({done})));  // a retried request changes nothing

  const auto events = all_session_events("s", project());
  EXPECT_EQ(sorted(ids_of(events)), (std::vector<std::string>{"e1", "e2"}));
  auto got = store().get_event(project(), "e1");
  ASSERT_TRUE(IsOk(got));
  expect_same_event(done, got->event);
  expect_rollup(session("s"), {done, other});
}

TEST_P(StoreConformanceTest, LaterCopyOfAnIdInOneBatchWins) {
  const Event first = llm_event("dup", "s", kT0, 1, 1, 0.5);
  Event second = llm_event("dup", "s", kT0 + kSecond, 7, 3, 0.25);
  second.type = EventType::kTool;
  ASSERT_TRUE(IsOk(write({first, second})));
  const auto events = all_session_events("s", project());
  ASSERT_EQ(events.size(), 1u);
  expect_same_event(second, events[0].event);
  expect_rollup(session("s"), {second});
}

TEST_P(StoreConformanceTest, ResendThatNarrowsTimesRecomputesSessionBounds) {
  Event wide = make_event("wide", "s", kT0);
  wide.ended_at = kT0 + 10 * kSecond;
  Event inner = make_event("inner", "s", kT0 + kSecond);
  inner.ended_at = kT0 + 2 * kSecond;
  ASSERT_TRUE(IsOk(write({wide, inner})));
  expect_rollup(session("s"), {wide, inner});

  Event narrowed = wide;
  narrowed.started_at = kT0 + 3 * kSecond;
  narrowed.ended_at = kT0 + 4 * kSecond;
  ASSERT_TRUE(IsOk(write({narrowed})));
  const Session s = session("s");
  expect_rollup(s, {narrowed, inner});
  EXPECT_EQ(s.started_at, kT0 + kSecond);
  EXPECT_EQ(s.last_event_at, kT0 + 4 * kSecond);
}

TEST_P(StoreConformanceTest, MovingAnEventToAnotherSessionFixesBothRollups) {
  const Event e1 = llm_event("e1", "from", kT0, 10, 10, 0.5);
  Event e2 = llm_event("e2", "from", kT0 + 20 * kSecond, 1, 2, 0.25);
  e2.status = EventStatus::kError;
  const Event e3 = make_event("e3", "to", kT0 + 5 * kSecond);
  ASSERT_TRUE(IsOk(write({e1, e2, e3})));

  Event moved = e2;
  moved.session_id = "to";
  ASSERT_TRUE(IsOk(write({moved})));
  expect_rollup(session("from"), {e1});
  expect_rollup(session("to"), {e3, moved});
  EXPECT_EQ(sorted(ids_of(all_session_events("from", project()))), std::vector<std::string>{"e1"});

  Event moved_too = e1;
  moved_too.session_id = "to";
  ASSERT_TRUE(IsOk(write({moved_too})));
  const Session emptied = session("from");
  expect_rollup(emptied, {});
  EXPECT_EQ(emptied.started_at, std::nullopt);
  EXPECT_EQ(emptied.last_event_at, std::nullopt);
  expect_rollup(session("to"), {e3, moved, moved_too});
}

// Random writes and re-sends (new versions, moves between sessions, times that widen and
// narrow, duplicates inside a batch); after every write each session's rollups must equal
// those computed from the latest version of every event.
TEST_P(StoreConformanceTest, RollupsStayExactUnderRandomResends) {
  std::mt19937 rng(20260101);
  auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> sessions = {"r0", "r1", "r2", "r3"};
  const EventType types[] = {EventType::kLlm, EventType::kTool, EventType::kCustom,
                             EventType::kStep};
  const EventStatus statuses[] = {EventStatus::kOk, EventStatus::kError, EventStatus::kRunning};

  std::map<std::string, Event> latest;
  std::set<std::string> seen_sessions;
  for (int round = 0; round < 25; ++round) {
    std::vector<Event> batch;
    const int n = 1 + pick(12);
    for (int i = 0; i < n; ++i) {
      Event e =
          make_event("ev" + std::to_string(pick(30)), sessions[pick(4)], kT0 + pick(1000) * kMilli);
      e.type = types[pick(4)];
      e.status = statuses[pick(3)];
      if (pick(2)) e.ended_at = e.started_at + pick(5000) * kMilli;
      if (pick(3)) {
        const int64_t in = pick(500), out = pick(500);
        e.usage = model::Usage{in, out, in + out + pick(3), pick(10)};
      }
      if (pick(2)) e.cost_usd = pick(64) / 64.0;
      latest[e.id] = e;
      seen_sessions.insert(e.session_id);
      batch.push_back(std::move(e));
    }
    ASSERT_TRUE(IsOk(write(batch)));

    for (const auto& sid : seen_sessions) {
      SCOPED_TRACE("round " + std::to_string(round));
      std::vector<Event> expected;
      std::vector<std::string> expected_ids;
      for (const auto& [id, e] : latest) {
        if (e.session_id != sid) continue;
        expected.push_back(e);
        expected_ids.push_back(id);
      }
      expect_rollup(session(sid), expected);
      EXPECT_EQ(sorted(ids_of(all_session_events(sid, project()))), expected_ids);
    }
  }
  for (const auto& [id, e] : latest) {
    auto got = store().get_event(project(), id);
    ASSERT_TRUE(IsOk(got));
    expect_same_event(e, got->event);
  }
}

TEST_P(StoreConformanceTest, WritesSeveralBatchesTogether) {
  const int64_t other = other_project();
  const model::WriteBatch first = make_batch(project(), {llm_event("e1", "s", kT0, 1, 1, 0.5)});
  const model::WriteBatch second = make_batch(other, {llm_event("e1", "s", kT0, 2, 2, 0.25)});
  const model::WriteBatch third =
      make_batch(project(), {llm_event("e1", "s", kT0 + kSecond, 3, 3, 0.125)});
  const model::WriteBatch* batches[] = {&first, &second, &third};
  ASSERT_TRUE(IsOk(store().write(batches, nullptr)));

  expect_rollup(session("s", project()),
                third.events);  // the later batch's version replaced the earlier
  expect_rollup(session("s", other), second.events);
}

TEST_P(StoreConformanceTest, SessionStartIsEarliestOfOwnStartAndEvents) {
  auto early = make_patch("own-earlier");
  early.started_at = std::optional<Micros>(kT0 + 10 * kSecond);
  auto late = make_patch("own-later");
  late.started_at = std::optional<Micros>(kT0 + 30 * kSecond);
  const Event e1 = make_event("e1", "own-earlier", kT0 + 20 * kSecond);
  const Event e2 = make_event("e2", "own-later", kT0 + 20 * kSecond);
  ASSERT_TRUE(IsOk(write({e1, e2}, {early, late})));

  EXPECT_EQ(session("own-earlier").started_at, kT0 + 10 * kSecond);
  EXPECT_EQ(session("own-later").started_at, kT0 + 20 * kSecond);
  expect_rollup(session("own-later"), {e2}, kT0 + 30 * kSecond);
}

// ---- session writes ------------------------------------------------------------------------

TEST_P(StoreConformanceTest, IngestedSessionWritesAllFields) {
  auto p = make_patch("full");
  p.name = std::optional<std::string>("nightly eval");
  p.agent = std::optional<std::string>("planner");
  p.user_id = std::optional<std::string>("user-7");
  p.tags_json = R"(["prod","nightly"])";
  p.metadata_json = R"({"git":{"sha":"abc123"},"attempt":2})";
  p.status = SessionStatus::kSuccess;
  p.started_at = std::optional<Micros>(kT0);
  p.ended_at = std::optional<Micros>(kT0 + 90 * kSecond);
  ASSERT_TRUE(IsOk(write({}, {p})));

  const Session s = session("full");
  EXPECT_EQ(s.name, "nightly eval");
  EXPECT_EQ(s.agent, "planner");
  EXPECT_EQ(s.user_id, "user-7");
  EXPECT_TRUE(json_equal(s.tags_json, *p.tags_json)) << s.tags_json;
  EXPECT_TRUE(json_equal(s.metadata_json, *p.metadata_json)) << s.metadata_json;
  EXPECT_EQ(s.status, SessionStatus::kSuccess);
  EXPECT_EQ(s.started_at, kT0);
  EXPECT_EQ(s.ended_at, kT0 + 90 * kSecond);
  EXPECT_EQ(s.last_event_at, std::nullopt);
  expect_rollup(s, {}, kT0);
}

TEST_P(StoreConformanceTest, PatchKeepsAbsentFieldsAndClearsNullOnes) {
  auto create = make_patch("s");
  create.name = std::optional<std::string>("first name");
  create.agent = std::optional<std::string>("planner");
  create.user_id = std::optional<std::string>("u1");
  create.tags_json = R"(["a"])";
  create.metadata_json = R"({"k":1})";
  create.started_at = std::optional<Micros>(kT0);
  ASSERT_TRUE(IsOk(write({}, {create})));

  auto patch = make_patch("s");
  patch.agent = std::optional<std::string>();  // set to null
  patch.user_id = std::optional<std::string>("u2");
  patch.metadata_json = R"({"k":2})";
  patch.status = SessionStatus::kFailure;
  patch.ended_at = std::optional<Micros>(kT0 + 5 * kSecond);
  auto patched = store().patch_session(project(), patch);
  ASSERT_TRUE(IsOk(patched));
  for (const Session& s : {patched.value(), session("s")}) {
    EXPECT_EQ(s.name, "first name") << "absent: kept";
    EXPECT_EQ(s.agent, std::nullopt) << "null: cleared";
    EXPECT_EQ(s.user_id, "u2");
    EXPECT_TRUE(json_equal(s.tags_json, R"(["a"])")) << s.tags_json;
    EXPECT_TRUE(json_equal(s.metadata_json, R"({"k":2})")) << s.metadata_json;
    EXPECT_EQ(s.status, SessionStatus::kFailure);
    EXPECT_EQ(s.started_at, kT0);
    EXPECT_EQ(s.ended_at, kT0 + 5 * kSecond);
  }

  auto clear = make_patch("s");
  clear.name = std::optional<std::string>();
  clear.started_at = std::optional<Micros>();
  clear.ended_at = std::optional<Micros>();
  clear.tags_json = "[]";
  ASSERT_TRUE(IsOk(store().patch_session(project(), clear)));
  const Session s = session("s");
  EXPECT_EQ(s.name, std::nullopt);
  EXPECT_EQ(s.started_at, std::nullopt);
  EXPECT_EQ(s.ended_at, std::nullopt);
  EXPECT_TRUE(json_equal(s.tags_json, "[]")) << s.tags_json;
  EXPECT_EQ(s.user_id, "u2");
  EXPECT_EQ(s.status, SessionStatus::kFailure);
}

TEST_P(StoreConformanceTest, IngestedSessionUpsertFollowsPatchSemantics) {
  auto create = make_patch("s");
  create.name = std::optional<std::string>("kept");
  create.user_id = std::optional<std::string>("u1");
  create.status = SessionStatus::kRunning;
  ASSERT_TRUE(IsOk(write({make_event("e1", "s", kT0)}, {create})));

  auto update = make_patch("s");
  update.user_id = std::optional<std::string>();
  update.status = SessionStatus::kSuccess;
  ASSERT_TRUE(IsOk(write({make_event("e2", "s", kT0 + kSecond)}, {update})));

  const Session s = session("s");
  EXPECT_EQ(s.name, "kept");
  EXPECT_EQ(s.user_id, std::nullopt);
  EXPECT_EQ(s.status, SessionStatus::kSuccess);
  expect_rollup(s, {make_event("e1", "s", kT0), make_event("e2", "s", kT0 + kSecond)});
}

// A batch's patch of a session and its events combine as if the patch came first, then the
// events: a patch's agent wins, or a null one is filled by the events'; a patch without one
// leaves the session's. (SQLite writes the two in one statement when there is one patch.)
TEST_P(StoreConformanceTest, APatchAndEventsOfASessionInOneBatchCombineInOrder) {
  auto agent = [](std::string id, std::optional<std::string> a) {
    auto p = make_patch(std::move(id));
    p.agent = std::optional<std::optional<std::string>>(std::move(a));
    return p;
  };
  auto by = [](std::string id, std::string session, Micros t) {
    Event e = make_event(std::move(id), std::move(session), t);
    e.agent = "worker";
    return e;
  };
  ASSERT_TRUE(IsOk(write({}, {agent("old-cleared", "x"), agent("old-kept", "x")})));
  auto named = [](std::string name) {
    auto p = make_patch("twice");
    p.name = std::optional<std::string>(std::move(name));
    return p;
  };
  auto done = make_patch("old-kept");
  done.status = SessionStatus::kSuccess;
  ASSERT_TRUE(IsOk(write({by("e1", "new-named", kT0), by("e2", "new-plain", kT0), by("e3", "old-cleared", kT0),
                          by("e4", "old-kept", kT0), by("e5", "twice", kT0)},
                         {agent("new-named", "planner"), make_patch("new-plain"), agent("old-cleared", std::nullopt),
                          done, named("first"), named("second")})));
  EXPECT_EQ(session("new-named").agent, "planner");
  EXPECT_EQ(session("new-plain").agent, "worker");
  EXPECT_EQ(session("old-cleared").agent, "worker");
  EXPECT_EQ(session("old-kept").agent, "x");
  EXPECT_EQ(session("old-kept").status, SessionStatus::kSuccess);
  EXPECT_EQ(session("twice").name, "second");
  EXPECT_EQ(session("new-plain").status, SessionStatus::kRunning);
  for (const char* id : {"new-named", "new-plain", "old-cleared", "old-kept", "twice"}) {
    EXPECT_EQ(session(id).event_count, 1) << id;
    EXPECT_EQ(session(id).started_at, kT0) << id;
  }
}

TEST_P(StoreConformanceTest, PatchOfUnknownSessionIsNotFound) {
  auto patch = make_patch("ghost");
  patch.name = std::optional<std::string>("x");
  EXPECT_TRUE(HasCode(store().patch_session(project(), patch), Status::Code::kNotFound));
  EXPECT_TRUE(HasCode(store().get_session(project(), "ghost"), Status::Code::kNotFound))
      << "patch must not create";
}

TEST_P(StoreConformanceTest, CreateSessionDefaultsStartAndRefusesExistingIds) {
  auto p = make_patch("new");
  p.name = std::optional<std::string>("created");
  auto created = store().create_session(project(), p, kT0 + 7 * kSecond);
  ASSERT_TRUE(IsOk(created));
  EXPECT_EQ(created->id, "new");
  EXPECT_EQ(created->name, "created");
  EXPECT_EQ(created->status, SessionStatus::kRunning);
  EXPECT_EQ(created->started_at, kT0 + 7 * kSecond);
  EXPECT_EQ(created->event_count, 0);

  auto explicit_start = make_patch("explicit");
  explicit_start.started_at = std::optional<Micros>(kT0 - kSecond);
  auto e = store().create_session(project(), explicit_start, kT0 + 7 * kSecond);
  ASSERT_TRUE(IsOk(e));
  EXPECT_EQ(e->started_at, kT0 - kSecond);

  auto again = make_patch("new");
  again.name = std::optional<std::string>("overwritten?");
  EXPECT_TRUE(HasCode(store().create_session(project(), again, kT0), Status::Code::kConflict));
  EXPECT_EQ(session("new").name, "created");

  ASSERT_TRUE(IsOk(write({make_event("e1", "from-event", kT0)})));
  EXPECT_TRUE(HasCode(store().create_session(project(), make_patch("from-event"), kT0),
                      Status::Code::kConflict));
}

TEST_P(StoreConformanceTest, DeleteSessionIfEmptyKeepsSessionsWithEvents) {
  ASSERT_TRUE(IsOk(write({make_event("k1", "busy", kT0)}, {make_patch("empty")})));
  auto kept = store().delete_session_if_empty(project(), "busy");
  ASSERT_TRUE(IsOk(kept));
  EXPECT_FALSE(*kept);
  EXPECT_EQ(session("busy").event_count, 1);
  EXPECT_TRUE(IsOk(store().get_event(project(), "k1")));
  auto gone = store().delete_session_if_empty(project(), "empty");
  ASSERT_TRUE(IsOk(gone));
  EXPECT_TRUE(*gone);
  EXPECT_TRUE(HasCode(store().get_session(project(), "empty"), Status::Code::kNotFound));
  auto absent = store().delete_session_if_empty(project(), "never");
  ASSERT_TRUE(IsOk(absent));
  EXPECT_FALSE(*absent);
  // An event arriving after the deletion brings the session back with exact rollups.
  ASSERT_TRUE(IsOk(write({make_event("k2", "empty", kT0)})));
  EXPECT_EQ(session("empty").event_count, 1);
}

TEST_P(StoreConformanceTest, DeleteSessionRemovesItsEvents) {
  ASSERT_TRUE(
      IsOk(write({llm_event("d1", "doomed", kT0, 1, 1, 0.5), make_event("d2", "doomed", kT0 + 1),
                  make_event("k1", "kept", kT0 + 2)})));
  ASSERT_TRUE(IsOk(store().delete_session(project(), "doomed")));

  EXPECT_TRUE(HasCode(store().get_session(project(), "doomed"), Status::Code::kNotFound));
  EXPECT_TRUE(HasCode(store().get_event(project(), "d1"), Status::Code::kNotFound));
  EXPECT_TRUE(HasCode(store().get_event(project(), "d2"), Status::Code::kNotFound));
  EXPECT_TRUE(all_session_events("doomed", project()).empty());
  EventQuery q;
  q.project_id = project();
  EXPECT_EQ(search_ids(q), std::vector<std::string>{"k1"});
  SessionQuery sq;
  sq.project_id = project();
  EXPECT_EQ(list_ids(sq), std::vector<std::string>{"kept"});

  // The same ids can come back later and start from clean rollups.
  const Event again = llm_event("d1", "doomed", kT0 + kSecond, 4, 4, 0.25);
  ASSERT_TRUE(IsOk(write({again})));
  expect_rollup(session("doomed"), {again});
  EXPECT_TRUE(HasCode(store().delete_session(project(), "never-existed"), Status::Code::kNotFound));
}

// ---- listing sessions ----------------------------------------------------------------------

namespace {

struct SessionSpec {
  std::string id;
  std::optional<std::string> name, agent, user_id;
  std::vector<std::string> tags;
  SessionStatus status;
  Micros started_at;
};

const std::vector<SessionSpec>& filter_specs() {
  static const std::vector<SessionSpec> specs = {
      {"s01",
       "Alpha run",
       "planner",
       "u1",
       {"prod", "fast"},
       SessionStatus::kSuccess,
       kT0 + 1 * kSecond},
      {"s02", "beta", "planner", "u2", {"prod"}, SessionStatus::kFailure, kT0 + 2 * kSecond},
      {"s03", "Gamma 50% done", "coder", "u1", {}, SessionStatus::kRunning, kT0 + 3 * kSecond},
      {"s04",
       "delta",
       "coder",
       std::nullopt,
       {"dev"},
       SessionStatus::kCancelled,
       kT0 + 4 * kSecond},
      {"s05",
       std::nullopt,
       std::nullopt,
       "u3",
       {"prod", "dev"},
       SessionStatus::kRunning,
       kT0 + 5 * kSecond},
      {"s06", "epsilon_x", "planner", "u1", {"fast"}, SessionStatus::kSuccess, kT0 + 6 * kSecond},
      {"s07", "50x zeta", "reviewer", "u2", {}, SessionStatus::kRunning, kT0 + 7 * kSecond},
      {"s08",
       "PLANNING notes",
       "reviewer",
       std::nullopt,
       {"production"},
       SessionStatus::kFailure,
       kT0 + 8 * kSecond},
  };
  return specs;
}

model::SessionPatch patch_of(const SessionSpec& spec) {
  auto p = make_patch(spec.id);
  p.name = spec.name;
  p.agent = spec.agent;
  p.user_id = spec.user_id;
  p.tags_json = tags_json(spec.tags);
  p.status = spec.status;
  p.started_at = std::optional<Micros>(spec.started_at);
  return p;
}

}  // namespace

TEST_P(StoreConformanceTest, ListFiltersSessions) {
  std::vector<model::SessionPatch> patches;
  for (const auto& spec : filter_specs()) patches.push_back(patch_of(spec));
  ASSERT_TRUE(IsOk(write({}, patches)));

  auto listed = [&](auto&& configure) {
    SessionQuery q;
    q.project_id = project();
    q.limit = 1000;
    configure(q);
    return sorted(list_ids(q));
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(listed([](SessionQuery&) {}),
            (V{"s01", "s02", "s03", "s04", "s05", "s06", "s07", "s08"}));
  EXPECT_EQ(listed([](SessionQuery& q) { q.agent = "planner"; }), (V{"s01", "s02", "s06"}));
  EXPECT_EQ(listed([](SessionQuery& q) { q.agent = "plan"; }), V{}) << "agent is an exact match";
  EXPECT_EQ(listed([](SessionQuery& q) { q.status = SessionStatus::kRunning; }),
            (V{"s03", "s05", "s07"}));
  EXPECT_EQ(listed([](SessionQuery& q) { q.status = SessionStatus::kCancelled; }), (V{"s04"}));
  EXPECT_EQ(listed([](SessionQuery& q) { q.tag = "prod"; }), (V{"s01", "s02", "s05"}))
      << "not 'production'";
  EXPECT_EQ(listed([](SessionQuery& q) { q.tag = "dev"; }), (V{"s04", "s05"}));
  EXPECT_EQ(listed([](SessionQuery& q) { q.tag = "missing"; }), V{});
  EXPECT_EQ(listed([](SessionQuery& q) { q.user_id = "u1"; }), (V{"s01", "s03", "s06"}));
  EXPECT_EQ(listed([](SessionQuery& q) { q.user_id = "u"; }), V{}) << "user_id is an exact match";
  EXPECT_EQ(listed([](SessionQuery& q) {
              q.from = kT0 + 2500 * kMilli;
              q.to = kT0 + 6500 * kMilli;
            }),
            (V{"s03", "s04", "s05", "s06"}));
  EXPECT_EQ(listed([](SessionQuery& q) {
              q.agent = "planner";
              q.status = SessionStatus::kSuccess;
              q.tag = "fast";
              q.user_id = "u1";
            }),
            (V{"s01", "s06"}));
  EXPECT_EQ(listed([](SessionQuery& q) {
              q.agent = "planner";
              q.from = kT0 + 1500 * kMilli;
            }),
            (V{"s02", "s06"}));
}

TEST_P(StoreConformanceTest, QueryTextIsCaseInsensitiveLiteralSubstring) {
  std::vector<model::SessionPatch> patches;
  for (const auto& spec : filter_specs()) patches.push_back(patch_of(spec));
  ASSERT_TRUE(IsOk(write({}, patches)));

  auto matching = [&](std::string text) {
    SessionQuery q;
    q.project_id = project();
    q.limit = 1000;
    q.q = std::move(text);
    return sorted(list_ids(q));
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(matching("PLAN"), (V{"s01", "s02", "s06", "s08"})) << "agent or name, any case";
  EXPECT_EQ(matching("alpha"), (V{"s01"}));
  EXPECT_EQ(matching("S0"), (V{"s01", "s02", "s03", "s04", "s05", "s06", "s07", "s08"}))
      << "the id";
  EXPECT_EQ(matching("u3"), (V{"s05"})) << "the user id";
  EXPECT_EQ(matching("50%"), (V{"s03"})) << "'%' is literal, not a wildcard";
  EXPECT_EQ(matching("_x"), (V{"s06"})) << "'_' is literal, not a wildcard";
  EXPECT_EQ(matching("zzz"), V{});
}

// The API leaves the exact bounds to the store; this suite pins them so every backend
// agrees: from is inclusive, to is exclusive.
TEST_P(StoreConformanceTest, TimeRangeIsHalfOpen) {
  ASSERT_TRUE(IsOk(
      write({make_event("e1", "at-1", kT0 + kSecond), make_event("e2", "at-2", kT0 + 2 * kSecond),
             make_event("e3", "at-3", kT0 + 3 * kSecond)})));
  SessionQuery q;
  q.project_id = project();
  q.from = kT0 + kSecond;
  q.to = kT0 + 3 * kSecond;
  EXPECT_EQ(sorted(list_ids(q)), (std::vector<std::string>{"at-1", "at-2"}));

  EventQuery eq;
  eq.project_id = project();
  eq.from = kT0 + kSecond;
  eq.to = kT0 + 3 * kSecond;
  EXPECT_EQ(sorted(search_ids(eq)), (std::vector<std::string>{"e1", "e2"}));

  auto agents = store().agents(project(), kT0 + kSecond, kT0 + 3 * kSecond);
  ASSERT_TRUE(IsOk(agents));
  ASSERT_EQ(agents->size(), 1u);
  EXPECT_EQ((*agents)[0].sessions, 2);
}

namespace {

// The value a session sorts on; absent values sort below every present one.
double sort_key(SessionSort sort, const Session& s) {
  constexpr double kAbsent = -std::numeric_limits<double>::infinity();
  switch (sort) {
    case SessionSort::kStartedAt:
      return s.started_at ? static_cast<double>(*s.started_at) : kAbsent;
    case SessionSort::kLastEventAt:
      return s.last_event_at ? static_cast<double>(*s.last_event_at) : kAbsent;
    case SessionSort::kCostUsd:
      return s.cost_usd;
    case SessionSort::kTotalTokens:
      return static_cast<double>(s.total_tokens);
    case SessionSort::kEventCount:
      return static_cast<double>(s.event_count);
    case SessionSort::kErrorCount:
      return static_cast<double>(s.error_count);
  }
  return 0;
}

constexpr SessionSort kAllSorts[] = {SessionSort::kStartedAt,  SessionSort::kLastEventAt,
                                     SessionSort::kCostUsd,    SessionSort::kTotalTokens,
                                     SessionSort::kEventCount, SessionSort::kErrorCount};

}  // namespace

// Walks every sort in both directions with several page sizes: each session is listed
// exactly once, and the sort key never goes the wrong way (ties included).
TEST_P(StoreConformanceTest, EverySortPaginatesOverEachSessionExactlyOnce) {
  std::vector<Event> events;
  std::map<std::string, std::vector<Event>> by_session;
  std::vector<std::string> all;
  for (int i = 0; i < 13; ++i) {
    const std::string sid = "p" + std::to_string(10 + i);
    all.push_back(sid);
    const Micros start = kT0 + ((i * 7) % 13) * kSecond;  // distinct
    for (int j = 0; j <= i % 4; ++j) {                    // 1..4 events: ties
      Event e = llm_event(sid + "-" + std::to_string(j), sid, start + j * kMilli, 10 * (i % 5), 0,
                          (i % 3) * 0.25);
      e.ended_at = start + (j + (i % 6) * 100) * kMilli;
      e.status = (i + j) % 5 == 0 ? EventStatus::kError : EventStatus::kOk;
      by_session[sid].push_back(e);
      events.push_back(e);
    }
  }
  ASSERT_TRUE(IsOk(write(events)));

  // Expected keys come from the written events, not from what the store lists.
  std::map<std::string, Session> expected;
  for (const auto& [sid, evs] : by_session) {
    const Rollup r = rollup_of(evs);
    Session s;
    s.id = sid;
    s.started_at = r.first_start;
    s.last_event_at = r.last_event;
    s.cost_usd = r.cost;
    s.total_tokens = r.total_tokens;
    s.event_count = r.events;
    s.error_count = r.errors;
    expected[sid] = s;
  }

  for (const SessionSort sort : kAllSorts) {
    for (const bool descending : {true, false}) {
      for (const int limit : {1, 2, 5, 13, 50}) {
        SCOPED_TRACE(::testing::Message() << "sort " << model::to_string(sort)
                                          << (descending ? " desc" : " asc") << " limit " << limit);
        SessionQuery q;
        q.project_id = project();
        q.sort = sort;
        q.descending = descending;
        q.limit = limit;
        const auto ids = list_ids(q);
        EXPECT_EQ(sorted(ids), all);
        for (size_t k = 1; k < ids.size(); ++k) {
          const double prev = sort_key(sort, expected[ids[k - 1]]);
          const double cur = sort_key(sort, expected[ids[k]]);
          if (descending) {
            EXPECT_GE(prev, cur) << ids[k - 1] << " before " << ids[k];
          } else {
            EXPECT_LE(prev, cur) << ids[k - 1] << " before " << ids[k];
          }
        }
      }
    }
  }

  // started_at is distinct for every session, so that order is fully determined.
  std::vector<std::string> by_start = all;
  std::sort(by_start.begin(), by_start.end(), [&](const std::string& a, const std::string& b) {
    return *expected[a].started_at > *expected[b].started_at;
  });
  SessionQuery q;
  q.project_id = project();
  q.limit = 4;
  EXPECT_EQ(list_ids(q), by_start) << "default order: newest started first";
}

// Sessions announced before any of their events have no start and no last event. They
// must still be reachable through every page of every sort.
TEST_P(StoreConformanceTest, PaginationReachesSessionsWithoutStartOrEvents) {
  std::vector<model::SessionPatch> bare;
  std::vector<std::string> all;
  for (int i = 0; i < 5; ++i) {
    bare.push_back(make_patch("bare-" + std::to_string(i)));
    all.push_back("bare-" + std::to_string(i));
  }
  std::vector<Event> events;
  for (int i = 0; i < 3; ++i) {
    events.push_back(
        make_event("e" + std::to_string(i), "busy-" + std::to_string(i), kT0 + i * kSecond));
    all.push_back("busy-" + std::to_string(i));
  }
  ASSERT_TRUE(IsOk(write(events, bare)));
  std::sort(all.begin(), all.end());

  for (const SessionSort sort : kAllSorts) {
    for (const bool descending : {true, false}) {
      for (const int limit : {1, 2, 3}) {
        SCOPED_TRACE(::testing::Message() << "sort " << model::to_string(sort)
                                          << (descending ? " desc" : " asc") << " limit " << limit);
        SessionQuery q;
        q.project_id = project();
        q.sort = sort;
        q.descending = descending;
        q.limit = limit;
        EXPECT_EQ(sorted(list_ids(q)), all);
      }
    }
  }
}

TEST_P(StoreConformanceTest, FiltersHoldAcrossPages) {
  std::vector<model::SessionPatch> patches;
  std::vector<std::string> planners;
  for (int i = 0; i < 20; ++i) {
    auto p = make_patch("f" + std::to_string(100 + i));
    p.agent = std::optional<std::string>(i % 3 == 0 ? "planner" : "coder");
    p.started_at = std::optional<Micros>(kT0 + (i % 7) * kSecond);  // ties on the sort key
    if (i % 3 == 0) planners.push_back(p.id);
    patches.push_back(std::move(p));
  }
  ASSERT_TRUE(IsOk(write({}, patches)));
  SessionQuery q;
  q.project_id = project();
  q.agent = "planner";
  q.limit = 2;
  EXPECT_EQ(sorted(list_ids(q)), sorted(planners));
}

// Sessions that start in the same second, across seconds and before 1970 list in exact
// time order, ties by id, through pages of any size, with or without an agent filter, and
// sub-second windows are exact (the SQLite store's time indexes hold only the second).
TEST_P(StoreConformanceTest, SessionsOrderByExactTimeAcrossSeconds) {
  const std::vector<std::pair<std::string, Micros>> times = {
      {"s1", kT0 + 900 * kMilli}, {"s2", kT0 + 1100 * kMilli}, {"s3", kT0 + 100 * kMilli},
      {"s4", kT0 + 1100 * kMilli}, {"s5", kT0 + 999 * kMilli}, {"s6", kT0 + 2000 * kMilli},
      {"s7", -1500 * kMilli},      {"s8", -500 * kMilli},      {"s9", 400 * kMilli}};
  for (const auto& [id, t] : times) {
    Event e = make_event(id + "-e", id, t);
    e.agent = "timer";
    ASSERT_TRUE(IsOk(write({e})));
  }
  model::SessionPatch bare = make_patch("s0");  // no start: sorts below every time
  bare.agent = std::optional<std::string>("timer");
  ASSERT_TRUE(IsOk(write({}, {bare})));
  using V = std::vector<std::string>;
  const V newest_first = {"s6", "s4", "s2", "s5", "s1", "s3", "s9", "s8", "s7", "s0"};
  const V oldest_first(newest_first.rbegin(), newest_first.rend());
  for (const SessionSort sort : {SessionSort::kStartedAt, SessionSort::kLastEventAt}) {
    for (const bool by_agent : {false, true}) {
      for (const int limit : {1, 2, 4, 100}) {
        SCOPED_TRACE(::testing::Message() << model::to_string(sort) << " limit " << limit
                                          << (by_agent ? ", by agent" : ""));
        SessionQuery q;
        q.project_id = project();
        q.sort = sort;
        q.limit = limit;
        if (by_agent) q.agent = "timer";
        EXPECT_EQ(list_ids(q), newest_first);
        q.descending = false;
        EXPECT_EQ(list_ids(q), oldest_first);
      }
    }
  }
  SessionQuery q;
  q.project_id = project();
  q.limit = 2;
  q.from = kT0 + 999 * kMilli;
  q.to = kT0 + 1100 * kMilli;
  EXPECT_EQ(list_ids(q), V{"s5"});
  auto agents = store().agents(project(), q.from, q.to);
  ASSERT_TRUE(IsOk(agents));
  ASSERT_EQ(agents->size(), 1u);
  EXPECT_EQ((*agents)[0].sessions, 1);
  q.from = -1000 * kMilli;
  q.to = 400 * kMilli;
  EXPECT_EQ(list_ids(q), V{"s8"});
  q.from = kT0 + 100 * kMilli;
  q.to = kT0 + 1101 * kMilli;
  EXPECT_EQ(list_ids(q), (V{"s4", "s2", "s5", "s1", "s3"}));
}

// ---- events --------------------------------------------------------------------------------

TEST_P(StoreConformanceTest, SessionEventsComeInTimeOrderAcrossPages) {
  const int seconds[] = {5, 1, 3, 3, 9, 1, 7, 3, 2};
  std::vector<Event> first, second;
  for (int i = 0; i < 9; ++i) {
    Event e = make_event("t" + std::to_string(i), "timeline", kT0 + seconds[i] * kSecond);
    (i % 2 ? first : second).push_back(e);
  }
  ASSERT_TRUE(IsOk(write(first)));
  ASSERT_TRUE(IsOk(write(second, {})));
  ASSERT_TRUE(IsOk(write({make_event("x", "elsewhere", kT0)})));

  for (const int limit : {1, 2, 4, 9, 100}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    const auto events = all_session_events("timeline", project(), limit);
    std::vector<std::string> ids = ids_of(events);
    EXPECT_EQ(sorted(ids),
              (std::vector<std::string>{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"}));
    for (size_t k = 1; k < events.size(); ++k) {
      EXPECT_LE(events[k - 1].event.started_at, events[k].event.started_at);
    }
  }
  auto exact = store().session_events(project(), "timeline", 9, std::nullopt);
  ASSERT_TRUE(IsOk(exact));
  EXPECT_EQ(exact->items.size(), 9u);
  EXPECT_FALSE(exact->next.has_value()) << "no further page when the last one is exactly full";
}

namespace {

struct EventSpec {
  std::string id, session;
  EventType type;
  std::optional<std::string> name;
  EventStatus status;
  std::optional<std::string> model, agent;
  int second;
};

std::vector<Event> search_fixture() {
  // Written in this (arrival) order, which differs from time order on purpose.
  const std::vector<EventSpec> specs = {
      {"f05", "s2", EventType::kLlm, "summarize", EventStatus::kOk, "gpt-a", "coder", 5},
      {"f01", "s1", EventType::kLlm, "chat", EventStatus::kOk, "gpt-a", "planner", 1},
      {"f08", "s3", EventType::kError, "boom", EventStatus::kError, std::nullopt, std::nullopt, 8},
      {"f03", "s1", EventType::kLlm, "chat", EventStatus::kError, "gpt-b", "planner", 3},
      {"f02", "s1", EventType::kTool, "search", EventStatus::kOk, std::nullopt, "planner", 2},
      {"f07", "s3", EventType::kLlm, "chat", EventStatus::kOk, "gpt-a", std::nullopt, 7},
      {"f04", "s2", EventType::kTool, "search", EventStatus::kError, std::nullopt, "coder", 4},
      {"f06", "s2", EventType::kCustom, "chat", EventStatus::kRunning, std::nullopt, "coder", 6},
  };
  std::vector<Event> out;
  for (const auto& s : specs) {
    Event e = make_event(s.id, s.session, kT0 + s.second * kSecond);
    e.type = s.type;
    e.name = s.name;
    e.status = s.status;
    e.model = s.model;
    e.agent = s.agent;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

TEST_P(StoreConformanceTest, SearchFiltersEventsNewestFirst) {
  const auto events = search_fixture();
  ASSERT_TRUE(IsOk(write(std::vector<Event>(events.begin(), events.begin() + 4))));
  ASSERT_TRUE(IsOk(write(std::vector<Event>(events.begin() + 4, events.end()))));

  auto found = [&](auto&& configure) {
    EventQuery q;
    q.project_id = project();
    q.limit = 1000;
    configure(q);
    return search_ids(q);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(found([](EventQuery&) {}), (V{"f08", "f07", "f06", "f05", "f04", "f03", "f02", "f01"}));
  EXPECT_EQ(found([](EventQuery& q) { q.type = EventType::kLlm; }),
            (V{"f07", "f05", "f03", "f01"}));
  EXPECT_EQ(found([](EventQuery& q) { q.name = "chat"; }), (V{"f07", "f06", "f03", "f01"}));
  EXPECT_EQ(found([](EventQuery& q) { q.status = EventStatus::kError; }), (V{"f08", "f04", "f03"}));
  EXPECT_EQ(found([](EventQuery& q) { q.status = EventStatus::kRunning; }), (V{"f06"}));
  EXPECT_EQ(found([](EventQuery& q) { q.model = "gpt-a"; }), (V{"f07", "f05", "f01"}));
  EXPECT_EQ(found([](EventQuery& q) { q.session_id = "s2"; }), (V{"f06", "f05", "f04"}));
  EXPECT_EQ(found([](EventQuery& q) { q.agent = "coder"; }), (V{"f06", "f05", "f04"}));
  EXPECT_EQ(found([](EventQuery& q) {
              q.from = kT0 + 2500 * kMilli;
              q.to = kT0 + 6500 * kMilli;
            }),
            (V{"f06", "f05", "f04", "f03"}));
  EXPECT_EQ(found([](EventQuery& q) {
              q.type = EventType::kLlm;
              q.model = "gpt-a";
              q.session_id = "s1";
            }),
            (V{"f01"}));
  EXPECT_EQ(found([](EventQuery& q) { q.name = "nothing"; }), V{});

  for (const int limit : {1, 3, 8}) {
    EventQuery q;
    q.project_id = project();
    q.limit = limit;
    EXPECT_EQ(search_ids(q), (V{"f08", "f07", "f06", "f05", "f04", "f03", "f02", "f01"}))
        << "limit " << limit;
    q.name = "chat";
    EXPECT_EQ(search_ids(q), (V{"f07", "f06", "f03", "f01"})) << "limit " << limit;
  }
}

TEST_P(StoreConformanceTest, SearchPaginatesThroughEqualTimes) {
  std::vector<Event> events;
  for (int i = 0; i < 10; ++i)
    events.push_back(make_event("same" + std::to_string(i), "s", kT0 + (i / 4) * kSecond));
  ASSERT_TRUE(IsOk(write(events)));
  EventQuery q;
  q.project_id = project();
  q.limit = 3;
  const auto ids = search_ids(q);
  std::vector<std::string> want;
  for (const auto& e : events) want.push_back(e.id);
  EXPECT_EQ(sorted(ids), sorted(want));
}

// Exact time order within and across seconds (and before 1970), whatever the write order,
// page by page through the cursor and within sub-second time bounds.
TEST_P(StoreConformanceTest, SearchOrdersByExactTimeAcrossSeconds) {
  const std::vector<std::pair<std::string, Micros>> times = {
      {"t1", kT0 + 900 * kMilli}, {"t2", kT0 + 1100 * kMilli}, {"t3", kT0 + 100 * kMilli},
      {"t4", kT0 + 1100 * kMilli}, {"t5", kT0 + 999 * kMilli}, {"t6", kT0 + 2000 * kMilli},
      {"t7", -1500 * kMilli},      {"t8", -500 * kMilli},      {"t9", 400 * kMilli}};
  for (const auto& [id, t] : times) ASSERT_TRUE(IsOk(write({make_event(id, "order", t)})));
  using V = std::vector<std::string>;
  const V newest_first = {"t6", "t4", "t2", "t5", "t1", "t3", "t9", "t8", "t7"};
  for (const bool by_session : {false, true}) {  // (the SQLite store walks different indexes)
    for (const int limit : {1, 2, 4, 100}) {
      EventQuery q;
      q.project_id = project();
      q.limit = limit;
      if (by_session) q.session_id = "order";
      EXPECT_EQ(search_ids(q), newest_first) << "limit " << limit << (by_session ? ", by session" : "");
    }
  }
  EventQuery q;
  q.project_id = project();
  q.limit = 2;
  q.from = kT0 + 999 * kMilli;
  q.to = kT0 + 1100 * kMilli;
  EXPECT_EQ(search_ids(q), V{"t5"});
  q.from = -1000 * kMilli;
  q.to = 400 * kMilli;
  EXPECT_EQ(search_ids(q), V{"t8"});
}

// ---- full-text search ----------------------------------------------------------------------

namespace {

Event text_event(std::string id, std::string session, Micros start) {
  return make_event(std::move(id), std::move(session), start);
}

// Polls `query` until it returns exactly `want` (the search index trails commits) and
// returns its last answer.
std::vector<std::string> await_ids(const std::function<std::vector<std::string>()>& query,
                                   const std::vector<std::string>& want) {
  std::vector<std::string> got;
  test::eventually([&] {
    got = query();
    return got == want;
  });
  return got;
}

}  // namespace

TEST_P(StoreConformanceTest, FullTextSearchCoversNameInputOutputAndErrorMessage) {
  Event by_name = text_event("by-name", "s", kT0);
  by_name.name = "Zebra crossing";
  Event by_input = text_event("by-input", "s", kT0 + 1);
  by_input.input_json =
      R"({"messages":[{"role":"user","content":"where do zebras and a zebra live?"}]})";
  Event by_output = text_event("by-output", "s", kT0 + 2);
  by_output.output_json = R"(["the zebra lives in Africa"])";
  Event by_error = text_event("by-error", "s", kT0 + 3);
  by_error.error = model::ErrorInfo{"ZooError", "escaped zebra", "stack zzz"};
  Event unrelated = text_event("unrelated", "s", kT0 + 4);
  unrelated.name = "giraffe";
  unrelated.model = "zebra-model";  // model is not searched
  ASSERT_TRUE(IsOk(write({by_name, by_input, by_output, by_error})));
  ASSERT_TRUE(IsOk(write({unrelated})));

  auto query = [&](std::string text) {
    return [this, text] {
      EventQuery q;
      q.project_id = project();
      q.q = text;
      q.limit = 1000;
      return sorted(search_ids(q));
    };
  };
  // The last write is indexed once this holds; later queries need no waiting.
  ASSERT_EQ(await_ids(query("giraffe"), {"unrelated"}), std::vector<std::string>{"unrelated"});
  EXPECT_EQ(query("zebra")(),
            (std::vector<std::string>{"by-error", "by-input", "by-name", "by-output"}));
  EXPECT_EQ(query("ZEBRA")(),
            (std::vector<std::string>{"by-error", "by-input", "by-name", "by-output"}))
      << "case-insensitive";
  EXPECT_EQ(query("africa")(), std::vector<std::string>{"by-output"});
  EXPECT_EQ(query("escaped")(), std::vector<std::string>{"by-error"});
  EXPECT_EQ(query("hippo")(), std::vector<std::string>{});
}

TEST_P(StoreConformanceTest, FullTextRequiresEveryWordAndPrefixMatchesTheLast) {
  Event e1 = text_event("alpha", "s", kT0);
  e1.name = "search alpha";
  e1.input_json = R"({"prompt":"find the zebra"})";
  Event e2 = text_event("alphabet", "s", kT0 + 1);
  e2.name = "alphabet soup";
  Event e3 = text_event("zebra-only", "s", kT0 + 2);
  e3.output_json = R"({"answer":"zebra crossing"})";
  ASSERT_TRUE(IsOk(write({e1, e2, e3})));

  auto query = [&](std::string text) {
    return [this, text] {
      EventQuery q;
      q.project_id = project();
      q.q = text;
      q.limit = 1000;
      return sorted(search_ids(q));
    };
  };
  ASSERT_EQ(await_ids(query("crossing"), {"zebra-only"}), std::vector<std::string>{"zebra-only"});
  EXPECT_EQ(query("alph")(), (std::vector<std::string>{"alpha", "alphabet"}))
      << "prefix of the last word";
  EXPECT_EQ(query("zebra find")(), std::vector<std::string>{"alpha"}) << "all words must match";
  EXPECT_EQ(query("soup alph")(), std::vector<std::string>{"alphabet"});
  EXPECT_EQ(query("alph soup")(), std::vector<std::string>{}) << "only the last word is a prefix";
}

// The last word is a prefix however many words it completes to: a handful, many (more
// than a backend may expand one by one), or none.
TEST_P(StoreConformanceTest, FullTextPrefixMatchesAnyNumberOfCompletions) {
  std::vector<Event> events;
  std::vector<std::string> all, tens;
  for (int i = 0; i < 60; ++i) {
    const std::string id = "p" + std::to_string(100 + i);
    Event e = text_event(id, "s", kT0 + i);
    e.name = "kiwi" + std::to_string(100 + i) + " fruit";  // 60 distinct words: kiwi100..kiwi159
    events.push_back(e);
    all.push_back(id);
    if (i >= 10 && i < 20) tens.push_back(id);
  }
  ASSERT_TRUE(IsOk(write(events)));
  auto query = [this](std::string text) {
    return [this, text] {
      EventQuery q;
      q.project_id = project();
      q.q = text;
      q.limit = 1000;
      auto ids = search_ids(q);
      std::sort(ids.begin(), ids.end());
      return ids;
    };
  };
  EXPECT_EQ(await_ids(query("kiwi"), all), all) << "60 completions";
  EXPECT_EQ(query("KIWI11")(), tens) << "10 completions, case-insensitive";
  EXPECT_EQ(query("fruit kiwi159")(), std::vector<std::string>{"p159"});
  EXPECT_EQ(query("kiwi2")(), std::vector<std::string>{}) << "no completion";
  EXPECT_EQ(query("kiwi11 fruit")(), std::vector<std::string>{}) << "only the last word is a prefix";
}

// Users type words, not FTS syntax: punctuation inside a word (model names, e-mail
// addresses, contractions) must neither fail the query nor be read as operators.
TEST_P(StoreConformanceTest, FullTextAcceptsWordsWithPunctuation) {
  Event e = text_event("e", "s", kT0);
  e.name = "gpt-4o call for user@example.com";
  ASSERT_TRUE(IsOk(write({e})));
  auto query = [this](std::string text) {
    return [this, text] {
      EventQuery q;
      q.project_id = project();
      q.q = text;
      return search_ids(q);
    };
  };
  ASSERT_EQ(await_ids(query("call"), {"e"}), std::vector<std::string>{"e"});
  EXPECT_EQ(query("gpt-4o")(), std::vector<std::string>{"e"});
  EXPECT_EQ(query("user@example.com")(), std::vector<std::string>{"e"});
  for (const char* text : {"\"unbalanced", "words AND OR NOT", "NEAR(a b)", "name:plain", "*",
                           "-plain", "a'b\"c", "(((", "^plain", "don't"}) {
    EventQuery q;
    q.project_id = project();
    q.q = text;
    EXPECT_TRUE(IsOk(store().search_events(q))) << "query " << text;
  }
}

TEST_P(StoreConformanceTest, FullTextFindsOnlyTheCurrentVersionOfAnEvent) {
  Event v1 = text_event("e", "s", kT0);
  v1.name = "original wording";
  ASSERT_TRUE(IsOk(write({v1})));
  Event v2 = v1;
  v2.name = "revised wording";
  ASSERT_TRUE(IsOk(write({v2})));

  auto query = [&](std::string text) {
    return [this, text] {
      EventQuery q;
      q.project_id = project();
      q.q = text;
      q.limit = 1000;
      return search_ids(q);
    };
  };
  ASSERT_EQ(await_ids(query("revised"), {"e"}), std::vector<std::string>{"e"});
  EXPECT_EQ(query("original")(), std::vector<std::string>{});
  EXPECT_EQ(query("wording")(), std::vector<std::string>{"e"})
      << "listed once, not once per version";
}

TEST_P(StoreConformanceTest, FullTextListsNewestIngestedFirstAndPaginates) {
  // Arrival order deliberately differs from started_at order.
  const std::vector<std::pair<std::string, int>> arrivals = {
      {"m1", 5}, {"m2", 1}, {"m3", 9}, {"m4", 3}, {"m5", 7}};
  for (const auto& [id, second] : arrivals) {
    Event e = text_event(id, id == "m4" ? "other" : "s", kT0 + second * kSecond);
    e.name = "needle " + id;
    ASSERT_TRUE(IsOk(write({e})));
  }
  for (const int limit : {1, 2, 10}) {
    auto query = [this, limit] {
      EventQuery q;
      q.project_id = project();
      q.q = "needle";
      q.limit = limit;
      return search_ids(q);
    };
    const std::vector<std::string> want = {"m5", "m4", "m3", "m2", "m1"};
    EXPECT_EQ(await_ids(query, want), want) << "limit " << limit;
  }
  auto filtered = [this] {
    EventQuery q;
    q.project_id = project();
    q.q = "needle";
    q.session_id = "s";
    q.from = kT0 + 2 * kSecond;
    q.limit = 1;
    return search_ids(q);
  };
  EXPECT_EQ(filtered(), (std::vector<std::string>{"m5", "m3", "m1"}))
      << "full text combined with filters";
}

// A backend may search frequent and rare words differently (walking the newest events, or
// an index of words): every way must list the same matches, newest ingested first, across
// pages, whether the matches are among the newest events or far behind them.
TEST_P(StoreConformanceTest, FullTextFindsFrequentAndRareWordsAmongManyEvents) {
  constexpr int kEvents = 12000;
  std::vector<std::string> common, medium;  // newest first
  for (int batch = 0; batch < kEvents / 1000; ++batch) {
    std::vector<Event> events;
    for (int i = batch * 1000; i < (batch + 1) * 1000; ++i) {
      Event e = text_event(fmt::format("e{:05d}", i), "s", kT0 + i * kMilli);
      e.name = "filler";
      if (i % 2 == 0) *e.name += " common";
      if (i % 150 == 0) *e.name += " medium";
      if (i == 7) *e.name += " rare";
      events.push_back(e);
    }
    ASSERT_TRUE(IsOk(write(events)));
  }
  for (int i = kEvents - 1; i >= 0; --i) {
    if (i % 2 == 0) common.push_back(fmt::format("e{:05d}", i));
    if (i % 150 == 0) medium.push_back(fmt::format("e{:05d}", i));
  }
  auto query = [this](std::string text, int limit) {
    return [this, text, limit] {
      EventQuery q;
      q.project_id = project();
      q.q = text;
      q.limit = limit;
      return search_ids(q);
    };
  };
  ASSERT_EQ(await_ids(query("rare", 50), {"e00007"}), std::vector<std::string>{"e00007"});
  EXPECT_EQ(await_ids(query("medium", 30), medium), medium) << "80 matches, 3 pages";
  EXPECT_EQ(query("filler medi", 7)(), medium) << "with a prefix and small pages";

  EventQuery first;
  first.project_id = project();
  first.q = "common";
  first.limit = 25;
  auto page = store().search_events(first);
  ASSERT_TRUE(IsOk(page));
  std::vector<std::string> got;
  for (const auto& e : page->items) got.push_back(e.event.id);
  EXPECT_EQ(got, std::vector<std::string>(common.begin(), common.begin() + 25));
  EXPECT_TRUE(page->next.has_value());

  EventQuery recent;
  recent.project_id = project();
  recent.q = "medium";
  recent.from = kT0 + 6000 * kMilli;
  recent.limit = 10;
  EXPECT_EQ(search_ids(recent), std::vector<std::string>(medium.begin(), medium.begin() + 40))
      << "combined with a time range";
}

// ---- agents --------------------------------------------------------------------------------

namespace {

// A session with its own start and end and events inside that span.
struct AgentSession {
  std::string id;
  std::optional<std::string> agent;
  SessionStatus status;
  Micros start;
  std::optional<Micros> end;
};

}  // namespace

TEST_P(StoreConformanceTest, AgentStatsAggregateSessions) {
  const std::vector<AgentSession> sessions = {
      {"pa1", "planner", SessionStatus::kSuccess, kT0, kT0 + 10 * kMilli},
      {"pa2", "planner", SessionStatus::kFailure, kT0 + 1 * kSecond,
       kT0 + 1 * kSecond + 20 * kMilli},
      {"pa3", "planner", SessionStatus::kSuccess, kT0 + 2 * kSecond,
       kT0 + 2 * kSecond + 30 * kMilli},
      {"pa4", "planner", SessionStatus::kSuccess, kT0 + 3 * kSecond,
       kT0 + 3 * kSecond + 40 * kMilli},
      {"pa5", "planner", SessionStatus::kSuccess, kT0 + 4 * kSecond,
       kT0 + 4 * kSecond + 100 * kMilli},
      {"co1", "coder", SessionStatus::kRunning, kT0 + 5 * kSecond, std::nullopt},
      {"co2", "coder", SessionStatus::kCancelled, kT0 + 6 * kSecond,
       kT0 + 6 * kSecond + 3 * kMilli},
      {"nobody", std::nullopt, SessionStatus::kRunning, kT0 + 7 * kSecond, std::nullopt},
  };
  std::vector<model::SessionPatch> patches;
  for (const auto& s : sessions) {
    auto p = make_patch(s.id);
    p.agent = s.agent;
    p.status = s.status;
    p.started_at = std::optional<Micros>(s.start);
    p.ended_at = s.end;
    patches.push_back(std::move(p));
  }
  Event pa1_llm = llm_event("pa1-llm", "pa1", kT0 + 1 * kMilli, 10, 20, 0.5);
  pa1_llm.ended_at = kT0 + 2 * kMilli;
  Event pa1_tool = make_event("pa1-tool", "pa1", kT0 + 2 * kMilli);
  pa1_tool.type = EventType::kTool;
  Event pa2_llm = llm_event("pa2-llm", "pa2", kT0 + kSecond + kMilli, 5, 5, 0.25);
  pa2_llm.ended_at = kT0 + kSecond + 2 * kMilli;
  pa2_llm.status = EventStatus::kError;
  Event pa5_tool = make_event("pa5-tool", "pa5", kT0 + 4 * kSecond + kMilli);
  pa5_tool.type = EventType::kTool;
  pa5_tool.status = EventStatus::kError;
  pa5_tool.ended_at = kT0 + 4 * kSecond + 2 * kMilli;
  Event co1_step = make_event("co1-step", "co1", kT0 + 5 * kSecond);
  co1_step.ended_at = kT0 + 5 * kSecond + 7 * kMilli;
  ASSERT_TRUE(IsOk(write({pa1_llm, pa1_tool, pa2_llm, pa5_tool, co1_step}, patches)));

  auto stats = store().agents(project(), std::nullopt, std::nullopt);
  ASSERT_TRUE(IsOk(stats));
  ASSERT_EQ(stats->size(), 3u);
  const auto& planner = (*stats)[0];
  const auto& coder = (*stats)[1];
  const auto& nobody = (*stats)[2];
  EXPECT_EQ(planner.agent, "planner");
  EXPECT_EQ(coder.agent, "coder");
  EXPECT_EQ(nobody.agent, std::nullopt);

  EXPECT_EQ(planner.sessions, 5);
  EXPECT_EQ(planner.running_sessions, 0);
  EXPECT_EQ(planner.failed_sessions, 2) << "pa2 by status, pa5 by its error event";
  EXPECT_EQ(planner.events, 4);
  EXPECT_EQ(planner.errors, 2);
  EXPECT_EQ(planner.llm_calls, 2);
  EXPECT_EQ(planner.tool_calls, 2);
  EXPECT_EQ(planner.input_tokens, 15);
  EXPECT_EQ(planner.output_tokens, 25);
  EXPECT_EQ(planner.total_tokens, 40);
  EXPECT_NEAR(planner.cost_usd, 0.75, 1e-9);
  // Durations 10, 20, 30, 40, 100 ms. numpy.percentile (linear): p50 = 30;
  // p95: rank 0.95 * 4 = 3.8 -> 40 + 0.8 * (100 - 40) = 88.
  ASSERT_TRUE(planner.p50_duration_ms.has_value());
  ASSERT_TRUE(planner.p95_duration_ms.has_value());
  EXPECT_NEAR(*planner.p50_duration_ms, 30.0, 1e-9);
  EXPECT_NEAR(*planner.p95_duration_ms, 88.0, 1e-9);
  EXPECT_EQ(planner.last_seen_at, kT0 + 4 * kSecond + 2 * kMilli) << "pa5's last event";

  EXPECT_EQ(coder.sessions, 2);
  EXPECT_EQ(coder.running_sessions, 1);
  EXPECT_EQ(coder.failed_sessions, 0);
  EXPECT_EQ(coder.events, 1);
  // co1 runs until its last event (7 ms), co2 ended after 3 ms: p50 = 5, p95 = 3 + 0.95 * 4 = 6.8.
  ASSERT_TRUE(coder.p50_duration_ms.has_value());
  ASSERT_TRUE(coder.p95_duration_ms.has_value());
  EXPECT_NEAR(*coder.p50_duration_ms, 5.0, 1e-9);
  EXPECT_NEAR(*coder.p95_duration_ms, 6.8, 1e-9);
  EXPECT_EQ(coder.last_seen_at, kT0 + 6 * kSecond) << "co2 has no events: its start";

  EXPECT_EQ(nobody.sessions, 1);
  EXPECT_EQ(nobody.running_sessions, 1);
  EXPECT_EQ(nobody.p50_duration_ms, std::nullopt)
      << "a session with no end and no events has no duration";
  EXPECT_EQ(nobody.p95_duration_ms, std::nullopt);
  EXPECT_EQ(nobody.last_seen_at, kT0 + 7 * kSecond);

  auto early = store().agents(project(), std::nullopt, kT0 + 2 * kSecond);
  ASSERT_TRUE(IsOk(early));
  ASSERT_EQ(early->size(), 1u);
  EXPECT_EQ((*early)[0].sessions, 2);
  // pa1 and pa2: 10 and 20 ms -> p50 = 15, p95 = 10 + 0.95 * 10 = 19.5.
  EXPECT_NEAR((*early)[0].p50_duration_ms.value_or(-1), 15.0, 1e-9);
  EXPECT_NEAR((*early)[0].p95_duration_ms.value_or(-1), 19.5, 1e-9);

  auto late = store().agents(project(), kT0 + 5 * kSecond, std::nullopt);
  ASSERT_TRUE(IsOk(late));
  ASSERT_EQ(late->size(), 2u);
  EXPECT_EQ((*late)[0].agent, "coder");
  EXPECT_EQ((*late)[1].agent, std::nullopt);
}

TEST_P(StoreConformanceTest, AgentsSortBySessionsThenName) {
  std::vector<Event> events;
  auto add = [&](const std::string& agent, int sessions) {
    for (int i = 0; i < sessions; ++i) {
      Event e = make_event(agent + std::to_string(i), agent + "-s" + std::to_string(i),
                           kT0 + i * kSecond);
      e.agent = agent;
      events.push_back(std::move(e));
    }
  };
  add("beta", 2);
  add("gamma", 3);
  add("alpha", 2);
  add("delta", 1);
  ASSERT_TRUE(IsOk(write(events)));
  auto stats = store().agents(project(), std::nullopt, std::nullopt);
  ASSERT_TRUE(IsOk(stats));
  std::vector<std::string> order;
  for (const auto& a : *stats) order.push_back(a.agent.value_or("<null>"));
  EXPECT_EQ(order, (std::vector<std::string>{"gamma", "alpha", "beta", "delta"}));
}

TEST_P(StoreConformanceTest, AgentsOfAnEmptyProjectIsEmpty) {
  auto stats = store().agents(project(), std::nullopt, std::nullopt);
  ASSERT_TRUE(IsOk(stats));
  EXPECT_TRUE(stats->empty());
}

// ---- project isolation ---------------------------------------------------------------------

TEST_P(StoreConformanceTest, ProjectsWithTheSameIdsStaySeparate) {
  const int64_t a = project();
  const int64_t b = other_project();
  Event a1 = llm_event("e1", "s1", kT0, 10, 10, 0.5);
  a1.name = "secretword in a";
  a1.agent = "planner";
  Event a2 = make_event("e2", "s1", kT0 + kSecond);
  a2.agent = "planner";
  Event b1 = make_event("e1", "s1", kT0 + 5 * kSecond);
  b1.name = "only b";
  b1.agent = "coder";
  ASSERT_TRUE(IsOk(write_to(a, {a1, a2})));
  ASSERT_TRUE(IsOk(write_to(b, {b1})));

  expect_rollup(session("s1", a), {a1, a2});
  expect_rollup(session("s1", b), {b1});
  auto got_a = store().get_event(a, "e1");
  auto got_b = store().get_event(b, "e1");
  ASSERT_TRUE(IsOk(got_a));
  ASSERT_TRUE(IsOk(got_b));
  expect_same_event(a1, got_a->event);
  expect_same_event(b1, got_b->event);
  EXPECT_TRUE(HasCode(store().get_event(b, "e2"), Status::Code::kNotFound));
  EXPECT_EQ(sorted(ids_of(all_session_events("s1", b))), std::vector<std::string>{"e1"});

  EventQuery q;
  q.project_id = b;
  EXPECT_EQ(search_ids(q), std::vector<std::string>{"e1"});
  q.agent = "planner";
  EXPECT_EQ(search_ids(q), std::vector<std::string>{});

  SessionQuery sq;
  sq.project_id = b;
  auto listed_b = store().list_sessions(sq);
  ASSERT_TRUE(IsOk(listed_b));
  ASSERT_EQ(listed_b->items.size(), 1u);
  EXPECT_EQ(listed_b->items[0].event_count, 1);

  auto agents_b = store().agents(b, std::nullopt, std::nullopt);
  ASSERT_TRUE(IsOk(agents_b));
  ASSERT_EQ(agents_b->size(), 1u);
  EXPECT_EQ((*agents_b)[0].agent, "coder");
  EXPECT_EQ((*agents_b)[0].events, 1);

  // Full text: once A's event is searchable in A, it must still be invisible from B.
  auto text_in = [this](int64_t project_id, std::string text) {
    return [this, project_id, text] {
      EventQuery fq;
      fq.project_id = project_id;
      fq.q = text;
      return search_ids(fq);
    };
  };
  ASSERT_EQ(await_ids(text_in(a, "secretword"), {"e1"}), std::vector<std::string>{"e1"});
  ASSERT_EQ(await_ids(text_in(b, "only"), {"e1"}), std::vector<std::string>{"e1"});
  EXPECT_EQ(text_in(b, "secretword")(), std::vector<std::string>{});

  // A re-send in B replaces B's event only.
  Event b1_again = b1;
  b1_again.type = EventType::kTool;
  ASSERT_TRUE(IsOk(write_to(b, {b1_again})));
  expect_rollup(session("s1", a), {a1, a2});
  expect_rollup(session("s1", b), {b1_again});

  // Patches, deletes and creates are scoped too.
  auto rename = make_patch("s1");
  rename.name = std::optional<std::string>("renamed in b");
  ASSERT_TRUE(IsOk(store().patch_session(b, rename)));
  EXPECT_EQ(session("s1", a).name, std::nullopt);
  ASSERT_TRUE(IsOk(store().delete_session(b, "s1")));
  EXPECT_TRUE(IsOk(store().get_session(a, "s1")));
  EXPECT_TRUE(IsOk(store().get_event(a, "e1")));
  EXPECT_TRUE(IsOk(store().get_event(a, "e2")));
  EXPECT_TRUE(IsOk(store().create_session(b, make_patch("s1"), kT0)));
  EXPECT_TRUE(HasCode(store().create_session(a, make_patch("s1"), kT0), Status::Code::kConflict));
}

TEST_P(StoreConformanceTest, UnknownProjectSeesNothing) {
  ASSERT_TRUE(IsOk(write({make_event("e1", "s1", kT0)})));
  const int64_t b = other_project();
  EXPECT_TRUE(HasCode(store().get_session(b, "s1"), Status::Code::kNotFound));
  EXPECT_TRUE(HasCode(store().get_event(b, "e1"), Status::Code::kNotFound));
  EXPECT_TRUE(HasCode(store().delete_session(b, "s1"), Status::Code::kNotFound));
  auto patch = make_patch("s1");
  patch.name = std::optional<std::string>("hijack");
  EXPECT_TRUE(HasCode(store().patch_session(b, patch), Status::Code::kNotFound));
  EXPECT_EQ(session("s1").name, std::nullopt);
  SessionQuery sq;
  sq.project_id = b;
  EXPECT_TRUE(list_ids(sq).empty());
  EventQuery q;
  q.project_id = b;
  EXPECT_TRUE(search_ids(q).empty());
}

}  // namespace agentlog::store::conformance

// ---- sequence numbers and the live stream's catch-up ---------------------------------------

namespace agentlog::store::conformance {

TEST_P(StoreConformanceTest, WriteReportsIncreasingSeqsThatReadsAgree) {
  const model::WriteBatch a = make_batch(project(), {make_event("s1", "x", kT0), make_event("s2", "y", kT0)});
  const model::WriteBatch b = make_batch(project(), {make_event("s3", "x", kT0 + kMilli)});
  const model::WriteBatch* batches[] = {&a, &b};
  std::vector<int64_t> seqs;
  ASSERT_TRUE(IsOk(store().write(batches, &seqs)));
  ASSERT_EQ(seqs.size(), 3u);
  EXPECT_LT(seqs[0], seqs[1]);
  EXPECT_LT(seqs[1], seqs[2]);
  for (size_t i = 0; i < 3; ++i) {
    auto e = store().get_event(project(), "s" + std::to_string(i + 1));
    ASSERT_TRUE(IsOk(e));
    EXPECT_EQ(e->seq, seqs[i]);
  }
  const model::WriteBatch c = make_batch(project(), {make_event("s4", "x", kT0)});
  const model::WriteBatch* later[] = {&c};
  std::vector<int64_t> more;
  ASSERT_TRUE(IsOk(store().write(later, &more)));
  ASSERT_EQ(more.size(), 1u);
  EXPECT_GT(more[0], seqs[2]) << "a later commit gets a higher seq";
}

TEST_P(StoreConformanceTest, EventsAfterReplaysInSeqOrderWithFilters) {
  Event e1 = make_event("a1", "s1", kT0 + 5 * kSecond);  // later start, earlier commit
  e1.agent = "planner";
  Event e2 = make_event("a2", "s2", kT0);
  e2.type = EventType::kTool;
  Event e3 = make_event("a3", "s1", kT0 + kSecond);
  e3.agent = "planner";
  e3.type = EventType::kLlm;
  ASSERT_TRUE(IsOk(write({e1})));
  ASSERT_TRUE(IsOk(write({e2})));
  ASSERT_TRUE(IsOk(write({e3})));
  ASSERT_TRUE(IsOk(write_to(other_project(), {make_event("o1", "s1", kT0)})));
  const int64_t first = store().get_event(project(), "a1")->seq;

  auto ids = [&](EventQuery q, int64_t after) {
    q.project_id = project();
    auto r = store().events_after(q, after);
    EXPECT_TRUE(IsOk(r));
    std::vector<std::string> out;
    if (r.is_ok()) {
      for (const auto& e : *r) out.push_back(e.event.id);
    }
    return out;
  };
  EventQuery all;
  all.limit = 100;
  EXPECT_EQ(ids(all, 0), (std::vector<std::string>{"a1", "a2", "a3"})) << "commit order, not time order";
  EXPECT_EQ(ids(all, first), (std::vector<std::string>{"a2", "a3"})) << "exclusive of after_seq";
  EventQuery by_session = all;
  by_session.session_id = "s1";
  EXPECT_EQ(ids(by_session, 0), (std::vector<std::string>{"a1", "a3"}));
  EventQuery by_type = all;
  by_type.type = EventType::kTool;
  EXPECT_EQ(ids(by_type, 0), (std::vector<std::string>{"a2"}));
  EventQuery by_agent = all;
  by_agent.agent = "planner";
  EXPECT_EQ(ids(by_agent, first), (std::vector<std::string>{"a3"}));
  EventQuery limited = all;
  limited.limit = 2;
  EXPECT_EQ(ids(limited, 0), (std::vector<std::string>{"a1", "a2"}));
}

TEST_P(StoreConformanceTest, ResentEventIsReplayedAgainWithANewSeq) {
  ASSERT_TRUE(IsOk(write({make_event("r1", "s", kT0)})));
  const int64_t before = store().get_event(project(), "r1")->seq;
  ASSERT_TRUE(IsOk(write({make_event("r1", "s", kT0 + kMilli)})));
  EventQuery q;
  q.project_id = project();
  auto r = store().events_after(q, before);
  ASSERT_TRUE(IsOk(r));
  ASSERT_EQ(r->size(), 1u) << "a client that saw the old version must get the new one";
  EXPECT_EQ((*r)[0].event.started_at, kT0 + kMilli);
}

// ---- time series ---------------------------------------------------------------------------

TEST_P(StoreConformanceTest, TimeseriesBucketsEventsPerAgent) {
  const Micros minute = 60 * kSecond;
  Event p1 = llm_event("t1", "s1", kT0 + 10 * kSecond, 10, 5, 0.5);
  p1.agent = "planner";
  Event p2 = llm_event("t2", "s1", kT0 + 2 * minute + kSecond, 1, 1, 0.25);
  p2.agent = "planner";
  p2.error = model::ErrorInfo{"E", "boom", std::nullopt};
  p2.status = EventStatus::kError;
  Event c1 = make_event("t3", "s2", kT0 + 2 * minute);
  c1.agent = "coder";
  Event none = make_event("t4", "s4", kT0);  // a session without any agent
  Event outside = make_event("t5", "s3", kT0 + 3 * minute);  // the window ends before it
  Event inherits = make_event("t7", "s1", kT0 + 2 * minute + 2 * kSecond);  // s1 is the planner's session
  Event before = make_event("t6", "s3", kT0 - 1);
  before.agent = "coder";
  ASSERT_TRUE(IsOk(write({p1, p2, c1, none, outside, before})));
  ASSERT_TRUE(IsOk(write({inherits})));

  auto ts = store().timeseries(project(), kT0, minute, 3, std::nullopt);
  ASSERT_TRUE(IsOk(ts));
  EXPECT_EQ(ts->from, kT0);
  EXPECT_EQ(ts->step, minute);
  EXPECT_EQ(ts->buckets, 3);
  std::map<std::optional<std::string>, model::AgentSeries> by_agent;
  for (const auto& s : ts->series) by_agent[s.agent] = s;
  ASSERT_EQ(by_agent.size(), 3u);
  const auto& planner = by_agent["planner"];
  EXPECT_EQ(planner.events, (std::vector<int64_t>{1, 0, 2})) << "with the agent-less event of its session";
  EXPECT_EQ(planner.errors, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(planner.total_tokens, (std::vector<int64_t>{15, 0, 2}));
  EXPECT_EQ(planner.cost_usd, (std::vector<double>{0.5, 0, 0.25}));
  EXPECT_EQ(by_agent["coder"].events, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(by_agent[std::nullopt].events, (std::vector<int64_t>{1, 0, 0}));

  auto only = store().timeseries(project(), kT0, minute, 3, std::string("coder"));
  ASSERT_TRUE(IsOk(only));
  ASSERT_EQ(only->series.size(), 1u);
  EXPECT_EQ(only->series[0].agent, "coder");

  auto other = store().timeseries(other_project(), kT0, minute, 3, std::nullopt);
  ASSERT_TRUE(IsOk(other));
  EXPECT_TRUE(other->series.empty());
}

// ---- users and log-ins ---------------------------------------------------------------------

TEST_P(StoreConformanceTest, CreatesFindsListsAndDeletesUsers) {
  auto a = store().create_user("ada@example.com", "$argon2id$hash-a", model::Role::kAdmin, kT0);
  ASSERT_TRUE(IsOk(a));
  auto v = store().create_user("vic@example.com", "$argon2id$hash-v", model::Role::kViewer, kT0 + 1);
  ASSERT_TRUE(IsOk(v));
  EXPECT_NE(a->id, v->id);
  EXPECT_TRUE(HasCode(store().create_user("ada@example.com", "x", model::Role::kMember, kT0).status(), Status::Code::kConflict));
  auto found = store().find_user("vic@example.com");
  ASSERT_TRUE(IsOk(found));
  EXPECT_EQ(found->id, v->id);
  EXPECT_EQ(found->password_hash, "$argon2id$hash-v");
  EXPECT_EQ(found->role, model::Role::kViewer);
  EXPECT_EQ(found->created_at, kT0 + 1);
  EXPECT_TRUE(HasCode(store().find_user("nobody@example.com").status(), Status::Code::kNotFound));
  auto all = store().list_users();
  ASSERT_TRUE(IsOk(all));
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].email, "ada@example.com");
  ASSERT_TRUE(IsOk(store().delete_user("ada@example.com")));
  EXPECT_TRUE(HasCode(store().delete_user("ada@example.com"), Status::Code::kNotFound));
  EXPECT_EQ(store().list_users()->size(), 1u);
}

TEST_P(StoreConformanceTest, LoginsExpireEndOnLogoutAndDieWithTheirUser) {
  auto u = store().create_user("ada@example.com", "h", model::Role::kMember, kT0);
  ASSERT_TRUE(IsOk(u));
  const model::LoginSession l{"hash1", u->id, "csrf1", kT0, kT0 + 10 * kSecond};
  ASSERT_TRUE(IsOk(store().create_login(l)));
  auto found = store().find_login("hash1", kT0 + kSecond);
  ASSERT_TRUE(IsOk(found));
  EXPECT_EQ(found->first.csrf_token, "csrf1");
  EXPECT_EQ(found->first.expires_at, kT0 + 10 * kSecond);
  EXPECT_EQ(found->second.email, "ada@example.com");
  EXPECT_EQ(found->second.role, model::Role::kMember);
  EXPECT_TRUE(HasCode(store().find_login("hash1", kT0 + 10 * kSecond).status(), Status::Code::kNotFound))
      << "expired";
  EXPECT_TRUE(HasCode(store().find_login("other", kT0).status(), Status::Code::kNotFound));

  ASSERT_TRUE(IsOk(store().create_login({"hash2", u->id, "csrf2", kT0, kT0 + 100 * kSecond})));
  ASSERT_TRUE(IsOk(store().delete_login("hash2")));
  EXPECT_TRUE(HasCode(store().find_login("hash2", kT0).status(), Status::Code::kNotFound));

  ASSERT_TRUE(IsOk(store().create_login({"hash3", u->id, "csrf3", kT0, kT0 + 100 * kSecond})));
  ASSERT_TRUE(IsOk(store().delete_user("ada@example.com")));
  EXPECT_TRUE(HasCode(store().find_login("hash3", kT0).status(), Status::Code::kNotFound));
}

}  // namespace agentlog::store::conformance
