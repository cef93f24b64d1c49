#include "chat/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "base/error.h"
#include "chat/jinja/text.h"

namespace hearth::jinja {

// ---- work budget ----

namespace {
thread_local uint64_t* g_budget = nullptr;
}

void charge(uint64_t units) {
  if (!g_budget) return;
  if (*g_budget < units) {
    *g_budget = 0;
    fail("template exceeded its work limit (too many steps)");
  }
  *g_budget -= units;
}

BudgetScope::BudgetScope(uint64_t units) : total_(units), saved_(g_budget), remaining_(units) {
  g_budget = &remaining_;
}
BudgetScope::~BudgetScope() { g_budget = saved_; }
uint64_t BudgetScope::used() const { return total_ - remaining_; }

// ---- construction ----

Value Value::undefined(std::string hint, bool unsafe) {
  Value v;
  v.unsafe_ = unsafe;
  if (!hint.empty()) v.o_ = std::make_shared<StrObj>(std::move(hint));
  return v;
}
Value Value::none() {
  Value v;
  v.t_ = Type::None;
  return v;
}
Value Value::boolean(bool b) {
  Value v;
  v.t_ = Type::Bool;
  v.n_.b = b;
  return v;
}
Value Value::integer(int64_t i) {
  Value v;
  v.t_ = Type::Int;
  v.n_.i = i;
  return v;
}
Value Value::number(double f) {
  Value v;
  v.t_ = Type::Float;
  v.n_.f = f;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.t_ = Type::String;
  v.o_ = std::make_shared<StrObj>(std::move(s));
  return v;
}
Value Value::markup(std::string s) {
  Value v = string(std::move(s));
  v.unsafe_ = true;
  return v;
}
Value Value::make_list(std::vector<Value> items, bool tuple) {
  Value v;
  v.t_ = Type::List;
  auto l = std::make_shared<ListObj>();
  l->items = std::move(items);
  l->tuple = tuple;
  for (auto& i : l->items) l->has_ns = l->has_ns || i.has_ns();
  v.o_ = std::move(l);
  return v;
}
Value Value::make_dict(bool is_namespace) {
  Value v;
  v.t_ = Type::Dict;
  auto d = std::make_shared<DictObj>();
  d->ns = is_namespace;
  d->has_ns = is_namespace;
  v.o_ = std::move(d);
  return v;
}
Value Value::function(std::string name, NativeFn fn) {
  return function(std::move(name), std::move(fn), Value(), false);
}
Value Value::function(std::string name, NativeFn fn, Value self, bool is_macro) {
  Value v;
  v.t_ = Type::Func;
  auto f = std::make_shared<FuncObj>();
  f->name = std::move(name);
  f->fn = std::move(fn);
  f->self = std::move(self);
  f->macro = is_macro;
  f->has_ns = f->self.has_ns();
  v.o_ = std::move(f);
  return v;
}

const std::string& Value::s() const {
  static const std::string empty;
  return o_ && (t_ == Type::String || t_ == Type::Undefined) ? static_cast<StrObj*>(o_.get())->s : empty;
}
ListObj& Value::list() const { return *static_cast<ListObj*>(o_.get()); }
DictObj& Value::dict() const { return *static_cast<DictObj*>(o_.get()); }
FuncObj& Value::func() const { return *static_cast<FuncObj*>(o_.get()); }
bool Value::is_namespace() const { return t_ == Type::Dict && dict().ns; }
bool Value::is_tuple() const { return t_ == Type::List && list().tuple; }

// ---- iterative destruction: deeply nested values must not overflow the stack when freed ----

namespace {
thread_local std::vector<Value>* g_grave = nullptr;

template <typename Push>
void release(Push push_children) {
  if (g_grave) {
    push_children(*g_grave);
    return;
  }
  std::vector<Value> grave;
  g_grave = &grave;
  push_children(grave);
  while (!grave.empty()) {
    Value v = std::move(grave.back());
    grave.pop_back();
  }  // `v` dies here; its children land in `grave`
  g_grave = nullptr;
}
}  // namespace

ListObj::~ListObj() {
  release([this](std::vector<Value>& g) {
    for (auto& v : items)
      if (v.is_container()) g.push_back(std::move(v));
  });
}
DictObj::~DictObj() {
  release([this](std::vector<Value>& g) {
    for (auto& [k, v] : items) {
      if (k.is_container()) g.push_back(std::move(k));
      if (v.is_container()) g.push_back(std::move(v));
    }
  });
}
FuncObj::~FuncObj() {
  fn = nullptr;
  release([this](std::vector<Value>& g) {
    if (self.is_container()) g.push_back(std::move(self));
  });
}

// ---- dict ----

const Value* DictObj::find(std::string_view key) const {
  charge(1 + key.size() / 64);
  auto it = index.find(key);
  return it == index.end() ? nullptr : &items[it->second].second;
}

const Value* DictObj::find(const Value& key) const {
  if (key.is_string()) return find(std::string_view(key.s()));
  for (auto& [k, v] : items)
    if (!k.is_string() && equal(k, key)) return &v;
  return nullptr;
}

void DictObj::set(Value key, Value v) {
  has_ns = has_ns || v.has_ns() || key.has_ns();
  if (key.is_string()) {
    auto [it, inserted] = index.try_emplace(key.s(), items.size());
    charge(1 + key.s().size() / 64);
    if (!inserted) {
      items[it->second].second = std::move(v);
      return;
    }
    items.emplace_back(std::move(key), std::move(v));
    return;
  }
  for (auto& [k, old] : items) {
    if (!k.is_string() && equal(k, key)) {
      old = std::move(v);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(v));
}

bool DictObj::erase(const Value& key) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].first.is_string() == key.is_string() && equal(items[i].first, key)) {
      items.erase(items.begin() + static_cast<ptrdiff_t>(i));
      index.clear();
      for (size_t j = 0; j < items.size(); ++j)
        if (items[j].first.is_string()) index[items[j].first.s()] = j;
      return true;
    }
  }
  return false;
}

