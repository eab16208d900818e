// POST /v1/completions and POST /v1/chat/completions: parse, tokenize, run
// through the engine, and answer through a ResponseWriter (server-sent events
// when streamed, one JSON object otherwise).
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <httplib.h>

#include "sampling/token_ids.h"
#include "server/chat_prompt.h"
#include "server/chat_tools.h"
#include "server/errors.h"
#include "server/generation.h"
#include "server/response_writer.h"
#include "server/routes.h"

namespace nucleus::server {
namespace {

using Clock = ResponseWriter::Clock;

void check_model(const ServerState& state, const CommonRequest& common) {
  if (!common.model.empty() && common.model != state.model_name) {
    throw model_not_found(common.model);
  }
}

// The body of a response written as it is produced: chunked, except to an
// HTTP/1.0 client (ApacheBench, a proxy speaking 1.0 upstream), which cannot
// read chunked framing (RFC 9112 sends Transfer-Encoding only to 1.1
// requests) and gets the same bytes ended by closing the connection.
void set_streamed_body(const httplib::Request& req, httplib::Response& res, const char* content_type,
                       httplib::ContentProviderWithoutLength provider,
                       httplib::ContentProviderResourceReleaser releaser) {
  if (req.version == "HTTP/1.0") {
    res.set_content_provider(content_type, std::move(provider), std::move(releaser));
  } else {
    res.set_chunked_content_provider(content_type, std::move(provider), std::move(releaser));
  }
}

// How long at most a collected (non-streaming) response waits for its first
// token, or an error before it, before its 200 and first heartbeat go out
// (ResponseWriter::settle): a grammar found too ambiguous at its first token
// takes over a second to fail on a 2-core machine, after the queue and the
// prefill. A disconnect in that time aborts the run (client_connection.h).
constexpr auto kSettle = std::chrono::seconds(10);

void run_and_respond(ServerState& state, const httplib::Request& req, httplib::Response& res,
                     std::unique_ptr<GenerationRun> run, const ResponseShape& shape, const CommonRequest& common,
                     Clock::time_point arrival) {
  const bool stream = common.stream;
  auto writer = std::make_shared<ResponseWriter>(state, std::move(run), shape, stream, common.include_usage, arrival);
  // Beam search too, though it sends nothing before its results (so a search
  // longer than the cap always waits it out): constraints that leave no token
  // fail its first step, and that must be a 400, not 200 and an error body.
  if (!stream && !writer->settle(kSettle)) throw writer->run_error();
  if (stream) res.set_header("Cache-Control", "no-cache");
  set_streamed_body(
      req, res, stream ? "text/event-stream; charset=utf-8" : "application/json",
      [writer, stream](size_t, httplib::DataSink& sink) {
        return stream ? writer->stream(sink) : writer->collect(sink);
      },
      [writer](bool success) { writer->release(success); });
}

// Tokenizes each prompt of a completions request (token-id prompts are
// checked against the vocabulary); with echo, records what each choice repeats.
// vLLM's bad_words as token sequences, as vLLM tokenizes them: each word
// (leading spaces stripped) alone, and after a space where that makes another
// first token of as many tokens (a word inside the text, not at its start).
std::vector<std::vector<int32_t>> bad_words_token_ids(const Tokenizer& tok, const std::vector<std::string>& words) {
  std::vector<std::vector<int32_t>> out;
  for (const std::string& word : words) {
    const std::string bare = word.substr(std::min(word.find_first_not_of(" \t\n\r\f\v"), word.size()));  // lstrip()
    std::vector<int32_t> alone = tok.encode(bare, {.add_special = false, .parse_special = true});
    if (alone.empty()) continue;  // "" or spaces: nothing to ban
    std::vector<int32_t> spaced = tok.encode(" " + bare, {.add_special = false, .parse_special = true});
    const bool another = !spaced.empty() && spaced.front() != alone.front() && spaced.size() == alone.size();
    out.push_back(std::move(alone));
    if (another) out.push_back(std::move(spaced));
  }
  return out;
}

// vLLM's truncate_prompt_tokens: keeps the last k tokens (-1: `context`'s
// worth); whether any were cut.
bool truncate_prompt(std::vector<int32_t>& tokens, int k, int context) {
  if (k > context) {  // as vLLM: a prompt that long could not run
    throw invalid_param("truncate_prompt_tokens", "truncate_prompt_tokens (" + std::to_string(k) +
                                                      ") is greater than the model's context (" +
                                                      std::to_string(context) + ")");
  }
  const size_t keep = static_cast<size_t>(k < 0 ? context : k);
  if (tokens.size() <= keep) return false;
  tokens.erase(tokens.begin(), tokens.end() - static_cast<std::ptrdiff_t>(keep));
  return true;
}

std::vector<std::vector<int32_t>> completion_prompts(const Tokenizer& tok, const CompletionRequest& r, int context,
                                                     ResponseShape& shape) {
  std::vector<std::vector<int32_t>> prompts;
  for (const Prompt& p : r.prompts) {
    if (const auto* text = std::get_if<std::string>(&p)) {
      prompts.push_back(tok.encode(*text, {.add_special = r.add_special_tokens, .parse_special = true}));
      if (r.echo) shape.echo_prefix.push_back(*text);
    } else {
      const auto& ids = std::get<std::vector<int32_t>>(p);
      if (auto error = sampling::first_id_outside_vocabulary(ids, tok.vocab_size())) throw invalid_param("prompt", *error);
      prompts.push_back(ids);
      if (r.echo) shape.echo_prefix.push_back(tok.decode(ids));
    }
    if (r.common.truncate_prompt_tokens && truncate_prompt(prompts.back(), *r.common.truncate_prompt_tokens, context)) {
      if (r.echo) shape.echo_prefix.back() = tok.decode(prompts.back());  // the prompt the model saw
    }
    if (r.echo) shape.echo_ids.push_back(prompts.back());
  }
  return prompts;
}

}  // namespace

void handle_completions(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  const auto arrival = Clock::now();
  CompletionRequest r = parse_completion_request(parse_json_body(req.body));
  check_model(state, r.common);
  if (r.common.structured) keep_schema_key_order(req.body, *r.common.structured);
  ResponseShape shape;
  shape.object = shape.chunk_object = "text_completion";
  shape.n = r.common.n;
  shape.beam = r.common.use_beam_search;
  const std::vector<std::vector<int32_t>> prompts = completion_prompts(*state.tokenizer, r, state.context_length, shape);
  shape.echo_logprobs = r.echo && r.logprobs >= 0;
  if (r.common.prompt_logprobs_field) shape.prompt_logprobs_ids = prompts;
  shape.prompt_only = r.prompt_only;
  if (r.best_of > r.common.n) {
    shape.best_of = r.best_of;
    shape.logprobs = r.common.params.logprobs >= 0;
    r.common.n = r.best_of;  // sample every candidate; the n best are picked at the end
    r.common.params.logprobs = std::max(r.common.params.logprobs, 0);
  }
  r.common.params.bad_words_token_ids = bad_words_token_ids(*state.tokenizer, r.common.bad_words);
  auto run = std::make_unique<GenerationRun>(state, r.common, prompts);
  run_and_respond(state, req, res, std::move(run), shape, r.common, arrival);
}

void handle_chat(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  const auto arrival = Clock::now();
  ChatRequest r = parse_chat_request(parse_json_body(req.body));
  check_model(state, r.common);
  if (r.common.structured) keep_schema_key_order(req.body, *r.common.structured);
  // Tools and template kwargs go to the template in the client's key order.
  ChatTools tools;
  const ChatRenderOptions options = chat_render_options(req.body, r.add_generation_prompt, &tools);
  if (tools.forced()) {
    if (r.common.structured || r.common.json_object) {
      throw invalid_param("tool_choice", "tool_choice '" + std::string(tools.choice == ToolChoice::kNamed ? "named" : "required") +
                                             "' constrains the output already; drop response_format or the structured output");
    }
    r.common.structured = forced_call_output(tools);
  }
  ChatPrompt prompt = render_chat_prompt(state, r.messages, options);
  if (r.common.truncate_prompt_tokens) truncate_prompt(prompt.tokens, *r.common.truncate_prompt_tokens, state.context_length);
  ResponseShape shape;
  shape.chat = true;
  shape.object = "chat.completion";
  shape.chunk_object = "chat.completion.chunk";
  shape.n = r.common.n;
  shape.beam = r.common.use_beam_search;
  if (r.common.prompt_logprobs_field) shape.prompt_logprobs_ids = {prompt.tokens};
  auto plan = chat_output_plan(state, std::move(tools), prompt.text);
  if (!plan->plain()) shape.chat_output = std::move(plan);
  r.common.params.bad_words_token_ids = bad_words_token_ids(*state.tokenizer, r.common.bad_words);
  auto run = std::make_unique<GenerationRun>(state, r.common, std::vector<std::vector<int32_t>>{prompt.tokens});
  run_and_respond(state, req, res, std::move(run), shape, r.common, arrival);
}

}  // namespace nucleus::server
