#include "chat/jinja/interp.h"

#include <algorithm>
#include <new>
#include <stdexcept>

#include "chat/jinja/lexer.h"
#include "chat/jinja/parser.h"

namespace hearth::jinja {

Renderer::Renderer(const Options& opts) : opts_(opts) {}

std::string Renderer::render(const Body& body, const Value& context) {
  BudgetScope budget(opts_.max_steps);
  std::string out;
  try {
    auto globals = std::make_shared<Scope>();
    add_globals(*this, *globals);
    root_ = std::make_shared<Scope>();
    root_->parent = globals;
    if (context.is_dict())
      for (auto& [k, v] : context.dict().items) root_->set(to_str(k), v);
    exec(body, root_, out);
  } catch (const Error& e) {
    root_.reset();
    throw Error(fmt::format("template error, line {}: {}", line_, e.what()));
  } catch (const std::bad_alloc&) {
    root_.reset();
    throw Error(fmt::format("template error, line {}: out of memory", line_));
  } catch (const std::length_error&) {
    root_.reset();
    throw Error(fmt::format("template error, line {}: value too large", line_));
  }
  root_.reset();
  return out;
}

// ---- limits ----

void Renderer::check_size(size_t bytes) const {
  if (bytes > opts_.max_string) fail("string too long ({} bytes, limit {})", bytes, opts_.max_string);
}
void Renderer::check_items(size_t n) const {
  if (n > opts_.max_items) fail("sequence too long ({} items, limit {})", n, opts_.max_items);
}
Value Renderer::str(std::string s) {
  check_size(s.size());
  charge(2 + s.size() / 32);
  return Value::string(std::move(s));
}
Value Renderer::list(std::vector<Value> items, bool tuple) {
  check_items(items.size());
  charge(1 + items.size());
  return Value::make_list(std::move(items), tuple);
}
void Renderer::emit(std::string& out, std::string_view s) {
  if (out.size() + s.size() > opts_.max_string) fail("output too large (limit {} bytes)", opts_.max_string);
  charge(s.size() / 64);
  out.append(s);
}

void Renderer::fail_undefined(const Value& v) const {
  if (v.s().empty()) fail("undefined value");
  fail("{}", v.s());
}

Value Renderer::unsafe_attr(const Value& obj, std::string_view name) {
  return Value::undefined(
      fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, type_name(obj)), true);
}

std::string Renderer::out_str(const Value& v) const { return to_str(v); }

int64_t Renderer::to_int(const Value& v, std::string_view what) const {
  if (v.is_integral()) return v.i();
  if (v.is_undefined()) fail_undefined(v);
  fail("{} must be an integer, not '{}'", what, type_name(v));
}

Bound Renderer::bind(CallArgs& args, std::string_view fname,
                     std::initializer_list<std::string_view> names) const {
  Bound b;
  b.v.resize(names.size());
  b.given.assign(names.size(), false);
  if (args.pos.size() > names.size())
    fail("{}() takes at most {} argument(s) ({} given)", fname, names.size(), args.pos.size());
  for (size_t i = 0; i < args.pos.size(); ++i) {
    b.v[i] = args.pos[i];
    b.given[i] = true;
  }
  for (auto& [k, v] : args.kw) {
    auto it = std::find(names.begin(), names.end(), k);
    if (it == names.end()) fail("{}() got an unexpected keyword argument '{}'", fname, k);
    size_t i = static_cast<size_t>(it - names.begin());
    if (b.given[i]) fail("{}() got multiple values for argument '{}'", fname, k);
    b.v[i] = v;
    b.given[i] = true;
  }
  return b;
}

// ---- statements ----

