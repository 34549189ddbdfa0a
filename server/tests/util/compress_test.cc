#include "util/compress.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <random>
#include <stdexcept>
#include <string>

namespace agentlog {
namespace {

using Outcome = InflateResult::Outcome;

// Compresses with zlib itself, independently of the code under test.
// window_bits: 15 + 16 = gzip, 15 = zlib.
std::string compress(std::string_view data, int window_bits, int level = Z_DEFAULT_COMPRESSION) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2");
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  return out;
}
std::string gzip(std::string_view data, int level = Z_DEFAULT_COMPRESSION) {
  return compress(data, 15 + 16, level);
}
std::string zlib(std::string_view data) { return compress(data, 15); }

std::string sample_text(size_t n) {
  std::mt19937 rng(42);
  static constexpr std::string_view kWords[] = {"agent ",   "tool ",      "llm ",
                                                "session ", "{\"k\":1} ", "\n"};
  std::string out;
  while (out.size() < n) out += kWords[rng() % 6];
  out.resize(n);
  return out;
}

TEST(InflateBounded, RoundTripsGzip) {
  const std::string data = sample_text(300000);
  const auto r = inflate_bounded(gzip(data), 1 << 20);
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.data, data);
}

TEST(InflateBounded, RoundTripsZlibDeflate) {
  const std::string data = sample_text(50000);
  const auto r = inflate_bounded(zlib(data), 1 << 20);
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.data, data);
}

TEST(InflateBounded, RoundTripsIncompressibleData) {
  std::mt19937 rng(1);
  std::string data(100000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  const auto r = inflate_bounded(gzip(data), 1 << 20);
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.data, data);
}

TEST(InflateBounded, RoundTripsEmptyPayload) {
  const auto r = inflate_bounded(gzip(""), 100);
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.data, "");
}

TEST(InflateBounded, ConcatenatesGzipMembers) {
  const auto r = inflate_bounded(gzip("first member, ") + gzip("") + gzip("second member"), 1000);
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.data, "first member, second member");
}

TEST(InflateBounded, OutputExactlyAtTheBoundIsAccepted) {
  const std::string data = sample_text(10000);
  const std::string gz = gzip(data);
  const auto at = inflate_bounded(gz, data.size());
  EXPECT_EQ(at.outcome, Outcome::kOk);
  EXPECT_EQ(at.data, data);
  const auto over = inflate_bounded(gz, data.size() - 1);
  EXPECT_EQ(over.outcome, Outcome::kTooLarge);
  EXPECT_TRUE(over.data.empty());
}

TEST(InflateBounded, CorruptInputIsRefused) {
  const std::string gz = gzip(sample_text(5000));
  std::string flipped_body = gz;
  flipped_body[gz.size() / 2] = static_cast<char>(flipped_body[gz.size() / 2] ^ 0x55);
  std::string bad_crc = gz;
  bad_crc[gz.size() - 6] = static_cast<char>(bad_crc[gz.size() - 6] ^ 0x01);
  std::string bad_magic = gz;
  bad_magic[0] = 'x';

  const std::pair<const char*, std::string> cases[] = {
      {"not compressed", "{\"events\":[]}"},
      {"truncated", gz.substr(0, gz.size() - 10)},
      {"header only", gz.substr(0, 10)},
      {"flipped body byte", flipped_body},
      {"bad crc", bad_crc},
      {"bad magic", bad_magic},
      {"garbage after a member", gz + "trailing junk"},
  };
  for (const auto& [what, input] : cases) {
    const auto r = inflate_bounded(input, 1 << 20);
    EXPECT_EQ(r.outcome, Outcome::kCorrupt) << what;
    EXPECT_TRUE(r.data.empty()) << what;
  }
}

// 64 gzip members of 16 MiB of zeros each: 1 GiB from about 1 MB of input.
std::string gzip_bomb() {
  const std::string member = gzip(std::string(16u << 20, '\0'), Z_BEST_COMPRESSION);
  std::string bomb;
  for (int i = 0; i < 64; ++i) bomb += member;
  return bomb;
}

TEST(InflateBounded, BombStopsAtTheBound) {
  const std::string bomb = gzip_bomb();
  ASSERT_LT(bomb.size(), 2u << 20);
  const auto r = inflate_bounded(bomb, 4u << 20);
  EXPECT_EQ(r.outcome, Outcome::kTooLarge);
  EXPECT_TRUE(r.data.empty());
}

// Peak memory is measured in a forked child, whose peak RSS starts from the parent's
// current size: decompressing the bomb must not grow it by much more than the bound.
TEST(InflateBounded, BombDoesNotAllocatePastTheBound) {
  const std::string bomb = gzip_bomb();
  constexpr size_t kBound = 4u << 20;
  constexpr long kAllowedGrowthKb =
      64 * 1024;  // bound + slack for sanitizer bookkeeping; far below 1 GiB
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
    const auto r = inflate_bounded(bomb, kBound);
    getrusage(RUSAGE_SELF, &after);
    const bool ok =
        r.outcome == Outcome::kTooLarge && after.ru_maxrss - before.ru_maxrss < kAllowedGrowthKb;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "peak RSS grew by more than " << kAllowedGrowthKb << " KiB";
}

}  // namespace
}  // namespace agentlog