// ---- JSON ----

namespace {
template <typename J>
Value convert(const J& j, int depth) {
  if (depth > kMaxNesting) fail("context nested too deeply");
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return Value::none();
    case nlohmann::json::value_t::boolean:
      return Value::boolean(j.template get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value::integer(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      auto u = j.template get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value::number(static_cast<double>(u));
      return Value::integer(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value::number(j.template get<double>());
    case nlohmann::json::value_t::string:
      return Value::string(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (auto& e : j) items.push_back(convert(e, depth + 1));
      return Value::make_list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Value d = Value::make_dict();
      for (auto it = j.begin(); it != j.end(); ++it)
        d.dict().set(Value::string(it.key()), convert(*it, depth + 1));
      return d;
    }
    default:
      return Value::none();
  }
}
}  // namespace

Value from_json(const nlohmann::ordered_json& j) { return convert(j, 0); }
Value from_json(const nlohmann::json& j) { return convert(j, 0); }

// ---- Python semantics ----

bool truthy(const Value& v) {
  switch (v.type()) {
    case Value::Type::Undefined:
    case Value::Type::None:
      return false;
    case Value::Type::Bool:
      return v.b();
    case Value::Type::Int:
      return v.i() != 0;
    case Value::Type::Float:
      return v.f() != 0.0;
    case Value::Type::String:
      return !v.s().empty();
    case Value::Type::List:
      return !v.list().items.empty();
    case Value::Type::Dict:
      return v.dict().ns || !v.dict().items.empty();
    case Value::Type::Func:
      return true;
  }
  return false;
}

static bool equal_at(const Value& a, const Value& b, int depth) {
  if (depth > kMaxNesting) fail("values nested too deeply to compare");
  charge(1);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.f() == b.f();
    return a.i() == b.i();
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::Undefined:
    case Value::Type::None:
      return true;
    case Value::Type::String:
      charge(std::min(a.s().size(), b.s().size()) / 64);
      return a.s() == b.s();
    case Value::Type::List: {
      auto &x = a.list(), &y = b.list();
      if (&x == &y) return true;
      if (x.tuple != y.tuple || x.items.size() != y.items.size()) return false;
      for (size_t i = 0; i < x.items.size(); ++i)
        if (!equal_at(x.items[i], y.items[i], depth + 1)) return false;
      return true;
    }
    case Value::Type::Dict: {
      auto &x = a.dict(), &y = b.dict();
      if (&x == &y) return true;
      if (x.ns || y.ns || x.items.size() != y.items.size()) return false;
      for (auto& [k, v] : x.items) {
        const Value* o = y.find(k);
        if (!o || !equal_at(v, *o, depth + 1)) return false;
      }
      return true;
    }
    default:
      return a.object() == b.object();
  }
}
bool equal(const Value& a, const Value& b) { return equal_at(a, b, 0); }

std::string type_name(const Value& v) {
  switch (v.type()) {
    case Value::Type::Undefined:
      return "Undefined";
    case Value::Type::None:
      return "NoneType";
    case Value::Type::Bool:
      return "bool";
    case Value::Type::Int:
      return "int";
    case Value::Type::Float:
      return "float";
    case Value::Type::String:
      return "str";
    case Value::Type::List:
      return v.is_tuple() ? "tuple" : "list";
    case Value::Type::Dict:
      return v.is_namespace() ? "Namespace" : "dict";
    case Value::Type::Func:
      return v.func().macro ? "Macro" : "function";
  }
  return "object";
}

static bool less_at(const Value& a, const Value& b, int depth) {
  if (depth > kMaxNesting) fail("values nested too deeply to compare");
  charge(1);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.f() < b.f();
    return a.i() < b.i();
  }
  if (a.is_string() && b.is_string()) {
    charge(std::min(a.s().size(), b.s().size()) / 64);
    return a.s() < b.s();
  }
  if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
    auto &x = a.list().items, &y = b.list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!equal_at(x[i], y[i], depth + 1)) return less_at(x[i], y[i], depth + 1);
    }
    return x.size() < y.size();
  }
  fail("'<' not supported between instances of '{}' and '{}'", type_name(a), type_name(b));
}
bool less(const Value& a, const Value& b) { return less_at(a, b, 0); }

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  // sci = [-]D[.DDD]e[+-]XX
  bool neg = sci[0] == '-';
  if (neg) sci.erase(0, 1);
  size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  int exp = std::atoi(sci.c_str() + e + 1);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  std::string out = neg ? "-" : "";
  if (exp >= -5 + 1 && exp < 16) {
    // Fixed notation: the decimal point goes after digit index exp.
    if (exp >= 0) {
      if (static_cast<int>(digits.size()) <= exp + 1) {
        out += digits + std::string(exp + 1 - digits.size(), '0') + ".0";
      } else {
        out += digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
      }
    } else {
      out += "0." + std::string(-exp - 1, '0') + digits;
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  out += fmt::format("e{}{:02d}", exp < 0 ? '-' : '+', std::abs(exp));
  return out;
}

static void repr_into(const Value& v, std::string& out, int depth);

static void str_into(const Value& v, std::string& out, int depth) {
  switch (v.type()) {
    case Value::Type::Undefined:
      return;
    case Value::Type::None:
      out += "None";
      return;
    case Value::Type::Bool:
      out += v.b() ? "True" : "False";
      return;
    case Value::Type::Int:
      out += std::to_string(v.i());
      return;
    case Value::Type::Float:
      out += float_repr(v.f());
      return;
    case Value::Type::String:
      out += v.s();
      return;
    default:
      repr_into(v, out, depth);
  }
}

static void repr_into(const Value& v, std::string& out, int depth) {
  if (depth > kMaxNesting) fail("value nested too deeply to print");
  constexpr size_t kMaxRepr = size_t{64} << 20;
  if (out.size() > kMaxRepr) fail("value too large to print");
  charge(1);
  switch (v.type()) {
    case Value::Type::Undefined:
      out += "Undefined";
      return;
    case Value::Type::String:
      out += text::repr(v.s());
      return;
    case Value::Type::List: {
      auto& l = v.list();
      out += l.tuple ? '(' : '[';
      for (size_t i = 0; i < l.items.size(); ++i) {
        if (i) out += ", ";
        repr_into(l.items[i], out, depth + 1);
      }
      if (l.tuple && l.items.size() == 1) out += ',';
      out += l.tuple ? ')' : ']';
      return;
    }
    case Value::Type::Dict: {
      auto& d = v.dict();
      if (d.ns) {
        out += "<Namespace {";
      } else {
        out += '{';
      }
      for (size_t i = 0; i < d.items.size(); ++i) {
        if (i) out += ", ";
        repr_into(d.items[i].first, out, depth + 1);
        out += ": ";
        repr_into(d.items[i].second, out, depth + 1);
      }
      out += d.ns ? "}>" : "}";
      return;
    }
    case Value::Type::Func:
      if (v.func().macro) {
        out += "<Macro '" + v.func().name + "'>";
      } else {
        out += "<built-in function " + v.func().name + ">";
      }
      return;
    default:
      str_into(v, out, depth);
  }
}

std::string to_str(const Value& v) {
  if (v.is_string()) return v.s();
  std::string out;
  str_into(v, out, 0);
  return out;
}

std::string repr(const Value& v) {
  std::string out;
  repr_into(v, out, 0);
  return out;
}

bool reaches(const Value& root, const Object* target) {
  std::vector<const Value*> stack{&root};
  std::unordered_set<const Object*> seen;
  while (!stack.empty()) {
    const Value* v = stack.back();
    stack.pop_back();
    if (!v->is_container()) continue;
    if (v->object() == target) return true;
    if (!seen.insert(v->object()).second) continue;
    charge(1);
    if (v->is_list()) {
      for (auto& e : v->list().items) stack.push_back(&e);
    } else if (v->is_dict()) {
      for (auto& [k, e] : v->dict().items) stack.push_back(&e);
    } else {
      stack.push_back(&v->func().self);
    }
  }
  return false;
}

}  // namespace hearth::jinja
