// An httplib::Server whose connections are owned by a ConnectionGate
// (server/connection_gate.h): httplib still binds, accepts, routes and writes
// responses, but a worker only ever gets a connection whose request header
// has fully arrived. Routes are added to it as to any httplib::Server.
#pragma once

#include <chrono>

#include <httplib.h>

#include "server/connection_gate.h"

namespace nucleus::server {

class GatedServer final : public httplib::Server {
 public:
  // `stop_grace`: how long stop() lets workers finish their response.
  GatedServer(const GateOptions& options, ConnectionGate::Counted counted, std::chrono::milliseconds stop_grace);

  ConnectionGate& gate() { return gate_; }

 private:
  // httplib's listener thread calls this for each accepted socket (through
  // the task queue, which runs it at once): the gate takes the socket over.
  bool process_and_close_socket(socket_t sock) override;

  ConnectionGate gate_;
  std::chrono::milliseconds stop_grace_;
};

}  // namespace nucleus::server
