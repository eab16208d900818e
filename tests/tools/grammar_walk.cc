// Seeded random walks through grammars, for the soundness property test
// (tests/e2e/test_grammar_properties.py): everything a walk produces must be
// valid by the independent judge (jsonschema, re.fullmatch, json.loads).
//
// stdin: one JSON object per line: {"kind": "json_schema"|"regex"|"gbnf"|"choice",
//   "source": text, "samples": n, "seed": s, "budget": bytes}
// stdout: one line per input: {"outputs": [...], "unfinished": k} or {"error": message}.
//
// Each step picks uniformly among the bytes the grammar allows; after `budget`
// bytes it ends as soon as it may, and prefers bytes after which it may end, then
// closing quotes and brackets, so that walks finish; a walk still going at 8x the
// budget is dropped and counted as unfinished.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "sampling/grammar/grammar_cache.h"
#include "sampling/grammar/grammar_error.h"
#include "sampling/grammar/grammar_state.h"

namespace {

using nucleus::grammar::GrammarState;

bool walk(GrammarState state, std::mt19937_64& rng, size_t budget, std::string& out) {
  out.clear();
  while (out.size() < 8 * budget) {
    if (state.can_end() && (state.no_more_bytes() || out.size() >= budget || rng() % 16 == 0)) return true;
    std::vector<uint8_t> allowed, ending, closing;
    const nucleus::grammar::ByteSet next_bytes = state.next_bytes();
    for (int b = 0; b < 256; ++b) {
      if (!next_bytes.test(static_cast<uint8_t>(b))) continue;
      if (out.size() < budget) {  // only the allowed set matters yet
        allowed.push_back(static_cast<uint8_t>(b));
        continue;
      }
      GrammarState next = state;
      if (!next.accept_byte(static_cast<uint8_t>(b))) continue;
      allowed.push_back(static_cast<uint8_t>(b));
      if (next.can_end()) ending.push_back(static_cast<uint8_t>(b));
      if (b == '"' || b == '}' || b == ']') closing.push_back(static_cast<uint8_t>(b));
    }
    if (allowed.empty()) return false;  // cannot happen in a live state: reported as unfinished
    const std::vector<uint8_t>& pool = out.size() < budget ? allowed
                                       : !ending.empty()   ? ending
                                       : !closing.empty()  ? closing
                                                           : allowed;
    const uint8_t b = pool[rng() % pool.size()];
    if (!state.accept_byte(b)) return false;  // only past the depth bound
    out += static_cast<char>(b);
  }
  return false;
}

nucleus::grammar::GrammarKind kind_of(const std::string& kind) {
  using nucleus::grammar::GrammarKind;
  if (kind == "json_schema") return GrammarKind::kJsonSchema;
  if (kind == "regex") return GrammarKind::kRegex;
  if (kind == "gbnf") return GrammarKind::kGbnf;
  if (kind == "choice") return GrammarKind::kChoice;
  throw nucleus::grammar::GrammarError("unknown kind '" + kind + "'");
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    nlohmann::json result;
    try {
      const auto request = nlohmann::json::parse(line);
      const auto grammar =
          nucleus::grammar::compile_grammar(kind_of(request.at("kind")), request.at("source").get<std::string>());
      std::mt19937_64 rng(request.value("seed", 0));
      const int samples = request.value("samples", 10);
      const size_t budget = request.value("budget", 64);
      result["outputs"] = nlohmann::json::array();
      int unfinished = 0;
      std::string out;
      for (int i = 0; i < samples; ++i) {
        if (walk(GrammarState(grammar), rng, budget, out)) {
          result["outputs"].push_back(out);
        } else {
          ++unfinished;
        }
      }
      result["unfinished"] = unfinished;
      std::cout << result.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict) << "\n";
    } catch (const std::exception& e) {
      std::cout << nlohmann::json{{"error", e.what()}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    }
    std::cout.flush();
  }
  return 0;
}
