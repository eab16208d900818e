#include "kernels/cuda_arch.h"

#include <stdexcept>

namespace nucleus::kernels {

namespace {

int parse_number(std::string_view entry, std::string_view digits) {
  if (digits.empty() || digits.size() > 4) {
    throw std::invalid_argument("CUDA architecture '" + std::string(entry) + "' is not like 86, 86-real or 86-virtual");
  }
  int value = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') {
      throw std::invalid_argument("CUDA architecture '" + std::string(entry) + "' is not like 86, 86-real or 86-virtual");
    }
    value = value * 10 + (c - '0');
  }
  return value;
}

void add_entry(CudaArchitectures& out, std::string_view entry) {
  if (entry == "native" || entry == "all" || entry == "all-major") {
    out.any = true;
    return;
  }
  const size_t dash = entry.find('-');
  const std::string_view kind = dash == std::string_view::npos ? std::string_view() : entry.substr(dash + 1);
  const int arch = parse_number(entry, entry.substr(0, dash));
  if (kind.empty() || kind == "real") out.machine_code.push_back(arch);
  if (kind.empty() || kind == "virtual") out.ptx.push_back(arch);
  if (!kind.empty() && kind != "real" && kind != "virtual") {
    throw std::invalid_argument("CUDA architecture '" + std::string(entry) + "' is not like 86, 86-real or 86-virtual");
  }
}

}  // namespace

CudaArchitectures parse_cuda_architectures(std::string_view list) {
  CudaArchitectures out;
  out.text = std::string(list);
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find_first_of(";,", start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view entry = list.substr(start, end - start);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (!entry.empty()) add_entry(out, entry);
    start = end + 1;
  }
  if (!out.any && out.machine_code.empty() && out.ptx.empty()) {
    throw std::invalid_argument("no CUDA architecture in '" + std::string(list) + "'");
  }
  return out;
}

bool cuda_architectures_run_on(const CudaArchitectures& archs, int major, int minor, std::string* why) {
  if (archs.any) return true;
  const int capability = major * 10 + minor;
  for (const int arch : archs.machine_code) {
    if (arch / 10 == major && arch % 10 <= minor) return true;
  }
  for (const int arch : archs.ptx) {
    if (arch <= capability) return true;
  }
  if (why) {
    *why = "its compute capability is " + std::to_string(major) + "." + std::to_string(minor) +
           ", and this build has code only for CUDA architectures " + archs.text +
           " (rebuild with -DCMAKE_CUDA_ARCHITECTURES=" + std::to_string(capability) +
           ", or NUCLEUS_CUDA_ARCHS=" + std::to_string(capability) + " scripts/build.sh cuda)";
  }
  return false;
}

}  // namespace nucleus::kernels
