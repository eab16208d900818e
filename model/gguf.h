// GGUF v2/v3 reader: header, metadata (every value type, nested arrays), tensor
// infos and the data section of a model file.
//
// The file is memory-mapped read-only (`open`) or parsed from bytes in memory
// (`from_memory`, used by the fuzzer and tests); both share one parser. Every
// read is bounds-checked against the bytes that remain, so a corrupt file gives
// a GgufError naming the file and the problem, never a crash or a huge
// allocation. Tensor data is not copied: GgufTensorInfo::data points into the
// mapping, which lives as long as the GgufFile (moving the GgufFile keeps it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kernels/ggml_types.h"

namespace nucleus {

// Every problem with a GGUF file; the message starts with "<file>: ".
class GgufError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// "uint8", "string", "array", ...; "unknown" for ids outside the enum.
std::string_view gguf_value_type_name(GgufValueType type);

// One metadata value: a scalar, a string, or an array of values that all have
// `element_type` (arrays may nest). Which field holds the value depends on `type`.
struct GgufValue {
  GgufValueType type = GgufValueType::kUint8;
  GgufValueType element_type = GgufValueType::kUint8;  // arrays only
  uint64_t u64 = 0;                                    // kUint8/16/32/64 and kBool (0 or 1)
  int64_t i64 = 0;                                     // kInt8/16/32/64
  double f64 = 0.0;                                    // kFloat32/64 (a float32 widened exactly)
  std::string str;                                     // kString
  std::vector<GgufValue> items;                        // kArray

  bool is_integer() const;  // any of u8..i64 (not bool)
  bool is_float() const;    // f32 or f64
  bool is_string() const { return type == GgufValueType::kString; }
  bool is_array() const { return type == GgufValueType::kArray; }
  bool is_bool() const { return type == GgufValueType::kBool; }

  // The integer value if this is an integer that fits in the target type.
  bool to_i64(int64_t* out) const;
  bool to_u64(uint64_t* out) const;

  // A short human-readable rendering (strings quoted, long arrays elided after
  // `max_items` items); for `nucleus inspect` and error messages.
  std::string to_display_string(size_t max_items = 8) const;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> shape;  // GGUF order: shape[0] is the fastest-varying (ne0)
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;            // relative to the data section
  const uint8_t* data = nullptr;  // points into the mapped file
  size_t nbytes = 0;
  int64_t num_elements() const;
};

class GgufFile {
 public:
  // Memory-maps `path` read-only and parses it; throws GgufError("<path>: <problem>").
  static GgufFile open(const std::string& path);
  // Parses `bytes` (kept alive inside the GgufFile); `name` stands for the file in messages.
  static GgufFile from_memory(std::string name, std::vector<uint8_t> bytes);

  GgufFile(GgufFile&&) noexcept;
  GgufFile& operator=(GgufFile&&) noexcept;
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;
  ~GgufFile();

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }
  size_t file_size() const;
  size_t data_offset() const { return data_offset_; }  // where the data section starts in the file

  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }  // in file order
  const GgufValue* find(std::string_view key) const;                                            // nullptr if absent
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed getters: throw GgufError naming file and key when missing or of the
  // wrong type. Integer getters accept any integer value type that fits
  // (u8..i64) and range-check; the fallback versions only fall back when the
  // key is absent (a present key of the wrong type still throws).
  std::string get_string(std::string_view key) const;
  std::string get_string(std::string_view key, std::string fallback) const;
  uint32_t get_u32(std::string_view key) const;
  uint32_t get_u32(std::string_view key, uint32_t fallback) const;
  int64_t get_i64(std::string_view key) const;
  float get_f32(std::string_view key) const;  // accepts f32 or f64
  float get_f32(std::string_view key, float fallback) const;
  bool get_bool(std::string_view key, bool fallback) const;
  std::vector<std::string> get_string_array(std::string_view key) const;
  std::vector<float> get_f32_array(std::string_view key) const;    // f32 or f64 elements
  std::vector<int32_t> get_i32_array(std::string_view key) const;  // accepts any integer element type that fits
  // Number of items of an array value (without copying it); throws like the getters.
  size_t get_array_size(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }  // in file order
  const GgufTensorInfo* find_tensor(std::string_view name) const;          // nullptr if absent
  const GgufTensorInfo& tensor(std::string_view name) const;               // throws GgufError if absent

  // GgufError("<path>: <what>").
  [[noreturn]] void fail(const std::string& what) const;

 private:
  struct Storage;  // the mapping or the in-memory bytes
  GgufFile();
  void parse();
  const GgufValue& require(std::string_view key) const;

  std::string path_;
  std::unique_ptr<Storage> storage_;
  uint32_t version_ = 0;
  size_t alignment_ = 32;
  size_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;  // name -> index in tensors_
};

}  // namespace nucleus
