// Writes a generating request's answer while the engine produces it, as
// httplib's content provider: stream() sends server-sent events, collect()
// waits for everything and sends one JSON object.
//
// Disconnects: stream() notices a failed write; collect() writes a space
// (legal leading JSON whitespace) every kHeartbeat while it waits, so a closed
// socket aborts the request in the engine within that time.
//
// Metrics (time to first token, inter-token latency, end to end) are observed
// here, and one log line per request is written when it ends (--no-request-log
// turns it off).
#pragma once

#include <httplib.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "server/choices.h"
#include "server/errors.h"
#include "server/generation.h"
#include "server/response_json.h"
#include "server/server_state.h"

namespace nucleus::server {

class ResponseWriter {
 public:
  using Clock = std::chrono::steady_clock;

  // `stream`: which of stream() and collect() provides the body (for the log
  // line). `arrival`: when the request came in (the metrics' start).
  ResponseWriter(ServerState& state, std::unique_ptr<GenerationRun> run, ResponseShape shape, bool stream,
                 bool include_usage, Clock::time_point arrival);

  // Before a collected body starts: collects until the first token, an
  // error or the end, for at most `wait` (the heartbeats start after it), so
  // that a request failing before its first token (a grammar too ambiguous
  // to follow) gets an HTTP error status, not 200 and an error body. A client
  // that leaves meanwhile aborts the run (client_connection.h). False when
  // the run has failed (run_error() says how): the request is then logged as ended.
  bool settle(std::chrono::milliseconds wait);
  // The run's error as the API answers it (errors.h generation_error).
  ApiError run_error() const;

  // The content providers: false when the client went away (the run is aborted).
  bool stream(httplib::DataSink& sink);
  bool collect(httplib::DataSink& sink);
  // httplib's releaser: aborts what still runs; `success` false (the client
  // went away) logs the request once the engine has ended it.
  void release(bool success);

 private:
  bool client_left_ = false;  // settle() saw the client go: the run is aborted, no body is written
  // A chunk of the stream as an event (usage null in it when the last chunk carries the usage).
  std::string chunk_event(ResponseJson chunk) const;
  // While a response waits: false (the run aborted) when its client is gone;
  // when its input has ended, writes `probe` (bytes the client skips: an SSE
  // comment, a heartbeat space) to find out (client_connection.h).
  bool confirm_client(httplib::DataSink& sink, const char* probe);
  // Writes `data`; on failure aborts the run and returns false.
  bool send(httplib::DataSink& sink, const std::string& data);
  // Chat: every choice opens with the assistant role, even before its first token.
  bool send_openings(httplib::DataSink& sink);
  // One streamed delta of choice cd.choice (with an echoed prompt before its first text).
  bool send_delta(httplib::DataSink& sink, const ChoiceDelta& cd);
  // The ends of a stream: after the last delta, or the error event.
  bool end_stream(httplib::DataSink& sink);
  bool end_stream_with_error(httplib::DataSink& sink);
  // The response written at the end: its choices, or the run's error.
  ResponseJson final_body() const;
  ResponseJson final_choices() const;

  // A delta as the client sees it: with prompt_only, no generated text or
  // logprobs, and the end is "length" (max_tokens 0).
  SequenceDelta shown(const SequenceDelta& d) const;
  // The run's usage, with prompt_only no completion tokens.
  Usage usage() const;

  // Polls the run once (up to kPoll) and collects what arrived; false once it has ended.
  bool collect_some();

  // Metrics of tokens arriving for choice c.
  void observe_tokens(ChoiceState& c, const SequenceDelta& d);
  // The end-to-end latency and the request's log line.
  void finished();
  void log_request() const;
  // A request whose client went away: waits briefly for the engine's final
  // event (it aborts within a step) so the log line has the usage.
  void log_aborted();

  ServerState& state_;
  const Tokenizer& tok_;
  std::unique_ptr<GenerationRun> run_;
  const ResponseShape shape_;
  const bool stream_;
  const bool include_usage_;
  const Clock::time_point arrival_;
  const ResponseIds ids_;
  std::vector<ChoiceState> choices_;
  bool ended_ = false;  // collect_some() saw the run end
};

}  // namespace nucleus::server
