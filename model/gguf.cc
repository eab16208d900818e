// GGUF parsing. The layout (little-endian, v2 and v3 alike):
//   magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count
//   kv_count x  (string key | u32 value type | value)
//   tensor_count x (string name | u32 n_dims | n_dims x i64 dim | u32 type | u64 offset)
//   padding to `general.alignment` | data section (tensor offsets are relative to it)
// A string is u64 length + bytes; an array is u32 element type + u64 count + items.
//
// Every count and length is checked against the bytes that remain before any
// allocation, so a corrupt size can never make us allocate more than a small
// multiple of the file's size.
#include "model/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cfloat>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <unordered_set>

namespace nucleus {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr int kMaxDims = 4;
constexpr int kMaxArrayNesting = 8;
// Bounds the memory metadata arrays can take (each item is a GgufValue);
// the largest real vocabularies need ~1.5M items.
constexpr uint64_t kMaxMetadataItems = uint64_t{1} << 23;

// Smallest encoded size of one value of a type; bounds array counts.
size_t min_encoded_size(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
      return 2;
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kFloat32:
      return 4;
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
    case GgufValueType::kFloat64:
    case GgufValueType::kString:  // u64 length
      return 8;
    case GgufValueType::kArray:  // u32 type + u64 count
      return 12;
  }
  return 1;
}

bool valid_value_type(uint32_t id) { return id <= static_cast<uint32_t>(GgufValueType::kFloat64); }

// Bounds-checked little-endian cursor over the file's bytes.
class Reader {
 public:
  Reader(const GgufFile& file, const uint8_t* data, size_t size) : file_(file), data_(data), size_(size) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  void need(size_t n, const char* what) const {
    if (remaining() < n) {
      file_.fail("truncated file: " + std::string(what) + " at offset " + std::to_string(pos_) + " needs " +
                 std::to_string(n) + " bytes, only " + std::to_string(remaining()) + " remain");
    }
  }

  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  std::string read_string(const char* what) {
    const size_t at = pos_;
    const uint64_t length = read<uint64_t>(what);
    if (length > remaining()) {
      file_.fail(std::string(what) + " at offset " + std::to_string(at) + " has length " + std::to_string(length) +
                 ", more than the " + std::to_string(remaining()) + " bytes left in the file");
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(length));
    pos_ += static_cast<size_t>(length);
    return s;
  }

 private:
  const GgufFile& file_;
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

class MetadataParser {
 public:
  MetadataParser(const GgufFile& file, Reader& reader) : file_(file), r_(reader) {}

  GgufValue read_value(GgufValueType type, const std::string& key, int depth) {
    GgufValue v;
    v.type = type;
    switch (type) {
      case GgufValueType::kUint8:
        v.u64 = r_.read<uint8_t>("uint8 value");
        break;
      case GgufValueType::kInt8:
        v.i64 = r_.read<int8_t>("int8 value");
        break;
      case GgufValueType::kUint16:
        v.u64 = r_.read<uint16_t>("uint16 value");
        break;
      case GgufValueType::kInt16:
        v.i64 = r_.read<int16_t>("int16 value");
        break;
      case GgufValueType::kUint32:
        v.u64 = r_.read<uint32_t>("uint32 value");
        break;
      case GgufValueType::kInt32:
        v.i64 = r_.read<int32_t>("int32 value");
        break;
      case GgufValueType::kUint64:
        v.u64 = r_.read<uint64_t>("uint64 value");
        break;
      case GgufValueType::kInt64:
        v.i64 = r_.read<int64_t>("int64 value");
        break;
      case GgufValueType::kFloat32:
        v.f64 = r_.read<float>("float32 value");
        break;
      case GgufValueType::kFloat64:
        v.f64 = r_.read<double>("float64 value");
        break;
      case GgufValueType::kBool: {
        const uint8_t b = r_.read<uint8_t>("bool value");
        if (b > 1) file_.fail("metadata key '" + key + "': bool value " + std::to_string(b) + " is neither 0 nor 1");
        v.u64 = b;
        break;
      }
      case GgufValueType::kString:
        v.str = r_.read_string("string value");
        break;
      case GgufValueType::kArray:
        read_array(v, key, depth);
        break;
    }
    return v;
  }

