// system_fingerprint: the model identity follows the file's bytes (head, middle
// and tail of a multi-MiB file), the fingerprint changes with each of its
// parts, and the version is CMake's project version.
#include <gtest/gtest.h>

#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#endif
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "server/system_fingerprint.h"
#include "tests/common/test_env.h"

namespace nucleus::server {
namespace {

namespace fs = std::filesystem;

// A directory of its own under the temp directory, removed with what was
// written in it (the test writes about 100 MB).
class ScratchDir {
 public:
  ScratchDir() : path_(fs::temp_directory_path() / ("nucleus_fp_" + std::to_string(::getpid()))) {
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string write_file(const std::string& name, const std::vector<char>& bytes) const {
    const fs::path path = path_ / name;
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
    return path.string();
  }

 private:
  fs::path path_;
};

std::vector<char> pattern(size_t n) {
  std::vector<char> v(n);
  uint32_t x = 12345;
  for (char& c : v) c = static_cast<char>((x = x * 1103515245u + 12345u) >> 24);
  return v;
}

TEST(SystemFingerprintTest, ModelIdentityFollowsTheSampledBytes) {
  const ScratchDir dir;
  const std::vector<char> base = pattern(20u << 20);  // 20 MiB: head, middle chunks and tail all apply
  const std::string a = dir.write_file("a", base), same = dir.write_file("same", base);
  const std::string id = model_file_identity(a);
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id, model_file_identity(same));
  // One byte changed in the head (metadata), at a sampled middle chunk, in the tail; one byte more.
  const size_t middle = (8u << 20) + ((20u << 20) - (9u << 20)) * 5 / 64 + 10;
  for (size_t at : {size_t{100}, middle, base.size() - 5}) {
    std::vector<char> changed = base;
    changed[at] ^= 1;
    EXPECT_NE(model_file_identity(dir.write_file("changed", changed)), id) << "byte " << at;
  }
  std::vector<char> longer = base;
  longer.push_back(0);
  EXPECT_NE(model_file_identity(dir.write_file("longer", longer)), id);
  // Small files are hashed whole.
  EXPECT_NE(model_file_identity(dir.write_file("small1", {'a', 'b'})),
            model_file_identity(dir.write_file("small2", {'a', 'c'})));
}

TEST(SystemFingerprintTest, UnreadableModelFileThrows) {
  EXPECT_THROW(model_file_identity("/nonexistent/model.gguf"), std::runtime_error);
}

TEST(SystemFingerprintTest, ChangesWithEachPart) {
  const SystemFingerprint f = make_system_fingerprint("0123456789abcdef", "1.2.3", "cpu-exact-v1");
  ASSERT_EQ(f.value.size(), 15u) << f.value;
  EXPECT_EQ(f.value.substr(0, 3), "fp_") << f.value;
  EXPECT_EQ(f.value.find_first_not_of("0123456789abcdef", 3), std::string::npos) << f.value;
  EXPECT_EQ(f.value, make_system_fingerprint("0123456789abcdef", "1.2.3", "cpu-exact-v1").value);
  EXPECT_NE(f.value, make_system_fingerprint("0123456789abcdee", "1.2.3", "cpu-exact-v1").value);
  EXPECT_NE(f.value, make_system_fingerprint("0123456789abcdef", "1.2.4", "cpu-exact-v1").value);
  EXPECT_NE(f.value, make_system_fingerprint("0123456789abcdef", "1.2.3", "cuda-v1").value);
  EXPECT_NE(make_system_fingerprint("ab", "c", "x").value, make_system_fingerprint("a", "bc", "x").value);
  EXPECT_EQ(f.model_identity, "0123456789abcdef");
  EXPECT_EQ(f.version, "1.2.3");
  EXPECT_EQ(f.determinism_class, "cpu-exact-v1");
}

TEST(SystemFingerprintTest, CpuAndCudaAreDifferentClasses) {
  EXPECT_EQ(determinism_class(kernels::Device::kCpu), "cpu-exact-v1+" + libm_variant());
  EXPECT_EQ(determinism_class(kernels::Device::kCuda), "cuda-v1");
}

// The CPU class names the C library whose sin/cos/pow/tanh/log the forward pass
// calls, and the variant glibc picks for this CPU.
TEST(SystemFingerprintTest, CpuClassNamesTheMathLibrary) {
  const std::string libm = libm_variant();
#if defined(__GLIBC__) && defined(__x86_64__)
  ASSERT_EQ(libm.rfind("glibc", 0), 0u) << libm;
  const std::string expected_variant =
      __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2") ? "-fma"
      : __builtin_cpu_supports("fma4")                                 ? "-fma4"
                                                                       : "-sse2";
  ASSERT_GE(libm.size(), expected_variant.size());
  EXPECT_EQ(libm.substr(libm.size() - expected_variant.size()), expected_variant) << libm;
  EXPECT_NE(libm.find(gnu_get_libc_version()), std::string::npos) << libm;
#endif
}

// The version comes from CMake's project() line, not a string typed twice.
TEST(SystemFingerprintTest, VersionIsTheProjectVersion) {
  std::ifstream in(test::source_dir() + "/CMakeLists.txt");
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  const std::string key = "project(nucleus VERSION ";
  const size_t at = s.find(key);
  ASSERT_NE(at, std::string::npos) << "no '" << key << "' in CMakeLists.txt";
  const size_t begin = at + key.size();
  const size_t end = s.find_first_not_of("0123456789.", begin);
  ASSERT_GT(end, begin);
  EXPECT_EQ(std::string(build_version()), s.substr(begin, end - begin));
}

}  // namespace
}  // namespace nucleus::server
