// The two OTLP readers against the reference implementation: the hand-written protobuf
// reader must see exactly what libprotobuf sees, and the OTLP/JSON reader exactly what
// the protobuf reader sees for the same request; malformed input is refused, never a crash.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "ingest/otlp/json_reader.h"
#include "ingest/otlp/protobuf_reader.h"
#include "testing/otlp.h"

namespace agentlog::ingest::otlp {
namespace {

namespace t = test::otlp;

constexpr std::string_view kTrace = "0af7651916cd43dd8448eb211c80319c";
constexpr std::string_view kSpan = "b7ad6b7169203331";
constexpr std::string_view kParent = "00f067aa0ba902b7";

// A request exercising every field and every kind of value.
t::ExportRequest rich_request() {
  t::RequestBuilder b("svc");
  auto& root = b.span("root", kTrace, kParent, {}, t::kT0Ns, t::kT0Ns + 5 * t::kMsNs);
  root.mutable_status()->set_code(t::pb_trace::Status::STATUS_CODE_OK);
  auto& s = b.span("child", kTrace, kSpan, kParent, t::kT0Ns + t::kMsNs, t::kT0Ns + 2 * t::kMsNs);
  s.set_kind(t::PbSpan::SPAN_KIND_CLIENT);
  s.set_trace_state("vendor=1");
  s.set_flags(0x301);
  s.set_dropped_attributes_count(2);
  s.set_dropped_events_count(3);
  s.set_dropped_links_count(4);
  auto* a = s.mutable_attributes();
  t::attr(a, "str", "text with \"quotes\" and ünïcödé");
  t::attr(a, "int", int64_t{-42});
  t::attr(a, "big", int64_t{9007199254740993});
  t::attr(a, "dbl", 2.5);
  t::attr(a, "bool", true);
  t::attr(a, "list", std::vector<std::string>{"a", "b"});
  auto* kv = a->Add();
  kv->set_key("nested");
  auto* list = kv->mutable_value()->mutable_kvlist_value();
  auto* inner = list->add_values();
  inner->set_key("deep");
  auto* arr = inner->mutable_value()->mutable_array_value();
  arr->add_values()->set_int_value(1);
  auto* arr2 = arr->add_values()->mutable_array_value();
  arr2->add_values()->set_string_value("x");
  arr2->add_values()->set_bool_value(false);
  arr->add_values()->set_double_value(-0.5);
  auto* bytes = a->Add();
  bytes->set_key("bytes");
  bytes->mutable_value()->set_bytes_value(std::string("\x00\xff\x10", 3));
  auto* empty = a->Add();
  empty->set_key("empty");
  empty->mutable_value();
  t::event(s, "exception", t::kT0Ns + t::kMsNs + 5,
           {{"exception.type", "ValueError"}, {"exception.message", "bad"}});
  auto* link = s.add_links();
  link->set_trace_id(t::bytes_of_hex("11111111111111111111111111111111"));
  link->set_span_id(t::bytes_of_hex("2222222222222222"));
  link->set_trace_state("k=v");
  t::attr(link->mutable_attributes(), "link.kind", "follows");
  s.mutable_status()->set_code(t::pb_trace::Status::STATUS_CODE_ERROR);
  s.mutable_status()->set_message("it failed");
  b.resource("other-svc", "other.scope");
  b.span("other", "1234567890abcdef1234567890abcdef", "1234567890abcdef");
  return b.request();
}

std::string reference_dump(const t::ExportRequest& req) {
  TraceData d;
  t::adapt(req, d);
  return t::dump(d);
}

std::string protobuf_dump(std::string_view bytes) {
  ProtobufReader r;
  TraceData d;
  std::string error;
  EXPECT_TRUE(r.read(bytes, d, error)) << error;
  return t::dump(d);
}

std::string json_dump(std::string_view json) {
  JsonReader r;
  TraceData d;
  std::string error;
  EXPECT_TRUE(r.read(json, d, error)) << error;
  return t::dump(d);
}

bool protobuf_fails(std::string_view bytes, std::string* error_out = nullptr) {
  ProtobufReader r;
  TraceData d;
  std::string error;
  const bool ok = r.read(bytes, d, error);
  if (!ok) {
    EXPECT_FALSE(error.empty());
  }
  if (error_out) *error_out = error;
  return !ok;
}

bool json_fails(std::string_view json, std::string* error_out = nullptr) {
  JsonReader r;
  TraceData d;
  std::string error;
  const bool ok = r.read(json, d, error);
  if (!ok) {
    EXPECT_FALSE(error.empty());
  }
  if (error_out) *error_out = error;
  return !ok;
}

// ---- protobuf

TEST(OtlpProtobufReader, SeesWhatLibprotobufSees) {
  const auto req = rich_request();
  const std::string expected = reference_dump(req);
  EXPECT_NE(expected.find("nested={deep=[i1, [s'x', false], d-0.500000]}"), std::string::npos)
      << expected;
  EXPECT_EQ(protobuf_dump(req.SerializeAsString()), expected);
}

TEST(OtlpProtobufReader, SeesWhatLibprotobufSeesOnALargeGenAiWorkload) {
  const auto req = t::genai_workload(300, 7);
  EXPECT_EQ(protobuf_dump(req.SerializeAsString()), reference_dump(req));
}

TEST(OtlpProtobufReader, EmptyBodyIsAnEmptyRequest) {
  ProtobufReader r;
  TraceData d;
  std::string error;
  ASSERT_TRUE(r.read("", d, error));
  EXPECT_TRUE(d.spans.empty());
}

TEST(OtlpProtobufReader, IdsOfTheWrongLengthMarkTheSpanInvalid) {
  t::RequestBuilder b;
  b.span("short trace", "0af7651916cd43dd", kSpan);
  b.span("long span", kTrace, "b7ad6b716920333100");
  b.span("bad parent", kTrace, kSpan, "00f0");
  b.span("fine", kTrace, kSpan);
  ProtobufReader r;
  TraceData d;
  std::string error;
  ASSERT_TRUE(r.read(b.protobuf(), d, error)) << error;
  ASSERT_EQ(d.spans.size(), 4u);
  EXPECT_STREQ(d.spans[0].invalid, "trace_id must be 16 bytes");
  EXPECT_STREQ(d.spans[1].invalid, "span_id must be 8 bytes");
  EXPECT_STREQ(d.spans[2].invalid, "parent_span_id must be 8 bytes or empty");
  EXPECT_EQ(d.spans[3].invalid, nullptr);
}

// Every prefix of a valid body: libprotobuf and the reader agree whenever libprotobuf
// accepts it, and the reader never crashes or reads out of bounds (ASan build).
TEST(OtlpProtobufReader, TruncatedBodiesAreRefusedOrAgreeWithLibprotobuf) {
  const std::string full = rich_request().SerializeAsString();
  size_t refused = 0;
  for (size_t n = 0; n < full.size(); ++n) {
    const std::string_view prefix(full.data(), n);
    t::ExportRequest ref;
    const bool lib_ok = ref.ParseFromArray(prefix.data(), static_cast<int>(prefix.size()));
    ProtobufReader r;
    TraceData d;
    std::string error;
    const bool ok = r.read(prefix, d, error);
    if (lib_ok) {
      ASSERT_TRUE(ok) << "prefix " << n << ": " << error;
      TraceData expected;
      t::adapt(ref, expected);
      ASSERT_EQ(t::dump(d), t::dump(expected)) << "prefix " << n;
    } else {
      ASSERT_FALSE(ok) << "prefix " << n << " accepted though libprotobuf refuses it";
      ++refused;
    }
  }
  EXPECT_GT(refused, full.size() / 2);
}

// Random byte flips: same contract (libprotobuf accepts -> same result; the reader may
// accept more, since it does not insist on valid UTF-8).
TEST(OtlpProtobufReader, MutatedBodiesNeverCrashAndAgreeWhenLibprotobufAccepts) {
  const std::string full = rich_request().SerializeAsString();
  std::mt19937 rng(1234);
  int agreed = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string body = full;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) body[rng() % body.size()] = static_cast<char>(rng() & 0xFF);
    t::ExportRequest ref;
    const bool lib_ok = ref.ParseFromString(body);
    ProtobufReader r;
    TraceData d;
    std::string error;
    const bool ok = r.read(body, d, error);
    if (!lib_ok) continue;
    ASSERT_TRUE(ok) << "round " << round << ": " << error;
    // Merged duplicate sub-messages are the one place the two may legitimately differ.
    TraceData expected;
    t::adapt(ref, expected);
    if (t::dump(d) == t::dump(expected)) ++agreed;
  }
  EXPECT_GT(agreed, 100);
}

