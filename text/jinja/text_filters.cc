#include "text/jinja/text_filters.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "text/jinja/args.h"
#include "text/jinja/error.h"
#include "text/jinja/ops.h"
#include "text/jinja/pystr.h"

namespace nucleus::jinja::text_filters {
namespace {

int64_t int_param(const Value& v, const char* filter, const char* param) {
  if (!v.is_int() && !v.is_bool()) throw TemplateError(pystr::cat(filter, ": ", param, " must be an integer"));
  return v.as_int();
}

// ---- wordwrap: Python's textwrap.wrap(expand_tabs=False, replace_whitespace=False)

// textwrap's whitespace is ASCII only.
bool wrap_space(char32_t c) { return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == 0x0C || c == '\r'; }
bool letter(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0xC0; }

// Whether textwrap's wordsep_re breaks a hyphenated word after the hyphen at i: two letters (or
// letter-letter-) before it, a letter, an optional hyphen and a letter after it.
bool hyphen_break(const std::u32string& t, size_t i) {
  if (t[i] != '-' || i < 2 || i + 2 >= t.size() || !letter(t[i + 1])) return false;
  bool before = (letter(t[i - 1]) && letter(t[i - 2])) ||
                (i >= 3 && letter(t[i - 1]) && t[i - 2] == '-' && letter(t[i - 3]));
  bool after = letter(t[i + 2]) || (t[i + 2] == '-' && i + 3 < t.size() && letter(t[i + 3]));
  return before && after;
}

// textwrap's chunks: runs of whitespace and words (split after inner hyphens when asked).
std::vector<std::u32string> wrap_chunks(const std::u32string& t, bool on_hyphens) {
  std::vector<std::u32string> chunks;
  size_t i = 0;
  while (i < t.size()) {
    size_t j = i;
    if (wrap_space(t[i])) {
      while (j < t.size() && wrap_space(t[j])) ++j;
    } else {
      while (j < t.size() && !wrap_space(t[j])) {
        ++j;
        if (on_hyphens && hyphen_break(t, j - 1)) break;
      }
    }
    chunks.push_back(t.substr(i, j - i));
    i = j;
  }
  return chunks;
}

bool blank(const std::u32string& s) {
  return std::all_of(s.begin(), s.end(), [](char32_t c) { return pystr::is_space(c); });
}

// textwrap's _handle_long_word: a word longer than the line is cut (after its last hyphen that fits).
void cut_long_word(std::vector<std::u32string>& rev, std::vector<std::u32string>& line, size_t len, size_t width,
                   bool break_long, bool on_hyphens) {
  size_t space_left = width < 1 ? 1 : width - len;
  if (break_long) {
    std::u32string& chunk = rev.back();
    size_t end = space_left;
    if (on_hyphens && chunk.size() > space_left) {
      size_t hyphen = chunk.rfind(U'-', space_left == 0 ? 0 : space_left - 1);
      if (hyphen != std::u32string::npos && hyphen > 0 && hyphen < space_left &&
          chunk.find_first_not_of(U'-') < hyphen)
        end = hyphen + 1;
    }
    line.push_back(chunk.substr(0, end));
    chunk = chunk.substr(std::min(end, chunk.size()));
  } else if (line.empty()) {
    line.push_back(rev.back());
    rev.pop_back();
  }
}

std::vector<std::string> wrap(const std::u32string& text, size_t width, bool break_long, bool on_hyphens) {
  std::vector<std::u32string> rev = wrap_chunks(text, on_hyphens);
  std::reverse(rev.begin(), rev.end());
  std::vector<std::string> lines;
  while (!rev.empty()) {
    std::vector<std::u32string> line;
    size_t len = 0;
    if (blank(rev.back()) && !lines.empty()) rev.pop_back();  // no leading whitespace on later lines
    while (!rev.empty() && len + rev.back().size() <= width) {
      len += rev.back().size();
      line.push_back(std::move(rev.back()));
      rev.pop_back();
    }
    if (!rev.empty() && rev.back().size() > width) {
      cut_long_word(rev, line, len, width, break_long, on_hyphens);
      if (!rev.empty() && rev.back().empty()) rev.pop_back();
    }
    if (!line.empty() && blank(line.back())) line.pop_back();
    if (!line.empty()) {
      std::u32string joined;
      for (const auto& c : line) joined += c;
      lines.push_back(pystr::encode(joined));
    }
  }
  return lines;
}

// ---- striptags: markupsafe's Markup.striptags()

// Removes every `open ... close` span (comments, then tags), as markupsafe does.
std::string remove_spans(std::string s, const std::string& open, const std::string& close) {
  size_t start;
  while ((start = s.find(open)) != std::string::npos) {
    size_t end = s.find(close, start);
    if (end == std::string::npos) break;
    s.erase(start, end + close.size() - start);
  }
  return s;
}

// html.unescape for the references templates meet: the five XML ones, &nbsp; and numeric ones.
std::string html_unescape(const std::string& s) {
  static const std::pair<const char*, char32_t> kNamed[] = {{"amp", '&'},  {"lt", '<'},    {"gt", '>'},
                                                            {"quot", '"'}, {"apos", '\''}, {"nbsp", 0xA0}};
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    size_t semi = s[i] == '&' ? s.find(';', i) : std::string::npos;
    if (semi == std::string::npos || semi - i > 10) {
      out += s[i];
      continue;
    }
    std::string name = s.substr(i + 1, semi - i - 1);
    char32_t cp = 0;
    if (name.size() > 1 && name[0] == '#') {
      bool hex = name[1] == 'x' || name[1] == 'X';
      char* end = nullptr;
      long v = std::strtol(name.c_str() + (hex ? 2 : 1), &end, hex ? 16 : 10);
      if (end && *end == '\0' && v > 0 && v <= 0x10FFFF) cp = static_cast<char32_t>(v);
    } else {
      for (const auto& [n, c] : kNamed)
        if (name == n) cp = c;
    }
    if (!cp) {
      out += s[i];
      continue;
    }
    out += pystr::encode(std::u32string(1, cp));
    i = semi;
  }
  return out;
}

// ---- urlencode: jinja2's url_quote (urllib.parse.quote_from_bytes)

std::string url_quote(const Value& v, bool for_qs) {
  std::string out;
  for (char ch : v.str()) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~' || (c == '/' && !for_qs)) {
      out += ch;
    } else if (c == ' ' && for_qs) {
      out += '+';  // quote() gives %20, which jinja2 replaces in query strings
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// ---- pprint: pprint.pformat (width 80, indent 1, dicts sorted by key)

std::vector<std::pair<Value, Value>> sorted_items(const Dict& d) {
  std::vector<std::pair<Value, Value>> items = d.items;
  try {
    std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return ops::less(a.first, b.first); });
  } catch (const TemplateError&) {
    items = d.items;  // keys of mixed types: pprint falls back to an order of its own; keep the dict's
  }
  return items;
}

