#include "api/api.h"
#include "api/web_assets.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "testing/api_fixture.h"
#include "testing/eventually.h"
#include "testing/json.h"
#include "testing/status_matchers.h"

namespace agentlog::api {
namespace {

using test::HasCode;
using test::header;
using test::IsOk;
using test::kT0;
using test::ParsedJson;

constexpr std::string_view kKey = "al_TestKeyForTheDefaultProject0000000000000";
constexpr std::string_view kOtherKey = "al_TestKeyForTheOtherProject00000000000000";

// Reads a value at a JSON pointer ("/errors/0/field"); the test fails if it is missing or
// of another type.
std::string str_at(const ParsedJson& j, std::string_view pointer) {
  std::string_view s;
  if (!j.ok() || j.root().at_pointer(pointer).get_string().get(s)) {
    ADD_FAILURE() << "no string at " << pointer;
    return {};
  }
  return std::string(s);
}
int64_t int_at(const ParsedJson& j, std::string_view pointer) {
  int64_t v = 0;
  if (!j.ok() || j.root().at_pointer(pointer).get_int64().get(v))
    ADD_FAILURE() << "no integer at " << pointer;
  return v;
}
size_t size_at(const ParsedJson& j, std::string_view pointer) {
  simdjson::dom::array a;
  if (!j.ok() || j.root().at_pointer(pointer).get_array().get(a)) {
    ADD_FAILURE() << "no array at " << pointer;
    return 0;
  }
  return a.size();
}
bool null_at(const ParsedJson& j, std::string_view pointer) {
  simdjson::dom::element e;
  return j.ok() && !j.root().at_pointer(pointer).get(e) && e.is_null();
}
bool has(const ParsedJson& j, std::string_view pointer) {
  simdjson::dom::element e;
  return j.ok() && !j.root().at_pointer(pointer).get(e);
}
std::set<std::string> methods(const std::string& allow) {
  std::set<std::string> out;
  size_t i = 0;
  while (i < allow.size()) {
    size_t j = allow.find(',', i);
    if (j == std::string::npos) j = allow.size();
    std::string m = allow.substr(i, j - i);
    while (!m.empty() && m.front() == ' ') m.erase(0, 1);
    out.insert(m);
    i = j + 1;
  }
  return out;
}

// Every problem response: RFC 9457 members, the documented type, valid JSON.
void expect_problem(const Response& r, int status, std::string_view slug) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.content_type, "application/problem+json");
  const ParsedJson j(r.body);
  ASSERT_TRUE(j.ok()) << "not valid JSON: " << r.body;
  EXPECT_EQ(str_at(j, "/type"), "urn:agentlog:problem:" + std::string(slug)) << r.body;
  EXPECT_EQ(int_at(j, "/status"), status);
  EXPECT_FALSE(str_at(j, "/title").empty());
  EXPECT_FALSE(str_at(j, "/detail").empty());
  EXPECT_TRUE(has(j, "/instance"));
}

Request request(std::string method, std::string target, std::string body = {},
                std::string content_type = "application/json") {
  return test::api_request(std::move(method), std::move(target), kKey, std::move(body), std::move(content_type));
}

class ApiTest : public test::ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    if (HasFatalFailure()) return;
    auto other = store_->create_project("other", kT0);
    ASSERT_TRUE(IsOk(other));
    key_id_ = add_key(project_, kKey);
    add_key(other->id, kOtherKey);
  }

  Response get(std::string target) { return call(request("GET", std::move(target))); }
  Response ingest(std::string body) { return call(request("POST", "/v1/ingest", std::move(body))); }

  int64_t key_id_ = 0;
};

// ---- routing -------------------------------------------------------------------------------

TEST_F(ApiTest, UnknownRoutesAreNotFound) {
  for (const char* target : {"/v1", "/v1/unknown", "/v1/sessions/a/b/c", "/assets/none.js", "/robots.txt"}) {
    SCOPED_TRACE(target);
    const Response r = get(target);
    expect_problem(r, 404, "not-found");
    EXPECT_EQ(str_at(ParsedJson(r.body), "/instance"), target);
  }
}

TEST_F(ApiTest, PathsOutsideV1AreTheDashboard) {
  for (const char* target : {"/", "/nope", "/sessions/abc", "/v2/sessions"}) {
    SCOPED_TRACE(target);
    const Response r = get(target);
    if (kWebAssetsCount == 0) {  // a build without web/dist says so instead
      expect_problem(r, 404, "not-found");
      EXPECT_NE(r.body.find("without the dashboard"), std::string::npos) << r.body;
    } else {
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
      EXPECT_EQ(r.body, get("/index.html").body) << "the app routes itself";
    }
  }
}

