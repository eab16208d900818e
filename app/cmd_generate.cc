// `nucleus generate`: completions for one or more prompts, run through the
// engine as one batch. One prompt streams its text to stdout as it comes;
// several prompts print each completion when all are done. Prefill and decode
// speed go to stderr at the end.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "app/chat_prompt.h"
#include "app/command.h"
#include "config/options.h"
#include "engine/engine.h"
#include "model/model.h"
#include "model/tokenizer_gguf.h"
#include "text/tokenizer.h"
#include "kernels/device.h"

namespace nucleus::app {
namespace {

using Clock = std::chrono::steady_clock;

struct GenerateArgs {
  std::string model;
  std::vector<std::string> prompts;
  std::string prompts_file;
  int max_tokens = 128;
  float temperature = 0.0f;
  float top_p = 1.0f;
  int top_k = 0;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  int64_t seed = -1;
  bool chat = false;
  bool ignore_eos = false;
  int threads = 0;
  int max_batched_tokens = kDefaultMaxBatchedTokens;
  std::string kv_cache_dtype = kDefaultKvCacheDtype;  // f32, f16 or q8_0
  std::string speculative = "off";
  int spec_tokens = kDefaultSpecTokens;
  std::string draft_model;
  std::string device = "auto";
};

std::vector<std::string> read_prompts_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open the prompts file");
  std::vector<std::string> prompts;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) prompts.push_back(line);
  }
  if (prompts.empty()) throw std::runtime_error(path + ": no prompts (one per line expected)");
  return prompts;
}

std::vector<int32_t> encode_prompt(const Model& model, const Tokenizer& tokenizer, const std::string& prompt, bool chat) {
  if (!chat) return tokenizer.encode(prompt, {.add_special = true, .parse_special = true});
  return chat_prompt_tokens(model, tokenizer, prompt, "--chat");
}

// The engine's options for `prompts` prompts; loads the draft model into
// `draft_model` unless it is the model itself.
EngineOptions generate_engine_options(const GenerateArgs& args, size_t prompts, kernels::Device device,
                                      const std::string& path, Model& model, std::unique_ptr<Model>& draft_model) {
  EngineOptions options;
  options.threads = args.threads;
  options.max_batched_tokens = args.max_batched_tokens;
  options.max_seqs = std::max<int>(64, static_cast<int>(prompts));
  options.max_queue = std::max<int>(1024, static_cast<int>(prompts));
  options.speculation = speculation_from_name(args.speculative).value();  // CLI11 checked the name
  options.spec_tokens = args.spec_tokens;
  if (args.speculative == "draft" && args.draft_model.empty()) {
    throw std::runtime_error("--speculative draft needs a draft model: give --draft-model PATH");
  }
  if (!args.draft_model.empty()) {
    draft_model = args.draft_model == path ? nullptr : Model::load(args.draft_model);
    options.draft_model = draft_model ? draft_model.get() : &model;
  }
  options.device = device;
  options.kv_dtype = kernels::kv_dtype_from_name(args.kv_cache_dtype).value();  // CLI11 checked the name
  return options;
}

GenerationRequest generate_request(const GenerateArgs& args, std::vector<int32_t> prompt) {
  GenerationRequest request;
  request.prompt = std::move(prompt);
  request.max_tokens = args.max_tokens;
  request.params.temperature = args.temperature;
  request.params.top_p = args.top_p;
  request.params.top_k = args.top_k;
  request.params.min_p = args.min_p;
  request.params.repetition_penalty = args.repetition_penalty;
  request.params.ignore_eos = args.ignore_eos;
  if (args.seed >= 0) {
    request.params.has_seed = true;
    request.params.seed = static_cast<uint64_t>(args.seed);
  }
  return request;
}

// What the requests gave: each one's text and finish reason, in order.
struct GenerateOutput {
  std::vector<std::string> texts;
  std::vector<std::string> reasons;
  int64_t completion_tokens = 0;
  Clock::time_point first_token = Clock::time_point::max();
};

