#include "util/ids.h"

#include <array>

#include "util/crypto.h"

namespace agentlog {

UuidV7Generator::UuidV7Generator(const Clock& clock) : clock_(clock) {
  std::array<uint64_t, 1> seed{};
  random_bytes(reinterpret_cast<unsigned char*>(seed.data()), sizeof seed);
  rng_.seed(seed[0]);
}

std::string UuidV7Generator::next() {
  uint64_t ms, rand_b;
  uint32_t counter;
  {
    std::lock_guard lock(mu_);
    ms = static_cast<uint64_t>(std::max<int64_t>(clock_.now() / 1000, last_ms_));
    if (static_cast<int64_t>(ms) == last_ms_) {
      if (++counter_ > 0xFFF) {  // counter exhausted: borrow the next millisecond
        ++ms;
        counter_ = static_cast<uint32_t>(rng_() & 0x1FF);
      }
    } else {
      counter_ = static_cast<uint32_t>(rng_() & 0x1FF);  // leave headroom for increments
    }
    last_ms_ = static_cast<int64_t>(ms);
    counter = counter_;
    rand_b = rng_();
  }
  std::array<unsigned char, 16> b{};
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  b[6] = static_cast<unsigned char>(0x70 | ((counter >> 8) & 0x0F));
  b[7] = static_cast<unsigned char>(counter & 0xFF);
  for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<unsigned char>(rand_b >> (56 - 8 * i));
  b[8] = static_cast<unsigned char>(0x80 | (b[8] & 0x3F));

  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xF]);
  }
  return out;
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kB64[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kB64[(acc << (6 - bits)) & 0x3F]);
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

}  // namespace agentlog