TEST_F(ApiTest, KnownPathWithWrongMethodIs405WithAllow) {
  const std::tuple<const char*, const char*, std::set<std::string>> cases[] = {
      {"DELETE", "/v1/ingest", {"POST"}},
      {"GET", "/v1/ingest", {"POST"}},
      {"PUT", "/v1/sessions", {"GET", "POST"}},
      {"POST", "/v1/sessions/x", {"GET", "PATCH", "DELETE"}},
      {"POST", "/v1/sessions/x/events", {"GET"}},
      {"DELETE", "/v1/events", {"GET"}},
      {"PATCH", "/v1/events/e1", {"GET"}},
      {"POST", "/v1/agents", {"GET"}},
      {"POST", "/healthz", {"GET", "HEAD"}},
  };
  for (const auto& [method, target, allowed] : cases) {
    SCOPED_TRACE(std::string(method) + " " + target);
    const Response r = call(request(method, target, "{}"));
    expect_problem(r, 405, "method-not-allowed");
    EXPECT_EQ(methods(header(r, "Allow")), allowed);
  }
}

// Handlers take any Request, not only what today's HTTP parser lets through.
TEST_F(ApiTest, EmptyMethodIsAnsweredNotHung) {
  auto answered = std::make_shared<std::atomic<bool>>(false);
  // A thread of its own, so a hang fails this test instead of stalling the suite. Routes
  // and their Allow lists are string literals, so a stuck thread touches nothing freed.
  std::thread([api = api_.get(), answered] {
    api->handle(request("", "/healthz"), [answered](Response) { *answered = true; });
  }).detach();
  EXPECT_TRUE(test::eventually([&] { return answered->load(); }, std::chrono::milliseconds(3000)));
}

