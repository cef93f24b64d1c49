// Jinja2's built-in tests (`x is defined`, `x is divisibleby 3`, ...).
#include <unordered_map>

#include "chat/jinja/interp.h"
#include "chat/jinja/text.h"

namespace hearth::jinja {
namespace {

// The single argument of a comparison-like test, left in a.pos[0].
const Value& one_arg(Renderer& r, CallArgs& a, std::string_view name) {
  auto b = r.bind(a, name, {"other"});
  if (!b.has(0)) fail("test '{}' takes one argument", name);
  a.pos = {b[0]};
  a.kw.clear();
  return a.pos[0];
}

bool t_defined(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "defined", {});
  return !v.is_undefined();
}
bool t_undefined(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "undefined", {});
  return v.is_undefined();
}
bool t_none(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "none", {});
  return v.is_none();
}
bool t_boolean(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "boolean", {});
  return v.is_bool();
}
bool t_false(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "false", {});
  return v.is_bool() && !v.b();
}
bool t_true(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "true", {});
  return v.is_bool() && v.b();
}
bool t_integer(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "integer", {});
  return v.is_int();
}
bool t_float(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "float", {});
  return v.is_float();
}
bool t_number(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "number", {});
  return v.is_number();
}
bool t_string(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "string", {});
  return v.is_string();
}
bool t_mapping(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "mapping", {});
  return v.is_dict() && !v.is_namespace();
}
bool t_iterable(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "iterable", {});
  return v.is_undefined() || v.is_string() || v.is_list() || (v.is_dict() && !v.is_namespace());
}
bool t_sequence(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "sequence", {});
  return v.is_undefined() || v.is_string() || v.is_list() || (v.is_dict() && !v.is_namespace());
}
bool t_callable(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "callable", {});
  return v.is_func() || v.is_undefined();
}
bool t_escaped(Renderer& r, const Value&, CallArgs& a) {
  r.bind(a, "escaped", {});
  return false;
}
bool t_lower(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "lower", {});
  return text::is_lower(r.out_str(v));
}
bool t_upper(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "upper", {});
  return text::is_upper(r.out_str(v));
}

int64_t int_operand(Renderer& r, const Value& v, std::string_view test) {
  if (v.is_undefined()) r.fail_undefined(v);
  if (!v.is_integral()) fail("test '{}' needs an integer, got '{}'", test, type_name(v));
  return v.i();
}
bool t_odd(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "odd", {});
  return int_operand(r, v, "odd") % 2 != 0;
}
bool t_even(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "even", {});
  return int_operand(r, v, "even") % 2 == 0;
}
bool t_divisibleby(Renderer& r, const Value& v, CallArgs& a) {
  const Value& n = one_arg(r, a, "divisibleby");
  if (v.is_float() || n.is_float()) {
    if (n.f() == 0) fail("float modulo");
    return Value(r.binop("%", v, n)).f() == 0;
  }
  int64_t d = int_operand(r, n, "divisibleby");
  if (d == 0) fail("integer division or modulo by zero");
  if (d == -1) return true;
  return int_operand(r, v, "divisibleby") % d == 0;
}
bool t_in(Renderer& r, const Value& v, CallArgs& a) { return r.contains(one_arg(r, a, "in"), v); }
bool t_sameas(Renderer& r, const Value& v, CallArgs& a) {
  const Value& o = one_arg(r, a, "sameas");
  if (v.type() != o.type()) return false;
  if (v.is_container() || v.is_string()) return v.object() == o.object();
  return equal(v, o);
}
bool t_filter(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "filter", {});
  return v.is_string() && r.has_filter(v.s());
}
bool t_test(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "test", {});
  return v.is_string() && r.has_test(v.s());
}
bool t_eq(Renderer& r, const Value& v, CallArgs& a) { return equal(v, one_arg(r, a, "eq")); }
bool t_ne(Renderer& r, const Value& v, CallArgs& a) { return !equal(v, one_arg(r, a, "ne")); }
bool t_lt(Renderer& r, const Value& v, CallArgs& a) { return less(v, one_arg(r, a, "lt")); }
bool t_gt(Renderer& r, const Value& v, CallArgs& a) { return less(one_arg(r, a, "gt"), v); }
bool t_le(Renderer& r, const Value& v, CallArgs& a) {
  const Value& o = one_arg(r, a, "le");
  return less(v, o) || equal(v, o);
}
bool t_ge(Renderer& r, const Value& v, CallArgs& a) {
  const Value& o = one_arg(r, a, "ge");
  return less(o, v) || equal(v, o);
}

}  // namespace

TestFn find_test(std::string_view name) {
  static const std::unordered_map<std::string_view, TestFn> t = {
      {"defined", t_defined},
      {"undefined", t_undefined},
      {"none", t_none},
      {"boolean", t_boolean},
      {"false", t_false},
      {"true", t_true},
      {"integer", t_integer},
      {"float", t_float},
      {"number", t_number},
      {"string", t_string},
      {"mapping", t_mapping},
      {"iterable", t_iterable},
      {"sequence", t_sequence},
      {"callable", t_callable},
      {"escaped", t_escaped},
      {"lower", t_lower},
      {"upper", t_upper},
      {"odd", t_odd},
      {"even", t_even},
      {"divisibleby", t_divisibleby},
      {"in", t_in},
      {"sameas", t_sameas},
      {"filter", t_filter},
      {"test", t_test},
      {"==", t_eq},
      {"eq", t_eq},
      {"equalto", t_eq},
      {"!=", t_ne},
      {"ne", t_ne},
      {">", t_gt},
      {"gt", t_gt},
      {"greaterthan", t_gt},
      {">=", t_ge},
      {"ge", t_ge},
      {"<", t_lt},
      {"lt", t_lt},
      {"lessthan", t_lt},
      {"<=", t_le},
      {"le", t_le},
  };
  auto it = t.find(name);
  return it == t.end() ? nullptr : it->second;
}

}  // namespace hearth::jinja
