#include "text/jinja/parser.h"

#include <set>

#include "text/jinja/error.h"
#include "text/jinja/filters.h"
#include "text/jinja/lexer.h"
#include "text/jinja/predicates.h"
#include "text/jinja/pystr.h"

namespace nucleus::jinja {
namespace {

using ast::Body;
using ast::Expr;
using ast::ExprPtr;
using ast::Stmt;

// Deeper nesting than this is no chat template; the bound keeps hostile input off the C++ stack.
constexpr int kMaxNesting = 300;

ExprPtr make(Expr::Type type, int line) {
  auto e = std::make_unique<Expr>();
  e->type = type;
  e->line = line;
  return e;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  Body parse_template() {
    std::string end;
    Body body = parse_body({}, &end);
    return body;
  }

 private:
  // ---- token stream
  const Token& cur() const { return toks_[pos_]; }
  const Token& peek(size_t n = 1) const { return toks_[std::min(pos_ + n, toks_.size() - 1)]; }
  void next() {
    if (pos_ + 1 < toks_.size()) ++pos_;
  }
  bool is_op(const char* op) const { return cur().type == Tok::kOp && cur().text == op; }
  bool is_name(const char* n) const { return cur().type == Tok::kName && cur().text == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  [[noreturn]] void fail(const std::string& msg) const { throw TemplateError(msg, cur().line); }
  std::string describe() const {
    switch (cur().type) {
      case Tok::kEof:
        return "end of template";
      case Tok::kBlockEnd:
        return "end of statement block";
      case Tok::kVarEnd:
        return "end of print statement";
      case Tok::kText:
        return "template data";
      default:
        return cur().text;
    }
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) fail(std::string("expected token '") + op + "', got '" + describe() + "'");
  }
  std::string expect_name() {
    if (cur().type != Tok::kName) fail("expected name, got '" + describe() + "'");
    std::string n = cur().text;
    next();
    return n;
  }
  void expect_name(const char* n) {
    if (!skip_name(n)) fail(std::string("expected '") + n + "', got '" + describe() + "'");
  }
  void expect_block_end() {
    skip_op(":");
    if (cur().type != Tok::kBlockEnd) fail("expected end of statement block, got '" + describe() + "'");
    next();
  }

  struct Depth {
    explicit Depth(Parser* p) : p(p) { step(); }
    ~Depth() { p->depth_ -= n; }
    // A chain `a + b + c` builds a left-deep tree: each link counts as one more level.
    void step() {
      ++n;
      if (++p->depth_ > kMaxNesting) p->fail("template nested too deeply (limit " + std::to_string(kMaxNesting) + ")");
    }
    Parser* p;
    int n = 0;
  };

  // ---- statements
  // Parses until a block tag named in `ends` (consumed with its name, stored in *end) or the end of
  // the template (only allowed when `ends` is empty).
  Body parse_body(const std::vector<std::string>& ends, std::string* end) {
    Depth d(this);
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == Tok::kEof) {
        if (!ends.empty()) {
          std::string list;
          for (const auto& e : ends) list += (list.empty() ? "'" : " or '") + e + "'";
          fail("Unexpected end of template. Jinja was looking for the following tags: " + list + ".");
        }
        return body;
      }
      if (t.type == Tok::kText) {
        auto s = std::make_unique<Stmt>();
        s->type = Stmt::Type::kText;
        s->line = t.line;
        s->text = t.text;
        body.push_back(std::move(s));
        next();
      } else if (t.type == Tok::kVarBegin) {
        auto s = std::make_unique<Stmt>();
        s->type = Stmt::Type::kOutput;
        s->line = t.line;
        next();
        s->expr = parse_tuple(true, {});
        if (cur().type != Tok::kVarEnd) fail("expected end of print statement, got '" + describe() + "'");
        next();
        body.push_back(std::move(s));
      } else if (t.type == Tok::kBlockBegin) {
        next();
        if (cur().type != Tok::kName) fail("tag name expected");
        for (const auto& e : ends)
          if (cur().text == e) {
            *end = e;
            next();
            return body;
          }
        body.push_back(parse_statement());
      } else {
        fail("unexpected '" + describe() + "'");
      }
    }
  }

