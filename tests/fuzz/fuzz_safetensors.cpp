// safetensors files: the header, then every tensor it describes.
#include "fuzz_util.h"
#include "pft/io/safetensors.h"
#include "pft/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto file =
        pft::io::SafetensorsFile::from_bytes(pft::fuzz::text(data, size), "fuzz.safetensors");
    for (const auto& name : file.names()) {
      try {
        const auto t = file.tensor(name);
        if (t.numel() > 0) (void)t.sum();  // reads every byte the tensor views
      } catch (const pft::Error&) {
      }
    }
  } catch (const pft::Error&) {
  }
  return 0;
}