TEST_F(ApiTest, OperationalEndpointsNeedNoKey) {
  auto anonymous = [](const char* target) {
    Request r = request("GET", target);
    r.authorization.clear();
    return r;
  };
  const Response health = call(anonymous("/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(str_at(ParsedJson(health.body), "/status"), "ok");
  const Response ready = call(anonymous("/readyz"));
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(str_at(ParsedJson(ready.body), "/status"), "ready");
  const Response openapi = call(anonymous("/openapi.json"));
  EXPECT_EQ(openapi.status, 200);
  EXPECT_TRUE(has(ParsedJson(openapi.body), "/openapi")) << openapi.body.substr(0, 200);
  EXPECT_TRUE(has(ParsedJson(openapi.body), "/paths/~1v1~1ingest"));
  const Response metrics = call(anonymous("/metrics"));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type.rfind("text/plain", 0), 0u) << metrics.content_type;
  EXPECT_NE(metrics.body.find("agentlog_ingest_events_total "), std::string::npos);
  EXPECT_NE(metrics.body.find("agentlog_database_size_bytes "), std::string::npos);
}

// ---- authentication ------------------------------------------------------------------------

TEST_F(ApiTest, MissingOrWrongKeyIs401) {
  Request none = request("GET", "/v1/sessions");
  none.authorization.clear();
  Request wrong = request("GET", "/v1/sessions");
  wrong.authorization = "Bearer al_wrong";
  Request basic = request("GET", "/v1/sessions");
  basic.authorization = "Basic " + std::string(kKey);
  Request bare = request("GET", "/v1/sessions");
  bare.authorization = std::string(kKey);
  Request huge = request("GET", "/v1/sessions");
  huge.authorization = "Bearer " + std::string(100000, 'k');
  for (Request* r : {&none, &wrong, &basic, &bare, &huge}) {
    SCOPED_TRACE(r->authorization.substr(0, 40));
    const Response res = call(*r);
    expect_problem(res, 401, "unauthorized");
    EXPECT_FALSE(header(res, "WWW-Authenticate").empty());
  }
  Request ingest_none = request("POST", "/v1/ingest", R"({"events":[{"session_id":"s"}]})");
  ingest_none.authorization.clear();
  expect_problem(call(ingest_none), 401, "unauthorized");
  EXPECT_TRUE(HasCode(store_->get_session(project_, "s"), Status::Code::kNotFound));
}

TEST_F(ApiTest, AcceptsBearerAndXApiKey) {
  Request bearer = request("GET", "/v1/sessions");
  EXPECT_EQ(call(bearer).status, 200);
  Request lower = request("GET", "/v1/sessions");
  lower.authorization = "bearer " + std::string(kKey);
  EXPECT_EQ(call(lower).status, 200);
  Request x_api_key = request("GET", "/v1/sessions");
  x_api_key.authorization.clear();
  x_api_key.api_key = std::string(kKey);
  EXPECT_EQ(call(x_api_key).status, 200);
}

TEST_F(ApiTest, RevokedKeyIs401OnceTheCacheExpires) {
  EXPECT_EQ(get("/v1/sessions").status, 200);
  ASSERT_TRUE(IsOk(store_->revoke_key(project_, key_id_, kT0)));
  clock_.advance(Authenticator::kCacheTtl + 1);
  expect_problem(get("/v1/sessions"), 401, "unauthorized");
}

// ---- ingest --------------------------------------------------------------------------------

TEST_F(ApiTest, IngestAnswers200OnceCommitted) {
  const Response r = ingest(R"({"events":[
      {"id":"e1","session_id":"s1","type":"llm","agent":"planner","started_at":"2026-11-25T10:00:00Z",
       "ended_at":"2026-11-25T10:00:01.5Z","usage":{"input_tokens":10,"output_tokens":5},"cost_usd":0.5},
      {"session_id":"s1","type":"tool","status":"error","started_at":1795600802000}],
    "sessions":[{"id":"s1","name":"first run","user_id":"u1"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  const ParsedJson j(r.body);
  ASSERT_TRUE(j.ok()) << r.body;
  EXPECT_EQ(int_at(j, "/accepted"), 3);
  EXPECT_EQ(int_at(j, "/rejected"), 0);
  EXPECT_EQ(size_at(j, "/errors"), 0u);
  ASSERT_EQ(size_at(j, "/ids"), 2u);
  EXPECT_EQ(str_at(j, "/ids/0"), "e1");
  const std::string generated = str_at(j, "/ids/1");
  EXPECT_EQ(generated.size(), 36u);
  EXPECT_EQ(generated[14], '7') << generated;

  // 200 means committed: the data is readable right away.
  const Response s = get("/v1/sessions/s1");
  ASSERT_EQ(s.status, 200) << s.body;
  const ParsedJson session(s.body);
  EXPECT_EQ(str_at(session, "/id"), "s1");
  EXPECT_EQ(str_at(session, "/name"), "first run");
  EXPECT_EQ(str_at(session, "/agent"), "planner");
  EXPECT_EQ(str_at(session, "/user_id"), "u1");
  EXPECT_EQ(str_at(session, "/status"), "running");
  EXPECT_EQ(str_at(session, "/started_at"), "2026-11-25T10:00:00.000000Z");
  EXPECT_EQ(str_at(session, "/last_event_at"), "2026-11-25T10:00:02.000000Z");
  EXPECT_TRUE(null_at(session, "/ended_at"));
  EXPECT_EQ(int_at(session, "/event_count"), 2);
  EXPECT_EQ(int_at(session, "/error_count"), 1);
  EXPECT_EQ(int_at(session, "/llm_count"), 1);
  EXPECT_EQ(int_at(session, "/tool_count"), 1);
  EXPECT_EQ(int_at(session, "/total_tokens"), 15);
  double duration = 0, cost = 0;
  ASSERT_FALSE(session.root().at_pointer("/duration_ms").get_double().get(duration));
  EXPECT_DOUBLE_EQ(duration, 2000.0);
  ASSERT_FALSE(session.root().at_pointer("/cost_usd").get_double().get(cost));
  EXPECT_DOUBLE_EQ(cost, 0.5);

  const Response by_generated = get("/v1/events/" + generated);
  ASSERT_EQ(by_generated.status, 200) << by_generated.body;
  EXPECT_EQ(str_at(ParsedJson(by_generated.body), "/type"), "tool");
}

TEST_F(ApiTest, EventOutputHasEveryDocumentedKey) {
  ASSERT_EQ(ingest(R"({"events":[{"id":"e1","session_id":"s1"}]})").status, 200);
  const Response r = get("/v1/events/e1");
  ASSERT_EQ(r.status, 200) << r.body;
  const ParsedJson j(r.body);
  ASSERT_TRUE(j.ok());
  simdjson::dom::object o;
  ASSERT_FALSE(j.root().get_object().get(o));
  std::set<std::string> keys;
  for (auto [k, v] : o) keys.insert(std::string(k));
  EXPECT_EQ(keys, (std::set<std::string>{
                      "id",       "seq",        "session_id", "parent_id",  "trace_id", "span_id",     "type",
                      "name",     "agent",      "started_at", "ended_at", "duration_ms", "status",
                      "input",    "output",     "error",      "model",    "provider",    "usage",
                      "cost_usd", "attributes", "tags"}));
  EXPECT_TRUE(null_at(j, "/usage"));
  EXPECT_TRUE(null_at(j, "/duration_ms"));
  EXPECT_EQ(str_at(j, "/started_at"), "2026-01-01T00:00:00.000000Z")
      << "defaults to the clock's now";
}

TEST_F(ApiTest, IngestReportsRejectedItemsInA200) {
  const Response r =
      ingest(R"({"events":[{"id":"ok","session_id":"s"},{"session_id":"s","type":"bogus"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  const ParsedJson j(r.body);
  EXPECT_EQ(int_at(j, "/accepted"), 1);
  EXPECT_EQ(int_at(j, "/rejected"), 1);
  ASSERT_EQ(size_at(j, "/errors"), 1u);
  EXPECT_EQ(int_at(j, "/errors/0/index"), 1);
  EXPECT_EQ(str_at(j, "/errors/0/item"), "event");
  EXPECT_EQ(str_at(j, "/errors/0/field"), "type");
  EXPECT_FALSE(str_at(j, "/errors/0/message").empty());
  EXPECT_EQ(str_at(j, "/ids/0"), "ok");
  EXPECT_TRUE(null_at(j, "/ids/1"));
  EXPECT_EQ(get("/v1/events/ok").status, 200);
}

TEST_F(ApiTest, IngestWithEveryItemRejectedIs422) {
  const Response r =
      ingest(R"({"events":[{"session_id":5},{"id":"x"}],"sessions":[{"name":"no id"}]})");
  expect_problem(r, 422, "validation-failed");
  const ParsedJson j(r.body);
  EXPECT_EQ(int_at(j, "/accepted"), 0);
  EXPECT_EQ(int_at(j, "/rejected"), 3);
  ASSERT_EQ(size_at(j, "/errors"), 3u);
  EXPECT_EQ(str_at(j, "/errors/0/field"), "session_id");
  EXPECT_EQ(str_at(j, "/errors/1/field"), "session_id");
  EXPECT_EQ(int_at(j, "/errors/1/index"), 1);
  EXPECT_EQ(str_at(j, "/errors/2/item"), "session");
  EXPECT_EQ(str_at(j, "/errors/2/field"), "id");
  ASSERT_EQ(size_at(j, "/ids"), 2u);
  EXPECT_TRUE(null_at(j, "/ids/0"));
}

TEST_F(ApiTest, IngestOfNothingIs200) {
  const Response r = ingest(R"({"events":[]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(int_at(ParsedJson(r.body), "/accepted"), 0);
}

TEST_F(ApiTest, MalformedBodiesAre400) {
  const std::vector<std::string> bodies = {"",
                                           "{",
                                           R"({"events":[}")",
                                           "{} {}",
                                           "{\"events\":[{\"session_id\":\"\xFF\"}]}",
                                           std::string(100000, '[')};
  for (const std::string& body : bodies) {
    SCOPED_TRACE(body.substr(0, 40));
    expect_problem(ingest(body), 400, "malformed-json");
  }
  expect_problem(call(request("POST", "/v1/sessions", "{\"name\":")), 400, "malformed-json");
  expect_problem(call(request("PATCH", "/v1/sessions/s", "[1,]")), 400, "malformed-json");
}

TEST_F(ApiTest, WrongTopLevelShapeIs422) {
  for (const char* body : {"[]", "42", R"({"events":{}})"}) {
    SCOPED_TRACE(body);
    const Response r = ingest(body);
    expect_problem(r, 422, "validation-failed");
    EXPECT_GE(size_at(ParsedJson(r.body), "/errors"), 1u);
  }
}

TEST_F(ApiTest, JsonBodiesNeedAJsonContentType) {
  for (const char* type :
       {"text/plain", "", "application/jsonx", "application/x-www-form-urlencoded"}) {
    SCOPED_TRACE(type);
    expect_problem(call(request("POST", "/v1/ingest", R"({"events":[]})", type)), 415,
                   "unsupported-media-type");
    expect_problem(call(request("POST", "/v1/sessions", R"({"id":"s"})", type)), 415,
                   "unsupported-media-type");
    expect_problem(call(request("PATCH", "/v1/sessions/s", R"({})", type)), 415,
                   "unsupported-media-type");
  }
  for (const char* type :
       {"application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8"}) {
    SCOPED_TRACE(type);
    EXPECT_EQ(
        call(request("POST", "/v1/ingest", R"({"events":[{"session_id":"s"}]})", type)).status,
        200);
  }
}

TEST_F(ApiTest, ResendingABatchDoesNotDuplicate) {
  const std::string body =
      R"({"events":[{"id":"a","session_id":"s","type":"llm","usage":{"input_tokens":3}},
                                         {"id":"b","session_id":"s"}]})";
  ASSERT_EQ(ingest(body).status, 200);
  ASSERT_EQ(ingest(body).status, 200);
  const ParsedJson s(get("/v1/sessions/s").body);
  EXPECT_EQ(int_at(s, "/event_count"), 2);
  EXPECT_EQ(int_at(s, "/input_tokens"), 3);
}

TEST_F(ApiTest, FullQueueIs429WithRetryAfter) {
  pipeline::Limits tiny;
  tiny.max_queued_events = 1;
  pipeline::Pipeline stopped(*store_, nullptr, tiny, metrics_,
                             clock_);  // not started: nothing drains the queue
  auto api = make_api(stopped);
  test::ResponseSlot first;
  api->handle(request("POST", "/v1/ingest", R"({"events":[{"id":"q1","session_id":"s"}]})"),
              first.respond());
  EXPECT_FALSE(first.ready()) << "no answer before the commit";

  const Response full = call(
      request("POST", "/v1/ingest", R"({"events":[{"id":"q2","session_id":"s"}]})"), api.get());
  expect_problem(full, 429, "queue-full");
  EXPECT_EQ(header(full, "Retry-After"), "1");

  stopped.start();
  ASSERT_TRUE(first.wait());
  EXPECT_EQ(first.response().status, 200);
  stopped.drain();
  EXPECT_TRUE(IsOk(store_->get_event(project_, "q1")));
  EXPECT_FALSE(store_->get_event(project_, "q2").is_ok());
}

TEST_F(ApiTest, DrainingRefusesWritesButServesReads) {
  ASSERT_EQ(ingest(R"({"events":[{"id":"e","session_id":"s"}]})").status, 200);
  api_->set_draining();
  const Response ready = get("/readyz");
  EXPECT_EQ(ready.status, 503);
  const Response refused = ingest(R"({"events":[{"id":"late","session_id":"s"}]})");
  expect_problem(refused, 503, "draining");
  EXPECT_FALSE(header(refused, "Retry-After").empty());
  expect_problem(call(request("POST", "/v1/sessions", R"({"id":"new"})")), 503, "draining");
  EXPECT_EQ(get("/v1/sessions/s").status, 200);
  EXPECT_FALSE(store_->get_event(project_, "late").is_ok());
}

// ---- sessions and events -------------------------------------------------------------------

TEST_F(ApiTest, SessionLifecycle) {
  const Response created =
      call(request("POST", "/v1/sessions", R"({"id":"new","name":"n","tags":["a"]})"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(header(created, "Location"), "/v1/sessions/new");
  const ParsedJson c(created.body);
  EXPECT_EQ(str_at(c, "/id"), "new");
  EXPECT_EQ(str_at(c, "/started_at"), "2026-01-01T00:00:00.000000Z")
      << "now, from the injected clock";
  EXPECT_EQ(int_at(c, "/event_count"), 0);
  EXPECT_EQ(str_at(c, "/tags/0"), "a");

  expect_problem(call(request("POST", "/v1/sessions", R"({"id":"new"})")), 409, "conflict");

  const Response generated = call(request("POST", "/v1/sessions", R"({"name":"no id"})"));
  ASSERT_EQ(generated.status, 201) << generated.body;
  EXPECT_EQ(str_at(ParsedJson(generated.body), "/id").size(), 36u);

  const Response patched =
      call(request("PATCH", "/v1/sessions/new", R"({"name":"renamed","status":"success"})"));
  ASSERT_EQ(patched.status, 200) << patched.body;
  const ParsedJson p(patched.body);
  EXPECT_EQ(str_at(p, "/name"), "renamed");
  EXPECT_EQ(str_at(p, "/status"), "success");
  EXPECT_EQ(str_at(p, "/ended_at"), "2026-01-01T00:00:00.000000Z")
      << "a terminal status ends the session now";
  EXPECT_EQ(str_at(p, "/tags/0"), "a") << "absent fields are kept";

  expect_problem(call(request("PATCH", "/v1/sessions/new", R"({"id":"other"})")), 422,
                 "validation-failed");
  expect_problem(call(request("PATCH", "/v1/sessions/ghost", R"({"name":"x"})")), 404, "not-found");

  const Response deleted = call(request("DELETE", "/v1/sessions/new", "", ""));
  EXPECT_EQ(deleted.status, 204);
  EXPECT_TRUE(deleted.body.empty());
  expect_problem(get("/v1/sessions/new"), 404, "not-found");
  expect_problem(call(request("DELETE", "/v1/sessions/new", "", "")), 404, "not-found");
}

TEST_F(ApiTest, DeletingASessionDeletesItsEvents) {
  ASSERT_EQ(
      ingest(R"({"events":[{"id":"e1","session_id":"s"},{"id":"e2","session_id":"s"}]})").status,
      200);
  ASSERT_EQ(call(request("DELETE", "/v1/sessions/s", "", "")).status, 204);
  expect_problem(get("/v1/events/e1"), 404, "not-found");
  expect_problem(get("/v1/sessions/s/events"), 404, "not-found");
}

TEST_F(ApiTest, PercentEncodedIdsInPaths) {
  ASSERT_EQ(ingest(R"({"events":[{"id":"a/b c","session_id":"run #1/é"}]})").status, 200);
  EXPECT_EQ(get("/v1/sessions/run%20%231%2F%C3%A9").status, 200);
  EXPECT_EQ(get("/v1/events/a%2Fb%20c").status, 200);
  EXPECT_EQ(get("/v1/sessions/run%20%231%2F%C3%A9/events").status, 200);
}

TEST_F(ApiTest, SessionEventsAsTree) {
  ASSERT_EQ(ingest(R"({"events":[
      {"id":"root","session_id":"s","started_at":1000},
      {"id":"child","session_id":"s","parent_id":"root","started_at":2000},
      {"id":"grandchild","session_id":"s","parent_id":"child","started_at":3000},
      {"id":"orphan","session_id":"s","parent_id":"missing","started_at":4000},
      {"id":"sibling","session_id":"s","parent_id":"root","started_at":5000}]})")
                .status,
            200);
  const ParsedJson flat(get("/v1/sessions/s/events").body);
  ASSERT_EQ(size_at(flat, "/data"), 5u);
  EXPECT_EQ(str_at(flat, "/data/0/id"), "root");
  EXPECT_EQ(str_at(flat, "/data/4/id"), "sibling");
  EXPECT_TRUE(null_at(flat, "/next_cursor"));

  const Response r = get("/v1/sessions/s/events?tree=true");
  ASSERT_EQ(r.status, 200) << r.body;
  const ParsedJson tree(r.body);
  ASSERT_EQ(size_at(tree, "/data"), 2u);
  EXPECT_EQ(str_at(tree, "/data/0/id"), "root");
  ASSERT_EQ(size_at(tree, "/data/0/children"), 2u);
  EXPECT_EQ(str_at(tree, "/data/0/children/0/id"), "child");
  EXPECT_EQ(str_at(tree, "/data/0/children/0/children/0/id"), "grandchild");
  EXPECT_EQ(size_at(tree, "/data/0/children/0/children/0/children"), 0u);
  EXPECT_EQ(str_at(tree, "/data/0/children/1/id"), "sibling");
  EXPECT_EQ(str_at(tree, "/data/1/id"), "orphan")
      << "a parent outside the page makes a top-level event";
  expect_problem(get("/v1/sessions/unknown/events"), 404, "not-found");
}

TEST_F(ApiTest, TreeWithAParentCycleStillListsEveryEvent) {
  ASSERT_EQ(ingest(R"({"events":[
      {"id":"a","session_id":"s","parent_id":"b","started_at":1000},
      {"id":"b","session_id":"s","parent_id":"a","started_at":2000},
      {"id":"self","session_id":"s","parent_id":"self","started_at":3000}]})")
                .status,
            200);
  const Response r = get("/v1/sessions/s/events?tree=true");
  ASSERT_EQ(r.status, 200) << r.body;
  for (const char* id : {"\"a\"", "\"b\"", "\"self\""}) {
    const size_t first = r.body.find(std::string("\"id\":") + id);
    EXPECT_NE(first, std::string::npos) << id;
    EXPECT_EQ(r.body.find(std::string("\"id\":") + id, first + 1), std::string::npos)
        << id << " listed twice";
  }
}

TEST_F(ApiTest, CursorsWalkEveryPageOnce) {
  std::string events;
  for (int i = 0; i < 7; ++i) {
    events += (i ? "," : "") + std::string(R"({"id":"e)") + std::to_string(i) +
              R"(","session_id":"s)" + std::to_string(i) + R"(","started_at":)" +
              std::to_string(1000 * (i + 1)) + "}";
  }
  ASSERT_EQ(ingest(R"({"events":[)" + events + "]}").status, 200);

  auto walk = [&](const std::string& base, const std::string& query) {
    std::vector<std::string> ids;
    std::string target = base + "?" + query;
    for (int pages = 0; pages < 20; ++pages) {
      const Response r = get(target);
      EXPECT_EQ(r.status, 200) << r.body;
      const ParsedJson j(r.body);
      for (size_t k = 0; k < size_at(j, "/data"); ++k)
        ids.push_back(str_at(j, "/data/" + std::to_string(k) + "/id"));
      if (null_at(j, "/next_cursor")) break;
      target = base + "?" + query + "&cursor=" + str_at(j, "/next_cursor");
    }
    return ids;
  };
  EXPECT_EQ(walk("/v1/sessions", "limit=3"),
            (std::vector<std::string>{"s6", "s5", "s4", "s3", "s2", "s1", "s0"}));
  EXPECT_EQ(walk("/v1/sessions", "limit=2&sort=started_at"),
            (std::vector<std::string>{"s0", "s1", "s2", "s3", "s4", "s5", "s6"}));
  EXPECT_EQ(walk("/v1/events", "limit=2"),
            (std::vector<std::string>{"e6", "e5", "e4", "e3", "e2", "e1", "e0"}));
}

