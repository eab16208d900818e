// The routes that do not generate: models, health, metrics, version,
// tokenize and detokenize (vLLM's request and response shapes).
#include <chrono>

#include <nlohmann/json.hpp>

#include "server/chat_prompt.h"
#include "server/chat_tools.h"
#include "server/errors.h"
#include "sampling/token_ids.h"
#include "server/openai_request.h"
#include "server/routes.h"

namespace nucleus::server {
namespace {
using json = nlohmann::json;

void reply(httplib::Response& res, const json& body) {
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// vLLM's tokenizer routes take an optional model too: a wrong one is a 404, as on the generating routes.
void check_model(const ServerState& state, const json& body) {
  auto it = body.find("model");
  if (it == body.end() || it->is_null()) return;
  if (!it->is_string()) throw invalid_param("model", "model must be a string");
  const std::string model = it->get<std::string>();
  if (!model.empty() && model != state.model_name) throw model_not_found(model);
}

json model_object(const ServerState& state) {
  static const int64_t created =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return {{"id", state.model_name},
          {"object", "model"},
          {"created", created},
          {"owned_by", "nucleus"},
          {"max_model_len", state.context_length}};
}
}  // namespace

void handle_models(ServerState& state, const httplib::Request&, httplib::Response& res) {
  reply(res, {{"object", "list"}, {"data", json::array({model_object(state)})}});
}

// OpenAI's GET /v1/models/{model} (the client's models.retrieve).
void handle_model(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches.size() > 1 ? req.matches[1].str() : "";
  if (id != state.model_name) throw model_not_found(id);
  reply(res, model_object(state));
}

void handle_health(ServerState& state, const httplib::Request&, httplib::Response& res) {
  if (!state.ready || state.draining) {
    res.status = 503;
    reply(res, error_body(state.draining ? "shutting down" : "loading the model", "service_unavailable"));
    return;
  }
  reply(res, {{"status", "ok"}});  // as llama.cpp's server; load balancers only read the status code
}

void handle_metrics(ServerState& state, const httplib::Request&, httplib::Response& res) {
  if (state.ready) {
    const EngineStats stats = state.engine->stats();
    res.set_content(state.metrics.render(&stats), "text/plain; version=0.0.4; charset=utf-8");
  } else {
    res.set_content(state.metrics.render(nullptr), "text/plain; version=0.0.4; charset=utf-8");
  }
}

// The build's version and, once the model is loaded, what its responses'
// system_fingerprint hashes (server/system_fingerprint.h).
void handle_version(ServerState& state, const httplib::Request&, httplib::Response& res) {
  json body = {{"version", build_version()}};
  if (state.ready) {
    const SystemFingerprint& f = state.fingerprint;
    body["system_fingerprint"] = f.value;
    body["fingerprint_parts"] = {
        {"model_identity", f.model_identity}, {"version", f.version}, {"determinism_class", f.determinism_class}};
  }
  reply(res, body);
}

void handle_tokenize(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req.body);
  const TokenizeRequest r = parse_tokenize_request(body);
  check_model(state, body);
  std::vector<int32_t> tokens;
  if (r.prompt) {
    tokens = state.tokenizer->encode(*r.prompt, {.add_special = r.add_special_tokens, .parse_special = true});
  } else {
    tokens = render_chat_prompt(state, r.messages, chat_render_options(req.body, r.add_generation_prompt)).tokens;
  }
  json out = {{"count", tokens.size()}, {"max_model_len", state.context_length}, {"tokens", tokens}};
  if (r.return_token_strs) {
    json strs = json::array();
    for (int32_t id : tokens) strs.push_back(state.tokenizer->token_text(id));
    out["token_strs"] = strs;
  }
  reply(res, out);
}

// llama.cpp's /apply-template: a chat body in, the prompt the model would see out.
void handle_apply_template(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req.body);
  const ChatRequest r = parse_chat_request(body);
  check_model(state, body);
  const ChatRenderOptions options = chat_render_options(req.body, r.add_generation_prompt);
  reply(res, {{"prompt", render_chat_prompt(state, r.messages, options).text}});
}

void handle_detokenize(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_body(req.body);
  const std::vector<int32_t> tokens = parse_detokenize_request(body);
  check_model(state, body);
  if (auto error = sampling::first_id_outside_vocabulary(tokens, state.tokenizer->vocab_size())) {
    throw invalid_param("tokens", *error);
  }
  reply(res, {{"prompt", state.tokenizer->decode(tokens)}});
}

}  // namespace nucleus::server
