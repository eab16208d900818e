// A small GGUF writer for tests (header-only): builds a file in memory or on
// disk from metadata and tensors, to make tiny synthetic models and, by
// corrupting bytes of a valid file, malformed ones.
//
//   nucleus::test::GgufWriter w;                       // GGUF v3, alignment 32
//   w.add_string("general.architecture", "llama");
//   w.add_u32("llama.block_count", 2);
//   w.add_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
//   w.add_string_array("tokenizer.ggml.tokens", {"<s>", "a", "b"});
//   w.add_value("x.nested", GgufWriter::array_of({GgufWriter::u32_array({1, 2})}));  // any value, nested arrays too
//   w.add_f32_tensor("token_embd.weight", {8, 3}, floats);        // shape in GGUF order: {ne0 = cols, ne1 = rows}
//   w.add_tensor("blk.0.attn_q.weight", {32, 8}, GgmlType::Q8_0, GgufWriter::quantize_q8_0(floats));
//   std::vector<uint8_t> bytes = w.build();            // or w.write(path)
//   const GgufWriter::Layout& at = w.layout();         // byte offsets of the fields of the last build()
//   GgufWriter::patch<uint32_t>(bytes, at.tensors[0].type, 99);  // corrupt one field
//
//   test::TinyModelSpec spec;  spec.arch = "qwen2";    // a whole random-weight model (see the end of this file)
//   test::add_tiny_model(w, spec);                     // then w.set_value / remove_key / remove_tensor to vary it
//
// The writer does not validate: a tensor's bytes are written as given whatever
// its declared type and shape, so tests can build inconsistent files on purpose.
// Tensor data is laid out in insertion order, each at an aligned offset; there
// is no padding after the last tensor, so every strict prefix of a file with
// tensors is truncated.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "model/gguf.h"
#include "kernels/fp16.h"
#include "kernels/ggml_types.h"

namespace nucleus::test {

class GgufWriter {
 public:
  // Offsets (in bytes from the start of the file) of the fields of the last build().
  struct TensorLayout {
    size_t info = 0;    // the name's u64 length
    size_t n_dims = 0;  // u32
    size_t dims = 0;    // n_dims x i64
    size_t type = 0;    // u32
    size_t offset = 0;  // u64 offset into the data section
    size_t data = 0;    // the tensor's bytes
  };
  struct Layout {
    size_t version = 4, tensor_count = 8, kv_count = 16;  // header fields
    std::vector<size_t> kv;                               // each key/value: the key's u64 length
    std::vector<size_t> kv_type;                          // each key/value: the u32 value type
    std::vector<size_t> kv_value;                         // each key/value: the value itself
    std::vector<TensorLayout> tensors;
    size_t data_section = 0;
  };

  GgufWriter& set_version(uint32_t version) {
    version_ = version;
    return *this;
  }
  // Pads with `alignment` and writes it as the u32 key general.alignment (appended last).
  GgufWriter& set_alignment(uint32_t alignment) {
    alignment_ = alignment;
    write_alignment_key_ = true;
    return *this;
  }

  // ---- Values ----
  static GgufValue u8(uint8_t v) { return uint_value(GgufValueType::kUint8, v); }
  static GgufValue i8(int8_t v) { return int_value(GgufValueType::kInt8, v); }
  static GgufValue u16(uint16_t v) { return uint_value(GgufValueType::kUint16, v); }
  static GgufValue i16(int16_t v) { return int_value(GgufValueType::kInt16, v); }
  static GgufValue u32(uint32_t v) { return uint_value(GgufValueType::kUint32, v); }
  static GgufValue i32(int32_t v) { return int_value(GgufValueType::kInt32, v); }
  static GgufValue u64(uint64_t v) { return uint_value(GgufValueType::kUint64, v); }
  static GgufValue i64(int64_t v) { return int_value(GgufValueType::kInt64, v); }
  static GgufValue f32(float v) {
    GgufValue x;
    x.type = GgufValueType::kFloat32;
    x.f64 = v;
    return x;
  }
  static GgufValue f64(double v) {
    GgufValue x;
    x.type = GgufValueType::kFloat64;
    x.f64 = v;
    return x;
  }
  static GgufValue boolean(bool v) { return uint_value(GgufValueType::kBool, v ? 1 : 0); }
  static GgufValue string(std::string v) {
    GgufValue x;
    x.type = GgufValueType::kString;
    x.str = std::move(v);
    return x;
  }
  // An array; its element type is that of the first item (`element_type` when empty).
  static GgufValue array_of(std::vector<GgufValue> items, GgufValueType element_type = GgufValueType::kUint8) {
    GgufValue x;
    x.type = GgufValueType::kArray;
    x.element_type = items.empty() ? element_type : items[0].type;
    x.items = std::move(items);
    return x;
  }
  static GgufValue u32_array(const std::vector<uint32_t>& v) {
    std::vector<GgufValue> items;
    for (uint32_t x : v) items.push_back(u32(x));
    return array_of(std::move(items), GgufValueType::kUint32);
  }
  static GgufValue i32_array(const std::vector<int32_t>& v) {
    std::vector<GgufValue> items;
    for (int32_t x : v) items.push_back(i32(x));
    return array_of(std::move(items), GgufValueType::kInt32);
  }
  static GgufValue f32_array(const std::vector<float>& v) {
    std::vector<GgufValue> items;
    for (float x : v) items.push_back(f32(x));
    return array_of(std::move(items), GgufValueType::kFloat32);
  }
  static GgufValue string_array(const std::vector<std::string>& v) {
    std::vector<GgufValue> items;
    for (const std::string& x : v) items.push_back(string(x));
    return array_of(std::move(items), GgufValueType::kString);
  }