std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string field(uint32_t number, uint32_t wire_type) { return varint(number << 3 | wire_type); }
std::string len_field(uint32_t number, std::string_view payload) {
  return field(number, 2) + varint(payload.size()) + std::string(payload);
}

TEST(OtlpProtobufReader, RefusesLengthsPastTheEnd) {
  std::string error;
  EXPECT_TRUE(protobuf_fails(field(1, 2) + varint(1000) + "abc", &error));
  EXPECT_NE(error.find("length"), std::string::npos) << error;
  // A length of 2^62: no allocation, no overflow, just refused.
  EXPECT_TRUE(protobuf_fails(field(1, 2) + varint(uint64_t{1} << 62) + "abc"));
  EXPECT_TRUE(protobuf_fails(field(1, 2) + std::string(10, '\xff') + '\x01'));
}

TEST(OtlpProtobufReader, RefusesMalformedTagsAndVarints) {
  EXPECT_TRUE(protobuf_fails(std::string(1, '\0')));     // field number 0
  EXPECT_TRUE(protobuf_fails(field(0, 2) + varint(0)));  // field number 0, any wire type
  EXPECT_TRUE(
      protobuf_fails(field(7, 0) + std::string(11, '\x80')));  // varint longer than 10 bytes
  EXPECT_TRUE(protobuf_fails(field(7, 6)));                    // wire type 6
  EXPECT_TRUE(protobuf_fails(field(7, 4)));                    // stray end-group
  EXPECT_TRUE(protobuf_fails(field(7, 1) + "1234"));           // truncated fixed64
  EXPECT_TRUE(protobuf_fails(field(7, 5) + "12"));             // truncated fixed32
  EXPECT_TRUE(protobuf_fails(field(7, 3) + field(8, 0) + varint(1)));  // group never closed
  EXPECT_TRUE(protobuf_fails(field(7, 3) + field(8, 4)));  // group closed with another number
}