TEST_F(ApiTest, OtherProjectsDataIsInvisible) {
  ASSERT_EQ(ingest(R"({"events":[{"id":"e1","session_id":"s1","agent":"planner"}]})").status, 200);
  auto as_other = [&](std::string method, std::string target, std::string body = {}) {
    Request r = request(std::move(method), std::move(target), std::move(body));
    r.authorization = "Bearer " + std::string(kOtherKey);
    return call(std::move(r));
  };
  expect_problem(as_other("GET", "/v1/sessions/s1"), 404, "not-found");
  expect_problem(as_other("GET", "/v1/events/e1"), 404, "not-found");
  expect_problem(as_other("GET", "/v1/sessions/s1/events"), 404, "not-found");
  expect_problem(as_other("DELETE", "/v1/sessions/s1"), 404, "not-found");
  expect_problem(as_other("PATCH", "/v1/sessions/s1", R"({"name":"x"})"), 404, "not-found");
  EXPECT_EQ(size_at(ParsedJson(as_other("GET", "/v1/sessions").body), "/data"), 0u);
  EXPECT_EQ(size_at(ParsedJson(as_other("GET", "/v1/events").body), "/data"), 0u);
  EXPECT_EQ(size_at(ParsedJson(as_other("GET", "/v1/agents").body), "/data"), 0u);
  EXPECT_EQ(get("/v1/sessions/s1").status, 200) << "still there for its own project";
}