 private:
  void read_array(GgufValue& v, const std::string& key, int depth) {
    if (depth >= kMaxArrayNesting) {
      file_.fail("metadata key '" + key + "': arrays nested more than " + std::to_string(kMaxArrayNesting) + " deep");
    }
    const uint32_t element = r_.read<uint32_t>("array element type");
    if (!valid_value_type(element)) {
      file_.fail("metadata key '" + key + "': unknown array element type " + std::to_string(element));
    }
    v.element_type = static_cast<GgufValueType>(element);
    const size_t at = r_.pos();
    const uint64_t count = r_.read<uint64_t>("array count");
    const size_t min_size = min_encoded_size(v.element_type);
    if (count > r_.remaining() / min_size) {
      file_.fail("metadata key '" + key + "': array count " + std::to_string(count) + " at offset " +
                 std::to_string(at) + " needs more than the " + std::to_string(r_.remaining()) +
                 " bytes left in the file");
    }
    total_items_ += count;
    if (total_items_ > kMaxMetadataItems) {
      file_.fail("metadata key '" + key + "': more than " + std::to_string(kMaxMetadataItems) +
                 " metadata array items in total");
    }
    v.items.reserve(static_cast<size_t>(count));
    for (uint64_t i = 0; i < count; ++i) v.items.push_back(read_value(v.element_type, key, depth + 1));
  }

  const GgufFile& file_;
  Reader& r_;
  uint64_t total_items_ = 0;
};

std::string errno_message() { return std::strerror(errno); }

}  // namespace

// ---- GgufValue ----------------------------------------------------------------

std::string_view gguf_value_type_name(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
      return "uint8";
    case GgufValueType::kInt8:
      return "int8";
    case GgufValueType::kUint16:
      return "uint16";
    case GgufValueType::kInt16:
      return "int16";
    case GgufValueType::kUint32:
      return "uint32";
    case GgufValueType::kInt32:
      return "int32";
    case GgufValueType::kFloat32:
      return "float32";
    case GgufValueType::kBool:
      return "bool";
    case GgufValueType::kString:
      return "string";
    case GgufValueType::kArray:
      return "array";
    case GgufValueType::kUint64:
      return "uint64";
    case GgufValueType::kInt64:
      return "int64";
    case GgufValueType::kFloat64:
      return "float64";
  }
  return "unknown";
}

namespace {
bool is_integer_type(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
      return true;
    default:
      return false;
  }
}
}  // namespace

bool GgufValue::is_integer() const { return is_integer_type(type); }

bool GgufValue::is_float() const { return type == GgufValueType::kFloat32 || type == GgufValueType::kFloat64; }

namespace {
bool is_signed_type(GgufValueType t) {
  return t == GgufValueType::kInt8 || t == GgufValueType::kInt16 || t == GgufValueType::kInt32 ||
         t == GgufValueType::kInt64;
}
}  // namespace

bool GgufValue::to_i64(int64_t* out) const {
  if (!is_integer()) return false;
  if (is_signed_type(type)) {
    *out = i64;
    return true;
  }
  if (u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
  *out = static_cast<int64_t>(u64);
  return true;
}

bool GgufValue::to_u64(uint64_t* out) const {
  if (!is_integer()) return false;
  if (is_signed_type(type)) {
    if (i64 < 0) return false;
    *out = static_cast<uint64_t>(i64);
    return true;
  }
  *out = u64;
  return true;
}

std::string GgufValue::to_display_string(size_t max_items) const {
  constexpr size_t kMaxChars = 60;
  if (is_signed_type(type)) return std::to_string(i64);
  if (is_integer()) return std::to_string(u64);
  if (is_bool()) return u64 ? "true" : "false";
  if (is_float()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", f64);
    return buf;
  }
  if (is_string()) {
    std::string out = "\"";
    for (size_t i = 0; i < str.size() && i < kMaxChars; ++i) {
      const char c = str[i];
      if (c == '\n') {
        out += "\\n";
      } else if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
        out += buf;
      } else {
        out += c;
      }
    }
    out += '"';
    if (str.size() > kMaxChars) out += "... (" + std::to_string(str.size()) + " bytes)";
    return out;
  }
  std::string out = "[";
  for (size_t i = 0; i < items.size() && i < max_items; ++i) {
    if (i) out += ", ";
    out += items[i].to_display_string(max_items);
  }
  if (items.size() > max_items) out += ", ...";
  out += "]";
  if (items.size() > max_items) out += " (" + std::to_string(items.size()) + " items)";
  return out;
}

int64_t GgufTensorInfo::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // the parser rejected shapes whose product overflows
  return n;
}

// ---- GgufFile -------------------------------------------------------------------

