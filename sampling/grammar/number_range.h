// The JSON numbers between two bounds, as an exact grammar of digits. JSON
// Schema's minimum/maximum on "number" (OpenAI's strict mode accepts them,
// pydantic writes them for Field(ge=..., le=...)).
//
// The numbers are written without an exponent, -?(0|[1-9][0-9]*)(.[0-9]{1,20})?
// and never as "-0": a subset of JSON's numbers that a model writes anyway.
// Every string accepted is within the bounds as a validator reads it (the
// text parsed to a double, compared with the bound's double): a bound is taken
// as the shortest decimal that reads back as its double, and parsing is
// monotonic, so a decimal on the right side of that decimal reads back on the
// right side of the bound. Exclusive bounds are the caller's: the next double
// inward is an inclusive bound that says the same.
#pragma once

#include <optional>

#include "sampling/grammar/ir.h"

namespace nucleus::grammar {

// Bounds larger than this in magnitude are refused: above 2^53 a double no
// longer holds every integer, and an integer output compared with the bound
// (validators compare exactly) could fall on the wrong side of it...
inline constexpr double kMaxNumberBound = 1e15;
// ...but for bounds past every number the grammar writes, as generated
// schemas put 1.7976931348623157e308: the caller drops those, and asks for a
// number_range with neither bound. The grammar writes at most 20 integer
// digits, which can read back as 1e20 itself (99999999999999999999.5), so
// an exclusive bound of 1e20 still bounds: only from 1e21 on is none.
inline constexpr double kNumberRangeReach = 1e21;

// [lo, hi], either absent; |bound| <= kMaxNumberBound, lo <= hi (a
// GrammarError otherwise).
Element number_range(Grammar& g, std::optional<double> lo, std::optional<double> hi);

}  // namespace nucleus::grammar
