// Expression evaluation: operators, attribute and item access, slicing, calls.
#include <cmath>

#include "chat/jinja/interp.h"
#include "chat/jinja/text.h"

namespace hearth::jinja {

Value Renderer::eval(const Expr& e, const ScopePtr& scope) {
  line_ = e.line;
  charge(1);
  DepthGuard g(*this);
  switch (e.kind) {
    case ExprKind::Literal:
      return e.value;
    case ExprKind::Name: {
      const Value* v = scope->find(e.name);
      if (v) return *v;
      return Value::undefined(fmt::format("'{}' is undefined", e.name));
    }
    case ExprKind::NsRef:
      fail("namespace attribute reference outside an assignment");
    case ExprKind::List:
    case ExprKind::Tuple: {
      std::vector<Value> items;
      items.reserve(e.items.size());
      for (auto& i : e.items) items.push_back(eval(*i, scope));
      return list(std::move(items), e.kind == ExprKind::Tuple);
    }
    case ExprKind::Dict: {
      Value d = Value::make_dict();
      for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
        Value k = eval(*e.items[i], scope);
        if (k.is_list() && !k.is_tuple()) fail("unhashable type: 'list'");
        if (k.is_dict()) fail("unhashable type: 'dict'");
        d.dict().set(std::move(k), eval(*e.items[i + 1], scope));
      }
      return d;
    }
    case ExprKind::GetAttr: {
      Value obj = eval(*e.a, scope);
      line_ = e.line;
      return getattr(obj, e.name);
    }
    case ExprKind::GetItem: {
      Value obj = eval(*e.a, scope);
      Value key = eval(*e.b, scope);
      line_ = e.line;
      return getitem(obj, key);
    }
    case ExprKind::Slice: {
      // A slice inside a tuple subscript (x[1:2, 3]) has no object: Python's getitem fails -> undefined.
      if (!e.a) return Value::undefined("slices in a tuple subscript are not supported");
      Value obj = eval(*e.a, scope);
      Value start = e.b ? eval(*e.b, scope) : Value::none();
      Value stop = e.c ? eval(*e.c, scope) : Value::none();
      Value step = e.d ? eval(*e.d, scope) : Value::none();
      line_ = e.line;
      return slice(obj, start, stop, step);
    }
    case ExprKind::Call:
      return eval_call(e, scope, nullptr);
    case ExprKind::Filter: {
      Value subject = e.a ? eval(*e.a, scope) : Value();
      CallArgs args;
      eval_args(e.call, scope, args);
      line_ = e.line;
      return filter(e.name, subject, args);
    }
    case ExprKind::Test: {
      Value subject = eval(*e.a, scope);
      CallArgs args;
      eval_args(e.call, scope, args);
      line_ = e.line;
      return Value::boolean(test(e.name, subject, args));
    }
    case ExprKind::Not:
      return Value::boolean(!truthy(eval(*e.a, scope)));
    case ExprKind::Neg:
    case ExprKind::Pos: {
      Value v = eval(*e.a, scope);
      if (v.is_undefined()) fail_undefined(v);
      if (!v.is_number())
        fail("bad operand type for unary {}: '{}'", e.kind == ExprKind::Neg ? '-' : '+', type_name(v));
      if (e.kind == ExprKind::Pos) return v.is_float() ? v : Value::integer(v.i());
      if (v.is_float()) return Value::number(-v.f());
      if (v.i() == INT64_MIN) fail("integer overflow");
      return Value::integer(-v.i());
    }
    case ExprKind::And: {
      Value l = eval(*e.a, scope);
      return truthy(l) ? eval(*e.b, scope) : l;
    }
    case ExprKind::Or: {
      Value l = eval(*e.a, scope);
      return truthy(l) ? l : eval(*e.b, scope);
    }
    case ExprKind::Binary: {
      Value l = eval(*e.a, scope);
      Value r = eval(*e.b, scope);
      line_ = e.line;
      return binop(e.op, l, r);
    }
    case ExprKind::Concat: {
      std::string s;
      for (auto& i : e.items) {
        Value v = eval(*i, scope);
        if (v.is_string()) {
          check_size(s.size() + v.s().size());
          s += v.s();
        } else {
          std::string t = out_str(v);
          check_size(s.size() + t.size());
          s += t;
        }
      }
      return str(std::move(s));
    }
    case ExprKind::Compare:
      return eval_compare(e, scope);
    case ExprKind::CondExpr:
      if (truthy(eval(*e.a, scope))) return eval(*e.b, scope);
      if (e.c) return eval(*e.c, scope);
      return Value::undefined("the inline if-expression evaluated to false and no else section was defined");
  }
  return Value();
}