// Found by fuzz_otlp_protobuf: libprotobuf reads a tag as at most 5 varint bytes and drops
// the bits beyond 32, so this body is valid for it (and must be for the reader).
TEST(OtlpProtobufReader, FiveByteTagsDropTheirHighBitsLikeLibprotobuf) {
  const std::string body = field(6, 2) + varint(2) + "ab" + std::string("\xb0\xaf\xaf\xac\x50", 5) +
                           varint(80) + field(9, 2) + varint(0);
  t::ExportRequest ref;
  ASSERT_TRUE(ref.ParseFromString(body));
  EXPECT_EQ(protobuf_dump(body), reference_dump(ref));
  // Six bytes, or a length of 2^31 or more, is too much for both.
  const std::string six = std::string("\x80\x80\x80\x80\x80\x01", 6);
  EXPECT_FALSE(ref.ParseFromString(six));
  EXPECT_TRUE(protobuf_fails(six));
  const std::string big_len = field(1, 2) + std::string("\x80\x80\x80\x80\x08", 5);
  EXPECT_FALSE(ref.ParseFromString(big_len));
  EXPECT_TRUE(protobuf_fails(big_len));
}

TEST(OtlpProtobufReader, SkipsUnknownFieldsAndGroupsLikeLibprotobuf) {
  t::RequestBuilder b;
  b.span("s", kTrace, kSpan);
  std::string body = b.protobuf();
  // Unknown fields of every wire type before and after, and a group with a nested group.
  const std::string junk = field(99, 0) + varint(300) + field(98, 1) + "12345678" + field(97, 5) +
                           "1234" + len_field(96, "xyz") + field(95, 3) + field(94, 0) + varint(1) +
                           field(93, 3) + field(93, 4) + field(95, 4);
  body = junk + body + junk;
  t::ExportRequest ref;
  ASSERT_TRUE(ref.ParseFromString(body));
  EXPECT_EQ(protobuf_dump(body), reference_dump(ref));
}

