#include "server/sse.h"

namespace nucleus::server {

std::string sse_event(const nlohmann::ordered_json& payload) {
  // `replace` keeps a stream alive if text ever held invalid UTF-8 (the engine should never send it).
  return "data: " + payload.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n\n";
}

std::string sse_done() { return "data: [DONE]\n\n"; }

}  // namespace nucleus::server
