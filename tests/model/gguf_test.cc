// GgufFile: round trips through the test writer (every value type, nested
// arrays, tensors, alignment), the typed getters, every malformed-file error,
// and the default model opened both mapped and from memory.
#include "model/gguf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "tests/common/gguf_writer.h"
#include "tests/common/test_env.h"

namespace nucleus {
namespace {

using test::GgufWriter;
using ::testing::HasSubstr;

// Expects `fn` to throw a GgufError whose message contains every one of `parts`.
template <typename Fn>
void expect_gguf_error(Fn&& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "expected a GgufError containing '" << *parts.begin() << "'";
  } catch (const GgufError& e) {
    for (const std::string& part : parts) EXPECT_THAT(e.what(), HasSubstr(part));
  }
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// A small valid file: a few keys and three tensors of different types.
GgufWriter small_writer() {
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_u32("llama.block_count", 2);
  w.add_string_array("tokenizer.ggml.tokens", {"a", "b", "c"});
  w.add_f32_tensor("a.weight", {4, 2}, random_floats(8, 1));
  w.add_f16_tensor("b.weight", {8}, random_floats(8, 2));
  w.add_tensor("c.weight", {64, 1}, GgmlType::Q8_0, GgufWriter::quantize_q8_0(random_floats(64, 3)));
  return w;
}

GgufFile parse(std::vector<uint8_t> bytes) { return GgufFile::from_memory("mem.gguf", std::move(bytes)); }

TEST(GgufTest, RoundTripsEveryValueType) {
  GgufWriter w;
  w.add_value("k.u8", GgufWriter::u8(200));
  w.add_value("k.i8", GgufWriter::i8(-100));
  w.add_value("k.u16", GgufWriter::u16(60000));
  w.add_value("k.i16", GgufWriter::i16(-30000));
  w.add_value("k.u32", GgufWriter::u32(4000000000u));
  w.add_value("k.i32", GgufWriter::i32(-2000000000));
  w.add_value("k.u64", GgufWriter::u64(uint64_t{1} << 63));
  w.add_value("k.i64", GgufWriter::i64(std::numeric_limits<int64_t>::min()));
  w.add_value("k.f32", GgufWriter::f32(0.1f));
  w.add_value("k.f64", GgufWriter::f64(0.1));
  w.add_value("k.bool", GgufWriter::boolean(true));
  w.add_value("k.str", GgufWriter::string(std::string("a\0b", 3)));
  w.add_value("k.empty_array", GgufWriter::array_of({}, GgufValueType::kFloat64));
  w.add_value("k.nested", GgufWriter::array_of({GgufWriter::u32_array({1, 2}), GgufWriter::u32_array({3})}));
  const GgufFile f = parse(w.build());

  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  ASSERT_EQ(f.metadata().size(), 14u);
  EXPECT_EQ(f.metadata()[0].first, "k.u8");  // file order is kept
  EXPECT_EQ(f.metadata()[13].first, "k.nested");
  EXPECT_EQ(f.find("k.u8")->u64, 200u);
  EXPECT_EQ(f.find("k.i8")->i64, -100);
  EXPECT_EQ(f.find("k.u16")->u64, 60000u);
  EXPECT_EQ(f.find("k.i16")->i64, -30000);
  EXPECT_EQ(f.get_u32("k.u32"), 4000000000u);
  EXPECT_EQ(f.get_i64("k.i32"), -2000000000);
  EXPECT_EQ(f.find("k.u64")->u64, uint64_t{1} << 63);
  EXPECT_EQ(f.get_i64("k.i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f.get_f32("k.f32"), 0.1f);
  EXPECT_EQ(f.find("k.f64")->f64, 0.1);
  EXPECT_EQ(f.get_f32("k.f64"), 0.1f);
  EXPECT_TRUE(f.get_bool("k.bool", false));
  EXPECT_EQ(f.get_string("k.str"), std::string("a\0b", 3));
  EXPECT_EQ(f.find("k.empty_array")->element_type, GgufValueType::kFloat64);
  EXPECT_TRUE(f.get_f32_array("k.empty_array").empty());
  const GgufValue* nested = f.find("k.nested");
  ASSERT_NE(nested, nullptr);
  EXPECT_EQ(nested->element_type, GgufValueType::kArray);
  ASSERT_EQ(nested->items.size(), 2u);
  EXPECT_EQ(nested->items[0].items[1].u64, 2u);
  EXPECT_EQ(nested->items[1].items[0].u64, 3u);
  EXPECT_EQ(nested->to_display_string(), "[[1, 2], [3]]");
  EXPECT_EQ(f.find("k.absent"), nullptr);
  EXPECT_FALSE(f.has("k.absent"));
}

TEST(GgufTest, ReadsVersion2AndTensorsWithTheirData) {
  for (uint32_t version : {2u, 3u}) {
    GgufWriter w = small_writer();
    w.set_version(version);
    const std::vector<uint8_t> bytes = w.build();
    const GgufFile f = parse(bytes);
    EXPECT_EQ(f.version(), version);
    ASSERT_EQ(f.tensors().size(), 3u);
    const GgufTensorInfo& c = f.tensor("c.weight");
    EXPECT_EQ(c.type, GgmlType::Q8_0);
    EXPECT_EQ(c.shape, (std::vector<int64_t>{64, 1}));
    EXPECT_EQ(c.num_elements(), 64);
    EXPECT_EQ(c.nbytes, 2 * sizeof(BlockQ8_0));
    EXPECT_EQ(f.data_offset(), w.layout().data_section);
    for (size_t i = 0; i < 3; ++i) {
      const GgufTensorInfo& t = f.tensors()[i];
      EXPECT_EQ(t.offset % f.alignment(), 0u) << t.name;
      // The data pointer is where the writer put the bytes, and it points into the file.
      EXPECT_EQ(0, std::memcmp(t.data, bytes.data() + w.layout().tensors[i].data, t.nbytes)) << t.name;
    }
    EXPECT_EQ(f.find_tensor("b.weight")->shape, (std::vector<int64_t>{8}));
    EXPECT_EQ(f.find_tensor("nope"), nullptr);
    expect_gguf_error([&] { f.tensor("nope"); }, {"mem.gguf: ", "missing tensor 'nope'"});
  }
}

TEST(GgufTest, HonoursGeneralAlignment) {
  GgufWriter w = small_writer();
  w.set_alignment(256);
  const GgufFile f = parse(w.build());
  EXPECT_EQ(f.alignment(), 256u);
  EXPECT_EQ(f.data_offset() % 256, 0u);
  for (const GgufTensorInfo& t : f.tensors()) EXPECT_EQ(t.offset % 256, 0u);
  // Dequantizing through the parsed pointer gives what the writer stored.
  std::vector<float> a(8);
  dequantize_row(GgmlType::F32, f.tensor("a.weight").data, a.data(), 8);
  EXPECT_EQ(a, random_floats(8, 1));
}

TEST(GgufTest, MappedFileEqualsInMemoryParse) {
  GgufWriter w = small_writer();
  const std::string path = ::testing::TempDir() + "/gguf_test_" + std::to_string(getpid()) + ".gguf";
  w.write(path);
  {
    GgufFile mapped = GgufFile::open(path);
    const GgufFile memory = parse(w.build());
    EXPECT_EQ(mapped.path(), path);
    EXPECT_EQ(mapped.file_size(), memory.file_size());
    ASSERT_EQ(mapped.tensors().size(), memory.tensors().size());
    for (size_t i = 0; i < mapped.tensors().size(); ++i) {
      EXPECT_EQ(mapped.tensors()[i].name, memory.tensors()[i].name);
      EXPECT_EQ(0, std::memcmp(mapped.tensors()[i].data, memory.tensors()[i].data, memory.tensors()[i].nbytes));
    }
    // Moving keeps the mapping and the data pointers valid.
    const uint8_t* data = mapped.tensor("c.weight").data;
    GgufFile moved = std::move(mapped);
    EXPECT_EQ(moved.tensor("c.weight").data, data);
    EXPECT_EQ(moved.get_string_array("tokenizer.ggml.tokens"), (std::vector<std::string>{"a", "b", "c"}));
  }
  std::filesystem::remove(path);
}

TEST(GgufTest, TypedGettersCheckTypesAndRanges) {
  GgufWriter w;
  w.add_value("neg", GgufWriter::i32(-1));
  w.add_value("big", GgufWriter::u64(uint64_t{1} << 40));
  w.add_value("huge", GgufWriter::u64(std::numeric_limits<uint64_t>::max()));
  w.add_value("small_u8", GgufWriter::u8(7));
  w.add_string("name", "x");
  w.add_value("f", GgufWriter::f32(2.5f));
  w.add_value("f64_big", GgufWriter::f64(1e300));
  w.add_value("flag", GgufWriter::boolean(false));
  w.add_value("u8s", GgufWriter::array_of({GgufWriter::u8(1), GgufWriter::u8(255)}));
  w.add_value("i64s", GgufWriter::array_of({GgufWriter::i64(1), GgufWriter::i64(int64_t{1} << 40)}));
  w.add_value("f64s", GgufWriter::array_of({GgufWriter::f64(0.5), GgufWriter::f64(-2)}));
  const GgufFile f = parse(w.build());

  EXPECT_EQ(f.get_u32("small_u8"), 7u);
  EXPECT_EQ(f.get_i64("big"), int64_t{1} << 40);
  EXPECT_EQ(f.get_u32("absent", 9u), 9u);
  EXPECT_EQ(f.get_f32("absent", 1.5f), 1.5f);
  EXPECT_EQ(f.get_string("absent", "fb"), "fb");
  EXPECT_TRUE(f.get_bool("absent", true));
  EXPECT_FALSE(f.get_bool("flag", true));
  EXPECT_EQ(f.get_i32_array("u8s"), (std::vector<int32_t>{1, 255}));
  EXPECT_EQ(f.get_f32_array("f64s"), (std::vector<float>{0.5f, -2.0f}));
  EXPECT_EQ(f.get_array_size("u8s"), 2u);

  expect_gguf_error([&] { f.get_u32("neg"); }, {"mem.gguf: ", "'neg'", "out of range for uint32"});
  expect_gguf_error([&] { f.get_u32("big"); }, {"'big'", "out of range for uint32"});
  expect_gguf_error([&] { f.get_i64("huge"); }, {"'huge'", "out of range for int64"});
  expect_gguf_error([&] { f.get_u32("name"); }, {"'name' is string", "expected an integer"});
  expect_gguf_error([&] { f.get_string("f"); }, {"'f' is float32", "expected string"});
  expect_gguf_error([&] { f.get_f32("small_u8"); }, {"'small_u8' is uint8"});
  expect_gguf_error([&] { f.get_f32("f64_big"); }, {"'f64_big'", "out of range for float32"});
  expect_gguf_error([&] { f.get_bool("name", false); }, {"'name' is string", "expected bool"});
  expect_gguf_error([&] { f.get_string("absent"); }, {"mem.gguf: missing metadata key 'absent'"});
  expect_gguf_error([&] { f.get_string_array("u8s"); }, {"'u8s' is array of uint8", "expected array of string"});
  expect_gguf_error([&] { f.get_i32_array("i64s"); }, {"'i64s' item 1", "out of range for int32"});
  expect_gguf_error([&] { f.get_f32_array("u8s"); }, {"'u8s' is array of uint8"});
  // A present key of the wrong type is an error even with a fallback.
  expect_gguf_error([&] { f.get_u32("name", 3u); }, {"'name' is string"});
}

// ---- Malformed files: each gives a GgufError naming the file and the problem ----

TEST(GgufErrorTest, MissingFileAndDirectory) {
  expect_gguf_error([] { GgufFile::open("/nonexistent/dir/model.gguf"); },
                    {"/nonexistent/dir/model.gguf: cannot open: No such file or directory"});
  expect_gguf_error([] { GgufFile::open(::testing::TempDir()); }, {"is a directory"});
}

TEST(GgufErrorTest, BadHeader) {
  expect_gguf_error([] { parse({}); }, {"mem.gguf: file is empty"});
  expect_gguf_error([] { parse({'G', 'G'}); }, {"mem.gguf: truncated header"});
  std::vector<uint8_t> bytes = small_writer().build();
  std::vector<uint8_t> bad_magic = bytes;
  bad_magic[0] = 'X';
  expect_gguf_error([&] { parse(bad_magic); }, {"mem.gguf: bad magic", "not a GGUF file"});
  for (uint32_t version : {0u, 1u, 4u}) {
    std::vector<uint8_t> b = bytes;
    GgufWriter::patch<uint32_t>(b, 4, version);
    expect_gguf_error([&] { parse(b); }, {"unsupported GGUF version " + std::to_string(version), "(supported: 2, 3)"});
  }
  std::vector<uint8_t> big_endian = bytes;
  GgufWriter::patch<uint32_t>(big_endian, 4, 0x03000000u);
  expect_gguf_error([&] { parse(big_endian); }, {"big-endian"});
}

TEST(GgufErrorTest, EveryTruncationIsAnError) {
  const std::vector<uint8_t> bytes = small_writer().build();
  for (size_t n = 0; n < bytes.size(); ++n) {
    const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(parse(prefix), GgufError) << "prefix of " << n << " bytes";
  }
  EXPECT_NO_THROW(parse(bytes));
  const std::vector<uint8_t> in_header(bytes.begin(), bytes.begin() + 12);
  expect_gguf_error([&] { parse(in_header); }, {"truncated file", "tensor count", "at offset 8"});
}

TEST(GgufErrorTest, TensorPastEndOfFile) {
  GgufWriter w = small_writer();
  std::vector<uint8_t> bytes = w.build();
  GgufWriter::patch<uint64_t>(bytes, w.layout().tensors[2].offset, 4096);  // aligned, but past the end
  expect_gguf_error([&] { parse(bytes); }, {"mem.gguf: tensor 'c.weight'", "extends past the end of the file"});
  // An offset near 2^64 must not wrap around in the bounds check.
  GgufWriter::patch<uint64_t>(bytes, w.layout().tensors[2].offset, ~uint64_t{31});
  expect_gguf_error([&] { parse(bytes); }, {"tensor 'c.weight'", "extends past the end"});
}

TEST(GgufErrorTest, MisalignedTensorOffset) {
  GgufWriter w = small_writer();
  std::vector<uint8_t> bytes = w.build();
  GgufWriter::patch<uint64_t>(bytes, w.layout().tensors[1].offset, 33);
  expect_gguf_error([&] { parse(bytes); },
                    {"tensor 'b.weight'", "data offset 33 is not a multiple of the alignment 32"});
}

TEST(GgufErrorTest, AbsurdLengthsAndCounts) {
  GgufWriter w = small_writer();
  const std::vector<uint8_t> bytes = w.build();
  const auto& at = w.layout();
  const uint64_t huge = uint64_t{1} << 60;
  {
    std::vector<uint8_t> b = bytes;
    GgufWriter::patch<uint64_t>(b, at.kv[0], huge);  // key length
    expect_gguf_error([&] { parse(b); }, {"metadata key at offset 24 has length 1152921504606846976", "bytes left"});
  }
  {
    std::vector<uint8_t> b = bytes;
    GgufWriter::patch<uint64_t>(b, at.kv_value[0], huge);  // string value length
    expect_gguf_error([&] { parse(b); }, {"string value", "has length 1152921504606846976"});
  }
  {
    std::vector<uint8_t> b = bytes;
    GgufWriter::patch<uint64_t>(b, at.kv_value[2] + 4, huge);  // tokens array count
    expect_gguf_error([&] { parse(b); }, {"'tokenizer.ggml.tokens': array count 1152921504606846976"});
  }
  {
    std::vector<uint8_t> b = bytes;
    GgufWriter::patch<uint64_t>(b, at.tensor_count, huge);
    expect_gguf_error([&] { parse(b); }, {"tensor count 1152921504606846976 is impossible"});
  }
  {
    std::vector<uint8_t> b = bytes;
    GgufWriter::patch<uint64_t>(b, at.kv_count, ~uint64_t{0});
    expect_gguf_error([&] { parse(b); }, {"metadata count 18446744073709551615 is impossible"});
  }
  {
    std::vector<uint8_t> b = bytes;
    GgufWriter::patch<uint64_t>(b, at.tensors[0].info, huge);  // tensor name length
    expect_gguf_error([&] { parse(b); }, {"tensor name at offset", "has length 1152921504606846976"});
  }
}

TEST(GgufErrorTest, BadTensorTypes) {
  GgufWriter w = small_writer();
  const std::vector<uint8_t> bytes = w.build();
  std::vector<uint8_t> b = bytes;
  GgufWriter::patch<uint32_t>(b, w.layout().tensors[0].type, 99);
  expect_gguf_error([&] { parse(b); }, {"mem.gguf: tensor 'a.weight': unknown tensor type id 99"});
  b = bytes;
  GgufWriter::patch<uint32_t>(b, w.layout().tensors[0].type, static_cast<uint32_t>(GgmlType::Q8_K));
  expect_gguf_error([&] { parse(b); }, {"tensor 'a.weight': unsupported tensor type Q8_K"});
}

TEST(GgufErrorTest, DuplicateNamesAndKeys) {
  GgufWriter w = small_writer();
  w.add_f32_tensor("a.weight", {2}, {1, 2});
  expect_gguf_error([&] { parse(w.build()); }, {"duplicate tensor name 'a.weight'"});
  GgufWriter k = small_writer();
  k.add_u32("llama.block_count", 3);
  expect_gguf_error([&] { parse(k.build()); }, {"duplicate metadata key 'llama.block_count'"});
}

TEST(GgufErrorTest, BadShapes) {
  GgufWriter w = small_writer();
  const std::vector<uint8_t> bytes = w.build();
  const auto& t0 = w.layout().tensors[0];  // a.weight {4, 2} F32
  std::vector<uint8_t> b = bytes;
  GgufWriter::patch<uint32_t>(b, t0.n_dims, 5);
  expect_gguf_error([&] { parse(b); }, {"tensor 'a.weight': n_dims 5 is more than 4"});
  for (int64_t dim : {int64_t{0}, int64_t{-3}}) {
    b = bytes;
    GgufWriter::patch<int64_t>(b, t0.dims + 8, dim);
    expect_gguf_error([&] { parse(b); },
                      {"tensor 'a.weight': dimension 1 is " + std::to_string(dim) + ", must be positive"});
  }
  GgufWriter big;
  big.add_tensor("x", {int64_t{1} << 40, int64_t{1} << 40}, GgmlType::F32, {});
  expect_gguf_error([&] { parse(big.build()); }, {"tensor 'x': element count overflows int64"});
  GgufWriter overflow_bytes;  // 2^62 F32 elements: the element count fits, the byte size (2^64) does not
  overflow_bytes.add_tensor("x", {int64_t{1} << 31, int64_t{1} << 31}, GgmlType::F32, {});
  expect_gguf_error([&] { parse(overflow_bytes.build()); }, {"tensor 'x': byte size overflows"});
  GgufWriter huge_bytes;  // 2^61 F32 elements = 2^63 bytes
  huge_bytes.add_tensor("x", {int64_t{1} << 30, int64_t{1} << 31}, GgmlType::F32, {});
  expect_gguf_error([&] { parse(huge_bytes.build()); }, {"tensor 'x'", "more than the whole file"});
  GgufWriter row;
  row.add_tensor("q", {33, 1}, GgmlType::Q8_0, std::vector<uint8_t>(34 * 2));
  expect_gguf_error([&] { parse(row.build()); },
                    {"tensor 'q': row of 33 elements is not a multiple of the Q8_0 block size 32"});
}

TEST(GgufErrorTest, BadValues) {
  GgufWriter w;
  w.add_value("flag", GgufWriter::boolean(true));
  w.add_value("x", GgufWriter::u32(1));
  std::vector<uint8_t> bytes = w.build();
  std::vector<uint8_t> b = bytes;
  b[w.layout().kv_value[0]] = 2;
  expect_gguf_error([&] { parse(b); }, {"metadata key 'flag': bool value 2 is neither 0 nor 1"});
  b = bytes;
  GgufWriter::patch<uint32_t>(b, w.layout().kv_type[1], 13);
  expect_gguf_error([&] { parse(b); }, {"metadata key 'x' has unknown value type 13"});

  GgufValue deep = GgufWriter::u32_array({1});
  for (int i = 0; i < 10; ++i) deep = GgufWriter::array_of({deep});
  GgufWriter d;
  d.add_value("deep", deep);
  expect_gguf_error([&] { parse(d.build()); }, {"metadata key 'deep': arrays nested more than 8 deep"});

  for (uint32_t alignment : {0u, 3u}) {
    GgufWriter a = small_writer();
    a.add_u32("general.alignment", alignment);
    expect_gguf_error([&] { parse(a.build()); },
                      {"general.alignment " + std::to_string(alignment) + " is not a power of two"});
  }
}

// all_types.gguf was written by the gguf Python package's GGUFWriter
// (scripts/golden/gen_fuzz_corpus.py); the expected values are the script's.
TEST(GgufTest, ReadsFileWrittenByGgufPython) {
  const GgufFile f = GgufFile::open(test::source_dir() + "/tests/fuzz/corpus/gguf/all_types.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.find("t.u8")->u64, 200u);
  EXPECT_EQ(f.find("t.i8")->i64, -100);
  EXPECT_EQ(f.find("t.u16")->u64, 60000u);
  EXPECT_EQ(f.find("t.i16")->i64, -30000);
  EXPECT_EQ(f.get_u32("t.u32"), 4000000000u);
  EXPECT_EQ(f.get_i64("t.i32"), -2000000000);
  EXPECT_EQ(f.find("t.u64")->u64, uint64_t{1} << 63);
  EXPECT_EQ(f.get_i64("t.i64"), -(int64_t{1} << 62));
  EXPECT_EQ(f.get_f32("t.f32"), 0.1f);
  EXPECT_EQ(f.find("t.f64")->f64, 0.1);
  EXPECT_TRUE(f.get_bool("t.bool", false));
  EXPECT_EQ(f.get_string("t.str"), "h\xc3\xa9llo");
  EXPECT_EQ(f.find("t.nested")->to_display_string(), "[[1, 2], [3]]");
  EXPECT_EQ(f.get_f32_array("t.floats"), (std::vector<float>{0.5f, -1.5f}));
  const char* names[] = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q6_K"};
  for (const char* name : names) {
    const GgufTensorInfo& t = f.tensor(std::string("x.") + name);
    EXPECT_EQ(ggml_type_name(t.type), name);
    EXPECT_EQ(t.num_elements(), t.type == GgmlType::Q4_K || t.type == GgmlType::Q6_K ? 256 : 128) << name;
  }
  // The F32 tensor's second row is the script's float32 data; BF16/F16/quantized
  // copies of other random draws are covered bitwise by dequantize_test.
  std::vector<float> row(64);
  dequantize_row(GgmlType::F32, f.tensor("x.F32").data, row.data(), 64);
  for (float x : row) EXPECT_TRUE(std::isfinite(x) && std::fabs(x) < 1.0f);
}

// ---- The default model ----

TEST(GgufModelTest, DefaultModelOpensMappedAndFromMemoryAlike) {
  NUCLEUS_REQUIRE_DEFAULT_MODEL(path);
  const GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f.get_array_size("tokenizer.ggml.tokens"), 49152u);
  // 30 layers x 9 tensors + token_embd + output_norm (output.weight is tied).
  EXPECT_EQ(f.tensors().size(), 30u * 9 + 2);
  const GgufTensorInfo& embd = f.tensor("token_embd.weight");
  EXPECT_EQ(embd.shape, (std::vector<int64_t>{576, 49152}));
  size_t total = 0;
  for (const GgufTensorInfo& t : f.tensors()) {
    EXPECT_GE(t.data, f.tensors()[0].data);
    EXPECT_EQ(t.nbytes, ggml_row_size(t.type, t.shape[0]) * static_cast<size_t>(t.num_elements() / t.shape[0]));
    total += t.nbytes;
  }
  EXPECT_LE(f.data_offset() + total, f.file_size());

  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const GgufFile m = GgufFile::from_memory(path, std::move(bytes));
  ASSERT_EQ(m.metadata().size(), f.metadata().size());
  for (size_t i = 0; i < m.metadata().size(); ++i) {
    EXPECT_EQ(m.metadata()[i].first, f.metadata()[i].first);
    EXPECT_EQ(m.metadata()[i].second.to_display_string(), f.metadata()[i].second.to_display_string());
  }
  std::vector<float> row_mapped(576), row_memory(576);
  dequantize_row(embd.type, embd.data + 7 * embd.nbytes / 49152, row_mapped.data(), 576);
  const GgufTensorInfo& embd_m = m.tensor("token_embd.weight");
  dequantize_row(embd_m.type, embd_m.data + 7 * embd_m.nbytes / 49152, row_memory.data(), 576);
  EXPECT_EQ(row_mapped, row_memory);
}

}  // namespace
}  // namespace nucleus