// Reads every handle to its end, in order; with `stream`, writes text to stdout as it comes.
GenerateOutput read_outputs(std::vector<std::unique_ptr<RequestHandle>>& handles, bool stream) {
  GenerateOutput out;
  out.texts.resize(handles.size());
  out.reasons.resize(handles.size());
  for (size_t i = 0; i < handles.size(); ++i) {
    while (true) {
      std::optional<RequestEvent> event = handles[i]->next();
      if (!event) continue;
      for (const SequenceDelta& d : event->deltas) {
        if (!d.tokens.empty()) out.first_token = std::min(out.first_token, Clock::now());
        out.texts[i] += d.text;
        if (stream) {
          std::fwrite(d.text.data(), 1, d.text.size(), stdout);
          std::fflush(stdout);
        }
        if (d.finish != FinishReason::kNone) out.reasons[i] = finish_reason_name(d.finish);
      }
      if (!event->error.empty()) throw std::runtime_error("generation failed: " + event->error);
      if (event->done) {
        out.completion_tokens += event->usage.completion_tokens;
        break;
      }
    }
  }
  return out;
}

// Prefill and decode speed, and speculation's acceptance, on stderr.
void print_speed(const GenerateOutput& out, size_t requests, int64_t prompt_tokens, Clock::time_point start,
                 Clock::time_point end, const EngineStats& stats) {
  // With one batch, the first token arrives when every prompt has been prefilled.
  const double prefill_s = std::chrono::duration<double>(out.first_token - start).count();
  const double decode_s = std::chrono::duration<double>(end - out.first_token).count();
  const int64_t decode_tokens = out.completion_tokens - static_cast<int64_t>(requests);
  std::fprintf(stderr, "\n[nucleus] %zu prompt(s), %ld prompt tokens in %.3f s (%.1f tok/s prefill), %ld tokens generated",
               requests, static_cast<long>(prompt_tokens), prefill_s, prompt_tokens / std::max(prefill_s, 1e-9),
               static_cast<long>(out.completion_tokens));
  if (decode_tokens > 0) {
    std::fprintf(stderr, ", %.1f tok/s decode", decode_tokens / std::max(decode_s, 1e-9));
  }
  std::fprintf(stderr, " (finish: %s)\n", out.reasons[0].c_str());
  if (stats.spec_drafted > 0) {
    std::fprintf(stderr, "[nucleus] speculative: %ld drafted, %ld accepted (%.0f%%)\n",
                 static_cast<long>(stats.spec_drafted), static_cast<long>(stats.spec_accepted),
                 100.0 * stats.spec_accepted / stats.spec_drafted);
  }
}

int run_generate(const GenerateArgs& args) {
  std::vector<std::string> prompts = args.prompts;
  if (!args.prompts_file.empty()) {
    for (auto& p : read_prompts_file(args.prompts_file)) prompts.push_back(std::move(p));
  }
  if (prompts.empty()) throw std::runtime_error("give a prompt with --prompt TEXT (repeatable) or --prompts FILE");
  const std::string path = args.model.empty() ? config::default_model_path() : args.model;
  const kernels::DeviceChoice device = kernels::choose_device(args.device);
  std::fprintf(stderr, "[nucleus] %s\n", device.reason.c_str());

  std::unique_ptr<Model> model = Model::load(path);
  const Tokenizer tokenizer = tokenizer_from_gguf(model->file());
  std::unique_ptr<Model> draft_model;
  Engine engine(*model, tokenizer,
                generate_engine_options(args, prompts.size(), device.device, path, *model, draft_model));

  std::vector<std::unique_ptr<RequestHandle>> handles;
  int64_t prompt_tokens = 0;
  const auto start = Clock::now();
  for (const std::string& prompt : prompts) {
    GenerationRequest request = generate_request(args, encode_prompt(*model, tokenizer, prompt, args.chat));
    prompt_tokens += static_cast<int64_t>(request.prompt.size());
    handles.push_back(engine.submit(std::move(request)));
  }
  const bool stream = handles.size() == 1;
  const GenerateOutput out = read_outputs(handles, stream);
  const auto end = Clock::now();
  if (stream) {
    std::printf("\n");
  } else {
    for (size_t i = 0; i < prompts.size(); ++i) {
      std::printf("=== [%zu] %s\n%s\n", i, prompts[i].c_str(), out.texts[i].c_str());
    }
  }
  print_speed(out, handles.size(), prompt_tokens, start, end, engine.stats());
  return 0;
}

