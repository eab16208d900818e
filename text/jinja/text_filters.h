// jinja2's filters that lay out or encode text (truncate, wordwrap, striptags, filesizeformat,
// urlencode, xmlattr, pprint), kept apart from filters.cc's data filters. Each takes the filter's
// subject and its call arguments, as jinja2's do_* functions do; filters.cc registers them.
#pragma once

#include "text/jinja/value.h"

namespace nucleus::jinja::text_filters {

Value truncate(const Value& v, Args& args);
Value wordwrap(const Value& v, Args& args);
Value striptags(const Value& v, Args& args);
Value filesizeformat(const Value& v, Args& args);
Value urlencode(const Value& v, Args& args);
Value xmlattr(const Value& v, Args& args);
Value pprint(const Value& v, Args& args);

}  // namespace nucleus::jinja::text_filters
