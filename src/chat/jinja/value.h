// chat/jinja: the values a template computes with, with Python semantics (truthiness, equality,
// ordering, str() and repr()). Strings are immutable and shared; lists and dicts are shared by
// reference like Python objects. Values never refer to anything outside the template's context.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hearth::jinja {

class Renderer;
class Value;
struct CallArgs;
using NativeFn = std::function<Value(Renderer&, CallArgs&)>;

struct Object {
  virtual ~Object() = default;
  // Is or (transitively) contains a namespace: only such values can close a reference cycle when
  // stored into a namespace. Exact unless Options::allow_mutation (then cycle checks traverse).
  bool has_ns = false;
};
struct StrObj;
struct ListObj;
struct DictObj;
struct FuncObj;

class Value {
 public:
  enum class Type : uint8_t { Undefined, None, Bool, Int, Float, String, List, Dict, Func };

  Value() = default;  // undefined
  Value(const Value&) = default;
  Value& operator=(const Value&) = default;
  // A moved-from value is undefined (never a container without its object).
  Value(Value&& o) noexcept : t_(o.t_), unsafe_(o.unsafe_), n_(o.n_), o_(std::move(o.o_)) {
    o.t_ = Type::Undefined;
    o.unsafe_ = false;
  }
  Value& operator=(Value&& o) noexcept {
    if (this != &o) {
      // Take everything from `o` before releasing our old object, which may own `o`.
      Type t = o.t_;
      bool u = o.unsafe_;
      auto n = o.n_;
      std::shared_ptr<Object> p = std::move(o.o_);
      o.t_ = Type::Undefined;
      o.unsafe_ = false;
      t_ = t;
      unsafe_ = u;
      n_ = n;
      o_.swap(p);
    }  // `p` (our old object) is released here
    return *this;
  }
  // An undefined value; `hint` names what was missing ("'x' is undefined"). An unsafe undefined
  // (a forbidden attribute) raises a security error when used.
  static Value undefined(std::string hint, bool unsafe = false);
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value number(double f);
  static Value string(std::string s);
  // A string marked safe (Jinja's Markup, from |safe or |escape): `+` and `%` escape plain strings
  // combined with it.
  static Value markup(std::string s);
  static Value make_list(std::vector<Value> items, bool tuple = false);
  static Value make_dict(bool is_namespace = false);
  static Value function(std::string name, NativeFn fn);
  static Value function(std::string name, NativeFn fn, Value self, bool is_macro);

  Type type() const { return t_; }
  bool is_undefined() const { return t_ == Type::Undefined; }
  bool is_none() const { return t_ == Type::None; }
  bool is_bool() const { return t_ == Type::Bool; }
  bool is_int() const { return t_ == Type::Int; }
  bool is_float() const { return t_ == Type::Float; }
  bool is_number() const { return t_ == Type::Int || t_ == Type::Float || t_ == Type::Bool; }
  bool is_integral() const { return t_ == Type::Int || t_ == Type::Bool; }
  bool is_string() const { return t_ == Type::String; }
  bool is_list() const { return t_ == Type::List; }
  bool is_dict() const { return t_ == Type::Dict; }
  bool is_func() const { return t_ == Type::Func; }
  bool is_container() const { return t_ == Type::List || t_ == Type::Dict || t_ == Type::Func; }
  bool has_ns() const { return is_container() && o_->has_ns; }
  bool is_namespace() const;
  bool is_tuple() const;

  bool b() const { return n_.b; }
  int64_t i() const { return t_ == Type::Bool ? static_cast<int64_t>(n_.b) : n_.i; }
  double f() const { return t_ == Type::Float ? n_.f : static_cast<double>(i()); }
  const std::string& s() const;  // String (or the hint of an Undefined)
  ListObj& list() const;
  DictObj& dict() const;
  FuncObj& func() const;
  bool unsafe() const { return t_ == Type::Undefined && unsafe_; }
  bool is_markup() const { return t_ == Type::String && unsafe_; }
  const Object* object() const { return o_.get(); }

 private:
  Type t_ = Type::Undefined;
  bool unsafe_ = false;  // Undefined: a forbidden attribute; String: Markup
  union {
    bool b;
    int64_t i;
    double f;
  } n_{.i = 0};
  std::shared_ptr<Object> o_;
};

struct StrObj : Object {
  explicit StrObj(std::string v) : s(std::move(v)) {}
  std::string s;
};

struct ListObj : Object {
  std::vector<Value> items;
  bool tuple = false;
  ~ListObj() override;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

struct DictObj : Object {
  std::vector<std::pair<Value, Value>> items;                                  // insertion order
  std::unordered_map<std::string, size_t, StringHash, std::equal_to<>> index;  // string key -> position
  bool ns = false;                                                             // a namespace() object
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  void set(Value key, Value v);
  bool erase(const Value& key);
  ~DictObj() override;
};

struct FuncObj : Object {
  std::string name;
  NativeFn fn;
  Value self;  // the object a bound method belongs to (kept for cycle checks)
  bool macro = false;
  ~FuncObj() override;
};

struct CallArgs {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
};

// Conversion of JSON context values (objects keep their key order for ordered_json).
Value from_json(const nlohmann::ordered_json& j);
Value from_json(const nlohmann::json& j);

// Python semantics. Functions that can fail throw hearth::Error (the renderer adds the line).
bool truthy(const Value& v);
bool equal(const Value& a, const Value& b);
bool less(const Value& a, const Value& b);  // throws TypeError-like errors for unorderable types
std::string type_name(const Value& v);      // Python's type name: 'str', 'int', 'dict', ...
std::string to_str(const Value& v);         // str(v); undefined -> ""
std::string repr(const Value& v);
std::string float_repr(double d);  // Python repr(float)
// Does `root` (deeply) contain the container `target`? Used to refuse reference cycles.
bool reaches(const Value& root, const Object* target);

constexpr int kMaxNesting = 256;

// Work accounting of the render running on this thread: every operation charges units and the render
// fails once its budget is spent. Outside a render charging is free.
void charge(uint64_t units);
class BudgetScope {
 public:
  explicit BudgetScope(uint64_t units);
  ~BudgetScope();
  BudgetScope(const BudgetScope&) = delete;
  BudgetScope& operator=(const BudgetScope&) = delete;
  uint64_t used() const;

 private:
  uint64_t total_;
  uint64_t* saved_;
  uint64_t remaining_;
};  // containers nest at most this deep when printed or compared

}  // namespace hearth::jinja
