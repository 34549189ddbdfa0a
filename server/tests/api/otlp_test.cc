// POST /v1/traces through the Api (routing, auth, pipeline, store), without sockets:
// status codes, content types, response bodies in the request's encoding, partial
// success, backpressure and draining as the OTLP/HTTP specification prescribes.
#include "api/otlp.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "api/api.h"
#include "google/rpc/error_details.pb.h"
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
  return test::api_request("POST", std::move(target), kKey, std::move(body),
                           std::move(content_type));
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

TEST_F(OtlpApiTest, EmptyExportIsOk) {
  const Response pb = call(post("/v1/traces", "", "application/x-protobuf"));
  EXPECT_EQ(pb.status, 200);
  EXPECT_EQ(pb.body, "");
  const Response js = call(post("/v1/traces", "{}", "application/json"));
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "{}");
}

// ---------------------------------------------------------------------------------------
// export_traces: the path POST /v1/traces and OTLP/gRPC share, and its gRPC rendering.

using Kind = ExportOutcome::Kind;

class OtlpExportTest : public OtlpApiTest {
 protected:
  // A request as the gRPC listener builds it: metadata in the key fields, raw bytes.
  static Request grpc_request(std::string body, std::string authorization,
                              std::string api_key = {}) {
    Request r;
    r.method = "POST";
    r.target = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    r.content_type = "application/grpc";
    r.authorization = std::move(authorization);
    r.api_key = std::move(api_key);
    r.body = std::move(body);
    return r;
  }
  ExportOutcome run(Api& api, const Request& req) {
    std::mutex mu;
    std::condition_variable cv;
    int calls = 0;
    ExportOutcome out;
    api.otlp().export_traces(req, ingest::otlp::Encoding::kProtobuf, [&](ExportOutcome o) {
      std::lock_guard lock(mu);
      out = std::move(o);
      ++calls;
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return calls > 0; }));
    EXPECT_EQ(calls, 1) << "done must be called exactly once";
    return out;
  }
  ExportOutcome run(const Request& req) { return run(*api_, req); }
};

TEST_F(OtlpExportTest, AcceptedAfterTheCommitWithPartialSuccess) {
  auto b = two_spans();
  b.span("zero", "00000000000000000000000000000000", kChild);
  const ExportOutcome o = run(grpc_request(b.protobuf(), "", std::string(kKey)));
  ASSERT_EQ(o.kind, Kind::kAccepted) << o.message;
  EXPECT_EQ(stored_events("otlp-session"), 2u) << "committed before done";
  t::ExportResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(o.response));
  EXPECT_EQ(parsed.partial_success().rejected_spans(), 1);

  const GrpcReply reply = grpc_reply(o);
  EXPECT_EQ(reply.code, 0);
  EXPECT_EQ(reply.response, o.response);
  EXPECT_TRUE(reply.retry_info.empty());
  EXPECT_TRUE(reply.status_details.empty());
}

TEST_F(OtlpExportTest, ABadKeyIsUnauthenticatedAndStoresNothing) {
  const ExportOutcome o = run(grpc_request(two_spans().protobuf(), "Bearer al_wrong"));
  EXPECT_EQ(o.kind, Kind::kUnauthenticated);
  EXPECT_EQ(run(grpc_request(two_spans().protobuf(), "")).kind, Kind::kUnauthenticated);
  EXPECT_EQ(stored_events("otlp-session"), 0u);
  const GrpcReply reply = grpc_reply(o);
  EXPECT_EQ(reply.code, 16);  // UNAUTHENTICATED
  EXPECT_NE(reply.message.find("API key"), std::string::npos);
  EXPECT_TRUE(reply.retry_info.empty()) << "not retryable";
}

TEST_F(OtlpExportTest, GarbageIsUndecodableInvalidArgument) {
  const ExportOutcome o = run(
      grpc_request(std::string("\x0a\xff\xff\xff\x0f garbage", 14), "Bearer " + std::string(kKey)));
  EXPECT_EQ(o.kind, Kind::kUndecodable);
  EXPECT_NE(o.message.find("length"), std::string::npos) << o.message;
  EXPECT_EQ(grpc_reply(o).code, 3);  // INVALID_ARGUMENT
}

