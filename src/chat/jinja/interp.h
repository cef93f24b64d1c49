// chat/jinja: the tree-walking renderer (internal). Statements run in interp.cpp, expressions in
// eval.cpp; filters, tests, methods and globals call back through the Renderer for limits and calls.
#pragma once
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "chat/jinja/ast.h"
#include "chat/jinja/jinja.h"
#include "chat/jinja/value.h"

namespace hearth::jinja {

struct Scope {
  std::shared_ptr<Scope> parent;
  std::vector<std::pair<std::string, Value>> vars;
  bool captured = false;  // a macro or caller defined here refers to this scope

  const Value* find(std::string_view name) const {
    for (const Scope* s = this; s; s = s->parent.get())
      for (auto& [k, v] : s->vars)
        if (k == name) return &v;
    return nullptr;
  }
  void set(std::string_view name, Value v) {
    for (auto& [k, old] : vars) {
      if (k == name) {
        old = std::move(v);
        return;
      }
    }
    vars.emplace_back(std::string(name), std::move(v));
  }
};
using ScopePtr = std::shared_ptr<Scope>;

enum class Flow { Normal, Break, Continue };

// Arguments bound to a Python-like signature.
struct Bound {
  std::vector<Value> v;
  std::vector<bool> given;
  bool has(size_t i) const { return given[i]; }
  const Value& operator[](size_t i) const { return v[i]; }
};

class Renderer {
 public:
  explicit Renderer(const Options& opts);
  std::string render(const Body& body, const Value& context);
  const Options& opts() const { return opts_; }

  // ---- services for filters, tests, methods and globals ----
  Value call(const Value& fn, CallArgs& args);
  Value getattr(const Value& obj, const std::string& name);
  Value getitem(const Value& obj, const Value& key);
  Value filter(std::string_view name, const Value& v, CallArgs& args);
  bool test(std::string_view name, const Value& v, CallArgs& args);
  bool has_filter(std::string_view name) const;
  bool has_test(std::string_view name) const;
  // Elements of an iterable (list items, dict keys, string characters; undefined: none).
  std::vector<Value> iterate(const Value& v);
  bool contains(const Value& haystack, const Value& needle);
  Value binop(std::string_view op, const Value& a, const Value& b);

  // Limits: new strings/lists are checked and charged to the work budget.
  Value str(std::string s);
  Value list(std::vector<Value> items, bool tuple = false);
  void check_size(size_t bytes) const;
  void check_items(size_t n) const;
  [[noreturn]] void fail_undefined(const Value& v) const;
  // Binds positional and keyword arguments to `names` (error on unknown or surplus ones).
  Bound bind(CallArgs& args, std::string_view fname, std::initializer_list<std::string_view> names) const;
  int64_t to_int(const Value& v, std::string_view what) const;
  std::string out_str(const Value& v) const;  // str() of a value, refusing unsafe undefineds

  // An unsafe (forbidden) attribute: an undefined that raises when used.
  static Value unsafe_attr(const Value& obj, std::string_view name);

 private:
  friend struct DepthGuard;
  Flow exec(const Body& body, const ScopePtr& scope, std::string& out);
  Flow exec_stmt(const Stmt& s, const ScopePtr& scope, std::string& out);
  Flow exec_for(const Stmt& s, const ScopePtr& scope, const Value& seq, int depth, std::string& out);
  void assign(const Expr& target, Value v, const ScopePtr& scope);
  void emit(std::string& out, std::string_view s);
  Value call_macro(const Stmt& m, const ScopePtr& closure, CallArgs& args, bool is_caller);
  Value make_macro(const Stmt& m, const ScopePtr& scope, bool is_caller);
  Value apply_filter_chain(const Expr& chain, const Value& hole, const ScopePtr& scope);
  Value eval(const Expr& e, const ScopePtr& scope);
  Value eval_call(const Expr& e, const ScopePtr& scope, CallArgs* extra);
  void eval_args(const CallSpec& c, const ScopePtr& scope, CallArgs& out);
  Value eval_compare(const Expr& e, const ScopePtr& scope);
  Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
  void install_globals(Scope& g);

  const Options& opts_;
  int depth_ = 0;
  int line_ = 0;
  ScopePtr root_;
};

// RAII nesting counter for evaluation and calls.
struct DepthGuard {
  explicit DepthGuard(Renderer& r) : r_(r) {
    if (++r_.depth_ > r_.opts_.max_depth) fail("template recursion too deep (limit {})", r_.opts_.max_depth);
  }
  ~DepthGuard() { --r_.depth_; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;
  Renderer& r_;
};

// Tables (filters.cpp, predicates.cpp, methods.cpp, builtins.cpp).
using FilterFn = Value (*)(Renderer&, const Value&, CallArgs&);
using TestFn = bool (*)(Renderer&, const Value&, CallArgs&);
FilterFn find_filter(std::string_view name);
TestFn find_test(std::string_view name);
// Methods of str, list and dict. `mutating` is set for methods that modify their object.
bool has_method(const Value& obj, std::string_view name, bool* mutating);
Value call_method(Renderer& r, const Value& obj, std::string_view name, CallArgs& args);
void add_globals(Renderer& r, Scope& g);

// format.cpp
struct JsonStyle {
  std::string indent;  // empty with has_indent=false: compact
  bool has_indent = false;
  std::string item_sep = ", ", key_sep = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};
std::string to_json(Renderer& r, const Value& v, const JsonStyle& style);
std::string percent_format(Renderer& r, const std::string& fmt, const Value& args);
std::string str_format(Renderer& r, const std::string& fmt, CallArgs& args);
std::string strftime(const std::string& fmt, const std::tm& tm);

}  // namespace hearth::jinja