TEST(OtlpProtobufReader, KnownFieldsWithTheWrongWireTypeAreSkippedLikeLibprotobuf) {
  // A span whose name (5) arrives as a varint and whose start time (7) as a string.
  std::string span = len_field(1, t::bytes_of_hex(kTrace)) + len_field(2, t::bytes_of_hex(kSpan)) +
                     field(5, 0) + varint(7) + len_field(7, "not a fixed64") +
                     len_field(5, "real name");
  const std::string body = len_field(1, len_field(2, len_field(2, span)));
  t::ExportRequest ref;
  ASSERT_TRUE(ref.ParseFromString(body));
  EXPECT_EQ(ref.resource_spans(0).scope_spans(0).spans(0).name(), "real name");
  EXPECT_EQ(protobuf_dump(body), reference_dump(ref));
}

TEST(OtlpProtobufReader, NestingLimitMatchesLibprotobuf) {
  // AnyValue -> ArrayValue -> AnyValue ... `levels` deep inside one attribute.
  auto nested = [](int levels) {
    std::string v = field(3, 0) + varint(1);  // int_value = 1
    for (int i = 0; i < levels; ++i) v = len_field(5, len_field(1, v));
    std::string kv = len_field(1, "k") + len_field(2, v);
    std::string span = len_field(1, t::bytes_of_hex(kTrace)) +
                       len_field(2, t::bytes_of_hex(kSpan)) + len_field(9, kv);
    return len_field(1, len_field(2, len_field(2, span)));
  };
  for (int levels : {10, 40, 47, 48, 49, 60, 200}) {
    const std::string body = nested(levels);
    t::ExportRequest ref;
    const bool lib_ok = ref.ParseFromString(body);
    ProtobufReader r;
    TraceData d;
    std::string error;
    EXPECT_EQ(r.read(body, d, error), lib_ok) << levels << " levels: " << error;
  }
}

// ---- JSON

TEST(OtlpJsonReader, SeesWhatTheProtobufReaderSees) {
  const auto req = rich_request();
  EXPECT_EQ(json_dump(t::to_otlp_json(req)), protobuf_dump(req.SerializeAsString()));
  const auto workload = t::genai_workload(200, 3);
  EXPECT_EQ(json_dump(t::to_otlp_json(workload)), protobuf_dump(workload.SerializeAsString()));
}

TEST(OtlpJsonReader, AcceptsBothIntegerEncodingsEnumNamesAndProtoFieldNames) {
  const std::string a = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{
      "traceId":"0AF7651916CD43DD8448EB211C80319C","spanId":"b7ad6b7169203331","name":"n",
      "kind":3,"startTimeUnixNano":"1767225600000000000","endTimeUnixNano":1767225600001000000,
      "status":{"code":2,"message":"m"},
      "attributes":[{"key":"i","value":{"intValue":"12"}},{"key":"j","value":{"intValue":13}},
                    {"key":"d","value":{"doubleValue":"NaN"}},{"key":"b","value":{"bytesValue":"AP8Q"}}]}]}]}]})";
  const std::string b = R"({"resource_spans":[{"scope_spans":[{"spans":[{
      "trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","name":"n",
      "kind":"SPAN_KIND_CLIENT","start_time_unix_nano":1767225600000000000,"end_time_unix_nano":"1767225600001000000",
      "status":{"code":"STATUS_CODE_ERROR","message":"m"},
      "attributes":[{"key":"i","value":{"int_value":12}},{"key":"j","value":{"int_value":"13"}},
                    {"key":"d","value":{"double_value":"NaN"}},{"key":"b","value":{"bytes_value":"AP8Q"}}]}]}]}]})";
  const std::string da = json_dump(a);
  EXPECT_EQ(da, json_dump(b));
  EXPECT_NE(da.find("kind=3"), std::string::npos) << da;
  EXPECT_NE(da.find("status=2:'m'"), std::string::npos) << da;
  EXPECT_NE(da.find("start=1767225600000000000 end=1767225600001000000"), std::string::npos) << da;
  EXPECT_NE(da.find("b=b'00ff10'"), std::string::npos) << da;
}

