#include "chat/jinja/parser.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "base/error.h"

namespace hearth::jinja {
namespace {

constexpr int kMaxParseDepth = 300;   // nested blocks / parenthesized expressions
constexpr int kMaxExprHeight = 256;   // longest operator chain in one expression
constexpr size_t kMaxNodes = 200000;  // syntax tree size (chat templates have a few thousand)

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  Body parse_template() {
    std::string which;
    Body b = parse_body({}, &which);
    return b;
  }

 private:
  // ---- token helpers ----
  const Token& cur() const { return t_[p_]; }
  const Token& peek(size_t k = 1) const { return t_[std::min(p_ + k, t_.size() - 1)]; }
  void next() {
    if (p_ + 1 < t_.size()) ++p_;
  }
  bool is_op(std::string_view op) const { return cur().kind == Tok::Op && cur().text == op; }
  bool is_name(std::string_view n) const { return cur().kind == Tok::Name && cur().text == n; }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(std::string_view n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  [[noreturn]] void error(const std::string& msg, int line = 0) {
    fail("template syntax error, line {}: {}", line ? line : cur().line, msg);
  }
  std::string describe(const Token& t) const {
    switch (t.kind) {
      case Tok::Eof:
        return "end of template";
      case Tok::BlockEnd:
        return "end of statement block";
      case Tok::VarEnd:
        return "end of print statement";
      case Tok::Text:
        return "template data";
      case Tok::String:
        return "string";
      case Tok::Int:
        return "integer";
      case Tok::Float:
        return "float";
      default:
        return fmt::format("'{}'", t.text);
    }
  }
  void expect_op(std::string_view op) {
    if (!skip_op(op)) error(fmt::format("expected '{}', got {}", op, describe(cur())));
  }
  std::string expect_name() {
    if (cur().kind != Tok::Name) error(fmt::format("expected a name, got {}", describe(cur())));
    std::string n = cur().text;
    next();
    return n;
  }
  void expect_block_end() {
    if (cur().kind != Tok::BlockEnd)
      error(fmt::format("expected end of statement block, got {}", describe(cur())));
    next();
  }

  struct Depth {
    explicit Depth(Parser& p) : p_(p) {
      if (++p_.depth_ > kMaxParseDepth) p_.error("template nested too deeply");
    }
    ~Depth() { --p_.depth_; }
    Parser& p_;
  };

  void count_node() {
    if (++nodes_ > kMaxNodes) error("template too large (more than 200000 syntax nodes)");
  }
  StmtPtr stmt() {
    count_node();
    return std::make_unique<Stmt>();
  }
  ExprPtr node(ExprKind k, int line) {
    count_node();
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = line;
    return e;
  }
  // Computes the height of a finished node and bounds it (evaluation recurses along it).
  ExprPtr fix(ExprPtr e) {
    int h = 0;
    auto see = [&](const ExprPtr& c) {
      if (c) h = std::max(h, c->height);
    };
    see(e->a), see(e->b), see(e->c), see(e->d);
    for (auto& c : e->items) see(c);
    for (auto& c : e->call.args) see(c);
    for (auto& kv : e->call.kwargs) see(kv.second);
    see(e->call.dyn_args), see(e->call.dyn_kwargs);
    e->height = h + 1;
    if (e->height > kMaxExprHeight) error("expression too deeply nested", e->line);
    return e;
  }

  // ---- statements ----
  Body parse_body(std::initializer_list<std::string_view> ends, std::string* which) {
    Depth guard(*this);
    Body body;
    while (true) {
      const Token& tk = cur();
      if (tk.kind == Tok::Eof) {
        if (ends.size() == 0) return body;
        std::string want;
        for (auto e : ends) {
          want.append(want.empty() ? "'" : " or '");
          want.append(e);
          want.append("'");
        }
        error(fmt::format("unexpected end of template, expected {}", want));
      }
      if (tk.kind == Tok::Text) {
        auto s = stmt();
        s->kind = StmtKind::Text;
        s->line = tk.line;
        s->text = tk.text;
        body.push_back(std::move(s));
        next();
      } else if (tk.kind == Tok::VarBegin) {
        auto s = stmt();
        s->kind = StmtKind::Print;
        s->line = tk.line;
        next();
        s->expr = parse_tuple(false, true, {}, false);
        if (cur().kind != Tok::VarEnd)
          error(fmt::format("expected end of print statement, got {}", describe(cur())));
        next();
        body.push_back(std::move(s));
      } else if (tk.kind == Tok::BlockBegin) {
        next();
        if (cur().kind != Tok::Name) error("tag name expected");
        if (std::find(ends.begin(), ends.end(), cur().text) != ends.end()) {
          *which = cur().text;
          next();
          return body;
        }
        parse_statement(body);
      } else {
        error(fmt::format("unexpected {}", describe(tk)));
      }
    }
  }

  // Parses a body up to one of `ends`; the end tag's block end is consumed when `close` is set.
  Body sub_body(std::initializer_list<std::string_view> ends, std::string* which = nullptr,
                bool close = true) {
    std::string w;
    Body b = parse_body(ends, &w);
    if (which) *which = w;
    if (close) expect_block_end();
    return b;
  }

  void parse_statement(Body& out) {
    auto s = stmt();
    s->line = cur().line;
    std::string tag = cur().text;
    next();
    if (tag == "if") {
      s->kind = StmtKind::If;
      while (true) {
        s->conds.push_back(parse_tuple(false, false, {}, false));
        expect_block_end();
        std::string which;
        s->bodies.push_back(sub_body({"elif", "else", "endif"}, &which, false));
        if (which == "elif") continue;
        if (which == "else") {
          expect_block_end();
          s->else_body = sub_body({"endif"});
        } else {
          expect_block_end();
        }
        break;
      }
    } else if (tag == "for") {
      s->kind = StmtKind::For;
      s->target = parse_assign_target(true, {"in"}, false);
      if (!skip_name("in")) error("expected 'in' in for loop");
      s->expr = parse_tuple(false, false, {"recursive"}, false);
      if (skip_name("if")) s->cond = parse_expression(true);
      s->recursive = skip_name("recursive");
      expect_block_end();
      std::string which;
      ++loop_depth_;
      s->body = sub_body({"endfor", "else"}, &which);
      --loop_depth_;
      if (which == "else") s->else_body = sub_body({"endfor"});
    } else if (tag == "set") {
      s->target = parse_assign_target(true, {}, true);
      if (skip_op("=")) {
        s->kind = StmtKind::Set;
        s->expr = parse_tuple(false, true, {}, false);
        expect_block_end();
      } else {
        s->kind = StmtKind::SetBlock;
        if (s->target->kind != ExprKind::Name && s->target->kind != ExprKind::NsRef)
          error("can't assign a block to a tuple");
        if (is_op("|")) s->expr = parse_filters(nullptr, false);
        expect_block_end();
        s->body = sub_body({"endset"});
      }
    } else if (tag == "macro") {
      s->kind = StmtKind::Macro;
      s->text = expect_name();
      parse_signature(*s);
      expect_block_end();
      int saved = std::exchange(loop_depth_, 0);
      s->body = sub_body({"endmacro"});
      loop_depth_ = saved;
      scan_names(s->body, *s);
    } else if (tag == "call") {
      s->kind = StmtKind::CallBlock;
      if (is_op("(")) parse_signature(*s);
      s->expr = parse_expression(true);
      if (s->expr->kind != ExprKind::Call) error("expected a call", s->line);
      expect_block_end();
      int saved = std::exchange(loop_depth_, 0);
      s->body = sub_body({"endcall"});
      loop_depth_ = saved;
      scan_names(s->body, *s);
    } else if (tag == "filter") {
      s->kind = StmtKind::FilterBlock;
      s->expr = parse_filters(nullptr, true);
      expect_block_end();
      s->body = sub_body({"endfilter"});
    } else if (tag == "with") {
      s->kind = StmtKind::With;
      while (cur().kind != Tok::BlockEnd) {
        if (!s->targets.empty()) expect_op(",");
        s->targets.push_back(parse_assign_target(true, {}, false));
        expect_op("=");
        s->defaults.push_back(parse_expression(true));
      }
      expect_block_end();
      s->body = sub_body({"endwith"});
    } else if (tag == "generation" || tag == "autoescape") {
      // {% generation %} (Hugging Face's assistant mask marker) renders its body in its own scope.
      s->kind = StmtKind::With;
      if (tag == "autoescape") parse_expression(true);
      expect_block_end();
      s->body = sub_body({tag == "generation" ? "endgeneration" : "endautoescape"});
    } else if (tag == "print") {
      s->kind = StmtKind::Print;
      std::vector<ExprPtr> items;
      while (cur().kind != Tok::BlockEnd) {
        if (!items.empty()) expect_op(",");
        items.push_back(parse_expression(true));
      }
      auto cat = node(ExprKind::Concat, s->line);
      cat->items = std::move(items);
      s->expr = fix(std::move(cat));
      expect_block_end();
    } else if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) error(fmt::format("'{}' outside of a loop", tag));
      s->kind = tag == "break" ? StmtKind::Break : StmtKind::Continue;
      expect_block_end();
    } else if (tag == "include" || tag == "import" || tag == "from" || tag == "extends" || tag == "block") {
      error(fmt::format("'{}' is not supported in chat templates (no template loading)", tag), s->line);
    } else {
      error(fmt::format("encountered unknown tag '{}'", tag), s->line);
    }
    out.push_back(std::move(s));
  }

