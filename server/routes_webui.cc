// The web page (GET / and /index.html, off with --no-webui) and GET /props,
// llama.cpp's route for what its page shows about the served model: the
// page's dashboard reads it beside /metrics and /v1/models.
#include <algorithm>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "kernels/device.h"
#include "kernels/ggml_types.h"
#include "model/model.h"
#include "server/errors.h"
#include "server/routes.h"
#include "server/webui/page.h"

#ifndef NUCLEUS_VERSION
#define NUCLEUS_VERSION "unknown"
#endif

namespace nucleus::server {
namespace {
using json = nlohmann::json;

// The weights' quantization as llama.cpp names files: the type holding most of
// the matrices' elements (norms and biases stay F32 in every file).
std::string dominant_weight_type(const GgufFile& file) {
  std::map<GgmlType, int64_t> elements;
  for (const GgufTensorInfo& t : file.tensors()) {
    if (t.shape.size() >= 2) elements[t.type] += t.num_elements();
  }
  GgmlType best = GgmlType::F32;
  int64_t most = -1;
  for (const auto& [type, n] : elements) {
    if (n > most) best = type, most = n;
  }
  return std::string(ggml_type_name(best));
}

int64_t parameter_count(const GgufFile& file) {
  int64_t n = 0;
  for (const GgufTensorInfo& t : file.tensors()) n += t.num_elements();
  return n;
}

// Threads of the forward pass: --threads, or one per core as the engine's pool resolves 0.
int resolved_threads(int threads) {
  return threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}
}  // namespace

void handle_webui(ServerState&, const httplib::Request&, httplib::Response& res) {
  const std::string_view page = webui_page();
  res.set_header("Cache-Control", "no-cache");  // a new binary's page replaces the old one at once
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
}

void handle_props(ServerState& state, const httplib::Request&, httplib::Response& res) {
  // The route waits for `ready`; a server state made ready without its model (no such caller today) gets a 503.
  if (!state.model) throw ApiError(503, "service_unavailable", "the model's facts are not available");
  const GgufFile& file = state.model->file();
  const ModelConfig& config = state.model->config();
  const EngineOptions& options = state.engine->options();
  const EngineStats stats = state.engine->stats();
  const json body = {
      {"model", state.model_name},
      {"model_path", file.path()},
      {"general_name", file.get_string("general.name", "")},
      {"architecture", config.architecture},
      {"context_length", state.context_length},
      {"quantization", dominant_weight_type(file)},
      {"parameters", parameter_count(file)},
      {"file_bytes", file.file_size()},
      {"layers", config.n_layers},
      {"embedding_length", config.n_embd},
      {"heads", config.n_heads},
      {"kv_heads", config.n_kv_heads},
      {"vocab_size", state.tokenizer->vocab_size()},
      {"device", kernels::device_name(options.device)},
      {"threads", resolved_threads(options.threads)},
      {"total_slots", options.max_seqs},  // llama.cpp's name for sequences served at once
      {"kv_cache_block_size", options.block_size},
      {"kv_cache_dtype", kernels::kv_dtype_name(options.kv_dtype)},
      {"kv_cache_blocks_total", stats.kv_blocks_total},
      {"prefix_cache", options.prefix_cache},
      {"speculative", speculation_name(options.speculation)},
      {"chat_template", state.chat ? json(state.chat->name()) : json(nullptr)},
      {"build_info", "nucleus " NUCLEUS_VERSION},
  };
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

}  // namespace nucleus::server