TEST_F(ApiTest, AgentsEndpoint) {
  ASSERT_EQ(
      ingest(
          R"({"sessions":[{"id":"a","agent":"planner","status":"failure","started_at":0,"ended_at":10},
                                    {"id":"b","agent":"planner","status":"success","started_at":0,"ended_at":30}]})")
          .status,
      200);
  const Response r = get("/v1/agents");
  ASSERT_EQ(r.status, 200) << r.body;
  const ParsedJson j(r.body);
  ASSERT_EQ(size_at(j, "/data"), 1u);
  EXPECT_EQ(str_at(j, "/data/0/agent"), "planner");
  EXPECT_EQ(int_at(j, "/data/0/sessions"), 2);
  EXPECT_EQ(int_at(j, "/data/0/failed_sessions"), 1);
  double rate = 0, p50 = 0;
  ASSERT_FALSE(j.root().at_pointer("/data/0/error_rate").get_double().get(rate));
  EXPECT_DOUBLE_EQ(rate, 0.5);
  ASSERT_FALSE(j.root().at_pointer("/data/0/p50_duration_ms").get_double().get(p50));
  EXPECT_DOUBLE_EQ(p50, 20.0);
}

// ---- query parameters ----------------------------------------------------------------------

TEST_F(ApiTest, InvalidQueryParametersAre400WithTheField) {
  const std::string foreign_cursor = [&] {
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(ingest(R"({"events":[{"session_id":"s)" + std::to_string(i) + R"("}]})").status,
                200);
    }
    return str_at(ParsedJson(get("/v1/sessions?limit=1").body), "/next_cursor");
  }();
  const std::pair<std::string, std::string> cases[] = {
      {"/v1/sessions?limit=0", "limit"},
      {"/v1/sessions?limit=1001", "limit"},
      {"/v1/sessions?limit=abc", "limit"},
      {"/v1/sessions?limit=", "limit"},
      {"/v1/sessions?limit=10.5", "limit"},
      {"/v1/sessions?limit=99999999999999999999", "limit"},
      {"/v1/sessions?sort=bogus", "sort"},
      {"/v1/sessions?sort=-", "sort"},
      {"/v1/sessions?status=done", "status"},
      {"/v1/sessions?from=yesterday", "from"},
      {"/v1/sessions?to=2026-13-01T00:00:00Z", "to"},
      {"/v1/sessions?cursor=!!!", "cursor"},
      {"/v1/sessions?cursor=Zm9vYmFy", "cursor"},
      {"/v1/sessions?sort=cost_usd&cursor=" + foreign_cursor, "cursor"},
      {"/v1/sessions?sort=started_at&cursor=" + foreign_cursor, "cursor"},
      {"/v1/events?cursor=" + foreign_cursor, "cursor"},
      {"/v1/events?type=bogus", "type"},
      {"/v1/events?status=done", "status"},
      {"/v1/events?limit=0", "limit"},
      {"/v1/events?from=1e400", "from"},
      {"/v1/sessions/s0/events?limit=10001", "limit"},
      {"/v1/sessions/s0/events?tree=maybe", "tree"},
      {"/v1/agents?from=x", "from"},
      {"/v1/agents?to=\xFF", "to"},
  };
  for (const auto& [target, field] : cases) {
    SCOPED_TRACE(target);
    const Response r = get(target);
    expect_problem(r, 400, "invalid-parameter");
    const ParsedJson j(r.body);
    ASSERT_GE(size_at(j, "/errors"), 1u);
    EXPECT_EQ(str_at(j, "/errors/0/field"), field);
    EXPECT_FALSE(str_at(j, "/errors/0/message").empty());
  }
}