NUCLEUS_REGISTER_COMMAND(
    "generate", "Generate completions for one or more prompts (streams when there is one)",
    [](CLI::App* sub) -> std::function<int()> {
      auto args = std::make_shared<GenerateArgs>();
      sub->add_option("--model,-m", args->model, "GGUF model file (default: the default model in ~/.cache/nucleus/models)");
      sub->add_option("--prompt,-p", args->prompts, "Prompt text; repeat to run several prompts as one batch");
      sub->add_option("--prompts", args->prompts_file, "File with one prompt per line (joins --prompt)");
      sub->add_option("--max-tokens,-n", args->max_tokens, "Tokens to generate per prompt")->capture_default_str()
          ->check(CLI::Range(1, 1 << 20));
      sub->add_option("--temperature,-t", args->temperature, "Sampling temperature; 0 = greedy")->capture_default_str();
      sub->add_option("--top-p", args->top_p, "Nucleus sampling mass in (0, 1]")->capture_default_str();
      sub->add_option("--top-k", args->top_k, "Keep the k most likely tokens; 0 = off")->capture_default_str();
      sub->add_option("--min-p", args->min_p, "Drop tokens below min_p x the top probability")->capture_default_str();
      sub->add_option("--repetition-penalty", args->repetition_penalty, "vLLM's repetition penalty; 1 = off")
          ->capture_default_str();
      sub->add_option("--seed,-s", args->seed, "Random seed (default: drawn from the system)");
      sub->add_flag("--chat", args->chat, "Wrap each prompt in the model's chat template as a user message");
      sub->add_flag("--ignore-eos", args->ignore_eos, "Keep generating after end-of-sequence tokens");
      sub->add_option("--threads", args->threads, "CPU threads; 0 = one per core (as serve: at most 1024)")
          ->capture_default_str()->check(CLI::Range(0, 1024));
      sub->add_option("--max-batched-tokens", args->max_batched_tokens, "Token budget of one engine step")
          ->capture_default_str()->check(CLI::Range(1, 1 << 20));
      sub->add_option("--kv-cache-dtype", args->kv_cache_dtype,
                      "How the KV cache stores keys and values: f16, f32 or q8_0 (head_dim a multiple of 32)")
          ->capture_default_str()->check(CLI::IsMember({"f32", "f16", "q8_0"}));
      sub->add_option("--speculative", args->speculative,
                      "Speculative decoding: off, ngram (prompt lookup) or draft (--draft-model); on the CPU the "
                      "outputs are bitwise those without it, on CUDA only up to near ties (cuBLAS results depend "
                      "on the batch shape; docs/cuda.md)")
          ->capture_default_str()->check(CLI::IsMember({"off", "ngram", "draft"}));
      sub->add_option("--draft-model", args->draft_model,
                      "GGUF draft model with the model's vocabulary, for --speculative draft");
      sub->add_option("--spec-tokens", args->spec_tokens, "Tokens drafted per step")->capture_default_str()
          ->check(CLI::Range(1, 16));
      auto device = std::make_shared<config::DeviceOptionParser>(sub);
      return [args, device] {
        args->device = device->resolve();
        return run_generate(*args);
      };
    });

}  // namespace
}  // namespace nucleus::app