Value Renderer::eval_compare(const Expr& e, const ScopePtr& scope) {
  Value left = eval(*e.a, scope);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.items[i], scope);
    line_ = e.line;
    const std::string& op = e.ops[i];
    bool r;
    if (op == "==") {
      r = equal(left, right);
    } else if (op == "!=") {
      r = !equal(left, right);
    } else if (op == "<") {
      r = less(left, right);
    } else if (op == ">") {
      r = less(right, left);
    } else if (op == "<=") {
      r = less(left, right) || equal(left, right);
    } else if (op == ">=") {
      r = less(right, left) || equal(left, right);
    } else if (op == "in") {
      r = contains(right, left);
    } else {
      r = !contains(right, left);
    }
    if (!r) return Value::boolean(false);
    left = std::move(right);
  }
  return Value::boolean(true);
}

void Renderer::eval_args(const CallSpec& c, const ScopePtr& scope, CallArgs& out) {
  for (auto& a : c.args) out.pos.push_back(eval(*a, scope));
  for (auto& [k, v] : c.kwargs) out.kw.emplace_back(k, eval(*v, scope));
  if (c.dyn_args) {
    Value d = eval(*c.dyn_args, scope);
    for (auto& v : iterate(d)) out.pos.push_back(std::move(v));
  }
  if (c.dyn_kwargs) {
    Value d = eval(*c.dyn_kwargs, scope);
    if (!d.is_dict()) fail("argument after ** must be a mapping, not {}", type_name(d));
    for (auto& [k, v] : d.dict().items) {
      if (!k.is_string()) fail("keywords must be strings");
      out.kw.emplace_back(k.s(), v);
    }
  }
  check_items(out.pos.size() + out.kw.size());
}

Value Renderer::eval_call(const Expr& e, const ScopePtr& scope, CallArgs* extra) {
  CallArgs args;
  const Expr& callee = *e.a;
  if (callee.kind == ExprKind::GetAttr) {
    // obj.method(...): call str/list/dict methods directly.
    Value obj = eval(*callee.a, scope);
    line_ = e.line;
    bool mutating = false;
    if ((obj.is_string() || obj.is_list() || (obj.is_dict() && !obj.is_namespace())) &&
        has_method(obj, callee.name, &mutating)) {
      if (mutating && !opts_.allow_mutation) fail_undefined(unsafe_attr(obj, callee.name));
      eval_args(e.call, scope, args);
      if (extra)
        for (auto& kv : extra->kw) args.kw.push_back(kv);
      line_ = e.line;
      DepthGuard g(*this);
      return call_method(*this, obj, callee.name, args);
    }
    Value fn = getattr(obj, callee.name);
    eval_args(e.call, scope, args);
    if (extra)
      for (auto& kv : extra->kw) args.kw.push_back(kv);
    line_ = e.line;
    return call(fn, args);
  }
  Value fn = eval(callee, scope);
  eval_args(e.call, scope, args);
  if (extra)
    for (auto& kv : extra->kw) args.kw.push_back(kv);
  line_ = e.line;
  return call(fn, args);
}

// ---- access ----

static Value bound_method(const Value& obj, const std::string& name) {
  return Value::function(
      name, [obj, name](Renderer& r, CallArgs& a) { return call_method(r, obj, name, a); }, obj, false);
}

Value Renderer::getattr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (name.size() >= 2 && name[0] == '_' && name[1] == '_') return unsafe_attr(obj, name);
  bool mutating = false;
  if (obj.is_dict()) {
    if (!obj.is_namespace() && has_method(obj, name, &mutating)) {
      if (mutating && !opts_.allow_mutation) return unsafe_attr(obj, name);
      return bound_method(obj, name);
    }
    if (const Value* v = obj.dict().find(std::string_view(name))) return *v;
    return Value::undefined(fmt::format("'{}' object has no attribute '{}'", type_name(obj), name));
  }
  if ((obj.is_string() || obj.is_list()) && has_method(obj, name, &mutating)) {
    if (mutating && !opts_.allow_mutation) return unsafe_attr(obj, name);
    return bound_method(obj, name);
  }
  return Value::undefined(fmt::format("'{}' object has no attribute '{}'", type_name(obj), name));
}

