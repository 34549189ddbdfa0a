// POST /v1/traces through the Api (routing, auth, pipeline, store), without sockets:
// status codes, content types, response bodies in the request's encoding, partial
// success, backpressure and draining as the OTLP/HTTP specification prescribes.
#include "api/otlp.h"

#include <gtest/gtest.h>

#include <memory>

#include "api/api.h"
#include "google/rpc/status.pb.h"
#include "testing/api_fixture.h"
#include "testing/json.h"
#include "testing/otlp.h"
#include "testing/status_matchers.h"

namespace agentlog::api {
namespace {

namespace t = test::otlp;
using test::IsOk;
using test::kT0;

constexpr std::string_view kKey = "al_OtlpTestKeyForTheDefaultProject000000000";
constexpr std::string_view kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kRoot = "00f067aa0ba902b7";
constexpr std::string_view kChild = "1111111111111111";

using test::header;

Request post(std::string target, std::string body, std::string content_type) {
  return test::api_request("POST", std::move(target), kKey, std::move(body), std::move(content_type));
}

t::RequestBuilder two_spans() {
  t::RequestBuilder b("otlp-test-agent");
  auto& root = b.span("root", kTrace, kRoot, {}, t::kT0Ns, t::kT0Ns + 10 * t::kMsNs);
  t::attr(root.mutable_attributes(), "session.id", "otlp-session");
  auto& child =
      b.span("chat gpt-4o", kTrace, kChild, kRoot, t::kT0Ns + t::kMsNs, t::kT0Ns + 5 * t::kMsNs);
  t::attr(child.mutable_attributes(), "gen_ai.operation.name", "chat");
  t::attr(child.mutable_attributes(), "gen_ai.request.model", "gpt-4o");
  t::attr(child.mutable_attributes(), "gen_ai.usage.input_tokens", int64_t{10});
  t::attr(child.mutable_attributes(), "gen_ai.usage.output_tokens", int64_t{5});
  return b;
}

// A google.rpc.Status body in the request's encoding.
void expect_status_body(const Response& r, bool protobuf, std::string_view message_part) {
  if (protobuf) {
    EXPECT_EQ(r.content_type, "application/x-protobuf");
    google::rpc::Status s;
    ASSERT_TRUE(s.ParseFromString(r.body));
    EXPECT_NE(s.message().find(message_part), std::string::npos) << s.message();
    EXPECT_NE(s.code(), 0);
  } else {
    EXPECT_EQ(r.content_type, "application/json");
    test::ParsedJson j(r.body);
    ASSERT_TRUE(j.ok()) << r.body;
    std::string_view message;
    ASSERT_FALSE(j.root()["message"].get_string().get(message)) << r.body;
    EXPECT_NE(message.find(message_part), std::string_view::npos) << r.body;
    int64_t code = 0;
    ASSERT_FALSE(j.root()["code"].get_int64().get(code)) << r.body;
    EXPECT_NE(code, 0);
  }
}

class OtlpApiTest : public test::ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    if (HasFatalFailure()) return;
    add_key(project_, kKey);
  }
  size_t stored_events(const std::string& session) {
    auto page = store_->session_events(project_, session, 1000, std::nullopt);
    return page.is_ok() ? page->items.size() : 0;
  }
};

