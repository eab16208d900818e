#include "text/jinja/lexer.h"

#include <cstring>

#include "text/jinja/error.h"
#include "text/jinja/pystr.h"
#include "text/unicode_utf8.h"

namespace nucleus::jinja {
namespace {

// jinja2 reads the source with every newline sequence (\r\n, \r, \n) as "\n", and drops one
// trailing newline (keep_trailing_newline=False).
std::string normalize_newlines(std::string_view src) {
  std::string out;
  out.reserve(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] == '\r') {
      out += '\n';
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    } else {
      out += src[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// Length of the Python-whitespace (regex \s) code point at s[i], 0 if none.
size_t space_at(std::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  auto b = static_cast<uint8_t>(s[i]);
  if (b < 0x80) return pystr::is_space(b) ? 1 : 0;
  size_t n = unicode::utf8_sequence_length(b);
  if (i + n > s.size()) return 0;
  std::u32string cp = pystr::decode(s.substr(i, n));
  return cp.size() == 1 && pystr::is_space(cp[0]) ? n : 0;
}

std::string rstrip_space(std::string_view s) { return pystr::strip(s, std::nullopt, /*left=*/false, /*right=*/true); }

// Python's "unicode-escape" decoding of a string literal's body, as jinja2 applies it.
std::string unescape(std::string_view body, int line) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 == body.size()) {
      out += c;
      continue;
    }
    char e = body[++i];
    auto hex = [&](size_t digits) {
      uint32_t cp = 0;
      for (size_t k = 1; k <= digits; ++k) {
        if (i + k >= body.size()) throw TemplateError("truncated escape in string", line);
        char h = body[i + k];
        int v = (h >= '0' && h <= '9')   ? h - '0'
                : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                         : -1;
        if (v < 0) throw TemplateError("truncated escape in string", line);
        cp = cp * 16 + static_cast<uint32_t>(v);
      }
      i += digits;
      if (cp > 0x10FFFF) throw TemplateError("illegal Unicode character in string", line);
      unicode::append_utf8(cp, out);
    };
    switch (e) {
      case '\n':
        break;
      case '\\':
        out += '\\';
        break;
      case '\'':
        out += '\'';
        break;
      case '"':
        out += '"';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x':
        hex(2);
        break;
      case 'u':
        hex(4);
        break;
      case 'U':
        hex(8);
        break;
      default:
        if (e >= '0' && e <= '7') {
          uint32_t cp = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k)
            cp = cp * 8 + static_cast<uint32_t>(body[++i] - '0');
          unicode::append_utf8(cp, out);
        } else {
          out += '\\';  // unknown escapes stay as written
          out += e;
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string src) : s_(std::move(src)) {}

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < s_.size()) {
      size_t t = find_opener(pos);
      if (t == std::string::npos) {
        emit_text(s_.substr(pos));
        break;
      }
      char kind = s_[t + 1];
      size_t p = t + 2;
      char sign = 0;
      if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) sign = s_[p++];
      std::string text = s_.substr(pos, t - pos);
      if (sign == '-') {
        text = rstrip_space(text);
      } else if (sign != '+' && kind != '{') {
        // lstrip_blocks: drop spaces and tabs between the line's start and a block or comment tag.
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if ((l_pos > 0 || line_starting) && text.find_first_not_of(" \t", l_pos) == std::string::npos)
          text.resize(l_pos);
      }
      emit_text(text);
      advance_lines(pos, t);
      pos = p;
      if (kind == '#') {
        pos = comment(pos);
      } else if (kind == '%' && raw_begin(pos)) {
        pos = raw(pos);
      } else {
        pos = tag(kind == '{', pos, t);
      }
      line_starting = s_[pos - 1] == '\n';
    }
    tokens_.push_back(Token{Tok::kEof, "", 0, 0, line_});
    return std::move(tokens_);
  }

 private:
  size_t find_opener(size_t pos) const {
    for (size_t i = s_.find('{', pos); i != std::string::npos && i + 1 < s_.size(); i = s_.find('{', i + 1))
      if (s_[i + 1] == '{' || s_[i + 1] == '%' || s_[i + 1] == '#') return i;
    return std::string::npos;
  }

  void advance_lines(size_t from, size_t to) {
    for (size_t i = from; i < to && i < s_.size(); ++i) line_ += s_[i] == '\n';
  }

  void emit_text(const std::string& text) {
    if (!text.empty()) tokens_.push_back(Token{Tok::kText, text, 0, 0, line_});
  }

  size_t skip_space(size_t p) const {
    while (size_t n = space_at(s_, p)) p += n;
    return p;
  }

  bool at(size_t p, const char* lit) const { return s_.compare(p, std::strlen(lit), lit) == 0; }

  // After "{#": up to the earliest "+#}", "-#}" (then all whitespace) or "#}" (then one newline).
  size_t comment(size_t p) {
    for (size_t i = p; i + 1 < s_.size(); ++i) {
      size_t end = 0;
      if (at(i, "+#}")) {
        end = i + 3;
      } else if (at(i, "-#}")) {
        end = skip_space(i + 3);
      } else if (at(i, "#}")) {
        end = i + 2 + (i + 2 < s_.size() && s_[i + 2] == '\n');
      } else {
        continue;
      }
      advance_lines(p, end);
      return end;
    }
    throw TemplateError("Missing end of comment tag", line_);
  }

  // "{% raw %}": p is after "{%" and its sign.
  bool raw_begin(size_t p) const {
    p = skip_space(p);
    if (!at(p, "raw")) return false;
    p = skip_space(p + 3);
    return at(p, "-%}") || at(p, "%}");
  }

  size_t raw(size_t p) {
    p = skip_space(p) + 3;
    p = skip_space(p);
    p = at(p, "-%}") ? skip_space(p + 3) : p + 2;
    bool line_starting = s_[p - 1] == '\n';
    for (size_t i = s_.find("{%", p); i != std::string::npos; i = s_.find("{%", i + 1)) {
      size_t q = i + 2;
      char sign = 0;
      if (q < s_.size() && (s_[q] == '-' || s_[q] == '+')) sign = s_[q++];
      q = skip_space(q);
      if (!at(q, "endraw")) continue;
      q = skip_space(q + 6);
      size_t end;
      if (at(q, "+%}")) {
        end = q + 3;
      } else if (at(q, "-%}")) {
        end = skip_space(q + 3);
      } else if (at(q, "%}")) {
        end = q + 2 + (q + 2 < s_.size() && s_[q + 2] == '\n');
      } else {
        continue;
      }
      std::string text = s_.substr(p, i - p);
      if (sign == '-') {
        text = rstrip_space(text);
      } else if (sign != '+') {
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if ((l_pos > 0 || line_starting) && text.find_first_not_of(" \t", l_pos) == std::string::npos)
          text.resize(l_pos);
      }
      emit_text(text);
      advance_lines(p, end);
      return end;
    }
    throw TemplateError("Missing end of raw directive", line_);
  }

  // The tokens of a {{ }} or {% %} tag, from p (after the opener) to just past its end marker.
  size_t tag(bool variable, size_t p, size_t opener) {
    tokens_.push_back(Token{variable ? Tok::kVarBegin : Tok::kBlockBegin, "", 0, 0, line_});
    advance_lines(opener, p);
    std::string stack;  // open brackets: the end marker only counts when they are balanced
    while (true) {
      if (p >= s_.size())
        throw TemplateError(std::string("unexpected end of template, expected '") + (variable ? "}}" : "%}") + "'",
                            line_);
      if (stack.empty()) {
        size_t end = 0;
        if (variable) {
          if (at(p, "-}}"))
            end = skip_space(p + 3);
          else if (at(p, "}}"))
            end = p + 2;
        } else {
          if (at(p, "+%}"))
            end = p + 3;
          else if (at(p, "-%}"))
            end = skip_space(p + 3);
          else if (at(p, "%}"))
            end = p + 2 + (p + 2 < s_.size() && s_[p + 2] == '\n');
        }
        if (end) {
          tokens_.push_back(Token{variable ? Tok::kVarEnd : Tok::kBlockEnd, "", 0, 0, line_});
          advance_lines(p, end);
          return end;
        }
      }
      if (size_t n = space_at(s_, p)) {
        advance_lines(p, p + n);
        p += n;
        continue;
      }
      p = token(p, stack);
    }
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  static bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

  size_t digits(size_t p) const {  // (\d+_)*\d+ from p; returns p if none
    size_t q = p;
    while (q < s_.size() && is_digit(s_[q])) {
      while (q < s_.size() && is_digit(s_[q])) ++q;
      if (q + 1 < s_.size() && s_[q] == '_' && is_digit(s_[q + 1])) ++q;
    }
    return q;
  }

  size_t token(size_t p, std::string& stack) {
    char c = s_[p];
    if (is_digit(c)) return number(p);
    if (is_name_start(c)) {
      size_t q = p;
      while (q < s_.size() && (is_name_start(s_[q]) || is_digit(s_[q]))) ++q;
      tokens_.push_back(Token{Tok::kName, s_.substr(p, q - p), 0, 0, line_});
      return q;
    }
    if (c == '\'' || c == '"') return string(p);
    static const char* kOps2[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const char* op : kOps2)
      if (at(p, op)) {
        tokens_.push_back(Token{Tok::kOp, op, 0, 0, line_});
        return p + 2;
      }
    if (std::strchr("+-/*%~[](){}><=.:|,;", c) == nullptr || c == '\0')
      throw TemplateError(std::string("unexpected char '") + c + "'", line_);
    if (c == '(' || c == '[' || c == '{') stack += c;
    if (c == ')' || c == ']' || c == '}') {
      char open = c == ')' ? '(' : c == ']' ? '[' : '{';
      if (stack.empty()) throw TemplateError(std::string("unexpected '") + c + "'", line_);
      if (stack.back() != open) throw TemplateError(std::string("unexpected '") + c + "'", line_);
      stack.pop_back();
    }
    tokens_.push_back(Token{Tok::kOp, std::string(1, c), 0, 0, line_});
    return p + 1;
  }

  size_t number(size_t p) {
    size_t q = digits(p);
    bool is_float = false;
    bool after_dot = p > 0 && s_[p - 1] == '.';  // jinja2's (?<!\.): `a.0.1` is two subscripts
    if (!after_dot) {
      size_t f = q;
      if (f + 1 < s_.size() && s_[f] == '.' && is_digit(s_[f + 1])) {
        f = digits(f + 1);
        is_float = true;
      }
      if (f < s_.size() && (s_[f] == 'e' || s_[f] == 'E')) {
        size_t e = f + 1;
        if (e < s_.size() && (s_[e] == '+' || s_[e] == '-')) ++e;
        size_t d = digits(e);
        if (d > e) {
          f = d;
          is_float = true;
        }
      }
      if (is_float) q = f;
    }
    std::string text;
    for (size_t i = p; i < q; ++i)
      if (s_[i] != '_') text += s_[i];
    Token t{is_float ? Tok::kFloat : Tok::kInt, text, 0, 0, line_};
    if (is_float) {
      // strtod, not stod: Python reads 5e-324 (a subnormal) and 1e400 (inf) without complaint.
      t.float_value = std::strtod(text.c_str(), nullptr);
    } else {
      try {
        t.int_value = std::stoll(text);
      } catch (const std::exception&) {
        throw TemplateError("integer literal " + text + " does not fit in 64 bits (Python's ints are unbounded; ours are not)",
                            line_);
      }
    }
    tokens_.push_back(std::move(t));
    return q;
  }

  size_t string(size_t p) {
    char quote = s_[p];
    size_t q = p + 1;
    while (q < s_.size() && s_[q] != quote) q += s_[q] == '\\' ? 2 : 1;
    if (q >= s_.size()) throw TemplateError("unexpected end of string", line_);
    int line = line_;
    std::string value = unescape(std::string_view(s_).substr(p + 1, q - p - 1), line);
    tokens_.push_back(Token{Tok::kString, std::move(value), 0, 0, line});
    advance_lines(p, q + 1);
    return q + 1;
  }

  std::string s_;
  std::vector<Token> tokens_;
  int line_ = 1;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(normalize_newlines(source)).run(); }

}  // namespace nucleus::jinja
