// The web page served at GET / (server/webui/index.html: chat playground and
// live dashboard), compiled into the binary by server/webui/embed.cmake.
#pragma once

#include <string_view>

namespace nucleus::server {

// The bytes of index.html.
std::string_view webui_page();

}  // namespace nucleus::server
