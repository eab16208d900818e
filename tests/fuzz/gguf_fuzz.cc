// libFuzzer target for the GGUF reader: parses arbitrary bytes from memory
// (the same parser as the mmap path), then, when parsing succeeds, exercises
// what callers do with a file: the typed getters, ModelConfig::from_gguf, and
// dequantizing the first row of each tensor. A GgufError is the expected
// outcome for bad input; anything else (crash, sanitizer report, another
// exception, a leak, a hang, a huge allocation) is a bug.
// Seeds: tests/fuzz/corpus/gguf/ (scripts/golden/gen_fuzz_corpus.py).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/gguf.h"
#include "model/model_config.h"

namespace {

void exercise_getters(const nucleus::GgufFile& f) {
  // Each getter either returns or throws GgufError for a key of the wrong type.
  for (const auto& [key, value] : f.metadata()) {
    (void)value.to_display_string();
    try {
      if (value.is_string()) (void)f.get_string(key);
      if (value.is_integer()) (void)f.get_u32(key, 0);
      if (value.is_integer()) (void)f.get_i64(key);
      if (value.is_float()) (void)f.get_f32(key);
      if (value.is_array()) {
        (void)f.get_array_size(key);
        if (value.element_type == nucleus::GgufValueType::kString) (void)f.get_string_array(key);
        if (value.element_type == nucleus::GgufValueType::kFloat32) (void)f.get_f32_array(key);
        if (value.element_type == nucleus::GgufValueType::kInt32) (void)f.get_i32_array(key);
      }
    } catch (const nucleus::GgufError&) {
    }
  }
}

void exercise_tensors(const nucleus::GgufFile& f) {
  std::vector<float> row;
  for (const nucleus::GgufTensorInfo& t : f.tensors()) {
    const int64_t n = t.shape.empty() ? 1 : t.shape[0];
    if (n > (int64_t{1} << 16)) continue;  // keep each run fast; the bounds are what matters
    row.resize(static_cast<size_t>(n));
    // The parser guaranteed a whole row lies inside the file.
    nucleus::dequantize_row(t.type, t.data, row.data(), n);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const nucleus::GgufFile f = nucleus::GgufFile::from_memory("fuzz.gguf", std::vector<uint8_t>(data, data + size));
    exercise_getters(f);
    exercise_tensors(f);
    (void)nucleus::ModelConfig::from_gguf(f);
  } catch (const nucleus::GgufError&) {
  }
  return 0;
}