TEST_F(OtlpApiTest, ProtobufExportIsCommittedThenAcknowledgedWithAnEmptyResponse) {
  const Response r = call(post("/v1/traces", two_spans().protobuf(), "application/x-protobuf"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/x-protobuf");
  EXPECT_EQ(r.body, "") << "an ExportTraceServiceResponse without partial_success";
  EXPECT_EQ(r.route, "/v1/traces");
  EXPECT_EQ(stored_events("otlp-session"), 2u);
  auto s = store_->get_session(project_, "otlp-session");
  ASSERT_TRUE(IsOk(s));
  EXPECT_EQ(s->llm_count, 1);
  EXPECT_EQ(s->input_tokens, 10);
  EXPECT_EQ(s->status, model::SessionStatus::kSuccess);
  EXPECT_EQ(s->agent, "otlp-test-agent");
  auto e = store_->get_event(project_, std::string(kTrace) + "-" + std::string(kChild));
  ASSERT_TRUE(IsOk(e));
  EXPECT_EQ(e->event.parent_id, std::string(kTrace) + "-" + std::string(kRoot));
}

TEST_F(OtlpApiTest, JsonExportOnTheCollectorStylePath) {
  const Response r =
      call(post("/v1/otlp/v1/traces", two_spans().json(), "application/json; charset=utf-8"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(r.route, "/v1/otlp/v1/traces");
  EXPECT_EQ(stored_events("otlp-session"), 2u);
}

TEST_F(OtlpApiTest, ReSendingAnExportIsIdempotent) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(call(post("/v1/traces", two_spans().protobuf(), "application/x-protobuf")).status,
              200);
  }
  EXPECT_EQ(stored_events("otlp-session"), 2u);
  auto s = store_->get_session(project_, "otlp-session");
  ASSERT_TRUE(IsOk(s));
  EXPECT_EQ(s->event_count, 2);
  EXPECT_EQ(s->input_tokens, 10);
}

// Children exported before their root (one request each, as SimpleSpanProcessor does), the
// session named only on the root: once the root is acknowledged, the whole trace is in that
// session and the trace-id session is gone.
TEST_F(OtlpApiTest, ChildrenStoredBeforeTheirRootNamedTheSessionJoinIt) {
  t::RequestBuilder leaf;
  leaf.span("leaf", kTrace, "2222222222222222", kChild, t::kT0Ns + 2 * t::kMsNs,
            t::kT0Ns + 3 * t::kMsNs);
  t::RequestBuilder child;
  child.span("child", kTrace, kChild, kRoot, t::kT0Ns + t::kMsNs, t::kT0Ns + 4 * t::kMsNs);
  t::RequestBuilder root;
  auto& r = root.span("root", kTrace, kRoot, {}, t::kT0Ns, t::kT0Ns + 5 * t::kMsNs);
  t::attr(r.mutable_attributes(), "session.id", "late-named");
  ASSERT_EQ(call(post("/v1/traces", leaf.protobuf(), "application/x-protobuf")).status, 200);
  ASSERT_EQ(call(post("/v1/traces", child.json(), "application/json")).status, 200);
  EXPECT_EQ(stored_events(std::string(kTrace)), 2u);
  ASSERT_EQ(call(post("/v1/traces", root.protobuf(), "application/x-protobuf")).status, 200);
  EXPECT_EQ(stored_events("late-named"), 3u);
  auto s = store_->get_session(project_, "late-named");
  ASSERT_TRUE(IsOk(s));
  EXPECT_EQ(s->event_count, 3);
  EXPECT_FALSE(store_->get_session(project_, std::string(kTrace)).is_ok())
      << "the emptied trace-id session is gone";
  auto e = store_->get_event(project_, std::string(kTrace) + "-2222222222222222");
  ASSERT_TRUE(IsOk(e));
  EXPECT_EQ(e->event.session_id, "late-named");
  EXPECT_EQ(e->event.parent_id, std::string(kTrace) + "-" + std::string(kChild));
}

TEST_F(OtlpApiTest, InvalidSpansArePartialSuccessInTheRequestsEncoding) {
  auto b = two_spans();
  b.span("zero", "00000000000000000000000000000000", kChild);
  const Response pb = call(post("/v1/traces", b.protobuf(), "application/x-protobuf"));
  EXPECT_EQ(pb.status, 200);
  t::ExportResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(pb.body));
  EXPECT_EQ(parsed.partial_success().rejected_spans(), 1);
  EXPECT_NE(parsed.partial_success().error_message().find("trace_id"), std::string::npos);
  EXPECT_EQ(stored_events("otlp-session"), 2u) << "the valid spans are kept";

  const Response js = call(post("/v1/traces", b.json(), "application/json"));
  EXPECT_EQ(js.status, 200);
  EXPECT_TRUE(test::json_equal(
      js.body,
      R"({"partialSuccess":{"rejectedSpans":"1","errorMessage":"1 of 3 spans rejected: span 2: trace_id is missing or all zeroes"}})"))
      << js.body;
}

TEST_F(OtlpApiTest, AllSpansInvalidIsStillPartialSuccessNot400) {
  t::RequestBuilder b;
  b.span("bad", "00000000000000000000000000000000", kChild);
  const Response r = call(post("/v1/traces", b.protobuf(), "application/x-protobuf"));
  EXPECT_EQ(r.status, 200);
  t::ExportResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(r.body));
  EXPECT_EQ(parsed.partial_success().rejected_spans(), 1);
}

TEST_F(OtlpApiTest, UndecodableBodiesAre400WithAStatusInTheRequestsEncoding) {
  const Response pb = call(post("/v1/traces", std::string("\x0a\xff\xff\xff\x0f garbage", 14),
                                "application/x-protobuf"));
  EXPECT_EQ(pb.status, 400);
  expect_status_body(pb, true, "length");
  const Response js = call(post("/v1/traces", "{not json", "application/json"));
  EXPECT_EQ(js.status, 400);
  expect_status_body(js, false, "JSON");
  const Response shape =
      call(post("/v1/traces", R"({"resourceSpans":"nope"})", "application/json"));
  EXPECT_EQ(shape.status, 400);
  expect_status_body(shape, false, "resourceSpans");
}