struct GgufFile::Storage {
  const uint8_t* data = nullptr;
  size_t size = 0;
  void* map = nullptr;  // mmap'ed region (open), or null (from_memory)
  size_t map_size = 0;
  std::vector<uint8_t> bytes;  // from_memory

  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() {
    if (map) munmap(map, map_size);
  }
};

GgufFile::GgufFile() = default;
GgufFile::GgufFile(GgufFile&&) noexcept = default;
GgufFile& GgufFile::operator=(GgufFile&&) noexcept = default;
GgufFile::~GgufFile() = default;

size_t GgufFile::file_size() const { return storage_ ? storage_->size : 0; }

void GgufFile::fail(const std::string& what) const { throw GgufError(path_ + ": " + what); }

GgufFile GgufFile::open(const std::string& path) {
  GgufFile file;
  file.path_ = path;
  file.storage_ = std::make_unique<Storage>();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) file.fail("cannot open: " + errno_message());
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const std::string message = errno_message();
    ::close(fd);
    file.fail("cannot stat: " + message);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    file.fail(S_ISDIR(st.st_mode) ? "is a directory, not a GGUF file" : "is not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size > 0) {
    void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      const std::string message = errno_message();
      ::close(fd);
      file.fail("cannot mmap " + std::to_string(size) + " bytes: " + message);
    }
    file.storage_->map = map;
    file.storage_->map_size = size;
    file.storage_->data = static_cast<const uint8_t*>(map);
    file.storage_->size = size;
  }
  ::close(fd);  // the mapping stays valid
  file.parse();
  return file;
}

GgufFile GgufFile::from_memory(std::string name, std::vector<uint8_t> bytes) {
  GgufFile file;
  file.path_ = std::move(name);
  file.storage_ = std::make_unique<Storage>();
  file.storage_->bytes = std::move(bytes);
  file.storage_->data = file.storage_->bytes.data();
  file.storage_->size = file.storage_->bytes.size();
  file.parse();
  return file;
}

