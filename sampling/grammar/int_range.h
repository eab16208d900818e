// The decimal integers in [lo, hi] (either bound may be open), as an exact
// grammar of digit ranges: [7, 123] is [7-9] | [1-9][0-9] | 1[01][0-9] |
// 12[0-3]. No leading zeros, no "-0"; at most 20 digits when unbounded.
#pragma once

#include <cstdint>
#include <optional>

#include "sampling/grammar/ir.h"

namespace nucleus::grammar {

Element integer_range(Grammar& g, std::optional<int64_t> lo, std::optional<int64_t> hi);

}  // namespace nucleus::grammar