TEST(OtlpJsonReader, IgnoresUnknownFieldsAndNulls) {
  const std::string body =
      R"({"future":{"x":[1,2]},"resourceSpans":[{"resource":null,"scopeSpans":[{"scope":null,
      "spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","parentSpanId":null,
      "name":"n","startTimeUnixNano":"1","newField":{"a":1},"attributes":null}]}],"schemaUrl":"x"}],"more":true})";
  JsonReader r;
  TraceData d;
  std::string error;
  ASSERT_TRUE(r.read(body, d, error)) << error;
  ASSERT_EQ(d.spans.size(), 1u);
  EXPECT_FALSE(d.spans[0].has_parent);
  EXPECT_EQ(d.spans[0].name, "n");
}

TEST(OtlpJsonReader, Base64IdsMarkTheSpanInvalidInsteadOfFailingTheRequest) {
  // What a generic protobuf JSON encoder produces: ids in base64.
  const std::string body = R"({"resourceSpans":[{"scopeSpans":[{"spans":[
      {"traceId":"CvdlGRbNQ92ESOshHIAxnA==","spanId":"t61rcWkgMzE=","name":"b64","startTimeUnixNano":"1"},
      {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"zzzzzzzzzzzzzzzz","name":"nothex","startTimeUnixNano":"1"},
      {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"ok","startTimeUnixNano":"1"}]}]}]})";
  JsonReader r;
  TraceData d;
  std::string error;
  ASSERT_TRUE(r.read(body, d, error)) << error;
  ASSERT_EQ(d.spans.size(), 3u);
  ASSERT_NE(d.spans[0].invalid, nullptr);
  EXPECT_NE(std::string(d.spans[0].invalid).find("hex"), std::string::npos);
  EXPECT_NE(d.spans[1].invalid, nullptr);
  EXPECT_EQ(d.spans[2].invalid, nullptr);
}

TEST(OtlpJsonReader, RefusesBodiesThatAreNotOtlpJson) {
  for (
      std::string_view body : {
          std::string_view(""),
          std::string_view("not json"),
          std::string_view("[]"),
          std::string_view("{"),
          std::string_view(R"({"resourceSpans":{}})"),
          std::string_view(R"({"resourceSpans":[1]})"),
          std::string_view(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":5}]}]}]})"),
          std::string_view(
              R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"-1"}]}]}]})"),
          std::string_view(
              R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"12x"}]}]}]})"),
          std::string_view(
              R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_NOPE"}]}]}]})"),
          std::string_view(
              R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":{"intValue":"1.5"}}]}]}]}]})"),
          std::string_view(
              R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":{"bytesValue":"!!"}}]}]}]}]})"),
          std::string_view(R"({"resourceSpans":[]} trailing)"),
          std::string_view(
              "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"\xff\xfe\"}]}]}]}"),
      }) {
    EXPECT_TRUE(json_fails(body)) << body;
  }
}

TEST(OtlpJsonReader, LoneSurrogateEscapesBecomeReplacementCharacters) {
  const std::string body =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c",
      "spanId":"b7ad6b7169203331","name":"a\ud800b","startTimeUnixNano":"1"}]}]}]})";
  JsonReader r;
  TraceData d;
  std::string error;
  ASSERT_TRUE(r.read(body, d, error)) << error;
  EXPECT_EQ(d.spans[0].name,
            "a\xEF\xBF\xBD"
            "b");
}

TEST(OtlpJsonReader, DeepNestingIsRefused) {
  std::string v = R"({"intValue":"1"})";
  for (int i = 0; i < 300; ++i) v = R"({"arrayValue":{"values":[)" + v + "]}}";
  const std::string body =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":)" + v +
      "}]}]}]}]}";
  std::string error;
  EXPECT_TRUE(json_fails(body, &error));
}

TEST(OtlpJsonReader, ViewsStayValidUntilTheNextRead) {
  JsonReader r;
  TraceData d;
  std::string error;
  const std::string body = t::to_otlp_json(rich_request());
  ASSERT_TRUE(r.read(body, d, error));
  const std::string first = t::dump(d);
  ASSERT_TRUE(r.read(body, d, error));
  EXPECT_EQ(t::dump(d), first);
}

}  // namespace
}  // namespace agentlog::ingest::otlp
