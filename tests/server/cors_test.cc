// CorsPolicy (server/cors.h): parsing --allowed-origins and the
// Access-Control-Allow-Origin answer per request origin.
#include "server/cors.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace nucleus::server {
namespace {

TEST(CorsPolicy, AnyOriginAnswersStar) {
  const CorsPolicy any = CorsPolicy::parse("*");
  EXPECT_TRUE(any.enabled());
  EXPECT_EQ(any.allow_origin("https://ui.example.com"), "*");
  EXPECT_EQ(any.allow_origin(""), "");  // not a cross-origin request: no header
  EXPECT_FALSE(any.varies_by_origin());
}

TEST(CorsPolicy, ListedOriginsAreEchoedOthersGetNothing) {
  const CorsPolicy list = CorsPolicy::parse(" http://localhost:3000 , https://UI.example.com");
  EXPECT_TRUE(list.enabled());
  EXPECT_TRUE(list.varies_by_origin());
  EXPECT_EQ(list.allow_origin("http://localhost:3000"), "http://localhost:3000");
  EXPECT_EQ(list.allow_origin("https://ui.example.com"), "https://ui.example.com");  // host case does not matter
  EXPECT_EQ(list.allow_origin("http://localhost:3001"), "");
  EXPECT_EQ(list.allow_origin("https://evil.example.com"), "");
}

TEST(CorsPolicy, EmptyMeansOffAndBadEntriesAreNamed) {
  EXPECT_FALSE(CorsPolicy::parse("").enabled());
  EXPECT_FALSE(CorsPolicy::parse(" , ").enabled());
  EXPECT_EQ(CorsPolicy::parse("").allow_origin("http://a.b"), "");
  for (const char* bad : {"localhost:3000", "http://a.b/path", "://x", "http://"}) {
    try {
      CorsPolicy::parse(std::string("*,") + bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace nucleus::server
