#include "util/compress.h"

#include <zlib.h>

namespace agentlog {

InflateResult inflate_bounded(std::string_view input, size_t max_output) {
  InflateResult result;
  z_stream zs{};
  // 15 + 32: detect gzip or zlib headers automatically.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) {
    result.outcome = InflateResult::Outcome::kCorrupt;
    return result;
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  zs.avail_in = static_cast<uInt>(input.size());
  std::string& out = result.data;
  out.resize(std::min<size_t>(std::max<size_t>(input.size() * 4, 4096), max_output + 1));
  size_t produced = 0;
  for (;;) {
    if (produced == out.size()) {
      if (out.size() > max_output) {
        result.outcome = InflateResult::Outcome::kTooLarge;
        break;
      }
      out.resize(std::min(out.size() * 2, max_output + 1));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (produced > max_output) {
      result.outcome = InflateResult::Outcome::kTooLarge;
      break;
    }
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Concatenated gzip members are legal (RFC 1952 §2.2).
      if (inflateReset(&zs) != Z_OK) {
        result.outcome = InflateResult::Outcome::kCorrupt;
        break;
      }
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {  // truncated stream
      result.outcome = InflateResult::Outcome::kCorrupt;
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      result.outcome = InflateResult::Outcome::kCorrupt;
      break;
    }
  }
  inflateEnd(&zs);
  if (result.outcome == InflateResult::Outcome::kOk) {
    out.resize(produced);
  } else {
    out.clear();
    out.shrink_to_fit();
  }
  return result;
}

}  // namespace agentlog
