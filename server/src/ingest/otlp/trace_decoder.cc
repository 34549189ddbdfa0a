#include "ingest/otlp/trace_decoder.h"

#include <cctype>

#include "util/json_writer.h"

namespace agentlog::ingest::otlp {

bool TraceDecoder::decode(std::string_view body, Encoding encoding, int64_t project_id,
                          MapResult& out, std::string& error) {
  const bool ok = encoding == Encoding::kProtobuf ? protobuf_.read(body, data_, error)
                                                  : json_.read(body, data_, error);
  if (!ok) return false;
  mapper_.map(data_, project_id, out);
  return true;
}

namespace {

std::string_view media_type(std::string_view ct) {
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.remove_suffix(1);
  while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t')) ct.remove_prefix(1);
  return ct;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_varint(out, field << 3 | 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

}  // namespace

std::optional<Encoding> encoding_of(std::string_view content_type) {
  const std::string_view media = media_type(content_type);
  if (iequals(media, "application/x-protobuf") || iequals(media, "application/protobuf"))
    return Encoding::kProtobuf;
  if (iequals(media, "application/json")) return Encoding::kJson;
  return std::nullopt;
}

std::string_view content_type_of(Encoding encoding) {
  return encoding == Encoding::kProtobuf ? "application/x-protobuf" : "application/json";
}

std::string export_response(Encoding encoding, int64_t rejected_spans,
                            std::string_view error_message) {
  const bool partial = rejected_spans > 0 || !error_message.empty();
  std::string out;
  if (encoding == Encoding::kProtobuf) {
    if (!partial) return out;
    std::string inner;
    if (rejected_spans > 0) {
      put_varint(inner, 1 << 3 | 0);
      put_varint(inner, static_cast<uint64_t>(rejected_spans));
    }
    if (!error_message.empty()) put_bytes(inner, 2, error_message);
    put_bytes(out, 1, inner);
    return out;
  }
  JsonWriter w(out);
  w.begin_object();
  if (partial) {
    w.key("partialSuccess").begin_object();
    // int64 is a string in the protobuf JSON mapping.
    if (rejected_spans > 0) w.field("rejectedSpans", std::to_string(rejected_spans));
    if (!error_message.empty()) w.field("errorMessage", error_message);
    w.end_object();
  }
  w.end_object();
  return out;
}

std::string status_body(Encoding encoding, int32_t code, std::string_view message) {
  std::string out;
  if (encoding == Encoding::kProtobuf) {
    if (code != 0) {
      put_varint(out, 1 << 3 | 0);
      put_varint(out, static_cast<uint64_t>(static_cast<int64_t>(code)));
    }
    if (!message.empty()) put_bytes(out, 2, message);
    return out;
  }
  JsonWriter w(out);
  w.begin_object().field("code", static_cast<int64_t>(code)).field("message", message).end_object();
  return out;
}

std::string retry_info(int64_t delay_seconds) {
  std::string duration;  // google.protobuf.Duration
  if (delay_seconds != 0) {
    put_varint(duration, 1 << 3 | 0);
    put_varint(duration, static_cast<uint64_t>(delay_seconds));
  }
  std::string out;
  put_bytes(out, 1, duration);
  return out;
}

std::string status_with_retry_info(int32_t code, std::string_view message, int64_t delay_seconds) {
  std::string any;  // google.protobuf.Any
  put_bytes(any, 1, "type.googleapis.com/google.rpc.RetryInfo");
  put_bytes(any, 2, retry_info(delay_seconds));
  std::string out = status_body(Encoding::kProtobuf, code, message);
  put_bytes(out, 3, any);
  return out;
}

}  // namespace agentlog::ingest::otlp