TEST_F(OtlpApiTest, UnsupportedContentTypeIs415) {
  const Response r = call(post("/v1/traces", "x", "text/plain"));
  EXPECT_EQ(r.status, 415);
  expect_status_body(r, false, "Content-Type");
  EXPECT_EQ(call(post("/v1/traces", "x", "")).status, 415);
}

TEST_F(OtlpApiTest, AuthenticationVariants) {
  const std::string body = two_spans().protobuf();
  auto with = [&](std::string authorization, std::string api_key = {}) {
    Request r = post("/v1/traces", body, "application/x-protobuf");
    r.authorization = std::move(authorization);
    r.api_key = std::move(api_key);
    return call(std::move(r));
  };
  EXPECT_EQ(with("Bearer " + std::string(kKey)).status, 200);
  EXPECT_EQ(with("bearer   " + std::string(kKey) + " ").status, 200);
  EXPECT_EQ(with("", std::string(kKey)).status, 200) << "X-API-Key or the configured header";
  EXPECT_EQ(with("Basic " + base64url_encode("anything:" + std::string(kKey))).status, 200);
  EXPECT_EQ(with("Basic " + base64url_encode(std::string(kKey) + ":")).status, 200)
      << "key as the user name";
  const Response wrong = with("Basic " + base64url_encode("api:al_wrong"));
  EXPECT_EQ(wrong.status, 401);
  expect_status_body(wrong, true, "API key");
  EXPECT_EQ(header(wrong, "WWW-Authenticate"), "Bearer");
  EXPECT_EQ(with("").status, 401);
  EXPECT_EQ(with("Basic !!!").status, 401);
  EXPECT_EQ(with("Token " + std::string(kKey)).status, 401);
}

TEST(OtlpSecret, ParsesEveryForm) {
  std::string scratch;
  Request r;
  r.authorization = "Basic YXBpOmFsX3NlY3JldA==";  // "api:al_secret", standard base64 with padding
  EXPECT_EQ(otlp_secret(r, scratch), "al_secret");
  r.authorization = "BASIC YWxfc2VjcmV0";  // "al_secret": no colon
  EXPECT_EQ(otlp_secret(r, scratch), "al_secret");
  r.authorization = "Bearer al_x";
  r.api_key = " al_header ";
  EXPECT_EQ(otlp_secret(r, scratch), "al_header") << "an explicit key header wins";
  r.api_key.clear();
  EXPECT_EQ(otlp_secret(r, scratch), "al_x");
  r.authorization = "Bearer";
  EXPECT_EQ(otlp_secret(r, scratch), "");
}

TEST_F(OtlpApiTest, OtherMethodsAre405) {
  Request r = post("/v1/traces", "", "application/json");
  r.method = "GET";
  const Response res = call(std::move(r));
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(header(res, "Allow"), "POST");
}

TEST_F(OtlpApiTest, DrainingIs503WithRetryAfter) {
  api_->set_draining();
  const Response r = call(post("/v1/traces", two_spans().protobuf(), "application/x-protobuf"));
  EXPECT_EQ(r.status, 503);
  EXPECT_FALSE(header(r, "Retry-After").empty());
  expect_status_body(r, true, "shutting down");
  EXPECT_EQ(stored_events("otlp-session"), 0u);
}

TEST_F(OtlpApiTest, FullQueueIs429WithRetryAfter) {
  pipeline::Limits tiny;
  tiny.max_queued_events = 1;
  pipeline::Pipeline stopped(*store_, nullptr, tiny, metrics_, clock_);  // nothing drains it yet
  auto api = make_api(stopped);
  test::ResponseSlot first;
  api->handle(post("/v1/traces", two_spans().protobuf(), "application/x-protobuf"),
              first.respond());
  EXPECT_FALSE(first.ready()) << "no answer before the commit";
  t::RequestBuilder other;
  other.span("other", "5bf92f3577b34da6a3ce929d0e0e4736", kChild);
  const Response full = call(post("/v1/traces", other.json(), "application/json"), api.get());
  EXPECT_EQ(full.status, 429);
  EXPECT_EQ(header(full, "Retry-After"), "1");
  expect_status_body(full, false, "queue");
  stopped.start();
  ASSERT_TRUE(first.wait());
  EXPECT_EQ(first.response().status, 200);
  stopped.drain();
  EXPECT_EQ(stored_events("otlp-session"), 2u);
}

TEST_F(OtlpApiTest, EmptyExportIsOk) {
  const Response pb = call(post("/v1/traces", "", "application/x-protobuf"));
  EXPECT_EQ(pb.status, 200);
  EXPECT_EQ(pb.body, "");
  const Response js = call(post("/v1/traces", "{}", "application/json"));
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "{}");
}

}  // namespace
}  // namespace agentlog::api
