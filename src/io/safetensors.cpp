#include "pft/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "pft/util/error.h"
#include "pft/util/fs.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "pft reads safetensors (little-endian) by viewing bytes directly: little-endian hosts only"
#endif

namespace pft::io {

// ---- the bytes tensors view ------------------------------------------------------------

class SafetensorsBuffer {
 public:
  /// Owns `bytes`.
  explicit SafetensorsBuffer(std::string bytes) : owned_(std::move(bytes)) {
    data_ = owned_.data();
    size_ = owned_.size();
  }
  /// Owns a mapping made by mmap.
  SafetensorsBuffer(char* mapped, std::size_t size) : data_(mapped), size_(size), mapped_(true) {}
  ~SafetensorsBuffer() {
    if (mapped_) ::munmap(data_, size_);
  }
  SafetensorsBuffer(const SafetensorsBuffer&) = delete;
  SafetensorsBuffer& operator=(const SafetensorsBuffer&) = delete;

  // Writable because the mapping is private (copy-on-write) and the string is ours: a caller
  // that writes into a tensor changes only its own pages.
  char* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::string_view view() const { return {data_, size_}; }

 private:
  std::string owned_;
  char* data_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false;
};

namespace {

// safetensors' reference implementation refuses headers above 100 MB; a larger length field
// is corruption, not a model.
constexpr uint64_t kMaxHeaderSize = 100'000'000;

struct DtypeInfo {
  const char* name;
  int bits;  // element width in bits
  int rank;  // position in the reference implementation's Dtype enum (sort order)
};

// Every dtype of the format, in the reference implementation's enum order.
constexpr DtypeInfo kDtypes[] = {
    {"BOOL", 8, 0},    {"F4", 4, 1},          {"F6_E2M3", 6, 2},      {"F6_E3M2", 6, 3},
    {"U8", 8, 4},      {"I8", 8, 5},          {"F8_E5M2", 8, 6},      {"F8_E4M3", 8, 7},
    {"F8_E8M0", 8, 8}, {"F8_E4M3FNUZ", 8, 9}, {"F8_E5M2FNUZ", 8, 10}, {"I16", 16, 11},
    {"U16", 16, 12},   {"F16", 16, 13},       {"BF16", 16, 14},       {"I32", 32, 15},
    {"U32", 32, 16},   {"F32", 32, 17},       {"C64", 64, 18},        {"F64", 64, 19},
    {"I64", 64, 20},   {"U64", 64, 21},
};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

std::string known_dtypes() {
  std::string out;
  for (const auto& d : kDtypes) {
    if (!out.empty()) out += ", ";
    out += d.name;
  }
  return out;
}

[[noreturn]] void fail(const std::string& file, const std::string& message) {
  throw Error(ErrorKind::Input, file + ": " + message);
}

[[noreturn]] void fail_tensor(const std::string& file, const std::string& tensor,
                              const std::string& message) {
  throw Error(ErrorKind::Input, file + ": tensor '" + tensor + "': " + message);
}

uint64_t read_le64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

/// Offset of the first byte that breaks UTF-8 (overlong forms, surrogates and code points
/// above U+10FFFF included), or npos.
std::size_t invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

/// `v` for a message. Only flat values are printed in full: a hostile header may nest arrays
/// a million deep, and printing is recursive.
std::string brief(const nlohmann::json& v) {
  if (v.is_primitive()) {
    std::string text = v.dump();
    return text.size() > 80 ? text.substr(0, 77) + "..." : text;
  }
  bool flat = v.size() <= 16;
  for (const auto& item : v) flat = flat && item.is_primitive();
  if (flat) {
    std::string text = v.dump();
    if (text.size() <= 200) return text;
  }
  return std::string(v.is_array() ? "an array of " : "an object of ") + std::to_string(v.size()) +
         " items";
}

/// A JSON value that is a non-negative integer fitting int64 (shapes and offsets).
bool as_count(const nlohmann::json& v, uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
  } else if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(v.get<int64_t>());
  } else {
    return false;
  }
  return out <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

SafetensorsEntry parse_entry(const std::string& file, const std::string& name,
                             const nlohmann::json& value, uint64_t data_size) {
  if (!value.is_object()) {
    fail_tensor(file, name,
                "header entry must be an object with dtype, shape and "
                "data_offsets, found " +
                    std::string(value.type_name()));
  }
  for (const auto& [key, _] : value.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      fail_tensor(file, name,
                  "unexpected field '" + key +
                      "' in header entry (expected only dtype, shape, data_offsets)");
    }
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(key))
      fail_tensor(file, name, std::string("header entry lacks '") + key + "'");
  }
  SafetensorsEntry e;
  e.name = name;

  const auto& dtype = value.at("dtype");
  if (!dtype.is_string()) fail_tensor(file, name, "dtype must be a string, found " + brief(dtype));
  e.dtype = dtype.get<std::string>();
  const DtypeInfo* info = find_dtype(e.dtype);
  if (info == nullptr) {
    fail_tensor(file, name,
                "unknown dtype '" + e.dtype + "' (expected one of " + known_dtypes() + ")");
  }

  const auto& shape = value.at("shape");
  if (!shape.is_array()) fail_tensor(file, name, "shape must be an array, found " + brief(shape));
  uint64_t numel = 1;
  for (const auto& dim : shape) {
    uint64_t d = 0;
    if (!as_count(dim, d)) {
      fail_tensor(file, name,
                  "shape " + brief(shape) + " must hold non-negative integers below 2^63, found " +
                      brief(dim));
    }
    if (__builtin_mul_overflow(numel, d, &numel)) {
      fail_tensor(file, name, "shape " + brief(shape) + ": element count overflows 64 bits");
    }
    e.shape.push_back(static_cast<int64_t>(d));
  }

  const auto& offsets = value.at("data_offsets");
  uint64_t begin = 0;
  uint64_t end = 0;
  if (!offsets.is_array() || offsets.size() != 2 || !as_count(offsets[0], begin) ||
      !as_count(offsets[1], end)) {
    fail_tensor(
        file, name,
        "data_offsets must be [begin, end] with non-negative integers, found " + brief(offsets));
  }
  if (end < begin) {
    fail_tensor(file, name, "data_offsets " + brief(offsets) + " are reversed (end before begin)");
  }
  if (end > data_size) {
    fail_tensor(file, name,
                "data_offsets " + brief(offsets) + " run past the data section (" +
                    std::to_string(data_size) + " bytes)");
  }
  uint64_t bits = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(info->bits), &bits)) {
    fail_tensor(file, name, "shape " + brief(shape) + ": byte size overflows 64 bits");
  }
  if (bits % 8 != 0) {
    fail_tensor(file, name,
                "shape " + brief(shape) + " of " + e.dtype + " does not fill whole bytes");
  }
  if (bits / 8 != end - begin) {
    fail_tensor(file, name,
                "shape " + brief(shape) + " of " + e.dtype + " needs " + std::to_string(bits / 8) +
                    " bytes but data_offsets " + brief(offsets) + " span " +
                    std::to_string(end - begin));
  }
  e.begin = begin;
  e.end = end;
  return e;
}

}  // namespace