std::string flat_repr(const Value& v) {
  if (v.is_dict()) {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, e] : sorted_items(v.as_dict())) {
      out += pystr::cat(first ? "" : ", ", flat_repr(k), ": ", flat_repr(e));
      first = false;
    }
    return out + "}";
  }
  if ((v.kind() == Kind::kList || v.kind() == Kind::kTuple) && v.repr().rfind("range(", 0) != 0) {
    bool tuple = v.kind() == Kind::kTuple;
    std::string out = tuple ? "(" : "[";
    for (size_t i = 0; i < v.items().size(); ++i) out += (i ? ", " : "") + flat_repr(v.items()[i]);
    if (tuple && v.items().size() == 1) out += ",";
    return out + (tuple ? ")" : "]");
  }
  return v.repr();
}

constexpr size_t kPprintWidth = 80;

void pformat(const Value& v, size_t indent, size_t allowance, std::string& out);

// pprint's _format_items: one item per line, aligned one column in from the bracket.
void pformat_items(const std::vector<Value>& items, size_t indent, size_t allowance, std::string& out) {
  indent += 1;
  for (size_t i = 0; i < items.size(); ++i) {
    bool last = i + 1 == items.size();
    if (i) out += ",\n" + std::string(indent, ' ');
    pformat(items[i], indent, last ? allowance : 1, out);
  }
}

void pformat(const Value& v, size_t indent, size_t allowance, std::string& out) {
  std::string rep = flat_repr(v);
  size_t max_width = kPprintWidth > indent + allowance ? kPprintWidth - indent - allowance : 0;
  if (pystr::length(rep) <= max_width) {
    out += rep;
    return;
  }
  if (v.is_dict() && !v.as_dict().items.empty()) {
    out += '{';
    auto items = sorted_items(v.as_dict());
    size_t inner = indent + 1;
    for (size_t i = 0; i < items.size(); ++i) {
      bool last = i + 1 == items.size();
      if (i) out += ",\n" + std::string(inner, ' ');
      std::string key = flat_repr(items[i].first);
      out += key + ": ";
      pformat(items[i].second, inner + pystr::length(key) + 2, last ? allowance + 1 : 1, out);
    }
    out += '}';
  } else if (v.kind() == Kind::kList && rep[0] == '[' && !v.items().empty()) {
    out += '[';
    pformat_items(v.items(), indent, allowance + 1, out);
    out += ']';
  } else if (v.kind() == Kind::kTuple && !v.items().empty()) {
    std::string end = v.items().size() == 1 ? ",)" : ")";
    out += '(';
    pformat_items(v.items(), indent, allowance + end.size(), out);
    out += end;
  } else {
    out += rep;  // long strings stay on one line (pprint would split them into implicit concatenations)
  }
}

}  // namespace

