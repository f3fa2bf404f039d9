#pragma once
// Shared by the fuzz targets: the input as text, and as a file for the readers that take a
// path. Only pft::Error may leave a parser; anything else reaching libFuzzer is a finding.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace pft::fuzz {

inline std::string text(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

/// Writes the input to this process's scratch file and returns its path.
inline std::string as_file(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/pft-fuzz-" + std::to_string(::getpid()) + ".txt";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) __builtin_trap();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
  return path;
}

}  // namespace pft::fuzz
