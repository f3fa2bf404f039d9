#include "pft/util/hash.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "pft/util/error.h"

namespace pft {
namespace {

constexpr std::uint64_t kP1 = 0x9E3779B185EBCA87ULL;
constexpr std::uint64_t kP2 = 0xC2B2AE3D27D4EB4FULL;
constexpr std::uint64_t kP3 = 0x165667B19E3779F9ULL;

std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
std::uint64_t round(std::uint64_t acc, std::uint64_t word) {
  return rotl(acc + word * kP2, 31) * kP1;
}
std::uint64_t load(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// Streaming state: four lanes over 32-byte stripes, the rest byte by byte at the end.
struct Digest {
  std::uint64_t lanes[4];
  std::uint64_t total = 0;
  std::string tail;

  explicit Digest(std::uint64_t seed) : lanes{seed + kP1 + kP2, seed + kP2, seed, seed - kP1} {}

  void update(std::string_view bytes) {
    total += bytes.size();
    if (!tail.empty()) {
      const std::size_t take = std::min<std::size_t>(32 - tail.size(), bytes.size());
      tail.append(bytes.data(), take);
      bytes.remove_prefix(take);
      if (tail.size() < 32) return;
      stripe(tail.data());
      tail.clear();
    }
    while (bytes.size() >= 32) {
      stripe(bytes.data());
      bytes.remove_prefix(32);
    }
    tail.assign(bytes.data(), bytes.size());
  }
  void stripe(const char* p) {
    for (int i = 0; i < 4; ++i) lanes[i] = round(lanes[i], load(p + 8 * i));
  }
  std::uint64_t finish() const {
    std::uint64_t h =
        rotl(lanes[0], 1) + rotl(lanes[1], 7) + rotl(lanes[2], 12) + rotl(lanes[3], 18);
    h += total;
    for (const char c : tail) h = rotl(h ^ (static_cast<unsigned char>(c) * kP3), 11) * kP1;
    h ^= h >> 33;
    h *= kP2;
    h ^= h >> 29;
    h *= kP3;
    h ^= h >> 32;
    return h;
  }
};

}  // namespace

std::uint64_t digest64(std::string_view bytes, std::uint64_t seed) {
  Digest d(seed);
  d.update(bytes);
  return d.finish();
}

std::string file_digest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Input, path + ": cannot open: " + std::strerror(errno));
  Digest d(0);
  std::vector<char> block(1 << 20);
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    d.update(std::string_view(block.data(), static_cast<std::size_t>(in.gcount())));
  }
  if (in.bad()) throw Error(ErrorKind::Input, path + ": read failed");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(d.finish()));
  return std::to_string(d.total) + ":" + hex;
}

}  // namespace pft