// ---- dtypes ---------------------------------------------------------------------------

torch::Dtype dtype_from_safetensors(const std::string& name) {
  using torch::ScalarType;
  if (name == "F64") return torch::kFloat64;
  if (name == "F32") return torch::kFloat32;
  if (name == "F16") return torch::kFloat16;
  if (name == "BF16") return torch::kBFloat16;
  if (name == "I64") return torch::kInt64;
  if (name == "I32") return torch::kInt32;
  if (name == "I16") return torch::kInt16;
  if (name == "I8") return torch::kInt8;
  if (name == "U8") return torch::kUInt8;
  if (name == "BOOL") return torch::kBool;
  if (name == "C64") return torch::kComplexFloat;
  if (name == "U16") return ScalarType::UInt16;
  if (name == "U32") return ScalarType::UInt32;
  if (name == "U64") return ScalarType::UInt64;
  const std::string lacks = "LibTorch " TORCH_VERSION " has no tensor type for safetensors dtype ";
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
  if (name == "F8_E4M3") return ScalarType::Float8_e4m3fn;
  if (name == "F8_E5M2") return ScalarType::Float8_e5m2;
  if (name == "F8_E4M3FNUZ") return ScalarType::Float8_e4m3fnuz;
  if (name == "F8_E5M2FNUZ") return ScalarType::Float8_e5m2fnuz;
#endif
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 7)
  if (name == "F8_E8M0") return ScalarType::Float8_e8m0fnu;
