// The engine's tunable defaults, declared once: EngineOptions, the scheduler,
// the draft-model drafter, `serve`'s options (config/) and the `generate` and
// `bench` subcommands all start from these. No includes, so config/ can read
// them without depending on the engine.
#pragma once

namespace nucleus {

// Tokens per KV block. A block keeps each KV head's keys (and values) of
// its tokens consecutive (kernels/ops.h), so decode attention streams the
// cache in runs of block size x head row: 32 x 128 bytes (f16, head_dim 64)
// is a 4 KiB page. Blocks sit anywhere in the pool, and on this project's
// machine a core read runs of 2 KiB (blocks of 16) at a fifth of its
// sequential rate; 1B-model attention over 32768 cached tokens took 7.1 ms
// a layer with blocks of 16 and 5.7 with 32 (bench/kernels_bench.cc,
// BM_AttentionDepthF16). Prefix caching shares whole blocks.
inline constexpr int kDefaultBlockSize = 32;
inline constexpr const char* kDefaultKvCacheDtype = "f16";  // kernels::kDefaultKvDtype by name (f32, f16, q8_0)
inline constexpr int kDefaultMaxBatchedTokens = 512;  // token budget of one step (decode + prefill chunks)
// Target length of a step that decodes while it prefills, in milliseconds:
// prompt chunks are cut to fit (engine/prefill_pacing.h), so streams being
// decoded get a token at least about this often. 0 = steps are bounded by
// the token budget only.
inline constexpr double kDefaultMaxStepMs = 250;
inline constexpr int kDefaultMaxSeqs = 64;            // sequences in one step
inline constexpr int kDefaultSpecTokens = 8;          // most tokens drafted per step and sequence
inline constexpr int kDefaultMaxQueue = 1024;         // waiting requests beyond which submit() refuses
inline constexpr int kDefaultMaxRequestSequences = 256;  // sequences one request may ask for (prompts x n x beams)

}  // namespace nucleus
