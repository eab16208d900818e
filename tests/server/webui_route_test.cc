// The web page's routes: GET / serves server/webui/index.html byte for byte,
// before the model is loaded and without the API key (the page must load to
// ask for it); --no-webui makes it a plain 404; GET /props is guarded like the
// API (key, then model loaded).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include "server/http_server.h"
#include "tests/common/test_env.h"
#include "server/webui/page.h"

namespace nucleus::server {
namespace {

int free_port() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  close(s);
  return ntohs(addr.sin_port);
}

// A server whose model never loads, serving on a free port until destroyed.
class Serving {
 public:
  Serving(bool webui, const std::string& api_key) {
    options_.port = free_port();
    options_.webui = webui;
    state_.api_key = api_key;
    server_ = std::make_unique<HttpServer>(options_, state_);
    server_->bind();
    thread_ = std::thread([this] { server_->run(); });
    for (int i = 0; i < 100 && !client().Get("/health"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~Serving() {
    server_->stop();
    thread_.join();
  }
  httplib::Client client() const { return httplib::Client("127.0.0.1", options_.port); }

 private:
  HttpOptions options_;
  ServerState state_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(WebUi, ThePageIsTheSourceFileByteForByte) {
  const std::string source = read_file(nucleus::test::source_dir() + "/server/webui/index.html");
  ASSERT_GT(source.size(), 1000u);
  EXPECT_EQ(std::string(webui_page()), source);
}

TEST(WebUi, ServedAtRootWithoutKeyWhileLoading) {
  Serving serving(/*webui=*/true, "secret");
  httplib::Client client = serving.client();
  for (const char* path : {"/", "/index.html"}) {
    const auto res = client.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path;
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8") << path;
    EXPECT_EQ(res->body, std::string(webui_page())) << path;
  }
  const auto post = client.Post("/", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
}

TEST(WebUi, NoWebUiIsAPlainNotFound) {
  Serving serving(/*webui=*/false, "");
  httplib::Client client = serving.client();
  for (const char* path : {"/", "/index.html"}) {
    const auto res = client.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
    EXPECT_NE(res->body.find("no route for GET"), std::string::npos) << res->body;
  }
}

TEST(WebUi, PropsNeedsTheKeyThenTheModel) {
  Serving serving(/*webui=*/true, "secret");
  httplib::Client client = serving.client();
  const auto anonymous = client.Get("/props");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  const auto keyed = client.Get("/props", httplib::Headers{{"Authorization", "Bearer secret"}});
  ASSERT_TRUE(keyed);
  EXPECT_EQ(keyed->status, 503);  // the model is still loading
}

}  // namespace
}  // namespace nucleus::server