  GgufWriter& add_value(std::string key, GgufValue value) {
    kvs_.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  // Replaces the value of `key` in place (or appends it); removes a key or a tensor. For variations of a valid file.
  GgufWriter& set_value(const std::string& key, GgufValue value) {
    for (auto& kv : kvs_) {
      if (kv.first == key) {
        kv.second = std::move(value);
        return *this;
      }
    }
    return add_value(key, std::move(value));
  }
  GgufWriter& remove_key(const std::string& key) {
    std::erase_if(kvs_, [&](const auto& kv) { return kv.first == key; });
    return *this;
  }
  GgufWriter& remove_tensor(const std::string& name) {
    std::erase_if(tensors_, [&](const Tensor& t) { return t.name == name; });
    return *this;
  }

  GgufWriter& add_u32(std::string key, uint32_t v) { return add_value(std::move(key), u32(v)); }
  GgufWriter& add_i32(std::string key, int32_t v) { return add_value(std::move(key), i32(v)); }
  GgufWriter& add_u64(std::string key, uint64_t v) { return add_value(std::move(key), u64(v)); }
  GgufWriter& add_f32(std::string key, float v) { return add_value(std::move(key), f32(v)); }
  GgufWriter& add_bool(std::string key, bool v) { return add_value(std::move(key), boolean(v)); }
  GgufWriter& add_string(std::string key, std::string v) { return add_value(std::move(key), string(std::move(v))); }
  GgufWriter& add_string_array(std::string key, const std::vector<std::string>& v) {
    return add_value(std::move(key), string_array(v));
  }
  GgufWriter& add_f32_array(std::string key, const std::vector<float>& v) {
    return add_value(std::move(key), f32_array(v));
  }
  GgufWriter& add_i32_array(std::string key, const std::vector<int32_t>& v) {
    return add_value(std::move(key), i32_array(v));
  }

  // ---- Tensors (shape in GGUF order: shape[0] = ne0, the contiguous dimension) ----
  GgufWriter& add_tensor(std::string name, std::vector<int64_t> shape, GgmlType type, std::vector<uint8_t> data) {
    tensors_.push_back({std::move(name), std::move(shape), static_cast<uint32_t>(type), std::move(data)});
    return *this;
  }
  GgufWriter& add_f32_tensor(std::string name, std::vector<int64_t> shape, const std::vector<float>& values) {
    std::vector<uint8_t> bytes(values.size() * sizeof(float));
    if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
    return add_tensor(std::move(name), std::move(shape), GgmlType::F32, std::move(bytes));
  }
  GgufWriter& add_f16_tensor(std::string name, std::vector<int64_t> shape, const std::vector<float>& values) {
    std::vector<uint8_t> bytes(values.size() * 2);
    for (size_t i = 0; i < values.size(); ++i) {
      const uint16_t h = float_to_fp16(values[i]);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    }
    return add_tensor(std::move(name), std::move(shape), GgmlType::F16, std::move(bytes));
  }

  // ggml's reference Q8_0 quantization (d = amax / 127, q = round(x / d));
  // values.size() must be a multiple of 32.
  static std::vector<uint8_t> quantize_q8_0(const std::vector<float>& values) {
    if (values.size() % kQK != 0) throw std::invalid_argument("quantize_q8_0: size not a multiple of 32");
    std::vector<uint8_t> out;
    for (size_t b = 0; b < values.size(); b += kQK) {
      float amax = 0.0f;
      for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(values[b + j]));
      const float d = amax / 127.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      BlockQ8_0 block;
      block.d = float_to_fp16(d);
      for (int j = 0; j < kQK; ++j) block.qs[j] = static_cast<int8_t>(std::lround(values[b + j] * id));
      const auto* p = reinterpret_cast<const uint8_t*>(&block);
      out.insert(out.end(), p, p + sizeof block);
    }
    return out;
  }

