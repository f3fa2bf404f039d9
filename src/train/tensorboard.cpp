#include "pft/train/tensorboard.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "pft/util/error.h"

namespace pft::train {

namespace {

std::array<std::uint32_t, 256> crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected
    table[i] = c;
  }
  return table;
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

template <class T>
void put_fixed(std::string& out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));  // little-endian hosts (x86-64, aarch64)
  out.append(bytes, sizeof(T));
}

// Protocol-buffer field keys: (number << 3) | wire type.
void put_key(std::string& out, int field, int wire_type) {
  put_varint(out, static_cast<std::uint64_t>(field << 3 | wire_type));
}

void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_key(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::uint32_t crc32c(std::string_view data) {
  static const auto table = crc_table();
  std::uint32_t c = 0xFFFFFFFFu;
  for (const unsigned char b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::uint32_t masked_crc32c(std::string_view data) {
  const std::uint32_t c = crc32c(data);
  return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
}

std::string scalar_event(double wall_time, std::int64_t step, const std::string& tag,
                         float value) {
  std::string summary_value;
  put_bytes(summary_value, 1, tag);   // Summary.Value.tag
  put_key(summary_value, 2, 5);       // Summary.Value.simple_value (float)
  put_fixed(summary_value, value);
  std::string summary;
  put_bytes(summary, 1, summary_value);  // Summary.value
  std::string event;
  put_key(event, 1, 1);  // Event.wall_time (double)
  put_fixed(event, wall_time);
  put_key(event, 2, 0);  // Event.step (int64)
  put_varint(event, static_cast<std::uint64_t>(step));
  put_bytes(event, 5, summary);  // Event.summary
  return event;
}

EventWriter::EventWriter(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) std::strcpy(host, "localhost");
  const auto seconds = static_cast<long long>(now_seconds());
  path_ = (fs::path(dir) / ("events.out.tfevents." + std::to_string(seconds) + "." + host + "." +
                            std::to_string(getpid())))
              .string();
  out_.open(path_, std::ios::binary | std::ios::trunc);
  if (!out_) throw Error(ErrorKind::Runtime, path_ + ": cannot create the TensorBoard event file");
  std::string event;
  put_key(event, 1, 1);
  put_fixed(event, now_seconds());
  put_bytes(event, 3, "brain.Event:2");  // Event.file_version
  record(event);
}

void EventWriter::scalar(const std::string& tag, double value, std::int64_t step) {
  record(scalar_event(now_seconds(), step, tag, static_cast<float>(value)));
}

void EventWriter::record(const std::string& data) {
  std::string header;
  put_fixed(header, static_cast<std::uint64_t>(data.size()));
  std::string framed = header;
  put_fixed(framed, masked_crc32c(header));
  framed += data;
  put_fixed(framed, masked_crc32c(data));
  out_.write(framed.data(), static_cast<std::streamsize>(framed.size()));
  out_.flush();
  if (!out_) throw Error(ErrorKind::Runtime, path_ + ": write failed (disk full?)");
}

}  // namespace pft::train