#endif
  if (find_dtype(name) != nullptr) {
    // F4 and F6 pack several elements per byte; F8 variants exist from LibTorch 2.2 (2.7 for
    // E8M0). Either way no tensor can view these bytes element by element.
    throw Error(ErrorKind::Input, lacks + name);
  }
  throw Error(ErrorKind::Input,
              "unknown safetensors dtype '" + name + "' (expected one of " + known_dtypes() + ")");
}

std::string dtype_to_safetensors(torch::Dtype dtype) {
  using torch::ScalarType;
  switch (dtype) {
    case ScalarType::Double:
      return "F64";
    case ScalarType::Float:
      return "F32";
    case ScalarType::Half:
      return "F16";
    case ScalarType::BFloat16:
      return "BF16";
    case ScalarType::Long:
      return "I64";
    case ScalarType::Int:
      return "I32";
    case ScalarType::Short:
      return "I16";
    case ScalarType::Char:
      return "I8";
    case ScalarType::Byte:
      return "U8";
    case ScalarType::Bool:
      return "BOOL";
    case ScalarType::ComplexFloat:
      return "C64";
    case ScalarType::UInt16:
      return "U16";
    case ScalarType::UInt32:
      return "U32";
    case ScalarType::UInt64:
      return "U64";
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
    case ScalarType::Float8_e4m3fn:
      return "F8_E4M3";
    case ScalarType::Float8_e5m2:
      return "F8_E5M2";
    case ScalarType::Float8_e4m3fnuz:
      return "F8_E4M3FNUZ";
    case ScalarType::Float8_e5m2fnuz:
      return "F8_E5M2FNUZ";
#endif
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 7)
    case ScalarType::Float8_e8m0fnu:
      return "F8_E8M0";
#endif
    default:
      throw Error(ErrorKind::Input,
                  std::string("safetensors has no dtype for LibTorch's ") + c10::toString(dtype));
  }
}

std::size_t safetensors_dtype_size(const std::string& name) {
  const DtypeInfo* d = find_dtype(name);
  return d == nullptr ? 0 : static_cast<std::size_t>(d->bits / 8);
}

// ---- reading --------------------------------------------------------------------------

