#include "kernels/kv_dtype.h"

namespace nucleus::kernels {

const char* kv_dtype_name(KvDtype dtype) {
  switch (dtype) {
    case KvDtype::kF16: return "f16";
    case KvDtype::kQ8_0: return "q8_0";
    case KvDtype::kF32: break;
  }
  return "f32";
}

std::optional<KvDtype> kv_dtype_from_name(const std::string& name) {
  for (KvDtype dtype : {KvDtype::kF32, KvDtype::kF16, KvDtype::kQ8_0}) {
    if (name == kv_dtype_name(dtype)) return dtype;
  }
  return std::nullopt;
}

}  // namespace nucleus::kernels
