#include "text/jinja/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "text/jinja/error.h"
#include "text/jinja/ops.h"
#include "text/jinja/pystr.h"

namespace nucleus::jinja {
namespace {

void quote(const std::string& s, bool ensure_ascii, std::string& out) {
  out += '"';
  auto escape = [&](uint32_t c) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "\\u%04x", c & 0xFFFF);
    out += buf;
  };
  std::u32string text;
  if (ensure_ascii) text = pystr::decode(s);
  size_t n = ensure_ascii ? text.size() : s.size();
  for (size_t i = 0; i < n; ++i) {
    uint32_t c = ensure_ascii ? text[i] : static_cast<uint8_t>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          escape(c);
        } else if (!ensure_ascii || c < 0x7F) {
          out += static_cast<char>(c);
        } else if (c < 0x10000) {
          escape(c);
        } else {
          c -= 0x10000;
          escape(0xD800 | (c >> 10));
          escape(0xDC00 | (c & 0x3FF));
        }
    }
  }
  out += '"';
}

// Python's json converts scalar keys to strings: 1 -> "1", True -> "true", None -> "null".
std::string key_string(const Value& k) {
  switch (k.kind()) {
    case Kind::kString:
      return k.as_string();
    case Kind::kNone:
      return "null";
    case Kind::kBool:
      return k.as_bool() ? "true" : "false";
    case Kind::kInt:
      return std::to_string(k.as_int());
    case Kind::kFloat:
      return pystr::float_repr(k.as_float());
    default:
      throw TemplateError("keys must be str, int, float, bool or None, not " + k.type_name());
  }
}

class Writer {
 public:
  explicit Writer(const JsonOptions& o) : o_(o) {}

  void write(const Value& v, int level, std::string& out) {
    if (level > 512) throw TemplateError("Circular reference detected");
    switch (v.kind()) {
      case Kind::kNone:
        out += "null";
        return;
      case Kind::kBool:
        out += v.as_bool() ? "true" : "false";
        return;
      case Kind::kInt:
        out += std::to_string(v.as_int());
        return;
      case Kind::kFloat: {
        double f = v.as_float();
        out += std::isnan(f) ? "NaN" : std::isinf(f) ? (f < 0 ? "-Infinity" : "Infinity") : pystr::float_repr(f);
        return;
      }
      case Kind::kString:
        quote(v.as_string(), o_.ensure_ascii, out);
        return;
      case Kind::kList:
      case Kind::kTuple: {
        if (v.items().empty()) {
          out += "[]";
          return;
        }
        out += '[';
        for (size_t i = 0; i < v.items().size(); ++i) {
          if (i) out += o_.item_separator;
          newline(level + 1, out);
          write(v.items()[i], level + 1, out);
        }
        newline(level, out);
        out += ']';
        return;
      }
      case Kind::kDict: {
        const auto& items = v.as_dict().items;
        if (items.empty()) {
          out += "{}";
          return;
        }
        std::vector<size_t> order(items.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        if (o_.sort_keys)
          std::stable_sort(order.begin(), order.end(),
                           [&](size_t a, size_t b) { return ops::less(items[a].first, items[b].first); });
        out += '{';
        for (size_t i = 0; i < order.size(); ++i) {
          if (i) out += o_.item_separator;
          newline(level + 1, out);
          quote(key_string(items[order[i]].first), o_.ensure_ascii, out);
          out += o_.key_separator;
          write(items[order[i]].second, level + 1, out);
        }
        newline(level, out);
        out += '}';
        return;
      }
      default:
        throw TemplateError("Object of type " + v.type_name() + " is not JSON serializable");
    }
  }

 private:
  void newline(int level, std::string& out) const {
    if (!o_.indent) return;
    out += '\n';
    for (int i = 0; i < level; ++i) out += *o_.indent;
  }

  const JsonOptions& o_;
};

}  // namespace

std::string to_json(const Value& v, const JsonOptions& options) {
  std::string out;
  Writer(options).write(v, 0, out);
  return out;
}

}  // namespace nucleus::jinja