SafetensorsHeader parse_safetensors_header(std::string_view bytes, const std::string& file) {
  if (bytes.size() < 8) {
    fail(file, "file has " + std::to_string(bytes.size()) +
                   " bytes, too short for the 8-byte header length; not a safetensors file");
  }
  const uint64_t n = read_le64(bytes.data());
  const uint64_t rest = bytes.size() - 8;
  if (n > kMaxHeaderSize) {
    fail(file, "header length " + std::to_string(n) + " is absurd (limit " +
                   std::to_string(kMaxHeaderSize) + " bytes); not a safetensors file or corrupt");
  }
  if (n > rest) {
    fail(file, "header length " + std::to_string(n) + " exceeds the " + std::to_string(rest) +
                   " bytes that follow it; file truncated or not safetensors");
  }
  if (n < 2) fail(file, "header length " + std::to_string(n) + " is too short for a JSON object");
  const std::string_view text = bytes.substr(8, n);
  if (const std::size_t bad = invalid_utf8_at(text); bad != std::string_view::npos) {
    // Show what precedes the bad byte: usually the start of the tensor name at fault.
    const std::size_t from = bad > 40 ? bad - 40 : 0;
    std::string before;
    for (const char ch : text.substr(from, bad - from)) {
      before += (ch >= 0x20 && ch < 0x7F) ? ch : '?';
    }
    fail(file,
         "header is not valid UTF-8 at byte " + std::to_string(bad) + ", after '" + before + "'");
  }
  if (text[0] != '{') fail(file, "header does not start with '{'; not a safetensors file");

  // Duplicate keys would silently overwrite one another in the parsed object; they are
  // caught while parsing (one key set per open object).
  std::vector<std::set<std::string>> open_keys;
  std::string current;    // the top-level key being parsed
  std::string duplicate;  // the first duplicate found, as a message
  const auto track = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      open_keys.emplace_back();
    } else if (event == Event::object_end) {
      if (!open_keys.empty()) open_keys.pop_back();
    } else if (event == Event::key && !open_keys.empty()) {
      const auto key = parsed.get<std::string>();
      if (open_keys.size() == 1) current = key;
      if (!open_keys.back().insert(key).second && duplicate.empty()) {
        duplicate = open_keys.size() == 1
                        ? "tensor '" + key + "': named twice in the header"
                        : (current == "__metadata__" ? current : "tensor '" + current + "'") +
                              ": field '" + key + "' appears twice";
      }
    }
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text.begin(), text.end(), track);
  } catch (const nlohmann::json::parse_error& e) {
    fail(file,
         "header is not valid JSON at byte " + std::to_string(e.byte) +
             (current.empty() ? std::string() : " (in the entry of tensor '" + current + "')") +
             ": " + e.what());
  } catch (const nlohmann::json::out_of_range& e) {  // a number beyond a double's range
    fail(file, "header holds a number out of range" +
                   (current.empty() ? std::string() : " (in the entry of tensor '" + current + "')") +
                   ": " + e.what());
  }
  if (!header.is_object()) fail(file, "header must be a JSON object");
  if (!duplicate.empty()) fail(file, duplicate);

  SafetensorsHeader out;
  out.header_size = n;
  out.data_size = rest - n;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) fail(file, "__metadata__ must be an object of strings");
      for (const auto& [key, v] : value.items()) {
        if (!v.is_string()) {
          fail(file, "__metadata__ key '" + key + "' must be a string, found " + brief(v));
        }
        out.metadata[key] = v.get<std::string>();
      }
      continue;
    }
    out.entries.push_back(parse_entry(file, name, value, out.data_size));
  }

  // The entries must tile the data section: no gap, no overlap, nothing left over.
  std::stable_sort(out.entries.begin(), out.entries.end(),
                   [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
                     return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
                   });
  uint64_t cursor = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const auto& e : out.entries) {
    if (e.begin != cursor) {
      const std::string prev = previous == nullptr ? "the data section starts at 0"
                                                   : "the previous tensor '" + previous->name +
                                                         "' ends at " + std::to_string(cursor);
      fail_tensor(file, e.name,
                  "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] " +
                      (e.begin < cursor ? "overlap" : "leave a gap") + ": " + prev);
    }
    cursor = e.end;
    previous = &e;
  }
  if (cursor != out.data_size) {
    const std::string last = previous == nullptr ? std::string("no tensor covers them")
                                                 : "the last tensor '" + previous->name +
                                                       "' ends at " + std::to_string(cursor);
    fail(file, "data section holds " + std::to_string(out.data_size) + " bytes but " + last +
                   "; tensors must cover it exactly");
  }
  return out;
}

SafetensorsFile::SafetensorsFile(std::string path, std::shared_ptr<const SafetensorsBuffer> buffer)
    : path_(std::move(path)), buffer_(std::move(buffer)) {
  header_ = parse_safetensors_header(buffer_->view(), path_);
  for (std::size_t i = 0; i < header_.entries.size(); ++i) index_[header_.entries[i].name] = i;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "not a regular file");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    fail(path, "file has " + std::to_string(size) +
                   " bytes, too short for the 8-byte header length; not a safetensors file");
  }
  void* mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);
  if (mapped == MAP_FAILED) fail(path, std::string("cannot map: ") + std::strerror(map_errno));
  // Checkpoints are read whole: ask the kernel to start reading ahead now.
  ::madvise(mapped, size, MADV_WILLNEED);
  auto buffer = std::make_shared<const SafetensorsBuffer>(static_cast<char*>(mapped), size);
  return SafetensorsFile(path, std::move(buffer));
}

SafetensorsFile SafetensorsFile::from_bytes(std::string bytes, const std::string& name) {
  return SafetensorsFile(name, std::make_shared<const SafetensorsBuffer>(std::move(bytes)));
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(header_.entries.size());
  for (const auto& e : header_.entries) out.push_back(e.name);
  return out;
}

bool SafetensorsFile::is_zero_copy(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) return false;
  const auto& e = header_.entries[it->second];
  const std::size_t size = safetensors_dtype_size(e.dtype);
  if (size == 0 || e.begin == e.end) return false;
  const auto address =
      reinterpret_cast<std::uintptr_t>(buffer_->data() + 8 + header_.header_size + e.begin);
  return address % size == 0;
}