Flow Renderer::exec(const Body& body, const ScopePtr& scope, std::string& out) {
  for (auto& s : body) {
    Flow f = exec_stmt(*s, scope, out);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

Flow Renderer::exec_stmt(const Stmt& s, const ScopePtr& scope, std::string& out) {
  line_ = s.line;
  charge(1);
  switch (s.kind) {
    case StmtKind::Text:
      emit(out, s.text);
      return Flow::Normal;
    case StmtKind::Print: {
      Value v = eval(*s.expr, scope);
      if (v.is_string()) {
        emit(out, v.s());
      } else {
        emit(out, out_str(v));
      }
      return Flow::Normal;
    }
    case StmtKind::If:
      for (size_t i = 0; i < s.conds.size(); ++i) {
        line_ = s.conds[i]->line;
        if (truthy(eval(*s.conds[i], scope))) return exec(s.bodies[i], scope, out);
      }
      return exec(s.else_body, scope, out);
    case StmtKind::For:
      return exec_for(s, scope, eval(*s.expr, scope), 1, out);
    case StmtKind::Set:
      assign(*s.target, eval(*s.expr, scope), scope);
      return Flow::Normal;
    case StmtKind::SetBlock: {
      std::string buf;
      DepthGuard g(*this);
      exec(s.body, scope, buf);
      Value v = str(std::move(buf));
      if (s.expr) v = apply_filter_chain(*s.expr, v, scope);
      line_ = s.line;
      assign(*s.target, std::move(v), scope);
      return Flow::Normal;
    }
    case StmtKind::Macro:
      scope->set(s.text, make_macro(s, scope, false));
      return Flow::Normal;
    case StmtKind::CallBlock: {
      CallArgs extra;
      extra.kw.emplace_back("caller", make_macro(s, scope, true));
      Value v = eval_call(*s.expr, scope, &extra);
      emit(out, out_str(v));
      return Flow::Normal;
    }
    case StmtKind::FilterBlock: {
      std::string buf;
      DepthGuard g(*this);
      auto inner = std::make_shared<Scope>();
      inner->parent = scope;
      Flow f = exec(s.body, inner, buf);
      Value v = apply_filter_chain(*s.expr, str(std::move(buf)), scope);
      emit(out, out_str(v));
      return f;
    }
    case StmtKind::With: {
      DepthGuard g(*this);
      auto inner = std::make_shared<Scope>();
      inner->parent = scope;
      std::vector<Value> vals;
      for (auto& e : s.defaults) vals.push_back(eval(*e, scope));
      for (size_t i = 0; i < s.targets.size(); ++i) assign(*s.targets[i], std::move(vals[i]), inner);
      return exec(s.body, inner, out);
    }
    case StmtKind::Break:
      return Flow::Break;
    case StmtKind::Continue:
      return Flow::Continue;
  }
  return Flow::Normal;
}

Flow Renderer::exec_for(const Stmt& s, const ScopePtr& scope, const Value& seq, int depth, std::string& out) {
  DepthGuard g(*this);
  std::vector<Value> items = iterate(seq);
  if (s.cond) {
    std::vector<Value> kept;
    for (auto& item : items) {
      auto probe = std::make_shared<Scope>();
      probe->parent = scope;
      assign(*s.target, item, probe);
      if (truthy(eval(*s.cond, probe))) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    auto inner = std::make_shared<Scope>();
    inner->parent = scope;
    return exec(s.else_body, inner, out);
  }
  const auto n = static_cast<int64_t>(items.size());
  auto pos = std::make_shared<int64_t>(0);
  Value loop = Value::make_dict();
  DictObj& ld = loop.dict();
  static const char* kFields[] = {"index",  "index0", "revindex", "revindex0", "first",   "last",
                                  "length", "depth",  "depth0",   "previtem",  "nextitem"};
  for (const char* f : kFields) ld.set(Value::string(f), Value());
  ld.set(Value::string("cycle"), Value::function("cycle", [pos](Renderer&, CallArgs& a) -> Value {
           if (a.pos.empty()) fail("no items for cycling given");
           return a.pos[static_cast<size_t>(*pos % static_cast<int64_t>(a.pos.size()))];
         }));
  // loop.changed(): compares the arguments' repr (holding no references, so no cycles).
  auto last = std::make_shared<std::string>();
  auto first_change = std::make_shared<bool>(true);
  ld.set(Value::string("changed"),
         Value::function("changed", [last, first_change](Renderer&, CallArgs& a) -> Value {
           std::string now = repr(Value::make_list(a.pos, true));
           bool changed = *first_change || now != *last;
           *first_change = false;
           *last = std::move(now);
           return Value::boolean(changed);
         }));
  for (auto& item : items) ld.has_ns = ld.has_ns || item.has_ns();
  if (s.recursive) {
    // loop(children) renders the loop again over `children`, one level deeper.
    std::weak_ptr<Scope> weak = scope;
    scope->captured = true;
    const Stmt* sp = &s;
    ld.set(Value::string("__call__"),
           Value::function("loop", [sp, weak, depth](Renderer& r, CallArgs& a) -> Value {
             auto b = r.bind(a, "loop", {"iterable"});
             ScopePtr sc = weak.lock();
             std::string buf;
             r.exec_for(*sp, sc ? sc : r.root_, b[0], depth + 1, buf);
             return r.str(std::move(buf));
           }));
  }
  const Value no_prev = Value::undefined("there is no previous item");
  const Value no_next = Value::undefined("there is no next item");
  ScopePtr inner;
  for (int64_t i = 0; i < n; ++i) {
    charge(1);
    *pos = i;
    auto& it = ld.items;
    it[0].second = Value::integer(i + 1);
    it[1].second = Value::integer(i);
    it[2].second = Value::integer(n - i);
    it[3].second = Value::integer(n - i - 1);
    it[4].second = Value::boolean(i == 0);
    it[5].second = Value::boolean(i == n - 1);
    it[6].second = Value::integer(n);
    it[7].second = Value::integer(depth);
    it[8].second = Value::integer(depth - 1);
    it[9].second = i > 0 ? items[i - 1] : no_prev;
    it[10].second = i + 1 < n ? items[i + 1] : no_next;
    // Each iteration starts with a fresh scope; the previous one is reused when nothing kept it.
    if (inner && inner.use_count() == 1 && !inner->captured) {
      inner->vars.clear();
    } else {
      inner = std::make_shared<Scope>();
      inner->parent = scope;
      inner->vars.reserve(4);
    }
    assign(*s.target, items[i], inner);
    inner->vars.emplace_back("loop", loop);
    Flow f = exec(s.body, inner, out);
    if (f == Flow::Break) break;
  }
  return Flow::Normal;
}

void Renderer::assign(const Expr& target, Value v, const ScopePtr& scope) {
  if (target.kind == ExprKind::Name) {
    scope->set(target.name, std::move(v));
  } else if (target.kind == ExprKind::NsRef) {
    const Value* ns = scope->find(target.name);
    if (!ns || !ns->is_namespace()) fail("cannot assign attribute on non-namespace object");
    if ((opts_.allow_mutation || v.has_ns()) && reaches(v, ns->object()))
      fail("cannot store a namespace inside itself");
    ns->dict().set(Value::string(target.op), std::move(v));
  } else if (target.kind == ExprKind::Tuple) {
    std::vector<Value> parts = iterate(v);
    if (parts.size() < target.items.size())
      fail("not enough values to unpack (expected {}, got {})", target.items.size(), parts.size());
    if (parts.size() > target.items.size())
      fail("too many values to unpack (expected {})", target.items.size());
    for (size_t i = 0; i < parts.size(); ++i) assign(*target.items[i], std::move(parts[i]), scope);
  } else {
    fail("can't assign to this expression");
  }
}

// ---- macros ----

Value Renderer::make_macro(const Stmt& m, const ScopePtr& scope, bool is_caller) {
  std::weak_ptr<Scope> weak = scope;  // weak: a macro stored in its own scope must not keep it alive
  scope->captured = true;
  const Stmt* mp = &m;
  return Value::function(
      is_caller ? "caller" : m.text,
      [mp, weak, is_caller](Renderer& r, CallArgs& a) -> Value {
        ScopePtr closure = weak.lock();
        return r.call_macro(*mp, closure ? closure : r.root_, a, is_caller);
      },
      Value(), true);
}

Value Renderer::call_macro(const Stmt& m, const ScopePtr& closure, CallArgs& args, bool is_caller) {
  DepthGuard g(*this);
  const std::string name = is_caller ? "caller" : m.text;
  auto sc = std::make_shared<Scope>();
  sc->parent = closure;
  const size_t np = m.params.size();
  std::vector<bool> given(np, false);
  std::vector<Value> extra;
  for (size_t i = 0; i < args.pos.size(); ++i) {
    if (i < np) {
      sc->set(m.params[i], args.pos[i]);
      given[i] = true;
    } else {
      extra.push_back(args.pos[i]);
    }
  }
  if (!extra.empty() && !m.uses_varargs) fail("macro '{}' takes not more than {} argument(s)", name, np);
  Value kwargs = Value::make_dict();
  bool has_caller = false;
  for (auto& [k, v] : args.kw) {
    auto it = std::find(m.params.begin(), m.params.end(), k);
    if (it != m.params.end()) {
      size_t i = static_cast<size_t>(it - m.params.begin());
      if (given[i]) fail("macro '{}' got multiple values for argument '{}'", name, k);
      sc->set(k, v);
      given[i] = true;
    } else if (k == "caller" && m.uses_caller) {
      sc->set("caller", v);
      has_caller = true;
    } else if (m.uses_kwargs) {
      kwargs.dict().set(Value::string(k), v);
    } else {
      fail("macro '{}' takes no keyword argument '{}'", name, k);
    }
  }
  for (size_t i = 0; i < np; ++i) {
    if (given[i]) continue;
    if (i < m.defaults.size() && m.defaults[i]) {
      sc->set(m.params[i], eval(*m.defaults[i], sc));
    } else {
      sc->set(m.params[i], Value::undefined(fmt::format("parameter '{}' was not provided", m.params[i])));
    }
  }
  if (m.uses_varargs) sc->set("varargs", list(std::move(extra), true));
  if (m.uses_kwargs) sc->set("kwargs", kwargs);
  if (m.uses_caller && !has_caller && !is_caller) sc->set("caller", Value::undefined("no caller defined"));
  std::string out;
  exec(m.body, sc, out);
  return str(std::move(out));
}

Value Renderer::call(const Value& fn, CallArgs& args) {
  if (fn.is_dict() && !fn.is_namespace()) {  // a recursive loop object
    if (const Value* f = fn.dict().find(std::string_view("__call__")); f && f->is_func())
      return call(*f, args);
  }
  if (fn.is_func()) {
    DepthGuard g(*this);
    charge(1);
    return fn.func().fn(*this, args);
  }
  if (fn.is_undefined()) fail_undefined(fn);
  fail("'{}' object is not callable", type_name(fn));
}

Value Renderer::apply_filter_chain(const Expr& chain, const Value& hole, const ScopePtr& scope) {
  if (chain.kind != ExprKind::Filter) return eval(chain, scope);
  Value subject = chain.a ? apply_filter_chain(*chain.a, hole, scope) : hole;
  CallArgs args;
  eval_args(chain.call, scope, args);
  line_ = chain.line;
  return filter(chain.name, subject, args);
}

Value Renderer::filter(std::string_view name, const Value& v, CallArgs& args) {
  FilterFn f = find_filter(name);
  if (!f) fail("no filter named '{}'", name);
  charge(1);
  return f(*this, v, args);
}

bool Renderer::test(std::string_view name, const Value& v, CallArgs& args) {
  TestFn t = find_test(name);
  if (!t) fail("no test named '{}'", name);
  charge(1);
  return t(*this, v, args);
}

bool Renderer::has_filter(std::string_view name) const { return find_filter(name) != nullptr; }
bool Renderer::has_test(std::string_view name) const { return find_test(name) != nullptr; }

// ---- Template ----

struct Template::Impl {
  Options opts;
  Body body;
};

Template::Template(std::string_view source, Options opts) : impl_(std::make_unique<Impl>()) {
  impl_->opts = std::move(opts);
  if (source.size() > impl_->opts.max_source)
    fail("template too large ({} bytes, limit {})", source.size(), impl_->opts.max_source);
  LexOptions lo{impl_->opts.trim_blocks, impl_->opts.lstrip_blocks, impl_->opts.keep_trailing_newline};
  impl_->body = parse(tokenize(source, lo));
}
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
const Options& Template::options() const { return impl_->opts; }

static std::string run(const Options& opts, const Body& body, const Value& ctx) {
  Renderer r(opts);
  return r.render(body, ctx);
}

std::string Template::render(const nlohmann::ordered_json& context) const {
  if (!context.is_object() && !context.is_null()) fail("template context must be a JSON object");
  return run(impl_->opts, impl_->body, from_json(context));
}
std::string Template::render(const nlohmann::json& context) const {
  if (!context.is_object() && !context.is_null()) fail("template context must be a JSON object");
  return run(impl_->opts, impl_->body, from_json(context));
}

std::string render(std::string_view source, const nlohmann::ordered_json& context, const Options& opts) {
  return Template(source, opts).render(context);
}

}  // namespace hearth::jinja