  // ---- Output ----
  std::vector<uint8_t> build() {
    out_.clear();
    layout_ = Layout{};
    std::vector<std::pair<std::string, GgufValue>> kvs = kvs_;
    if (write_alignment_key_) kvs.emplace_back("general.alignment", u32(alignment_));

    put_bytes("GGUF", 4);
    put<uint32_t>(version_);
    put<uint64_t>(tensors_.size());
    put<uint64_t>(kvs.size());
    for (const auto& [key, value] : kvs) {
      layout_.kv.push_back(out_.size());
      put_string(key);
      layout_.kv_type.push_back(out_.size());
      put<uint32_t>(static_cast<uint32_t>(value.type));
      layout_.kv_value.push_back(out_.size());
      put_value(value);
    }
    // Data offsets: each tensor at the next aligned offset after the previous one.
    std::vector<uint64_t> offsets;
    uint64_t next = 0;
    for (const Tensor& t : tensors_) {
      offsets.push_back(next);
      next = align_up(next + t.data.size());
    }
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const Tensor& t = tensors_[i];
      TensorLayout tl;
      tl.info = out_.size();
      put_string(t.name);
      tl.n_dims = out_.size();
      put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
      tl.dims = out_.size();
      for (int64_t d : t.shape) put<int64_t>(d);
      tl.type = out_.size();
      put<uint32_t>(t.type);
      tl.offset = out_.size();
      put<uint64_t>(offsets[i]);
      layout_.tensors.push_back(tl);
    }
    if (!tensors_.empty()) {
      out_.resize(align_up(out_.size()), 0);
      layout_.data_section = out_.size();
      for (size_t i = 0; i < tensors_.size(); ++i) {
        out_.resize(layout_.data_section + offsets[i], 0);
        layout_.tensors[i].data = out_.size();
        put_bytes(tensors_[i].data.data(), tensors_[i].data.size());
      }
    }
    return out_;
  }

  void write(const std::string& path) {
    const std::vector<uint8_t> bytes = build();
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error("GgufWriter: cannot write " + path);
  }

  const Layout& layout() const { return layout_; }

  // Overwrites bytes of a built file in place: the little-endian encoding of `value` at `offset`.
  template <typename T>
  static void patch(std::vector<uint8_t>& bytes, size_t offset, T value) {
    if (offset + sizeof(T) > bytes.size()) throw std::out_of_range("GgufWriter::patch past the end");
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
  }

 private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> shape;
    uint32_t type;
    std::vector<uint8_t> data;
  };

  static GgufValue uint_value(GgufValueType type, uint64_t v) {
    GgufValue x;
    x.type = type;
    x.u64 = v;
    return x;
  }
  static GgufValue int_value(GgufValueType type, int64_t v) {
    GgufValue x;
    x.type = type;
    x.i64 = v;
    return x;
  }

  uint64_t align_up(uint64_t n) const { return (n + alignment_ - 1) / alignment_ * alignment_; }

  void put_bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  template <typename T>
  void put(T v) {
    put_bytes(&v, sizeof v);
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    put_bytes(s.data(), s.size());
  }
  void put_value(const GgufValue& v) {
    switch (v.type) {
      case GgufValueType::kUint8:
        return put<uint8_t>(static_cast<uint8_t>(v.u64));
      case GgufValueType::kInt8:
        return put<int8_t>(static_cast<int8_t>(v.i64));
      case GgufValueType::kUint16:
        return put<uint16_t>(static_cast<uint16_t>(v.u64));
      case GgufValueType::kInt16:
        return put<int16_t>(static_cast<int16_t>(v.i64));
      case GgufValueType::kUint32:
        return put<uint32_t>(static_cast<uint32_t>(v.u64));
      case GgufValueType::kInt32:
        return put<int32_t>(static_cast<int32_t>(v.i64));
      case GgufValueType::kUint64:
        return put<uint64_t>(v.u64);
      case GgufValueType::kInt64:
        return put<int64_t>(v.i64);
      case GgufValueType::kFloat32:
        return put<float>(static_cast<float>(v.f64));
      case GgufValueType::kFloat64:
        return put<double>(v.f64);
      case GgufValueType::kBool:
        return put<uint8_t>(static_cast<uint8_t>(v.u64));
      case GgufValueType::kString:
        return put_string(v.str);
      case GgufValueType::kArray:
        put<uint32_t>(static_cast<uint32_t>(v.element_type));
        put<uint64_t>(v.items.size());
        for (const GgufValue& item : v.items) put_value(item);
        return;
    }
  }

  uint32_t version_ = 3;
  uint32_t alignment_ = 32;
  bool write_alignment_key_ = false;
  std::vector<std::pair<std::string, GgufValue>> kvs_;
  std::vector<Tensor> tensors_;
  std::vector<uint8_t> out_;
  Layout layout_;
};