torch::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) fail_tensor(path_, name, "not in this file");
  const auto& e = header_.entries[it->second];
  torch::Dtype dtype;
  try {
    dtype = dtype_from_safetensors(e.dtype);
  } catch (const Error& err) {
    fail_tensor(path_, name, err.what());
  }
  const auto options = torch::TensorOptions().dtype(dtype).device(torch::kCPU);
  if (e.begin == e.end) return torch::empty(e.shape, options);
  char* data = buffer_->data() + 8 + header_.header_size + e.begin;
  const std::size_t bytes = e.end - e.begin;
  if (dtype == torch::kBool) {
    // Any byte but 0 and 1 in a bool tensor is undefined behaviour for LibTorch's kernels.
    for (std::size_t i = 0; i < bytes; ++i) {
      if (static_cast<unsigned char>(data[i]) > 1) {
        fail_tensor(path_, name,
                    "BOOL element " + std::to_string(i) + " holds byte " +
                        std::to_string(static_cast<unsigned char>(data[i])) + " (expected 0 or 1)");
      }
    }
  }
  if (is_zero_copy(name)) {
    // The deleter owns a reference to the mapping: it stays alive while any view does.
    auto keep = buffer_;
    return torch::from_blob(
        data, e.shape, [keep](void*) mutable { keep.reset(); }, options);
  }
  auto out = torch::empty(e.shape, options);
  std::memcpy(out.data_ptr(), data, bytes);
  return out;
}

std::map<std::string, torch::Tensor> SafetensorsFile::tensors() const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& e : header_.entries) out.emplace(e.name, tensor(e.name));
  return out;
}

SafetensorsContent read_safetensors(const std::string& path) {
  const auto file = SafetensorsFile::open(path);
  return {file.tensors(), file.metadata()};
}

// ---- writing --------------------------------------------------------------------------

namespace {

struct Prepared {
  std::string name;
  const DtypeInfo* dtype;
  torch::Tensor data;  // CPU, contiguous
};

std::vector<Prepared> prepare(const std::map<std::string, torch::Tensor>& tensors) {
  std::vector<Prepared> out;
  for (const auto& [name, t] : tensors) {
    if (!t.defined()) throw Error(ErrorKind::Input, "tensor '" + name + "' is undefined");
    std::string dtype;
    try {
      dtype = dtype_to_safetensors(t.scalar_type());
    } catch (const Error& e) {
      throw Error(ErrorKind::Input, "tensor '" + name + "': " + e.what());
    }
    out.push_back({name, find_dtype(dtype), t.detach().to(torch::kCPU).contiguous()});
  }
  // The reference writer orders by dtype (widest enum value first), then by name; keeping
  // that order makes our files byte-identical to Python's and keeps every tensor aligned.
  std::sort(out.begin(), out.end(), [](const Prepared& a, const Prepared& b) {
    return a.dtype->rank != b.dtype->rank ? a.dtype->rank > b.dtype->rank : a.name < b.name;
  });
  return out;
}

std::string header_json(const std::vector<Prepared>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& p : tensors) {
    const uint64_t bytes = static_cast<uint64_t>(p.data.numel()) * p.data.element_size();
    nlohmann::ordered_json entry;
    entry["dtype"] = p.dtype->name;
    entry["shape"] = p.data.sizes().vec();
    entry["data_offsets"] = {offset, offset + bytes};
    header[p.name] = std::move(entry);
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::type_error& e) {
    throw Error(ErrorKind::Input, std::string("safetensors header: a tensor name or metadata "
                                              "string is not valid UTF-8: ") +
                                      e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

void write_safetensors(std::ostream& out, const std::vector<Prepared>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string header = header_json(tensors, metadata);
  char length[8];
  uint64_t n = header.size();
  for (char& c : length) {
    c = static_cast<char>(n & 0xFF);
    n >>= 8;
  }
  out.write(length, 8);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  for (const auto& p : tensors) {
    const auto bytes = static_cast<std::streamsize>(p.data.numel() * p.data.element_size());
    if (bytes > 0) out.write(static_cast<const char*>(p.data.data_ptr()), bytes);
  }
}

}  // namespace

std::string serialize_safetensors(const std::map<std::string, torch::Tensor>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  std::ostringstream out;
  write_safetensors(out, prepare(tensors), metadata);
  return out.str();
}

void save_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<Prepared> prepared;
  try {
    prepared = prepare(tensors);
    header_json(prepared, metadata);  // fail before creating any file
  } catch (const Error& e) {
    throw Error(ErrorKind::Input, path + ": " + e.what());
  }
  write_file_atomic(path, [&](std::ostream& out) { write_safetensors(out, prepared, metadata); });
}

}  // namespace pft::io
