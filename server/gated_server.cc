#include "server/gated_server.h"

#include "server/client_connection.h"

namespace nucleus::server {
namespace {

// The task queue httplib's listener hands each accepted socket to: it runs
// the task at once, on the listener thread, because the task only gives the
// socket to the gate; the gate's own threads do the waiting and serving.
// httplib shuts its queue down when its listener stops: the gate stops then.
class GateQueue final : public httplib::TaskQueue {
 public:
  GateQueue(ConnectionGate& gate, std::chrono::milliseconds grace) : gate_(gate), grace_(grace) {}
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override { gate_.stop(grace_); }

 private:
  ConnectionGate& gate_;
  std::chrono::milliseconds grace_;
};

}  // namespace

GatedServer::GatedServer(const GateOptions& options, ConnectionGate::Counted counted,
                         std::chrono::milliseconds stop_grace)
    : gate_(
          options,
          [this](httplib::Stream& stream, bool close, bool& closed) {
            const ServingConnection serving(stream);  // for handlers waiting on the engine
            return process_request(stream, close, closed, [](httplib::Request&) {});
          },
          std::move(counted)),
      stop_grace_(stop_grace) {
  new_task_queue = [this] { return new GateQueue(gate_, stop_grace_); };
}

bool GatedServer::process_and_close_socket(socket_t sock) {
  gate_.admit(sock);
  return true;
}

}  // namespace nucleus::server