  void parse_signature(Stmt& s) {
    expect_op("(");
    while (!is_op(")")) {
      if (!s.params.empty()) expect_op(",");
      if (is_op(")")) break;
      s.params.push_back(expect_name());
      if (skip_op("=")) {
        s.defaults.push_back(parse_expression(true));
      } else {
        if (!s.defaults.empty() && s.defaults.back()) error("non-default argument follows default argument");
        s.defaults.push_back(nullptr);
      }
    }
    expect_op(")");
  }

  // Which of the special names (varargs, kwargs, caller) a macro body refers to.
  void scan_names(const Body& body, Stmt& m) {
    auto see_expr = [&](auto& self, const Expr* e) -> void {
      if (!e) return;
      if (e->kind == ExprKind::Name) {
        if (e->name == "varargs") m.uses_varargs = true;
        if (e->name == "kwargs") m.uses_kwargs = true;
        if (e->name == "caller") m.uses_caller = true;
      }
      self(self, e->a.get()), self(self, e->b.get()), self(self, e->c.get()), self(self, e->d.get());
      for (auto& c : e->items) self(self, c.get());
      for (auto& c : e->call.args) self(self, c.get());
      for (auto& kv : e->call.kwargs) self(self, kv.second.get());
      self(self, e->call.dyn_args.get()), self(self, e->call.dyn_kwargs.get());
    };
    auto see_body = [&](auto& self, const Body& b) -> void {
      for (auto& st : b) {
        see_expr(see_expr, st->expr.get());
        see_expr(see_expr, st->cond.get());
        for (auto& c : st->conds) see_expr(see_expr, c.get());
        for (auto& c : st->defaults) see_expr(see_expr, c.get());
        for (auto& bb : st->bodies) self(self, bb);
        if (st->kind != StmtKind::Macro) {
          self(self, st->body);
          self(self, st->else_body);
        }
      }
    };
    see_body(see_body, body);
  }

