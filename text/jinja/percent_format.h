// Python's printf-style formatting, `fmt % args` (and jinja2's format filter): %(key)s mapping
// keys, the flags # 0 - + and space, width and precision (or * from the arguments), and the
// conversions s r c d i u o x X e E f F g G %.
#pragma once

#include <string>

#include "text/jinja/value.h"

namespace nucleus::jinja {

// `args` is a tuple (one value per conversion), a dict (for %(key)s), or any other single value.
std::string percent_format(const std::string& fmt, const Value& args);

}  // namespace nucleus::jinja