// A tiny random-weight llama or qwen2 model (the tensor set and shapes
// ModelConfig::from_gguf expects). Writes the `<arch>.*` hyperparameters,
// general.architecture, a placeholder vocabulary tokenizer.ggml.tokens =
// {"<t0>", "<t1>", ...} with bos 0 / eos 1, and every tensor; matrices are
// F32, F16 or Q8_0 (`matrix_type`), norms and biases F32. Values are
// N(0, scale^2) from `seed`, norm weights 1 + N(0, scale^2).
struct TinyModelSpec {
  std::string arch = "llama";  // "llama" or "qwen2" (qwen2 adds Q/K/V biases)
  int n_layers = 2;
  int n_embd = 64;
  int n_ff = 96;
  int n_heads = 4;
  int n_kv_heads = 2;
  int vocab_size = 64;
  int context_length = 256;
  float rms_eps = 1e-5f;
  float rope_freq_base = 10000.0f;
  bool tied_embeddings = true;  // false: also write output.weight
  GgmlType matrix_type = GgmlType::F32;
  uint32_t seed = 1;
  float scale = 0.1f;
};

inline void add_tiny_model(GgufWriter& w, const TinyModelSpec& s) {
  uint64_t state = s.seed * 0x9E3779B97F4A7C15ull + 1;
  auto uniform = [&state] {  // splitmix64 -> [0, 1)
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  };
  auto normal = [&] {  // Box-Muller
    const double u1 = uniform() + 1e-12, u2 = uniform();
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  };
  auto values = [&](int64_t n, float offset) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = offset + s.scale * normal();
    return v;
  };
  auto matrix = [&](const std::string& name, int64_t cols, int64_t rows) {  // GGUF shape {cols, rows}
    const std::vector<float> v = values(cols * rows, 0.0f);
    switch (s.matrix_type) {
      case GgmlType::F16:
        w.add_f16_tensor(name, {cols, rows}, v);
        break;
      case GgmlType::Q8_0:
        w.add_tensor(name, {cols, rows}, GgmlType::Q8_0, GgufWriter::quantize_q8_0(v));
        break;
      default:
        w.add_f32_tensor(name, {cols, rows}, v);
    }
  };
  const std::string& a = s.arch;
  const int head_dim = s.n_embd / s.n_heads;
  w.add_string("general.architecture", a);
  w.add_u32(a + ".block_count", static_cast<uint32_t>(s.n_layers));
  w.add_u32(a + ".context_length", static_cast<uint32_t>(s.context_length));
  w.add_u32(a + ".embedding_length", static_cast<uint32_t>(s.n_embd));
  w.add_u32(a + ".feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.add_u32(a + ".attention.head_count", static_cast<uint32_t>(s.n_heads));
  w.add_u32(a + ".attention.head_count_kv", static_cast<uint32_t>(s.n_kv_heads));
  w.add_f32(a + ".attention.layer_norm_rms_epsilon", s.rms_eps);
  w.add_f32(a + ".rope.freq_base", s.rope_freq_base);
  std::vector<std::string> tokens;
  for (int i = 0; i < s.vocab_size; ++i) tokens.push_back("<t" + std::to_string(i) + ">");
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_u32("tokenizer.ggml.bos_token_id", 0);
  w.add_u32("tokenizer.ggml.eos_token_id", 1);

  const int64_t e = s.n_embd, q = int64_t{s.n_heads} * head_dim, kv = int64_t{s.n_kv_heads} * head_dim;
  matrix("token_embd.weight", e, s.vocab_size);
  w.add_f32_tensor("output_norm.weight", {e}, values(e, 1.0f));
  if (!s.tied_embeddings) matrix("output.weight", e, s.vocab_size);
  for (int i = 0; i < s.n_layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    w.add_f32_tensor(p + "attn_norm.weight", {e}, values(e, 1.0f));
    matrix(p + "attn_q.weight", e, q);
    matrix(p + "attn_k.weight", e, kv);
    matrix(p + "attn_v.weight", e, kv);
    if (a == "qwen2") {
      w.add_f32_tensor(p + "attn_q.bias", {q}, values(q, 0.0f));
      w.add_f32_tensor(p + "attn_k.bias", {kv}, values(kv, 0.0f));
      w.add_f32_tensor(p + "attn_v.bias", {kv}, values(kv, 0.0f));
    }
    matrix(p + "attn_output.weight", q, e);
    w.add_f32_tensor(p + "ffn_norm.weight", {e}, values(e, 1.0f));
    matrix(p + "ffn_gate.weight", e, s.n_ff);
    matrix(p + "ffn_up.weight", e, s.n_ff);
    matrix(p + "ffn_down.weight", s.n_ff, e);
  }
}

}  // namespace nucleus::test
