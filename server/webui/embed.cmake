# Turns the web page into C++ at build time (no xxd, no Node): reads INPUT as
# hex and writes OUTPUT, a .cc whose webui_page() returns the file's bytes.
# Run by server/CMakeLists.txt as `cmake -DINPUT=... -DOUTPUT=... -P embed.cmake`.
if(NOT INPUT OR NOT OUTPUT)
  message(FATAL_ERROR "embed.cmake: pass -DINPUT=<file> -DOUTPUT=<file.cc>")
endif()
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
# 32 bytes a line, each as 0xNN, so the generated file stays readable by editors and compilers alike.
string(REGEX REPLACE "([0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])" "\\1\n" hex "${hex}")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}.tmp"
"// Generated from ${INPUT} by server/webui/embed.cmake; do not edit.
#include \"server/webui/page.h\"

namespace nucleus::server {
namespace {
// One byte more than the page (a 0), so an empty page still compiles.
const unsigned char kPage[] = {
${bytes}
0};
}  // namespace

std::string_view webui_page() { return {reinterpret_cast<const char*>(kPage), ${size}}; }

}  // namespace nucleus::server
")
# Only a changed page touches OUTPUT, so an unchanged one recompiles nothing.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