  std::unique_ptr<Stmt> parse_statement() {
    auto s = std::make_unique<Stmt>();
    s->line = cur().line;
    std::string tag = expect_name();
    std::string end;
    if (tag == "if") {
      s->type = Stmt::Type::kIf;
      ExprPtr test = parse_tuple(false, {});
      expect_block_end();
      while (true) {
        Body body = parse_body({"elif", "else", "endif"}, &end);
        s->branches.emplace_back(std::move(test), std::move(body));
        if (end == "elif") {
          test = parse_tuple(false, {});
          expect_block_end();
          continue;
        }
        if (end == "else") {
          expect_block_end();
          s->else_body = parse_body({"endif"}, &end);
        }
        break;
      }
    } else if (tag == "for") {
      s->type = Stmt::Type::kFor;
      s->target = parse_target(false, "in");
      expect_name("in");
      s->expr = parse_tuple(false, {"recursive"});
      if (skip_name("if")) s->filter = parse_expression(true);
      s->recursive = skip_name("recursive");
      expect_block_end();
      ++loop_depth_;
      s->body = parse_body({"endfor", "else"}, &end);
      --loop_depth_;
      if (end == "else") {
        expect_block_end();
        s->else_body = parse_body({"endfor"}, &end);
      }
    } else if (tag == "set") {
      s->target = parse_target(true, "=");
      if (skip_op("=")) {
        s->type = Stmt::Type::kSet;
        s->expr = parse_tuple(true, {});
        if (cur().type != Tok::kBlockEnd) fail("expected end of statement block, got '" + describe() + "'");
        next();
        return s;
      }
      s->type = Stmt::Type::kSetBlock;
      if (!s->target.attr.empty() || s->target.tuple) fail("a block set assigns one name");
      s->filter = parse_filter_chain(nullptr, false);
      expect_block_end();
      int saved = loop_depth_;
      loop_depth_ = 0;
      s->body = parse_body({"endset"}, &end);
      loop_depth_ = saved;
    } else if (tag == "macro") {
      s->type = Stmt::Type::kMacro;
      s->macro = std::make_shared<ast::MacroDef>();
      s->macro->name = expect_name();
      parse_signature(*s->macro);
      expect_block_end();
      parse_macro_body(*s->macro, "endmacro");
    } else if (tag == "call") {
      s->type = Stmt::Type::kCallBlock;
      s->macro = std::make_shared<ast::MacroDef>();
      s->macro->name = "caller";
      if (is_op("(")) parse_signature(*s->macro);
      s->expr = parse_expression(true);
      if (s->expr->type != Expr::Type::kCall) fail("expected call");
      expect_block_end();
      parse_macro_body(*s->macro, "endcall");
    } else if (tag == "filter") {
      s->type = Stmt::Type::kFilterBlock;
      s->filter = parse_filter_chain(nullptr, true);
      expect_block_end();
      s->body = parse_body({"endfilter"}, &end);
    } else if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) fail("'" + tag + "' outside of a loop");
      s->type = tag == "break" ? Stmt::Type::kBreak : Stmt::Type::kContinue;
    } else if (tag == "with") {
      s->type = Stmt::Type::kWith;
      parse_with_assignments(*s);
      expect_block_end();
      s->body = parse_body({"endwith"}, &end);
    } else if (tag == "generation") {
      // transformers' AssistantTracker: renders its body as a call block, i.e. in its own scope.
      s->type = Stmt::Type::kScope;
      expect_block_end();
      s->body = parse_body({"endgeneration"}, &end);
    } else {
      fail("Encountered unknown tag '" + tag + "'.");
    }
    expect_block_end();
    return s;
  }

  // `{% with a = 1, (b, c) = pair %}`: jinja2's parse_with, comma-separated target = expression.
  void parse_with_assignments(Stmt& s) {
    while (cur().type != Tok::kBlockEnd) {
      if (!s.assignments.empty()) expect_op(",");
      ast::Target target = parse_target(false, "=");
      expect_op("=");
      s.assignments.emplace_back(std::move(target), parse_expression(true));
    }
  }

  void parse_signature(ast::MacroDef& m) {
    expect_op("(");
    while (!is_op(")")) {
      if (!m.params.empty()) expect_op(",");
      if (is_op(")")) break;
      std::string name = expect_name();
      ExprPtr dflt;
      if (skip_op("=")) dflt = parse_expression(true);
      m.params.emplace_back(std::move(name), std::move(dflt));
    }
    expect_op(")");
  }

  void parse_macro_body(ast::MacroDef& m, const char* end_tag) {
    std::string end;
    int saved_loops = loop_depth_;
    loop_depth_ = 0;
    names_.emplace_back();
    m.body = parse_body({end_tag}, &end);
    m.uses_varargs = names_.back().count("varargs") > 0;
    m.uses_kwargs = names_.back().count("kwargs") > 0;
    m.uses_caller = names_.back().count("caller") > 0;
    std::set<std::string> inner = std::move(names_.back());
    names_.pop_back();
    if (!names_.empty()) names_.back().insert(inner.begin(), inner.end());
    loop_depth_ = saved_loops;
  }

  // `x`, `a, b`, `(a, b)`, or with namespace refs allowed `ns.attr`. Stops before `stop`.
  ast::Target parse_target(bool with_namespace, const char* stop) {
    ast::Target t;
    if (with_namespace && cur().type == Tok::kName && peek().type == Tok::kOp && peek().text == ".") {
      t.names.push_back(expect_name());
      next();
      t.attr = expect_name();
      return t;
    }
    bool paren = skip_op("(");
    while (true) {
      t.names.push_back(expect_name());
      if (!skip_op(",")) break;
      t.tuple = true;
      if (is_name(stop) || is_op(stop) || is_op(")")) break;
    }
    if (paren) {
      expect_op(")");
      t.tuple = true;
    }
    return t;
  }

  // ---- expressions
  bool is_tuple_end(const std::vector<std::string>& extra_end) const {
    if (cur().type == Tok::kVarEnd || cur().type == Tok::kBlockEnd || cur().type == Tok::kEof) return true;
    if (is_op(")")) return true;
    for (const auto& e : extra_end)
      if (is_name(e.c_str())) return true;
    return false;
  }

  ExprPtr parse_tuple(bool with_condexpr, const std::vector<std::string>& extra_end, bool explicit_parens = false) {
    int line = cur().line;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (is_tuple_end(extra_end)) break;
      items.push_back(parse_expression(with_condexpr));
      if (is_op(",")) {
        is_tuple = true;
      } else {
        break;
      }
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) fail("Expected an expression, got '" + describe() + "'");
    }
    auto e = make(Expr::Type::kTuple, line);
    e->children = std::move(items);
    return e;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    Depth d(this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    int line = cur().line;
    ExprPtr expr = parse_or();
    Depth d(this);
    while (skip_name("if")) {
      d.step();
      auto c = make(Expr::Type::kCond, line);
      ExprPtr test = parse_or();
      ExprPtr otherwise = skip_name("else") ? parse_condexpr() : nullptr;
      c->children.push_back(std::move(test));
      c->children.push_back(std::move(expr));
      c->children.push_back(std::move(otherwise));
      expr = std::move(c);
    }
    return expr;
  }

  ExprPtr binary(Expr::Type type, std::string op, ExprPtr l, ExprPtr r, int line) {
    auto e = make(type, line);
    e->name = std::move(op);
    e->children.push_back(std::move(l));
    e->children.push_back(std::move(r));
    return e;
  }

  ExprPtr parse_or() {
    int line = cur().line;
    ExprPtr l = parse_and();
    Depth d(this);
    while (skip_name("or") && (d.step(), true)) l = binary(Expr::Type::kOr, "or", std::move(l), parse_and(), line);
    return l;
  }

  ExprPtr parse_and() {
    int line = cur().line;
    ExprPtr l = parse_not();
    Depth d(this);
    while (skip_name("and") && (d.step(), true)) l = binary(Expr::Type::kAnd, "and", std::move(l), parse_not(), line);
    return l;
  }

  ExprPtr parse_not() {
    Depth d(this);
    if (is_name("not")) {
      int line = cur().line;
      next();
      auto e = make(Expr::Type::kUnary, line);
      e->name = "not";
      e->children.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    int line = cur().line;
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (cur().type == Tok::kOp && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                     cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
        op = cur().text;
        next();
      } else if (skip_name("in")) {
        op = "in";
      } else if (is_name("not") && peek().type == Tok::kName && peek().text == "in") {
        next();
        next();
        op = "notin";
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(Expr::Type::kCompare, line);
        cmp->children.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->children.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr parse_math1() {
    int line = cur().line;
    ExprPtr l = parse_concat();
    Depth d(this);
    while (is_op("+") || is_op("-")) {
      d.step();
      std::string op = cur().text;
      next();
      l = binary(Expr::Type::kBinary, op, std::move(l), parse_concat(), line);
    }
    return l;
  }

  ExprPtr parse_concat() {
    int line = cur().line;
    ExprPtr first = parse_math2();
    if (!is_op("~")) return first;
    auto e = make(Expr::Type::kConcat, line);
    e->children.push_back(std::move(first));
    while (skip_op("~")) e->children.push_back(parse_math2());
    return e;
  }

  ExprPtr parse_math2() {
    int line = cur().line;
    ExprPtr l = parse_pow();
    Depth d(this);
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      d.step();
      std::string op = cur().text;
      next();
      l = binary(Expr::Type::kBinary, op, std::move(l), parse_pow(), line);
    }
    return l;
  }

  ExprPtr parse_pow() {
    int line = cur().line;
    ExprPtr l = parse_unary(true);
    Depth d(this);
    while (skip_op("**") && (d.step(), true))
      l = binary(Expr::Type::kBinary, "**", std::move(l), parse_unary(true), line);
    return l;
  }

  ExprPtr parse_unary(bool with_filter) {
    Depth d(this);
    int line = cur().line;
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      auto e = make(Expr::Type::kUnary, line);
      e->name = cur().text;
      next();
      e->children.push_back(parse_unary(false));
      node = std::move(e);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    Depth d(this);
    const Token& t = cur();
    int line = t.line;
    if (t.type == Tok::kName) {
      auto e = make(Expr::Type::kConst, line);
      if (t.text == "true" || t.text == "True") {
        e->value = Value(true);
      } else if (t.text == "false" || t.text == "False") {
        e->value = Value(false);
      } else if (t.text == "none" || t.text == "None") {
        e->value = Value(nullptr);
      } else {
        e->type = Expr::Type::kName;
        e->name = t.text;
        if (!names_.empty()) names_.back().insert(t.text);
      }
      next();
      return e;
    }
    if (t.type == Tok::kString) {
      std::string s;
      while (cur().type == Tok::kString) {
        s += cur().text;
        next();
      }
      auto e = make(Expr::Type::kConst, line);
      e->value = Value(std::move(s));
      return e;
    }
    if (t.type == Tok::kInt || t.type == Tok::kFloat) {
      auto e = make(Expr::Type::kConst, line);
      e->value = t.type == Tok::kInt ? Value(t.int_value) : Value(t.float_value);
      next();
      return e;
    }
    if (skip_op("(")) {
      ExprPtr e = parse_tuple(true, {}, true);
      expect_op(")");
      return e;
    }
    if (skip_op("[")) {
      auto e = make(Expr::Type::kList, line);
      while (!is_op("]")) {
        if (!e->children.empty()) expect_op(",");
        if (is_op("]")) break;
        e->children.push_back(parse_expression(true));
      }
      expect_op("]");
      return e;
    }
    if (skip_op("{")) {
      auto e = make(Expr::Type::kDict, line);
      while (!is_op("}")) {
        if (!e->children.empty()) expect_op(",");
        if (is_op("}")) break;
        e->children.push_back(parse_expression(true));
        expect_op(":");
        e->children.push_back(parse_expression(true));
      }
      expect_op("}");
      return e;
    }
    fail("unexpected '" + describe() + "'");
  }

  ExprPtr parse_postfix(ExprPtr node) {
    Depth d(this);
    while (true) {
      d.step();
      int line = cur().line;
      if (skip_op(".")) {
        if (cur().type == Tok::kName) {
          auto e = make(Expr::Type::kGetattr, line);
          e->name = cur().text;
          next();
          e->children.push_back(std::move(node));
          node = std::move(e);
        } else if (cur().type == Tok::kInt) {
          auto e = make(Expr::Type::kGetitem, line);
          auto idx = make(Expr::Type::kConst, line);
          idx->value = Value(cur().int_value);
          next();
          e->children.push_back(std::move(node));
          e->children.push_back(std::move(idx));
          node = std::move(e);
        } else {
          fail("expected name or number");
        }
      } else if (skip_op("[")) {
        std::vector<ExprPtr> args;
        while (!is_op("]")) {
          if (!args.empty()) expect_op(",");
          args.push_back(parse_subscribed());
        }
        expect_op("]");
        auto e = make(Expr::Type::kGetitem, line);
        e->children.push_back(std::move(node));
        if (args.size() == 1) {
          e->children.push_back(std::move(args[0]));
        } else {
          auto tup = make(Expr::Type::kTuple, line);
          tup->children = std::move(args);
          e->children.push_back(std::move(tup));
        }
        node = std::move(e);
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscribed() {
    int line = cur().line;
    ExprPtr start;
    if (!skip_op(":")) {
      ExprPtr e = parse_expression(true);
      if (!skip_op(":")) return e;
      start = std::move(e);
    }
    auto s = make(Expr::Type::kSlice, line);
    ExprPtr stop, step;
    if (!is_op(":") && !is_op("]") && !is_op(",")) stop = parse_expression(true);
    if (skip_op(":"))
      if (!is_op("]") && !is_op(",")) step = parse_expression(true);
    s->children.push_back(std::move(start));
    s->children.push_back(std::move(stop));
    s->children.push_back(std::move(step));
    return s;
  }

  // Arguments of a call, filter or test, from "(" to ")": appended to e's children/kwargs.
  void parse_call_args(Expr& e) {
    expect_op("(");
    bool need_comma = false;
    while (!is_op(")")) {
      if (need_comma) {
        expect_op(",");
        if (is_op(")")) break;
      }
      if (skip_op("*")) {
        e.dyn_args = parse_expression(true);
      } else if (skip_op("**")) {
        e.dyn_kwargs = parse_expression(true);
      } else if (cur().type == Tok::kName && peek().type == Tok::kOp && peek().text == "=") {
        std::string key = cur().text;
        next();
        next();
        e.kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (e.dyn_args || e.dyn_kwargs || !e.kwargs.empty()) fail("invalid syntax for function call expression");
        e.children.push_back(parse_expression(true));
      }
      need_comma = true;
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto e = make(Expr::Type::kCall, cur().line);
    e->children.push_back(std::move(callee));
    parse_call_args(*e);
    return e;
  }

  ExprPtr parse_filter_chain(ExprPtr node, bool start_inline) {
    Depth d(this);
    while (is_op("|") || start_inline) {
      d.step();
      if (!start_inline) next();
      start_inline = false;
      auto e = make(Expr::Type::kFilter, cur().line);
      e->name = expect_name();
      while (skip_op(".")) e->name = pystr::cat(e->name, ".", expect_name());
      e->children.push_back(std::move(node));
      if (is_op("(")) parse_call_args(*e);
      node = std::move(e);
    }
    return node;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    Depth d(this);
    while (true) {
      d.step();
      if (is_op("|")) {
        node = parse_filter_chain(std::move(node), false);
      } else if (is_name("is")) {
        node = parse_test(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_test(ExprPtr node) {
    int line = cur().line;
    next();  // is
    bool negated = skip_name("not");
    auto e = make(Expr::Type::kTest, line);
    e->negated = negated;
    e->name = expect_name();
    while (skip_op(".")) e->name = pystr::cat(e->name, ".", expect_name());
    e->children.push_back(std::move(node));
    if (is_op("(")) {
      parse_call_args(*e);
    } else if ((cur().type == Tok::kName || cur().type == Tok::kString || cur().type == Tok::kInt ||
                cur().type == Tok::kFloat || is_op("(") || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) fail("You cannot chain multiple tests with is");
      e->children.push_back(parse_postfix(parse_primary()));
    }
    return e;
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
  std::vector<std::set<std::string>> names_;  // names read, per enclosing macro body
};

// jinja2 resolves filters and tests when it compiles, except inside if statements and
// conditional expressions ("soft" frames), where an unknown one fails only when evaluated.
void check_names(const Expr* e, bool soft) {
  if (!e) return;
  if (e->type == Expr::Type::kCond) soft = true;
  if (!soft && e->type == Expr::Type::kFilter && !has_filter(e->name))
    throw TemplateError("No filter named '" + e->name + "'.", e->line);
  if (!soft && e->type == Expr::Type::kTest && !has_test(e->name))
    throw TemplateError("No test named '" + e->name + "'.", e->line);
  for (const auto& c : e->children) check_names(c.get(), soft);
  for (const auto& [k, v] : e->kwargs) check_names(v.get(), soft);
  check_names(e->dyn_args.get(), soft);
  check_names(e->dyn_kwargs.get(), soft);
}

void check_names(const Body& body, bool soft) {
  for (const auto& s : body) {
    bool in_if = s->type == Stmt::Type::kIf;
    // The statement's own expression is evaluated in the enclosing frame; bodies of loops, macros,
    // call/filter/set blocks get an inner frame, which is never soft.
    check_names(s->expr.get(), soft || in_if);
    check_names(s->filter.get(), false);
    for (const auto& [target, value] : s->assignments) check_names(value.get(), soft || in_if);
    for (const auto& [test, b] : s->branches) {
      check_names(test.get(), true);
      check_names(b, true);
    }
    check_names(s->body, false);
    check_names(s->else_body, in_if);
    if (s->macro) {
      for (const auto& [n, d] : s->macro->params) check_names(d.get(), false);
      check_names(s->macro->body, false);
    }
  }
}

}  // namespace

ast::Body parse(std::string_view source) {
  Body body = Parser(tokenize(source)).parse_template();
  check_names(body, false);
  return body;
}

}  // namespace nucleus::jinja