void GgufFile::parse() {
  const uint8_t* base = storage_->data;
  const size_t size = storage_->size;
  if (size == 0) fail("file is empty, not a GGUF file");
  Reader r(*this, base, size);

  // Header.
  if (size < 4) fail("truncated header: " + std::to_string(size) + " bytes, not a GGUF file");
  const uint32_t magic = r.read<uint32_t>("magic");
  if (magic != kMagic) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "bad magic 0x%08" PRIx32 " (expected \"GGUF\"), not a GGUF file", magic);
    fail(buf);
  }
  version_ = r.read<uint32_t>("header (version)");
  if (version_ != 2 && version_ != 3) {
    if ((version_ & 0xffffu) == 0 && (version_ >> 24) != 0) {
      char buf[96];
      std::snprintf(buf, sizeof buf,
                    "GGUF version field 0x%08" PRIx32 " looks big-endian; only little-endian files are supported",
                    version_);
      fail(buf);
    }
    fail("unsupported GGUF version " + std::to_string(version_) + " (supported: 2, 3)");
  }
  const uint64_t tensor_count = r.read<uint64_t>("header (tensor count)");
  const uint64_t kv_count = r.read<uint64_t>("header (metadata count)");
  // Smallest encodings: a key/value is 8 (key length) + 4 (type) + 1 bytes,
  // a tensor info 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset) bytes.
  if (kv_count > r.remaining() / 13) {
    fail("metadata count " + std::to_string(kv_count) + " is impossible for the " + std::to_string(r.remaining()) +
         " bytes left in the file (truncated or corrupt)");
  }
  if (tensor_count > r.remaining() / 24) {
    fail("tensor count " + std::to_string(tensor_count) + " is impossible for the " + std::to_string(r.remaining()) +
         " bytes left in the file (truncated or corrupt)");
  }

  // Metadata.
  MetadataParser values(*this, r);
  std::unordered_set<std::string> keys;
  metadata_.reserve(static_cast<size_t>(kv_count));
  for (uint64_t i = 0; i < kv_count; ++i) {
    std::string key = r.read_string("metadata key");
    const uint32_t type = r.read<uint32_t>("metadata value type");
    if (!valid_value_type(type)) fail("metadata key '" + key + "' has unknown value type " + std::to_string(type));
    if (!keys.insert(key).second) fail("duplicate metadata key '" + key + "'");
    GgufValue value = values.read_value(static_cast<GgufValueType>(type), key, 0);
    metadata_.emplace_back(std::move(key), std::move(value));
  }

  alignment_ = 32;
  if (const GgufValue* a = find("general.alignment")) {
    uint64_t align = 0;
    if (!a->to_u64(&align)) {
      fail("general.alignment must be an unsigned integer, got " + std::string(gguf_value_type_name(a->type)) + " " +
           a->to_display_string());
    }
    if (align == 0 || (align & (align - 1)) != 0 || align > (uint64_t{1} << 30)) {
      fail("general.alignment " + std::to_string(align) + " is not a power of two in [1, 2^30]");
    }
    alignment_ = static_cast<size_t>(align);
  }

  // Tensor infos.
  tensors_.reserve(static_cast<size_t>(tensor_count));
  for (uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensorInfo t;
    t.name = r.read_string("tensor name");
    const std::string where = "tensor '" + t.name + "'";
    if (t.name.empty()) fail("tensor #" + std::to_string(i) + " has an empty name");
    if (tensor_index_.count(t.name)) fail("duplicate tensor name '" + t.name + "'");
    const uint32_t n_dims = r.read<uint32_t>("tensor n_dims");
    if (n_dims > kMaxDims) {
      fail(where + ": n_dims " + std::to_string(n_dims) + " is more than " + std::to_string(kMaxDims));
    }
    int64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const int64_t dim = r.read<int64_t>("tensor dimension");
      if (dim <= 0)
        fail(where + ": dimension " + std::to_string(d) + " is " + std::to_string(dim) + ", must be positive");
      if (elements > std::numeric_limits<int64_t>::max() / dim) fail(where + ": element count overflows int64");
      elements *= dim;
      t.shape.push_back(dim);
    }
    const uint32_t type_id = r.read<uint32_t>("tensor type");
    const auto traits = ggml_type_traits(type_id);
    if (!traits) fail(where + ": unknown tensor type id " + std::to_string(type_id));
    if (!traits->supported) fail(where + ": unsupported tensor type " + std::string(traits->name));
    t.type = static_cast<GgmlType>(type_id);
    const int64_t row = t.shape.empty() ? 1 : t.shape[0];
    if (row % traits->block_size != 0) {
      fail(where + ": row of " + std::to_string(row) + " elements is not a multiple of the " +
           std::string(traits->name) + " block size " + std::to_string(traits->block_size));
    }
    // nbytes = blocks * type_size, both bounded by int64 elements; check the product.
    const uint64_t blocks = static_cast<uint64_t>(elements / traits->block_size);
    if (blocks > std::numeric_limits<uint64_t>::max() / traits->type_size) fail(where + ": byte size overflows");
    const uint64_t nbytes = blocks * traits->type_size;
    t.offset = r.read<uint64_t>("tensor data offset");
    if (t.offset % alignment_ != 0) {
      fail(where + ": data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
           std::to_string(alignment_));
    }
    if (nbytes > size) {
      fail(where + ": needs " + std::to_string(nbytes) + " bytes of data, more than the whole file (" +
           std::to_string(size) + " bytes)");
    }
    t.nbytes = static_cast<size_t>(nbytes);
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  // Data section: starts at the next multiple of the alignment.
  const size_t end_of_infos = r.pos();
  data_offset_ = (end_of_infos + alignment_ - 1) / alignment_ * alignment_;
  for (GgufTensorInfo& t : tensors_) {
    // data_offset_ <= size + alignment and offset, nbytes <= 2^64: compare without overflow.
    const bool fits =
        data_offset_ <= size && t.offset <= size - data_offset_ && t.nbytes <= size - data_offset_ - t.offset;
    if (!fits) {
      fail("tensor '" + t.name + "' (" + std::to_string(t.nbytes) + " bytes at data offset " +
           std::to_string(t.offset) + ") extends past the end of the file (" + std::to_string(size) +
           " bytes, data section at " + std::to_string(data_offset_) + ")");
    }
    t.data = base + data_offset_ + t.offset;
  }
}

// ---- Lookups and typed getters --------------------------------------------------

const GgufValue* GgufFile::find(std::string_view key) const {
  for (const auto& [k, v] : metadata_) {
    if (k == key) return &v;
  }
  return nullptr;
}

const GgufValue& GgufFile::require(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail("missing metadata key '" + std::string(key) + "'");
  return *v;
}

