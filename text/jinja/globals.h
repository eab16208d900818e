// The functions every template can call: jinja2's (range, dict, namespace, cycler, joiner) and
// transformers' (raise_exception, strftime_now, and its namespace that refuses _names).
#pragma once

#include "text/jinja/runtime.h"
#include "text/jinja/value.h"

namespace nucleus::jinja {

Dict make_globals(const RenderOptions& options);

}  // namespace nucleus::jinja
