// The engine's tunable defaults, declared once: EngineOptions, the scheduler,
// the draft-model drafter, `serve`'s options (config/) and the `generate` and
// `bench` subcommands all start from these. No includes, so config/ can read
// them without depending on the engine.
#pragma once

namespace nucleus {

inline constexpr int kDefaultBlockSize = 16;          // tokens per KV block
inline constexpr const char* kDefaultKvCacheDtype = "f16";  // kernels::kDefaultKvDtype by name (f32, f16, q8_0)
inline constexpr int kDefaultMaxBatchedTokens = 512;  // token budget of one step (decode + prefill chunks)
inline constexpr int kDefaultMaxSeqs = 64;            // sequences in one step
inline constexpr int kDefaultSpecTokens = 8;          // most tokens drafted per step and sequence
inline constexpr int kDefaultMaxQueue = 1024;         // waiting requests beyond which submit() refuses
inline constexpr int kDefaultMaxRequestSequences = 256;  // sequences one request may ask for (prompts x n x beams)

}  // namespace nucleus
