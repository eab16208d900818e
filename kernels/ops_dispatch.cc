// Argument validation and device dispatch for kernels/ops.h. Every check
// happens here, before any output is written, so the device implementations
// can assume well-formed input. Errors name the op and the parameter.
#include "kernels/ops.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <string_view>

#include "kernels/build_config.h"
#include "kernels/cpu/cpu_ops.h"

#if NUCLEUS_HAVE_CUDA
#include "kernels/cuda/cuda_ops.h"
#endif

namespace nucleus::kernels {
namespace {

[[noreturn]] void fail(const char* op, const std::string& what) {
  throw std::invalid_argument(std::string(op) + ": " + what);
}

// Checks an argument. A macro so that the message is built only when the
// check fails: these run on every op call, and for attention once per token
// row and KV block, where building the strings up front would cost more than
// the checks (malloc and to_string on every call of a decode step).
#define REQUIRE(ok, op, what)        \
  do {                               \
    if (!(ok)) [[unlikely]] {        \
      fail(op, what);                \
    }                                \
  } while (0)

void require_ptr(const void* p, const char* op, const char* name) {
  if (p == nullptr) fail(op, std::string(name) + " is null");
}

ThreadPool& cpu_pool(const Context& ctx, const char* op) {
  if (ctx.pool == nullptr) fail(op, "ctx.pool is null (the CPU device needs a thread pool)");
  return *ctx.pool;
}

// Runs op `name` on ctx.device, after the op has validated its arguments:
// cpu::<name>_cpu(pool, args...) with the context's thread pool, or
// cuda::<name>_cuda(ctx, args...). A macro, as CTranslate2's DEVICE_DISPATCH
// (src/device_dispatch.h), so that a CPU-only build drops the CUDA call unread
// and never references kernels/cuda/; a CUDA context then throws.
#if NUCLEUS_HAVE_CUDA
#define RUN_ON_CUDA(name, ctx, ...) return cuda::name##_cuda(ctx, __VA_ARGS__)
#else
[[noreturn]] void unsupported_device() {
  throw std::runtime_error("unsupported device: nucleus was built without CUDA");
}
#define RUN_ON_CUDA(name, ctx, ...) unsupported_device()
#endif
// For a feature the CUDA ops do not have yet: a clear error instead of a wrong result.
void require_cpu(const Context& ctx, const char* op, const char* feature) {
  if (ctx.device == Device::kCuda) {
    throw std::runtime_error(std::string(op) + ": " + feature + " is not supported on CUDA yet");
  }
}

#define DISPATCH(name, ctx, ...)                                             \
  do {                                                                       \
    if ((ctx).device == Device::kCuda) RUN_ON_CUDA(name, ctx, __VA_ARGS__); \
    return cpu::name##_cpu(cpu_pool(ctx, #name), __VA_ARGS__);               \
  } while (0)

void validate_weight(const WeightView& w, const char* op, const char* name) {
  const std::string_view n = name;
  const auto traits = ggml_type_traits(static_cast<uint32_t>(w.type));
  REQUIRE(traits.has_value(), op, std::string(n) + ".type " + std::to_string(static_cast<uint32_t>(w.type)) + " is not a ggml type");
  REQUIRE(traits->supported, op, std::string(n) + ".type " + std::string(traits->name) + " is not supported");
  REQUIRE(w.data != nullptr, op, std::string(n) + ".data is null");
  REQUIRE(w.rows > 0, op, std::string(n) + ".rows must be > 0, got " + std::to_string(w.rows));
  REQUIRE(w.cols > 0, op, std::string(n) + ".cols must be > 0, got " + std::to_string(w.cols));
  REQUIRE(w.cols % traits->block_size == 0, op,
          std::string(n) + ".cols " + std::to_string(w.cols) + " is not a multiple of the " + std::string(traits->name) +
              " block size " + std::to_string(traits->block_size));
  const size_t expected = ggml_row_size(w.type, w.cols);
  REQUIRE(w.row_bytes == expected, op,
          std::string(n) + ".row_bytes is " + std::to_string(w.row_bytes) + " but " + std::to_string(w.cols) + " " +
              std::string(traits->name) + " elements take " + std::to_string(expected));
}

bool overlaps(const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
  const auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
  return pa < pb + b_bytes && pb < pa + a_bytes;
}

}  // namespace

void matmul(const Context& ctx, const WeightView& w, const float* x, int64_t T, float* y, const float* bias) {
  constexpr const char* op = "matmul";
  validate_weight(w, op, "w");
  REQUIRE(T >= 0, op, "T must be >= 0, got " + std::to_string(T));
  if (T > 0) {
    require_ptr(x, op, "x");
    require_ptr(y, op, "y");
    REQUIRE(!overlaps(x, sizeof(float) * T * w.cols, y, sizeof(float) * T * w.rows), op, "y overlaps x");
  }
  DISPATCH(matmul, ctx, w, x, T, y, bias);
}

void matmul_shared_input(const Context& ctx, const float* x, int64_t T, const MatmulOutput* outputs, int count) {
  constexpr const char* op = "matmul_shared_input";
  REQUIRE(count >= 0, op, "count must be >= 0, got " + std::to_string(count));
  REQUIRE(T >= 0, op, "T must be >= 0, got " + std::to_string(T));
  if (count == 0) return;
  require_ptr(outputs, op, "outputs");
  if (T > 0) require_ptr(x, op, "x");
  for (int i = 0; i < count; ++i) {
    const MatmulOutput& o = outputs[i];
    const auto name = [i] { return std::string("outputs[").append(std::to_string(i)).append("]"); };
    validate_weight(o.w, op, (name() + ".w").c_str());
    REQUIRE(o.w.cols == outputs[0].w.cols, op,
            name() + ".w has " + std::to_string(o.w.cols) + " columns but outputs[0].w has " +
                std::to_string(outputs[0].w.cols) + ": all weights must take the same x");
    if (T == 0) continue;
    REQUIRE(o.y != nullptr, op, name() + ".y is null");
    REQUIRE(!overlaps(x, sizeof(float) * T * o.w.cols, o.y, sizeof(float) * T * o.w.rows), op, name() + ".y overlaps x");
    for (int j = 0; j < i; ++j) {
      REQUIRE(!overlaps(outputs[j].y, sizeof(float) * T * outputs[j].w.rows, o.y, sizeof(float) * T * o.w.rows), op,
              name() + ".y overlaps outputs[" + std::to_string(j) + "].y");
    }
  }
  DISPATCH(matmul_shared_input, ctx, x, T, outputs, count);
}

void rms_norm(const Context& ctx, const float* x, const float* weight, int64_t T, int64_t n, float eps, float* out) {
  constexpr const char* op = "rms_norm";
  REQUIRE(T >= 0, op, "T must be >= 0, got " + std::to_string(T));
  REQUIRE(n > 0, op, "n must be > 0, got " + std::to_string(n));
  REQUIRE(std::isfinite(eps) && eps >= 0.0f, op, "eps must be finite and >= 0, got " + std::to_string(eps));
  require_ptr(weight, op, "weight");
  if (T > 0) {
    require_ptr(x, op, "x");
    require_ptr(out, op, "out");
  }
  DISPATCH(rms_norm, ctx, x, weight, T, n, eps, out);
}

void rope(const Context& ctx, float* x, const int32_t* positions, int64_t T, int n_heads, const RopeParams& params) {
  constexpr const char* op = "rope";
  REQUIRE(T >= 0, op, "T must be >= 0, got " + std::to_string(T));
  REQUIRE(n_heads > 0, op, "n_heads must be > 0, got " + std::to_string(n_heads));
  REQUIRE(params.head_dim > 0, op, "params.head_dim must be > 0, got " + std::to_string(params.head_dim));
  REQUIRE(params.rot_dim > 0 && params.rot_dim <= params.head_dim && params.rot_dim % 2 == 0, op,
          "params.rot_dim must be even and in [2, head_dim=" + std::to_string(params.head_dim) + "], got " +
              std::to_string(params.rot_dim));
  REQUIRE(std::isfinite(params.freq_base) && params.freq_base > 0.0f, op,
          "params.freq_base must be finite and > 0, got " + std::to_string(params.freq_base));
  REQUIRE(std::isfinite(params.freq_scale) && params.freq_scale > 0.0f, op,
          "params.freq_scale must be finite and > 0, got " + std::to_string(params.freq_scale));
  REQUIRE(params.style == RopeStyle::kNormal || params.style == RopeStyle::kNeox, op, "params.style is not a RopeStyle");
  REQUIRE(std::isfinite(params.attn_factor) && params.attn_factor > 0.0f, op,
          "params.attn_factor must be finite and > 0, got " + std::to_string(params.attn_factor));
  if (params.freq_factors != nullptr) {
    for (int i = 0; i < params.rot_dim / 2; ++i) {
      const float f = params.freq_factors[i];
      REQUIRE(std::isfinite(f) && f > 0.0f, op,
              "params.freq_factors[" + std::to_string(i) + "] must be finite and > 0, got " + std::to_string(f));
    }
    require_cpu(ctx, op, "params.freq_factors");
  }
  if (params.attn_factor != 1.0f) require_cpu(ctx, op, "params.attn_factor != 1");
  REQUIRE(std::isfinite(params.yarn_ext_factor) && params.yarn_ext_factor >= 0.0f && params.yarn_ext_factor <= 1.0f, op,
          "params.yarn_ext_factor must be in [0, 1], got " + std::to_string(params.yarn_ext_factor));
  if (params.yarn_ext_factor != 0.0f) {
    REQUIRE(params.yarn_original_context > 0, op,
            "params.yarn_original_context must be > 0 with YaRN, got " + std::to_string(params.yarn_original_context));
    REQUIRE(std::isfinite(params.yarn_beta_fast) && std::isfinite(params.yarn_beta_slow) &&
                params.yarn_beta_fast > 0.0f && params.yarn_beta_slow > 0.0f,
            op, "params.yarn_beta_fast and yarn_beta_slow must be finite and > 0");
    require_cpu(ctx, op, "YaRN (params.yarn_ext_factor)");
  }
  if (T > 0) {
    require_ptr(x, op, "x");
    require_ptr(positions, op, "positions");
  }
  DISPATCH(rope, ctx, x, positions, T, n_heads, params);
}

void swiglu(const Context& ctx, const float* gate, const float* up, int64_t T, int64_t n, float* out) {
  constexpr const char* op = "swiglu";
  REQUIRE(T >= 0, op, "T must be >= 0, got " + std::to_string(T));
  REQUIRE(n >= 0, op, "n must be >= 0, got " + std::to_string(n));
  if (T * n > 0) {
    require_ptr(gate, op, "gate");
    require_ptr(up, op, "up");
    require_ptr(out, op, "out");
  }
  DISPATCH(swiglu, ctx, gate, up, T, n, out);
}

void geglu(const Context& ctx, const float* gate, const float* up, int64_t T, int64_t n, float* out) {
  constexpr const char* op = "geglu";
  REQUIRE(T >= 0, op, "T must be >= 0, got " + std::to_string(T));
  REQUIRE(n >= 0, op, "n must be >= 0, got " + std::to_string(n));
  if (T * n > 0) {
    require_ptr(gate, op, "gate");
    require_ptr(up, op, "up");
    require_ptr(out, op, "out");
  }
  require_cpu(ctx, op, "geglu");
  return cpu::geglu_cpu(cpu_pool(ctx, op), gate, up, T, n, out);
}

void scale_inplace(const Context& ctx, float* y, float s, int64_t n) {
  constexpr const char* op = "scale_inplace";
  REQUIRE(n >= 0, op, "n must be >= 0, got " + std::to_string(n));
  REQUIRE(std::isfinite(s), op, "s must be finite, got " + std::to_string(s));
  if (n > 0) require_ptr(y, op, "y");
  require_cpu(ctx, op, "scale_inplace");
  return cpu::scale_inplace_cpu(cpu_pool(ctx, op), y, s, n);
}

void softcap_inplace(const Context& ctx, float* y, float cap, int64_t n) {
  constexpr const char* op = "softcap_inplace";
  REQUIRE(n >= 0, op, "n must be >= 0, got " + std::to_string(n));
  REQUIRE(std::isfinite(cap) && cap > 0.0f, op, "cap must be finite and > 0, got " + std::to_string(cap));
  if (n > 0) require_ptr(y, op, "y");
  require_cpu(ctx, op, "softcap_inplace");
  return cpu::softcap_inplace_cpu(cpu_pool(ctx, op), y, cap, n);
}

void add_inplace(const Context& ctx, float* y, const float* x, int64_t n) {
  constexpr const char* op = "add_inplace";
  REQUIRE(n >= 0, op, "n must be >= 0, got " + std::to_string(n));
  if (n > 0) {
    require_ptr(y, op, "y");
    require_ptr(x, op, "x");
  }
  DISPATCH(add_inplace, ctx, y, x, n);
}

void embedding(const Context& ctx, const WeightView& table, const int32_t* ids, int64_t T, float* out) {
  constexpr const char* op = "embedding";
  validate_weight(table, op, "table");
  REQUIRE(T >= 0, op, "T must be >= 0, got " + std::to_string(T));
  if (T > 0) {
    require_ptr(ids, op, "ids");
    require_ptr(out, op, "out");
  }
  for (int64_t t = 0; t < T; ++t) {
    if (ids[t] < 0 || ids[t] >= table.rows) {
      throw std::out_of_range("embedding: ids[" + std::to_string(t) + "] = " + std::to_string(ids[t]) +
                              " is outside [0, " + std::to_string(table.rows) + ")");
    }
  }
  DISPATCH(embedding, ctx, table, ids, T, out);
}

namespace {

void validate_cache(const KvLayerView& cache, const char* op) {
  require_ptr(cache.k, op, "cache.k");
  require_ptr(cache.v, op, "cache.v");
  REQUIRE(cache.num_slots >= 0, op, "cache.num_slots must be >= 0, got " + std::to_string(cache.num_slots));
  REQUIRE(cache.n_kv_heads > 0, op, "cache.n_kv_heads must be > 0, got " + std::to_string(cache.n_kv_heads));
  REQUIRE(cache.head_dim > 0, op, "cache.head_dim must be > 0, got " + std::to_string(cache.head_dim));
  REQUIRE(cache.block_size > 0 && cache.num_slots % cache.block_size == 0, op,
          "cache.num_slots (" + std::to_string(cache.num_slots) + ") must be a multiple of cache.block_size (" +
              std::to_string(cache.block_size) + " > 0)");
  REQUIRE(cache.head_dim % kv_dtype_granule(cache.dtype) == 0, op,
          std::string("a ") + kv_dtype_name(cache.dtype) + " cache needs head_dim a multiple of " +
              std::to_string(kv_dtype_granule(cache.dtype)) + ", got " + std::to_string(cache.head_dim));
}

}  // namespace

void write_kv(const Context& ctx, const KvLayerView& cache, const float* k_new, const float* v_new,
              const int32_t* slot_mapping, int64_t T) {
  constexpr const char* op = "write_kv";
  validate_cache(cache, op);
  REQUIRE(T >= 0, op, "T must be >= 0, got " + std::to_string(T));
  if (T > 0) {
    require_ptr(k_new, op, "k_new");
    require_ptr(v_new, op, "v_new");
    require_ptr(slot_mapping, op, "slot_mapping");
  }
  for (int64_t t = 0; t < T; ++t) {
    if (slot_mapping[t] >= cache.num_slots) {
      throw std::out_of_range("write_kv: slot_mapping[" + std::to_string(t) + "] = " + std::to_string(slot_mapping[t]) +
                              " is outside the cache's " + std::to_string(cache.num_slots) + " slots");
    }
  }
  DISPATCH(write_kv, ctx, cache, k_new, v_new, slot_mapping, T);
}

void attention(const Context& ctx, const float* q, const KvLayerView& cache, const AttentionBatch& batch, int n_heads,
               float scale, float* out) {
  constexpr const char* op = "attention";
  validate_cache(cache, op);
  const int64_t T = batch.num_tokens;
  REQUIRE(T >= 0, op, "batch.num_tokens must be >= 0, got " + std::to_string(T));
  REQUIRE(n_heads > 0 && n_heads % cache.n_kv_heads == 0, op,
          "n_heads (" + std::to_string(n_heads) + ") must be a positive multiple of cache.n_kv_heads (" +
              std::to_string(cache.n_kv_heads) + ")");
  REQUIRE(std::isfinite(scale), op, "scale must be finite");
  REQUIRE(batch.sliding_window >= 0, op,
          "batch.sliding_window must be >= 0 (0: none), got " + std::to_string(batch.sliding_window));
  REQUIRE(std::isfinite(batch.softcap) && batch.softcap >= 0.0f, op,
          "batch.softcap must be finite and >= 0 (0: none), got " + std::to_string(batch.softcap));
  if (batch.sliding_window > 0) require_cpu(ctx, op, "batch.sliding_window");
  if (batch.softcap > 0.0f) require_cpu(ctx, op, "batch.softcap");
  REQUIRE(batch.block_size > 0, op, "batch.block_size must be > 0, got " + std::to_string(batch.block_size));
  REQUIRE(cache.block_size == 1 || cache.block_size == batch.block_size, op,
          "cache.block_size (" + std::to_string(cache.block_size) + ") must be 1 or batch.block_size (" +
              std::to_string(batch.block_size) + ")");
  REQUIRE(batch.max_blocks_per_seq > 0, op,
          "batch.max_blocks_per_seq must be > 0, got " + std::to_string(batch.max_blocks_per_seq));
  if (T > 0) {
    require_ptr(q, op, "q");
    require_ptr(out, op, "out");
    require_ptr(batch.token_seq, op, "batch.token_seq");
    require_ptr(batch.token_pos, op, "batch.token_pos");
    require_ptr(batch.block_tables, op, "batch.block_tables");
  }
  const int64_t max_pos = static_cast<int64_t>(batch.max_blocks_per_seq) * batch.block_size;
  for (int64_t t = 0; t < T; ++t) {
    const auto row = [t] { return std::string("[").append(std::to_string(t)).append("]"); };
    const int32_t seq = batch.token_seq[t];
    const int32_t pos = batch.token_pos[t];
    REQUIRE(seq >= 0 && (batch.num_seqs <= 0 || seq < batch.num_seqs), op,
            "batch.token_seq" + row() + " = " + std::to_string(seq) + " is not a sequence of the batch");
    REQUIRE(pos >= 0 && pos < max_pos, op,
            "batch.token_pos" + row() + " = " + std::to_string(pos) + " is outside [0, " + std::to_string(max_pos) +
                ") (max_blocks_per_seq * block_size)");
    const int32_t* table = batch.block_tables + static_cast<int64_t>(seq) * batch.max_blocks_per_seq;
    for (int b = 0; b <= pos / batch.block_size; ++b) {
      const int64_t end_slot = (static_cast<int64_t>(table[b]) + 1) * batch.block_size;
      REQUIRE(table[b] >= 0 && end_slot <= cache.num_slots, op,
              "block " + std::to_string(table[b]) + " (block_tables[" + std::to_string(seq) + "][" +
                  std::to_string(b) + "]) is outside the cache's " + std::to_string(cache.num_slots) + " slots");
    }
  }
  DISPATCH(attention, ctx, q, cache, batch, n_heads, scale, out);
}

}  // namespace nucleus::kernels
