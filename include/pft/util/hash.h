#pragma once
// Content digests for telling files apart (a run's fingerprint, an adapter's base model):
// fast, not cryptographic. A digest is "SIZE:HEX" so that a size change reads at a glance.

#include <cstdint>
#include <string>
#include <string_view>

namespace pft {

/// 64-bit digest of `bytes` (four-lane multiply-rotate rounds over 8-byte words).
std::uint64_t digest64(std::string_view bytes, std::uint64_t seed = 0);

/// "SIZE:HEX" of a file's content, read in blocks; pft::Error (Input) naming the file when it
/// cannot be read.
std::string file_digest(const std::string& path);

}  // namespace pft