Value Renderer::getitem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_dict()) {
    if (const Value* v = obj.dict().find(key)) return *v;
  } else if ((obj.is_list() || obj.is_string()) && key.is_integral()) {
    int64_t i = key.i();
    if (obj.is_list()) {
      auto n = static_cast<int64_t>(obj.list().items.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return obj.list().items[static_cast<size_t>(i)];
    } else {
      std::string ch;
      if (text::char_at(obj.s(), i, ch)) return Value::string(std::move(ch));
    }
  }
  if (key.is_string() && !obj.is_namespace()) {
    Value v = getattr(obj, key.s());
    if (!v.is_undefined() || v.unsafe()) return v;
  }
  if (key.is_string())
    return Value::undefined(fmt::format("'{}' object has no attribute '{}'", type_name(obj), key.s()));
  return Value::undefined(fmt::format("'{}' object has no element {}", type_name(obj), repr(key)));
}

Value Renderer::slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) fail_undefined(obj);
  auto given = [](const Value& v) { return !(v.is_none() || v.is_undefined()); };
  for (const Value* v : {&start, &stop, &step})  // Jinja: a TypeError in getitem gives undefined
    if (given(*v) && !v->is_integral()) return Value::undefined("slice indices must be integers or None");
  auto idx = [&](const Value& v) { return given(v) ? v.i() : int64_t{0}; };
  int64_t st = given(step) ? idx(step) : 1;
  if (st == 0) fail("slice step cannot be zero");
  if (obj.is_string()) return str(text::slice(obj.s(), idx(start), given(start), idx(stop), given(stop), st));
  if (!obj.is_list()) fail("'{}' object is not subscriptable", type_name(obj));
  const auto& items = obj.list().items;
  auto n = static_cast<int64_t>(items.size());
  auto fix = [&](int64_t v) {  // Python's slice.indices()
    if (v < 0) {
      v += n;
      if (v < 0) v = st < 0 ? -1 : 0;
    } else if (v >= n) {
      v = st < 0 ? n - 1 : n;
    }
    return v;
  };
  int64_t b = given(start) ? fix(idx(start)) : (st < 0 ? n - 1 : 0);
  int64_t e = given(stop) ? fix(idx(stop)) : (st < 0 ? -1 : n);
  std::vector<Value> out;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) out.push_back(items[static_cast<size_t>(i)]);
  return list(std::move(out), obj.is_tuple());
}

std::vector<Value> Renderer::iterate(const Value& v) {
  switch (v.type()) {
    case Value::Type::Undefined:
      return {};
    case Value::Type::List:
      charge(v.list().items.size());
      return v.list().items;
    case Value::Type::Dict: {
      if (v.is_namespace()) fail("'Namespace' object is not iterable");
      std::vector<Value> keys;
      keys.reserve(v.dict().items.size());
      for (auto& kv : v.dict().items) keys.push_back(kv.first);
      charge(keys.size());
      return keys;
    }
    case Value::Type::String: {
      std::vector<Value> chars;
      const std::string& s = v.s();
      check_items(text::length(s));
      charge(s.size());
      for (size_t p = 0; p < s.size();) {
        size_t q = p;
        text::decode(s, q);
        chars.push_back(Value::string(s.substr(p, q - p)));
        p = q;
      }
      return chars;
    }
    default:
      fail("'{}' object is not iterable", type_name(v));
  }
}

bool Renderer::contains(const Value& hay, const Value& needle) {
  switch (hay.type()) {
    case Value::Type::Undefined:
      return false;
    case Value::Type::String:
      if (!needle.is_string())
        fail("'in <string>' requires string as left operand, not {}", type_name(needle));
      charge(hay.s().size() / 64);
      return hay.s().find(needle.s()) != std::string::npos;
    case Value::Type::List:
      for (auto& i : hay.list().items)
        if (equal(i, needle)) return true;
      return false;
    case Value::Type::Dict:
      if (hay.is_namespace()) fail("argument of type 'Namespace' is not iterable");
      return hay.dict().find(needle) != nullptr;
    default:
      fail("argument of type '{}' is not iterable", type_name(hay));
  }
}

// ---- arithmetic ----

static int64_t add_i(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) fail("integer overflow");
  return r;
}
static int64_t sub_i(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) fail("integer overflow");
  return r;
}
static int64_t mul_i(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail("integer overflow");
  return r;
}

static double py_fmod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

