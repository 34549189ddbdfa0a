// OTLP decoder micro-benchmark: CPU cost per span of reading an ExportTraceServiceRequest
// of typical GenAI spans, with the hand-written zero-copy protobuf reader and with
// libprotobuf (the reference implementation, generated from proto/), of reading its
// OTLP/JSON form, and of mapping the spans to events. Single-threaded; reports the median
// of several timed rounds. bench/run.py runs it and records the numbers.
//
//   agentlog_otlp_bench [--spans N] [--rounds N] [--json]
//   agentlog_otlp_bench --write-bodies DIR [--count N] [--spans N] [--marker 8CHARS]
//   [--random-ids] [--format json]
//       writes DIR/body-<i>.pb (or .json) request bodies for the HTTP load test; with a
//       marker (protobuf only), templates with time placeholders (see genai_workload)
#include <google/protobuf/arena.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/otlp/json_reader.h"
#include "ingest/otlp/protobuf_reader.h"
#include "ingest/otlp/span_mapper.h"
#include "testing/otlp.h"

namespace {

namespace otlp = agentlog::ingest::otlp;
namespace t = agentlog::test::otlp;

// Median microseconds of one call of `fn` over `rounds` rounds of `reps` calls.
double median_us(int rounds, int reps, const std::function<void()>& fn) {
  std::vector<double> samples;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) fn();
    const auto t1 = std::chrono::steady_clock::now();
    samples.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / reps);
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

size_t placeholders(std::string_view body) {
  size_t n = 0;
  for (size_t k = body.find("~@T"); k != std::string_view::npos; k = body.find("~@T", k + 8)) ++n;
  return n;
}