  // ---- assignment targets ----
  ExprPtr parse_assign_target(bool with_tuple, std::initializer_list<std::string_view> extra_end,
                              bool with_ns) {
    ExprPtr t;
    if (with_tuple) {
      t = parse_tuple(true, true, extra_end, false, with_ns);
    } else {
      t = parse_primary(with_ns);
    }
    auto assignable = [](const Expr& e) { return e.kind == ExprKind::Name || e.kind == ExprKind::NsRef; };
    bool ok = assignable(*t);
    if (t->kind == ExprKind::Tuple) {
      ok = true;
      for (auto& i : t->items) ok = ok && assignable(*i);
    }
    if (!ok) error("can't assign to this expression", t->line);
    return t;
  }

  // ---- expressions ----
  bool is_tuple_end(std::initializer_list<std::string_view> extra) const {
    if (cur().kind == Tok::VarEnd || cur().kind == Tok::BlockEnd || is_op(")")) return true;
    for (auto e : extra)
      if (is_name(e)) return true;
    return false;
  }

  ExprPtr parse_tuple(bool simplified, bool with_condexpr, std::initializer_list<std::string_view> extra,
                      bool explicit_parens, bool with_ns = false) {
    int line = cur().line;
    std::vector<ExprPtr> args;
    bool is_tuple = false;
    while (true) {
      if (!args.empty()) expect_op(",");
      if (is_tuple_end(extra)) break;
      args.push_back(simplified ? parse_primary(with_ns) : parse_expression(with_condexpr));
      if (is_op(",")) {
        is_tuple = true;
      } else {
        break;
      }
    }
    if (!is_tuple) {
      if (!args.empty()) return std::move(args[0]);
      if (!explicit_parens) error(fmt::format("expected an expression, got {}", describe(cur())));
    }
    auto t = node(ExprKind::Tuple, line);
    t->items = std::move(args);
    return fix(std::move(t));
  }

