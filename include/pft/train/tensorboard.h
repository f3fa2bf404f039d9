#pragma once
// TensorBoard event files, written without TensorFlow: a file of TFRecord records (length,
// masked CRC-32C of the length, an `Event` protocol buffer, masked CRC-32C of the data), the
// first holding `file_version: "brain.Event:2"`, the rest one scalar summary each
// (`Event{wall_time, step, summary{value{tag, simple_value}}}`), as TensorBoard's readers
// expect them.

#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

namespace pft::train {

/// CRC-32C (Castagnoli) of `data`, and TFRecord's masked form of a CRC.
std::uint32_t crc32c(std::string_view data);
std::uint32_t masked_crc32c(std::string_view data);

/// The protocol-buffer bytes of one Event holding scalars `tag` = `value` at `step`.
std::string scalar_event(double wall_time, std::int64_t step, const std::string& tag,
                         float value);

class EventWriter {
 public:
  /// Opens a new `events.out.tfevents.<seconds>.<host>.<pid>` file in `dir` (created if
  /// missing) and writes its file-version record. Errors name the file.
  explicit EventWriter(const std::string& dir);
  const std::string& path() const { return path_; }
  /// Appends one scalar and flushes, so a reader (or a killed run) sees whole records.
  void scalar(const std::string& tag, double value, std::int64_t step);

 private:
  void record(const std::string& data);
  std::string path_;
  std::ofstream out_;
};

}  // namespace pft::train
