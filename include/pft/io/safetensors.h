#pragma once
// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON header (padded with spaces to a multiple of
// 8), then the data section. Every header entry gives a tensor's dtype, shape and
// [begin, end) byte offsets into the data section; the entries must tile the data section
// exactly. The header is untrusted: every violation is a pft::Error (Input) naming the file
// and the tensor, never an out-of-bounds read.

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pft::io {

/// One header entry, as stored in the file.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // safetensors spelling: "F32", "BF16", "I64", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
};

/// A validated header: entries in file order (by data offset) and `__metadata__`.
struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;
  std::map<std::string, std::string> metadata;
  uint64_t header_size = 0;  // N, the JSON header's length (padding included)
  uint64_t data_size = 0;    // bytes after the header
};

/// Bytes that tensors may view without copying: an mmap'ed file or an owned buffer. Shared
/// by every tensor that views it, so it lives until the last of them is freed.
class SafetensorsBuffer;

/// A parsed safetensors file. Tensors returned by `tensor()` view the file's bytes directly
/// (zero-copy) when the element type's alignment allows; otherwise they are copied. The
/// mapping is private and copy-on-write: writing into a returned tensor never changes the file.
class SafetensorsFile {
 public:
  /// Maps `path` and validates its header.
  static SafetensorsFile open(const std::string& path);
  /// Validates in-memory bytes; `name` stands for the file in messages.
  static SafetensorsFile from_bytes(std::string bytes, const std::string& name);

  const std::string& path() const { return path_; }
  const SafetensorsHeader& header() const { return header_; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return index_.count(name) != 0; }

  /// The tensor called `name` (CPU); throws pft::Error (Input) naming file and tensor when
  /// absent or when LibTorch lacks its dtype.
  torch::Tensor tensor(const std::string& name) const;
  /// Whether `tensor(name)` shares memory with the file instead of copying.
  bool is_zero_copy(const std::string& name) const;
  /// Every tensor by name.
  std::map<std::string, torch::Tensor> tensors() const;

 private:
  SafetensorsFile(std::string path, std::shared_ptr<const SafetensorsBuffer> buffer);

  std::string path_;
  std::shared_ptr<const SafetensorsBuffer> buffer_;
  SafetensorsHeader header_;
  std::map<std::string, std::size_t> index_;  // name -> position in header_.entries
};

/// Validates the header of a complete safetensors file held in `bytes` (file name `name` in
/// messages). Exposed for tests and for tools that want the layout without tensors.
SafetensorsHeader parse_safetensors_header(std::string_view bytes, const std::string& name);

/// Reads every tensor of a file and its `__metadata__`.
struct SafetensorsContent {
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> metadata;
};
SafetensorsContent read_safetensors(const std::string& path);

/// The file bytes for `tensors` exactly as Python's `safetensors.torch.save` lays them out:
/// tensors ordered by dtype (widest first) then name, compact JSON header with
/// `__metadata__` first, padded with spaces to a multiple of 8 bytes. Tensors may live on
/// any device and need not be contiguous; throws pft::Error (Input) for dtypes the format
/// lacks.
std::string serialize_safetensors(const std::map<std::string, torch::Tensor>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

/// Writes serialize_safetensors(...) to `path` through pft::write_file_atomic.
void save_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

/// The LibTorch dtype of a safetensors dtype name; throws pft::Error (Input) for names the
/// format lacks, and for format dtypes LibTorch cannot hold (sub-byte F4/F6).
torch::Dtype dtype_from_safetensors(const std::string& name);
/// The safetensors name of a LibTorch dtype; throws pft::Error (Input) when there is none.
std::string dtype_to_safetensors(torch::Dtype dtype);
/// Bytes per element of a safetensors dtype (0 for names the format lacks).
std::size_t safetensors_dtype_size(const std::string& name);

}  // namespace pft::io