  ExprPtr parse_expression(bool with_condexpr) {
    Depth guard(*this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    int line = cur().line;
    ExprPtr e = parse_or();
    while (skip_name("if")) {
      auto c = node(ExprKind::CondExpr, line);
      c->a = parse_or();
      c->b = std::move(e);
      if (skip_name("else")) c->c = parse_condexpr();
      e = fix(std::move(c));
    }
    return e;
  }

  ExprPtr binary(ExprKind k, int line, ExprPtr l, ExprPtr r, std::string op = {}) {
    auto e = node(k, line);
    e->a = std::move(l);
    e->b = std::move(r);
    e->op = std::move(op);
    return fix(std::move(e));
  }

  ExprPtr parse_or() {
    int line = cur().line;
    ExprPtr l = parse_and();
    while (skip_name("or")) l = binary(ExprKind::Or, line, std::move(l), parse_and());
    return l;
  }
  ExprPtr parse_and() {
    int line = cur().line;
    ExprPtr l = parse_not();
    while (skip_name("and")) l = binary(ExprKind::And, line, std::move(l), parse_not());
    return l;
  }
  ExprPtr parse_not() {
    if (is_name("not")) {
      Depth guard(*this);
      int line = cur().line;
      next();
      auto e = node(ExprKind::Not, line);
      e->a = parse_not();
      return fix(std::move(e));
    }
    return parse_compare();
  }
  ExprPtr parse_compare() {
    int line = cur().line;
    ExprPtr first = parse_math1();
    auto cmp = node(ExprKind::Compare, line);
    while (true) {
      if (cur().kind == Tok::Op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                    cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
        cmp->ops.push_back(cur().text);
        next();
      } else if (is_name("in")) {
        cmp->ops.push_back("in");
        next();
      } else if (is_name("not") && peek().kind == Tok::Name && peek().text == "in") {
        cmp->ops.push_back("notin");
        next();
        next();
      } else {
        break;
      }
      cmp->items.push_back(parse_math1());
    }
    if (cmp->ops.empty()) return first;
    cmp->a = std::move(first);
    return fix(std::move(cmp));
  }
  ExprPtr parse_math1() {
    int line = cur().line;
    ExprPtr l = parse_concat();
    while (is_op("+") || is_op("-")) {
      std::string op = cur().text;
      next();
      l = binary(ExprKind::Binary, line, std::move(l), parse_concat(), op);
    }
    return l;
  }
  ExprPtr parse_concat() {
    int line = cur().line;
    ExprPtr first = parse_math2();
    if (!is_op("~")) return first;
    auto c = node(ExprKind::Concat, line);
    c->items.push_back(std::move(first));
    while (skip_op("~")) c->items.push_back(parse_math2());
    return fix(std::move(c));
  }
  ExprPtr parse_math2() {
    int line = cur().line;
    ExprPtr l = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      std::string op = cur().text;
      next();
      l = binary(ExprKind::Binary, line, std::move(l), parse_pow(), op);
    }
    return l;
  }
  ExprPtr parse_pow() {
    int line = cur().line;
    ExprPtr l = parse_unary(true);
    while (skip_op("**")) l = binary(ExprKind::Binary, line, std::move(l), parse_unary(true), "**");
    return l;
  }
  ExprPtr parse_unary(bool with_filter) {
    Depth guard(*this);
    int line = cur().line;
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      auto u = node(is_op("-") ? ExprKind::Neg : ExprKind::Pos, line);
      next();
      u->a = parse_unary(false);
      e = fix(std::move(u));
    } else {
      e = parse_primary(false);
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary(bool with_ns) {
    Depth guard(*this);
    const Token& tk = cur();
    int line = tk.line;
    if (tk.kind == Tok::Name) {
      std::string n = tk.text;
      next();
      auto lit = [&](Value v) {
        auto e = node(ExprKind::Literal, line);
        e->value = std::move(v);
        return e;
      };
      if (n == "true" || n == "True") return lit(Value::boolean(true));
      if (n == "false" || n == "False") return lit(Value::boolean(false));
      if (n == "none" || n == "None") return lit(Value::none());
      if (with_ns && is_op(".")) {
        next();
        auto e = node(ExprKind::NsRef, line);
        e->name = n;
        e->op = expect_name();
        return e;
      }
      auto e = node(ExprKind::Name, line);
      e->name = n;
      return e;
    }
    if (tk.kind == Tok::String) {
      std::string s;
      while (cur().kind == Tok::String) {
        s += cur().text;
        next();
      }
      auto e = node(ExprKind::Literal, line);
      e->value = Value::string(std::move(s));
      return e;
    }
    if (tk.kind == Tok::Int || tk.kind == Tok::Float) {
      auto e = node(ExprKind::Literal, line);
      e->value = tk.kind == Tok::Int ? Value::integer(tk.ival) : Value::number(tk.fval);
      next();
      return e;
    }
    if (is_op("(")) {
      next();
      ExprPtr e = parse_tuple(false, true, {}, true);
      expect_op(")");
      return e;
    }
    if (is_op("[")) {
      next();
      auto e = node(ExprKind::List, line);
      while (!is_op("]")) {
        if (!e->items.empty()) expect_op(",");
        if (is_op("]")) break;
        e->items.push_back(parse_expression(true));
      }
      expect_op("]");
      return fix(std::move(e));
    }
    if (is_op("{")) {
      next();
      auto e = node(ExprKind::Dict, line);
      while (!is_op("}")) {
        if (!e->items.empty()) expect_op(",");
        if (is_op("}")) break;
        e->items.push_back(parse_expression(true));
        expect_op(":");
        e->items.push_back(parse_expression(true));
      }
      expect_op("}");
      return fix(std::move(e));
    }
    error(fmt::format("unexpected {}", describe(tk)));
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (is_op(".") || is_op("[")) {
        e = parse_subscript(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      if (is_op("|")) {
        e = parse_filters(std::move(e), false);
      } else if (is_name("is")) {
        e = parse_test(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr obj) {
    int line = cur().line;
    if (skip_op(".")) {
      if (cur().kind == Tok::Name) {
        auto e = node(ExprKind::GetAttr, line);
        e->a = std::move(obj);
        e->name = cur().text;
        next();
        return fix(std::move(e));
      }
      if (cur().kind != Tok::Int) error("expected name or number");
      auto e = node(ExprKind::GetItem, line);
      e->a = std::move(obj);
      e->b = node(ExprKind::Literal, line);
      e->b->value = Value::integer(cur().ival);
      next();
      return fix(std::move(e));
    }
    expect_op("[");
    std::vector<ExprPtr> args;
    while (!is_op("]")) {
      if (!args.empty()) expect_op(",");
      args.push_back(parse_subscribed());
    }
    expect_op("]");
    if (args.empty()) error("expected subscript expression");
    auto e = node(ExprKind::GetItem, line);
    e->a = std::move(obj);
    if (args.size() == 1) {
      e->b = std::move(args[0]);
    } else {
      auto t = node(ExprKind::Tuple, line);
      t->items = std::move(args);
      e->b = fix(std::move(t));
    }
    if (e->b->kind == ExprKind::Slice) {  // a[x:y:z] -> Slice(a, x, y, z)
      auto s = std::move(e->b);
      s->a = std::move(e->a);
      return fix(std::move(s));
    }
    return fix(std::move(e));
  }

  ExprPtr parse_subscribed() {
    int line = cur().line;
    ExprPtr start;
    if (!is_op(":")) {
      start = parse_expression(true);
      if (!is_op(":")) return start;
    }
    next();  // ':'
    auto s = node(ExprKind::Slice, line);
    s->b = std::move(start);
    if (!is_op("]") && !is_op(",") && !is_op(":")) s->c = parse_expression(true);
    if (skip_op(":")) {
      if (!is_op("]") && !is_op(",")) s->d = parse_expression(true);
    }
    return s;
  }

  void parse_call_args(CallSpec& c) {
    expect_op("(");
    bool need_comma = false;
    while (!is_op(")")) {
      if (need_comma) {
        expect_op(",");
        if (is_op(")")) break;
      }
      if (skip_op("*")) {
        if (c.dyn_args || c.dyn_kwargs) error("invalid syntax for function call expression");
        c.dyn_args = parse_expression(true);
      } else if (skip_op("**")) {
        if (c.dyn_kwargs) error("invalid syntax for function call expression");
        c.dyn_kwargs = parse_expression(true);
      } else if (cur().kind == Tok::Name && peek().kind == Tok::Op && peek().text == "=") {
        if (c.dyn_kwargs) error("invalid syntax for function call expression");
        std::string key = cur().text;
        next();
        next();
        c.kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (c.dyn_args || c.dyn_kwargs || !c.kwargs.empty())
          error("invalid syntax for function call expression");
        c.args.push_back(parse_expression(true));
      }
      need_comma = true;
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto e = node(ExprKind::Call, cur().line);
    e->a = std::move(callee);
    parse_call_args(e->call);
    return fix(std::move(e));
  }

  // `| name(args)` chain; `subject` may be null (filter blocks), `inline_first` when the first
  // filter has no leading pipe.
  ExprPtr parse_filters(ExprPtr subject, bool inline_first) {
    while (is_op("|") || inline_first) {
      if (!inline_first) next();
      inline_first = false;
      auto e = node(ExprKind::Filter, cur().line);
      e->name = expect_name();
      while (skip_op(".")) {
        e->name.push_back('.');
        e->name.append(expect_name());
      }
      if (is_op("(")) parse_call_args(e->call);
      e->a = std::move(subject);
      subject = fix(std::move(e));
    }
    return subject;
  }

  ExprPtr parse_test(ExprPtr subject) {
    int line = cur().line;
    next();  // 'is'
    bool negated = skip_name("not");
    auto e = node(ExprKind::Test, line);
    e->name = expect_name();
    while (skip_op(".")) {
      e->name.push_back('.');
      e->name.append(expect_name());
    }
    if (is_op("(")) {
      parse_call_args(e->call);
    } else if ((cur().kind == Tok::Name || cur().kind == Tok::String || cur().kind == Tok::Int ||
                cur().kind == Tok::Float || is_op("(") || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) error("you cannot chain multiple tests with is");
      e->call.args.push_back(parse_postfix(parse_primary(false)));
    }
    e->a = std::move(subject);
    ExprPtr r = fix(std::move(e));
    if (negated) {
      auto n = node(ExprKind::Not, line);
      n->a = std::move(r);
      r = fix(std::move(n));
    }
    return r;
  }

  std::vector<Token> t_;
  size_t p_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
  size_t nodes_ = 0;
  friend struct Depth;
};

}  // namespace

Body parse(std::vector<Token> tokens) { return Parser(std::move(tokens)).parse_template(); }

}  // namespace hearth::jinja
