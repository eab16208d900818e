// The HTTP handlers, one function per route; http_server.cc maps paths to
// them and turns exceptions into OpenAI error objects.
#pragma once

#include <httplib.h>

#include "server/server_state.h"

namespace nucleus::server {

void handle_completions(ServerState& state, const httplib::Request& req, httplib::Response& res);
void handle_chat(ServerState& state, const httplib::Request& req, httplib::Response& res);
void handle_models(ServerState& state, const httplib::Request& req, httplib::Response& res);
void handle_model(ServerState& state, const httplib::Request& req, httplib::Response& res);  // /v1/models/{id}
void handle_health(ServerState& state, const httplib::Request& req, httplib::Response& res);
void handle_metrics(ServerState& state, const httplib::Request& req, httplib::Response& res);
void handle_version(ServerState& state, const httplib::Request& req, httplib::Response& res);
void handle_tokenize(ServerState& state, const httplib::Request& req, httplib::Response& res);
void handle_detokenize(ServerState& state, const httplib::Request& req, httplib::Response& res);
void handle_apply_template(ServerState& state, const httplib::Request& req, httplib::Response& res);
void handle_webui(ServerState& state, const httplib::Request& req, httplib::Response& res);  // GET /: the web page
void handle_props(ServerState& state, const httplib::Request& req, httplib::Response& res);  // the model's facts

}  // namespace nucleus::server