TEST_F(ApiTest, ValidQueryParametersAreAccepted) {
  for (const char* target :
       {"/v1/sessions?limit=1", "/v1/sessions?limit=1000", "/v1/sessions?sort=-cost_usd",
        "/v1/sessions?sort=error_count", "/v1/sessions?from=2026-01-01T00:00:00Z&to=1767225600000",
        "/v1/sessions?q=a%20b&tag=x&user_id=u&agent=p", "/v1/sessions?status=cancelled",
        "/v1/events?q=hello+world&type=llm&status=running&model=m",
        "/v1/events?from=0&to=2026-01-01T00:00:00.5%2B02:00", "/v1/agents?from=0",
        "/v1/sessions?unknown=1&&"}) {
    const Response r = get(target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_TRUE(test::is_valid_json(r.body)) << target;
  }
}

TEST_F(ApiTest, SearchForWordsWithPunctuationIs200) {
  ASSERT_EQ(ingest(R"({"events":[{"id":"e","session_id":"s","name":"gpt-4o call"}]})").status, 200);
  for (const char* target :
       {"/v1/events?q=gpt-4o", "/v1/events?q=user%40example.com", "/v1/events?q=don't"}) {
    const Response r = get(target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
  }
}

// Paths, parameters and headers may hold any bytes; every answer is still valid JSON.
TEST_F(ApiTest, ProblemBodiesAreValidJsonForAnyInput) {
  const std::vector<std::string> targets = {"/v1/\xFF\xFE\"<>\\", "/v1/\xC0\xAF",
                                            "/v1/sessions/\xED\xA0\x80/x/y",
                                            std::string("/v1/nul\0here", 12)};
  for (const std::string& target : targets) {
    const Response r = get(target);
    expect_problem(r, 404, "not-found");
  }
  const Response bad_param = get("/v1/sessions?limit=%FF%FE");
  expect_problem(bad_param, 400, "invalid-parameter");
}

TEST_F(ApiTest, MetricsCountRequestsByRouteTemplate) {
  expect_problem(get("/v1/sessions/one"), 404, "not-found");
  expect_problem(get("/v1/sessions/two"), 404, "not-found");
  const Response r = get("/metrics");
  EXPECT_NE(
      r.body.find(
          R"(agentlog_http_requests_total{method="GET",route="/v1/sessions/{id}",status="404"} 2)"),
      std::string::npos)
      << r.body.substr(0, 2000);
  EXPECT_EQ(r.body.find("/v1/sessions/one"), std::string::npos)
      << "raw paths would explode the label cardinality";
}

}  // namespace
}  // namespace agentlog::api