Value truncate(const Value& v, Args& args) {
  auto a = bind("truncate", args,
                {{"length", Value(255)}, {"killwords", Value(false)}, {"end", Value("...")}, {"leeway", Value(5)}});
  std::string s = v.str(), end = a[2].str();
  const int64_t length = int_param(a[0], "truncate", "length"), leeway = int_param(a[3], "truncate", "leeway");
  const auto end_len = static_cast<int64_t>(pystr::length(end));
  if (length < end_len) throw TemplateError(pystr::cat("expected length >= ", std::to_string(end_len), ", got ",
                                                       std::to_string(length)));
  if (leeway < 0) throw TemplateError("expected leeway >= 0, got " + std::to_string(leeway));
  if (static_cast<int64_t>(pystr::length(s)) <= length + leeway) return v.is_string() ? v : Value(s);
  std::string head = pystr::slice(s, std::nullopt, length - end_len, 1);
  if (a[1].truthy()) return Value(head + end);
  return Value(pystr::rsplit(head, std::string(" "), 1)[0] + end);
}

Value wordwrap(const Value& v, Args& args) {
  auto a = bind("wordwrap", args,
                {{"width", Value(79)},
                 {"break_long_words", Value(true)},
                 {"wrapstring", Value(nullptr)},
                 {"break_on_hyphens", Value(true)}});
  const int64_t width = int_param(a[0], "wordwrap", "width");
  if (width <= 0) throw TemplateError("invalid width " + std::to_string(width) + " (must be > 0)");
  const std::string sep = a[2].is_none() ? "\n" : a[2].str();
  std::string out;
  bool first_line = true;
  for (const std::string& line : pystr::splitlines(v.str())) {
    if (!first_line) out += sep;
    first_line = false;
    bool first = true;
    for (const std::string& piece :
         wrap(pystr::decode(line), static_cast<size_t>(width), a[1].truthy(), a[3].truthy())) {
      out += (first ? "" : sep) + piece;
      first = false;
    }
  }
  return Value(std::move(out));
}

Value striptags(const Value& v, Args& args) {
  bind("striptags", args, {});
  std::string s = remove_spans(remove_spans(v.str(), "<!--", "-->"), "<", ">");
  std::string collapsed;
  for (const std::string& word : pystr::split(s, std::nullopt, -1)) collapsed += (collapsed.empty() ? "" : " ") + word;
  return Value(html_unescape(collapsed));
}

Value filesizeformat(const Value& v, Args& args) {
  auto a = bind("filesizeformat", args, {{"binary", Value(false)}});
  double bytes = 0;
  if (v.is_number()) {
    bytes = v.as_float();
  } else {
    std::string s = pystr::strip(v.str(), std::nullopt, true, true);
    char* end = nullptr;
    bytes = std::strtod(s.c_str(), &end);
    if (s.empty() || !end || *end != '\0')
      throw TemplateError("could not convert string to float: " + pystr::string_repr(v.str()));
  }
  const bool binary = a[0].truthy();
  const double base = binary ? 1024 : 1000;
  static const char* kDecimal[] = {"kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  static const char* kBinary[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
  if (bytes == 1) return Value("1 Byte");
  if (bytes < base) return Value(std::to_string(static_cast<int64_t>(bytes)) + " Bytes");
  double unit = base;
  const char* prefix = "";
  for (int i = 0; i < 8; ++i) {
    unit *= base;
    prefix = binary ? kBinary[i] : kDecimal[i];
    if (bytes < unit) break;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f %s", base * bytes / unit, prefix);
  return Value(std::string(buf));
}

Value urlencode(const Value& v, Args& args) {
  bind("urlencode", args, {});
  if (v.is_string() || !(v.is_dict() || v.is_sequence_like())) return Value(url_quote(v, false));
  std::vector<std::pair<Value, Value>> pairs;
  if (v.is_dict()) {
    pairs = v.as_dict().items;
  } else {
    for (const Value& item : ops::iterate(v)) {
      std::vector<Value> kv = ops::iterate(item);
      if (kv.size() != 2) throw TemplateError("urlencode: items must be (key, value) pairs");
      pairs.emplace_back(kv[0], kv[1]);
    }
  }
  std::string out;
  for (const auto& [k, val] : pairs) out += pystr::cat(out.empty() ? "" : "&", url_quote(k, true), "=", url_quote(val, true));
  return Value(std::move(out));
}

Value xmlattr(const Value& v, Args& args) {
  auto a = bind("xmlattr", args, {{"autospace", Value(true)}});
  if (!v.is_dict()) throw TemplateError("xmlattr: a mapping is required");
  std::string out;
  for (const auto& [k, val] : v.as_dict().items) {
    if (val.is_none() || val.is_undefined()) continue;
    if (!k.is_string()) throw TemplateError("expected string or bytes-like object, got '" + k.type_name() + "'");
    const std::string& key = k.as_string();
    // jinja2 refuses names that would break out of the attribute: whitespace, / > =.
    if (key.find_first_of(" \t\n\r\f\v/>=") != std::string::npos)
      throw TemplateError("Invalid character in attribute name: " + k.repr());
    out += pystr::cat(out.empty() ? "" : " ", ops::html_escape(key), "=\"",
                      val.is_markup() ? val.as_string() : ops::html_escape(val.str()), "\"");
  }
  if (a[0].truthy() && !out.empty()) out = " " + out;
  return Value(std::move(out));
}

Value pprint(const Value& v, Args& args) {
  bind("pprint", args, {});
  std::string out;
  pformat(v, 0, 0, out);
  return Value(std::move(out));
}

}  // namespace nucleus::jinja::text_filters