int write_bodies(const std::string& dir, int count, size_t spans, const std::string& marker,
                 t::IdOrder order, bool json) {
  if (!marker.empty() && json) {
    std::fprintf(stderr, "--marker bodies hold binary time placeholders: protobuf only\n");
    return 2;
  }
  std::filesystem::create_directories(dir);
  size_t bytes = 0;
  for (int i = 0; i < count; ++i) {
    const auto req = t::genai_workload(spans, static_cast<uint64_t>(1000 + i), marker, order);
    const std::string body = json ? t::to_otlp_json(req) : req.SerializeAsString();
    if (!marker.empty() && !json && placeholders(body) != 2 * spans) {
      // A random id byte sequence that looks like a placeholder would corrupt the body.
      std::fprintf(stderr, "body %d: expected %zu time placeholders, found %zu\n", i, 2 * spans,
                   placeholders(body));
      return 1;
    }
    std::ofstream(dir + "/body-" + std::to_string(i) + (json ? ".json" : ".pb"), std::ios::binary)
        << body;
    bytes += body.size();
  }
  std::printf("{\"bodies\":%d,\"spans_per_body\":%zu,\"mean_body_bytes\":%zu}\n", count, spans,
              bytes / static_cast<size_t>(count));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  size_t spans = 500;
  int rounds = 15;
  bool json = false;
  std::string write_dir, marker, format = "protobuf";
  auto order = t::IdOrder::kGrouped;
  int count = 8;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--spans")
      spans = std::stoul(next());
    else if (a == "--rounds")
      rounds = std::stoi(next());
    else if (a == "--json")
      json = true;
    else if (a == "--write-bodies")
      write_dir = next();
    else if (a == "--count")
      count = std::stoi(next());
    else if (a == "--marker")
      marker = next();
    else if (a == "--random-ids")
      order = t::IdOrder::kRandom;
    else if (a == "--format")
      format = next();
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (!write_dir.empty()) {
    if (!marker.empty() && marker.size() != 8) {
      std::fprintf(stderr, "--marker must be 8 characters\n");
      return 2;
    }
    return write_bodies(write_dir, count, spans, marker, order, format == "json");
  }

  const auto request = t::genai_workload(spans, 42);
  const std::string pb = request.SerializeAsString();
  const std::string js = t::to_otlp_json(request);
  const int reps = std::max(1, static_cast<int>(20000 / spans));

  otlp::TraceData data;
  std::string error;
  otlp::ProtobufReader reader;
  otlp::JsonReader json_reader;
  otlp::SpanMapper mapper;

  // Sanity: both protobuf paths and the JSON path see the same spans.
  if (!reader.read(pb, data, error) || data.spans.size() != spans) {
    std::fprintf(stderr, "protobuf reader failed: %s\n", error.c_str());
    return 1;
  }
  if (!json_reader.read(js, data, error) || data.spans.size() != spans) {
    std::fprintf(stderr, "JSON reader failed: %s\n", error.c_str());
    return 1;
  }

  const double hand = median_us(rounds, reps, [&] { (void)reader.read(pb, data, error); });
  const double lib_parse = median_us(rounds, reps, [&] {
    google::protobuf::Arena arena;
    auto* m = google::protobuf::Arena::CreateMessage<t::ExportRequest>(&arena);
    (void)m->ParseFromArray(pb.data(), static_cast<int>(pb.size()));
  });
  const double lib_adapt = median_us(rounds, reps, [&] {
    google::protobuf::Arena arena;
    auto* m = google::protobuf::Arena::CreateMessage<t::ExportRequest>(&arena);
    (void)m->ParseFromArray(pb.data(), static_cast<int>(pb.size()));
    t::adapt(*m, data);
  });
  const double json_read =
      median_us(rounds, reps, [&] { (void)json_reader.read(js, data, error); });
  (void)reader.read(pb, data, error);
  size_t events = 0;
  const double map = median_us(rounds, reps, [&] {
    otlp::MapResult r;
    mapper.map(data, 1, r);
    events = r.batch.events.size();
  });
  if (events != spans) {
    std::fprintf(stderr, "mapper produced %zu events for %zu spans\n", events, spans);
    return 1;
  }
  const double n = static_cast<double>(spans);
  const double per = 1.0 / n;
  if (json) {
    std::printf(
        "{\"spans_per_request\":%zu,\"protobuf_bytes\":%zu,\"json_bytes\":%zu,"
        "\"us_per_span\":{\"protobuf_handwritten_read\":%.3f,\"protobuf_libprotobuf_parse\":%.3f,"
        "\"protobuf_libprotobuf_parse_and_adapt\":%.3f,\"json_read\":%.3f,\"map\":%.3f,"
        "\"protobuf_total\":%.3f,\"protobuf_libprotobuf_total\":%.3f,\"json_total\":%.3f}}\n",
        spans, pb.size(), js.size(), hand * per, lib_parse * per, lib_adapt * per, json_read * per,
        map * per, (hand + map) * per, (lib_adapt + map) * per, (json_read + map) * per);
    return 0;
  }
  std::printf("request: %zu spans, %zu bytes protobuf (%.0f B/span), %zu bytes OTLP/JSON\n", spans,
              pb.size(), static_cast<double>(pb.size()) * per, js.size());
  std::printf("%-46s %10s %12s\n", "step", "us/span", "MB/s");
  auto row = [&](const char* name, double us, size_t bytes) {
    std::printf("%-46s %10.3f %12.0f\n", name, us * per, static_cast<double>(bytes) / us);
  };
  row("protobuf, hand-written zero-copy reader", hand, pb.size());
  row("protobuf, libprotobuf parse (arena)", lib_parse, pb.size());
  row("protobuf, libprotobuf parse + adapt", lib_adapt, pb.size());
  row("OTLP/JSON, simdjson reader", json_read, js.size());
  row("mapping spans -> events (either encoding)", map, pb.size());
  row("total protobuf (hand-written + map)", hand + map, pb.size());
  row("total protobuf (libprotobuf + adapt + map)", lib_adapt + map, pb.size());
  row("total OTLP/JSON (read + map)", json_read + map, js.size());
  return 0;
}
