// The two paths CMake passes in (tests/CMakeLists.txt sets them on this file only).
#include "tests/common/test_env.h"

namespace nucleus::test {

std::string data_dir() { return NUCLEUS_TEST_DATA_DIR; }
std::string source_dir() { return NUCLEUS_SOURCE_DIR; }

}  // namespace nucleus::test