Value Renderer::binop(std::string_view op, const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  auto type_err = [&]() {
    fail("unsupported operand type(s) for {}: '{}' and '{}'", op, type_name(a), type_name(b));
  };
  if (a.is_markup() || b.is_markup()) {
    // Markup escapes the plain strings combined with it.
    auto esc = [&](const Value& v) -> Value {  // a plain string: escaped; Markup: unmarked
      if (!v.is_string()) return v;
      return Value::string(v.is_markup() ? v.s() : text::html_escape(v.s()));
    };
    if (op == "+" && a.is_string() && b.is_string()) {
      Value r = binop(op, esc(a), esc(b));
      return Value::markup(r.s());
    }
    if (op == "%" && a.is_markup()) {
      Value args = b;
      if (b.is_tuple()) {
        std::vector<Value> items;
        for (auto& i : b.list().items) items.push_back(esc(i));
        args = Value::make_list(std::move(items), true);
      } else {
        args = esc(b);
      }
      return Value::markup(percent_format(*this, a.s(), args));
    }
    if (op == "*") {
      Value r = binop(op, a.is_markup() ? Value::string(a.s()) : a, b.is_markup() ? Value::string(b.s()) : b);
      return r.is_string() ? Value::markup(r.s()) : r;
    }
  }
  if (op == "%" && a.is_string()) return str(percent_format(*this, a.s(), b));
  if (a.is_number() && b.is_number()) {
    bool ints = a.is_integral() && b.is_integral();
    int64_t x = a.i(), y = b.i();
    double fx = a.f(), fy = b.f();
    if (op == "+") return ints ? Value::integer(add_i(x, y)) : Value::number(fx + fy);
    if (op == "-") return ints ? Value::integer(sub_i(x, y)) : Value::number(fx - fy);
    if (op == "*") return ints ? Value::integer(mul_i(x, y)) : Value::number(fx * fy);
    if (op == "/") {
      if (fy == 0) fail("division by zero");
      return Value::number(fx / fy);
    }
    if (op == "//" || op == "%") {
      if (ints ? y == 0 : fy == 0)
        fail("{}", op == "%" ? "modulo by zero" : "integer division or modulo by zero");
      if (ints) {
        if (x == INT64_MIN && y == -1) fail("integer overflow");
        int64_t q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) {
          --q;
          m += y;
        }
        return Value::integer(op == "//" ? q : m);
      }
      if (op == "%") return Value::number(py_fmod(fx, fy));
      return Value::number(std::floor(fx / fy));
    }
    if (op == "**") {
      if (ints && y >= 0) {
        int64_t base = x, acc = 1, e = y;
        while (e > 0) {
          if (e & 1) acc = mul_i(acc, base);
          e >>= 1;
          if (e > 0) base = mul_i(base, base);
        }
        return Value::integer(acc);
      }
      if (fx == 0 && fy < 0) fail("zero to a negative power");
      double p = std::pow(fx, fy);
      if (std::isnan(p) && !std::isnan(fx) && !std::isnan(fy)) fail("math domain error");
      return Value::number(p);
    }
    type_err();
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      check_size(a.s().size() + b.s().size());
      return str(a.s() + b.s());
    }
    if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
      std::vector<Value> items = a.list().items;
      check_items(items.size() + b.list().items.size());
      items.insert(items.end(), b.list().items.begin(), b.list().items.end());
      return list(std::move(items), a.is_tuple());
    }
    if (a.is_string()) fail("can only concatenate str (not \"{}\") to str", type_name(b));
    if (a.is_list()) fail("can only concatenate list (not \"{}\") to list", type_name(b));
    type_err();
  }
  if (op == "*") {
    const Value* seq = a.is_integral() ? &b : &a;
    const Value* cnt = a.is_integral() ? &a : &b;
    if (!cnt->is_integral() || !(seq->is_string() || seq->is_list())) type_err();
    int64_t n = std::max<int64_t>(0, cnt->i());
    if (seq->is_string()) {
      const std::string& s = seq->s();
      if (n > 0 && s.size() > opts_.max_string / static_cast<uint64_t>(n)) check_size(opts_.max_string + 1);
      std::string out;
      out.reserve(s.size() * static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) out += s;
      return str(std::move(out));
    }
    const auto& items = seq->list().items;
    if (n > 0 && items.size() > opts_.max_items / static_cast<uint64_t>(n)) check_items(opts_.max_items + 1);
    std::vector<Value> out;
    out.reserve(items.size() * static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
    return list(std::move(out), seq->is_tuple());
  }
  type_err();
  return Value();
}

}  // namespace hearth::jinja