// The retryable refusals are UNAVAILABLE with the delay in a RetryInfo, both alone (the
// trailer the OpenTelemetry SDKs read) and inside a google.rpc.Status.
void expect_retryable(const GrpcReply& reply, int64_t seconds) {
  EXPECT_EQ(reply.code, 14);  // UNAVAILABLE
  google::rpc::RetryInfo info;
  ASSERT_TRUE(info.ParseFromString(reply.retry_info));
  EXPECT_EQ(info.retry_delay().seconds(), seconds);
  google::rpc::Status status;
  ASSERT_TRUE(status.ParseFromString(reply.status_details));
  EXPECT_EQ(status.code(), 14);
  EXPECT_EQ(status.message(), reply.message);
  ASSERT_EQ(status.details_size(), 1);
  EXPECT_EQ(status.details(0).type_url(), "type.googleapis.com/google.rpc.RetryInfo");
  google::rpc::RetryInfo detail;
  ASSERT_TRUE(status.details(0).UnpackTo(&detail));
  EXPECT_EQ(detail.retry_delay().seconds(), seconds);
}

TEST_F(OtlpExportTest, DrainingIsRetryableUnavailable) {
  api_->set_draining();
  const ExportOutcome o = run(grpc_request(two_spans().protobuf(), "Bearer " + std::string(kKey)));
  EXPECT_EQ(o.kind, Kind::kDraining);
  EXPECT_EQ(o.retry_after_seconds, 5);
  expect_retryable(grpc_reply(o), 5);
  EXPECT_EQ(stored_events("otlp-session"), 0u);
}

// Over HTTP 429 with Retry-After; over gRPC UNAVAILABLE (RESOURCE_EXHAUSTED is retried
// only with a RetryInfo, which not every exporter reads) with the same delay.
TEST_F(OtlpExportTest, FullQueueIs429OverHttpAndRetryableUnavailableOverGrpc) {
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
  const ExportOutcome o = run(*api, grpc_request(other.protobuf(), "Bearer " + std::string(kKey)));
  EXPECT_EQ(o.kind, Kind::kQueueFull);
  EXPECT_EQ(o.retry_after_seconds, 1);
  expect_retryable(grpc_reply(o), 1);
  stopped.start();
  ASSERT_TRUE(first.wait());
  EXPECT_EQ(first.response().status, 200);
  stopped.drain();
  EXPECT_EQ(stored_events("otlp-session"), 2u);
}

TEST(GrpcReply, AFailedCommitIsRetryable) {
  ExportOutcome o;
  o.kind = Kind::kCommitFailed;
  o.message = "the spans could not be committed; retry";
  o.retry_after_seconds = 1;
  expect_retryable(grpc_reply(o), 1);
}

// One session model whichever transport a span came by: a child sent over gRPC joins the
// session its root (sent over HTTP) named.
TEST_F(OtlpExportTest, SpansOfOneTraceMeetAcrossTransports) {
  t::RequestBuilder root;
  auto& r = root.span("root", kTrace, kRoot, {}, t::kT0Ns, t::kT0Ns + 5 * t::kMsNs);
  t::attr(r.mutable_attributes(), "session.id", "cross-transport");
  t::RequestBuilder child;
  child.span("child", kTrace, kChild, kRoot, t::kT0Ns + t::kMsNs, t::kT0Ns + 4 * t::kMsNs);
  ASSERT_EQ(call(post("/v1/traces", root.protobuf(), "application/x-protobuf")).status, 200);
  ASSERT_EQ(run(grpc_request(child.protobuf(), "Bearer " + std::string(kKey))).kind,
            Kind::kAccepted);
  EXPECT_EQ(stored_events("cross-transport"), 2u);
  auto e = store_->get_event(project_, std::string(kTrace) + "-" + std::string(kChild));
  ASSERT_TRUE(IsOk(e));
  EXPECT_EQ(e->event.session_id, "cross-transport");
}

}  // namespace
}  // namespace agentlog::api