namespace {
std::string describe(std::string_view key, const GgufValue& v) {
  std::string type(gguf_value_type_name(v.type));
  if (v.is_array()) type += " of " + std::string(gguf_value_type_name(v.element_type));
  return "metadata key '" + std::string(key) + "' is " + type;
}
}  // namespace

std::string GgufFile::get_string(std::string_view key) const {
  const GgufValue& v = require(key);
  if (!v.is_string()) fail(describe(key, v) + ", expected string");
  return v.str;
}

std::string GgufFile::get_string(std::string_view key, std::string fallback) const {
  return has(key) ? get_string(key) : fallback;
}

uint32_t GgufFile::get_u32(std::string_view key) const {
  const GgufValue& v = require(key);
  if (!v.is_integer()) fail(describe(key, v) + ", expected an integer");
  uint64_t u = 0;
  if (!v.to_u64(&u) || u > std::numeric_limits<uint32_t>::max()) {
    fail("metadata key '" + std::string(key) + "' = " + v.to_display_string() + " is out of range for uint32");
  }
  return static_cast<uint32_t>(u);
}

uint32_t GgufFile::get_u32(std::string_view key, uint32_t fallback) const { return has(key) ? get_u32(key) : fallback; }

int64_t GgufFile::get_i64(std::string_view key) const {
  const GgufValue& v = require(key);
  if (!v.is_integer()) fail(describe(key, v) + ", expected an integer");
  int64_t i = 0;
  if (!v.to_i64(&i)) {
    fail("metadata key '" + std::string(key) + "' = " + v.to_display_string() + " is out of range for int64");
  }
  return i;
}

namespace {
// A double as float; false when a finite value is beyond float's range.
bool narrow_to_float(double d, float* out) {
  if (std::isfinite(d) && std::fabs(d) > static_cast<double>(FLT_MAX)) return false;
  *out = static_cast<float>(d);
  return true;
}
}  // namespace

float GgufFile::get_f32(std::string_view key) const {
  const GgufValue& v = require(key);
  if (!v.is_float()) fail(describe(key, v) + ", expected float32 or float64");
  float f = 0;
  if (!narrow_to_float(v.f64, &f)) fail("metadata key '" + std::string(key) + "' is out of range for float32");
  return f;
}

float GgufFile::get_f32(std::string_view key, float fallback) const { return has(key) ? get_f32(key) : fallback; }

bool GgufFile::get_bool(std::string_view key, bool fallback) const {
  const GgufValue* v = find(key);
  if (!v) return fallback;
  if (!v->is_bool()) fail(describe(key, *v) + ", expected bool");
  return v->u64 != 0;
}

size_t GgufFile::get_array_size(std::string_view key) const {
  const GgufValue& v = require(key);
  if (!v.is_array()) fail(describe(key, v) + ", expected an array");
  return v.items.size();
}

std::vector<std::string> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue& v = require(key);
  if (!v.is_array() || v.element_type != GgufValueType::kString) fail(describe(key, v) + ", expected array of string");
  std::vector<std::string> out;
  out.reserve(v.items.size());
  for (const GgufValue& item : v.items) out.push_back(item.str);
  return out;
}

std::vector<float> GgufFile::get_f32_array(std::string_view key) const {
  const GgufValue& v = require(key);
  if (!v.is_array() || (v.element_type != GgufValueType::kFloat32 && v.element_type != GgufValueType::kFloat64)) {
    fail(describe(key, v) + ", expected array of float32 or float64");
  }
  std::vector<float> out(v.items.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (!narrow_to_float(v.items[i].f64, &out[i])) {
      fail("metadata key '" + std::string(key) + "' item " + std::to_string(i) + " is out of range for float32");
    }
  }
  return out;
}

std::vector<int32_t> GgufFile::get_i32_array(std::string_view key) const {
  const GgufValue& v = require(key);
  if (!v.is_array() || !is_integer_type(v.element_type)) fail(describe(key, v) + ", expected array of integers");
  std::vector<int32_t> out(v.items.size());
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t x = 0;
    if (!v.items[i].to_i64(&x) || x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max()) {
      fail("metadata key '" + std::string(key) + "' item " + std::to_string(i) + " = " +
           v.items[i].to_display_string() + " is out of range for int32");
    }
    out[i] = static_cast<int32_t>(x);
  }
  return out;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufFile::tensor(std::string_view name) const {
  const GgufTensorInfo* t = find_tensor(name);
  if (!t) fail("missing tensor '" + std::string(name) + "'");
  return *t;
}

}  // namespace nucleus
