// Jinja2's built-in filters (plus Hugging Face's tojson), with Python semantics.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "chat/jinja/interp.h"
#include "chat/jinja/text.h"

namespace hearth::jinja {
namespace {

std::string as_text(Renderer& r, const Value& v) { return v.is_string() ? v.s() : r.out_str(v); }

// Filters that transform a Markup string keep it Markup.
Value keep_markup(const Value& in, Value out) {
  if (in.is_markup() && out.is_string()) return Value::markup(out.s());
  return out;
}

bool arg_bool(const Bound& b, size_t i, bool def) { return b.has(i) ? truthy(b[i]) : def; }

// Jinja's make_attrgetter: "a.b.0" looks up item by item.
Value attr_path(Renderer& r, const Value& item, const Value& attribute) {
  if (attribute.is_integral()) return r.getitem(item, attribute);
  Value cur = item;
  const std::string& path = attribute.s();
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits && part.size() < 18) {
      cur = r.getitem(cur, Value::integer(std::stoll(part)));
    } else {
      cur = r.getitem(cur, Value::string(part));
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

Value lower_if_str(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::string(text::lower(v.s()));
  return v;
}

// Sort key for sort/unique/min/max/dictsort: attribute path(s) and case folding.
Value sort_key(Renderer& r, const Value& item, const Bound& b, size_t attr_i, bool case_sensitive) {
  if (!b.has(attr_i) || b[attr_i].is_none()) return lower_if_str(item, case_sensitive);
  const Value& attribute = b[attr_i];
  if (attribute.is_string() && attribute.s().find(',') != std::string::npos) {
    std::vector<Value> keys;
    std::string s = attribute.s();
    size_t start = 0;
    while (true) {
      size_t c = s.find(',', start);
      std::string part = s.substr(start, c == std::string::npos ? std::string::npos : c - start);
      keys.push_back(lower_if_str(attr_path(r, item, Value::string(part)), case_sensitive));
      if (c == std::string::npos) break;
      start = c + 1;
    }
    return Value::make_list(std::move(keys));
  }
  return lower_if_str(attr_path(r, item, attribute), case_sensitive);
}

Value f_abs(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "abs", {});
  if (v.is_float()) return Value::number(std::fabs(v.f()));
  if (v.is_integral()) {
    if (v.i() == INT64_MIN) fail("integer overflow");
    return Value::integer(std::llabs(v.i()));
  }
  if (v.is_undefined()) r.fail_undefined(v);
  fail("bad operand type for abs(): '{}'", type_name(v));
}

Value f_attr(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "attr", {"name"});
  if (!b[0].is_string()) fail("attribute name must be a string");
  // Python getattr(): real attributes only, no item lookup (a dict's keys are not attributes).
  if (v.is_dict() && !v.is_namespace()) {
    bool mutating;
    if (!has_method(v, b[0].s(), &mutating))
      return Value::undefined(fmt::format("'dict object' has no attribute '{}'", b[0].s()));
  }
  return r.getattr(v, b[0].s());
}

Value f_batch(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "batch", {"linecount", "fill_with"});
  int64_t n = r.to_int(b[0], "linecount");
  if (n <= 0) fail("batch size must be positive");
  std::vector<Value> out, cur;
  for (auto& item : r.iterate(v)) {
    if (static_cast<int64_t>(cur.size()) == n) {
      out.push_back(r.list(std::move(cur)));
      cur.clear();
    }
    cur.push_back(item);
  }
  if (!cur.empty()) {
    if (b.has(1) && !b[1].is_none())
      while (static_cast<int64_t>(cur.size()) < n) cur.push_back(b[1]);
    out.push_back(r.list(std::move(cur)));
  }
  return r.list(std::move(out));
}

Value f_capitalize(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "capitalize", {});
  return keep_markup(v, r.str(text::capitalize(as_text(r, v))));
}

Value f_center(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "center", {"width"});
  int64_t w = b.has(0) ? r.to_int(b[0], "width") : 80;
  r.check_size(static_cast<size_t>(std::max<int64_t>(0, std::min<int64_t>(w, INT32_MAX))));
  return r.str(text::center(as_text(r, v), w, " "));
}

Value f_length(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "length", {});
  switch (v.type()) {
    case Value::Type::Undefined:
      return Value::integer(0);
    case Value::Type::String:
      return Value::integer(static_cast<int64_t>(text::length(v.s())));
    case Value::Type::List:
      return Value::integer(static_cast<int64_t>(v.list().items.size()));
    case Value::Type::Dict:
      if (!v.is_namespace()) return Value::integer(static_cast<int64_t>(v.dict().items.size()));
      [[fallthrough]];
    default:
      fail("object of type '{}' has no len()", type_name(v));
  }
}

Value f_default(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "default", {"default_value", "boolean"});
  if (v.is_undefined() || (arg_bool(b, 1, false) && !truthy(v))) return b.has(0) ? b[0] : Value::string("");
  return v;
}

Value f_dictsort(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "dictsort", {"case_sensitive", "by", "reverse"});
  if (!v.is_dict() || v.is_namespace()) fail("dictsort filter expects a mapping, got '{}'", type_name(v));
  bool cs = arg_bool(b, 0, false);
  int pos = 0;
  if (b.has(1)) {
    if (b[1].is_string() && b[1].s() == "value") {
      pos = 1;
    } else if (!(b[1].is_string() && b[1].s() == "key")) {
      fail("You can only sort by either \"key\" or \"value\"");
    }
  }
  std::vector<std::pair<Value, Value>> items = v.dict().items;
  r.check_items(items.size());
  std::stable_sort(items.begin(), items.end(), [&](auto& x, auto& y) {
    const Value& kx = pos ? x.second : x.first;
    const Value& ky = pos ? y.second : y.first;
    return less(lower_if_str(kx, cs), lower_if_str(ky, cs));
  });
  if (arg_bool(b, 2, false)) std::reverse(items.begin(), items.end());
  std::vector<Value> out;
  for (auto& [k, val] : items) out.push_back(Value::make_list({k, val}, true));
  return r.list(std::move(out));
}

Value f_escape(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "escape", {});
  if (v.is_markup()) return v;
  if (v.is_undefined()) return Value::markup("");
  std::string e = text::html_escape(as_text(r, v));
  r.check_size(e.size());
  return Value::markup(std::move(e));
}

Value f_first(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "first", {});
  if (v.is_list()) {
    if (v.list().items.empty()) return Value::undefined("No first item, sequence was empty.");
    return v.list().items.front();
  }
  auto items = r.iterate(v);
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value f_last(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "last", {});
  if (v.is_list()) {
    if (v.list().items.empty()) return Value::undefined("No last item, sequence was empty.");
    return v.list().items.back();
  }
  auto items = r.iterate(v);
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

bool parse_py_float(std::string s, double& out) {
  charge(s.size() / 8);
  s = text::strip(s, nullptr, text::Side::both);
  std::string t;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && i > 0 && i + 1 < s.size() && isdigit(static_cast<unsigned char>(s[i - 1])) &&
        isdigit(static_cast<unsigned char>(s[i + 1])))
      continue;
    t += s[i];
  }
  std::string low = text::lower(t);
  std::string body = low.size() && (low[0] == '+' || low[0] == '-') ? low.substr(1) : low;
  if (body == "inf" || body == "infinity" || body == "nan") {
    double x = body == "nan" ? NAN : INFINITY;
    out = low[0] == '-' ? -x : x;
    return true;
  }
  if (t.empty() || body.find_first_not_of("0123456789.e+-") != std::string::npos || body.find("0x") == 0) return false;
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  return end && *end == 0;
}

Value f_float(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "float", {"default"});
  Value def = b.has(0) ? b[0] : Value::number(0.0);
  if (v.is_number()) return Value::number(v.f());
  double d;
  if (v.is_string() && parse_py_float(v.s(), d)) return Value::number(d);
  return def;
}

bool parse_py_int(const std::string& src, int base, int64_t& out) {
  charge(src.size() / 8);
  std::string s = text::strip(src, nullptr, text::Side::both);
  bool neg = false;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (base == 0 || base == 16 || base == 8 || base == 2) {
    if (i + 1 < s.size() && s[i] == '0') {
      char p = static_cast<char>(s[i + 1] | 0x20);
      int pb = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
      if (pb && (base == 0 || base == pb)) {
        base = pb;
        i += 2;
        if (i < s.size() && s[i] == '_') ++i;
      }
    }
    if (base == 0) base = 10;
  }
  if (i >= s.size()) return false;
  uint64_t v = 0;
  bool prev_digit = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '_' && prev_digit && i + 1 < s.size() && s[i + 1] != '_') {
      prev_digit = false;
      continue;
    }
    int d = (c >= '0' && c <= '9') ? c - '0' : ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? (c | 0x20) - 'a' + 10 : 99;
    if (d >= base) return false;
    if (v > (static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base))
      fail("integer too large");
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    prev_digit = true;
  }
  if (!prev_digit) return false;
  out = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  return true;
}

Value f_int(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "int", {"default", "base"});
  Value def = b.has(0) ? b[0] : Value::integer(0);
  int base = b.has(1) ? static_cast<int>(r.to_int(b[1], "base")) : 10;
  if (v.is_integral()) return Value::integer(v.i());
  if (v.is_float()) {
    if (!std::isfinite(v.f()) || std::fabs(v.f()) >= 9.2e18) return def;
    return Value::integer(static_cast<int64_t>(v.f()));
  }
  if (v.is_string()) {
    int64_t out;
    if (parse_py_int(v.s(), base, out)) return Value::integer(out);
    double d;
    if (parse_py_float(v.s(), d) && std::isfinite(d) && std::fabs(d) < 9.2e18)
      return Value::integer(static_cast<int64_t>(d));
  }
  return def;
}

Value f_indent(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "indent", {"width", "first", "blank"});
  std::string ind;
  if (b.has(0) && b[0].is_string()) {
    ind = b[0].s();
  } else {
    int64_t w = b.has(0) ? r.to_int(b[0], "width") : 4;
    r.check_size(static_cast<size_t>(std::clamp<int64_t>(w, 0, INT32_MAX)));
    ind.assign(static_cast<size_t>(std::max<int64_t>(0, w)), ' ');
  }
  // Jinja appends a newline before splitlines(), so a trailing newline yields an empty last line.
  std::string s = as_text(r, v) + "\n";
  const bool blank = arg_bool(b, 2, false);
  std::string out;
  size_t n = 0;
  text::for_each_line(s, [&](std::string_view line) {
    if (n++) {
      out += '\n';
      if (blank || !line.empty()) out += ind;
    }
    out += line;
    r.check_size(out.size());
  });
  if (arg_bool(b, 1, false)) out = ind + out;
  return r.str(std::move(out));
}

Value f_items(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "items", {});
  if (v.is_undefined()) return r.list({});
  if (!v.is_dict() || v.is_namespace()) fail("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (auto& [k, val] : v.dict().items) out.push_back(Value::make_list({k, val}, true));
  return r.list(std::move(out));
}

Value f_join(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "join", {"d", "attribute"});
  std::string sep = b.has(0) ? as_text(r, b[0]) : "";
  std::string out;
  bool firstp = true;
  for (auto& item : r.iterate(v)) {
    charge(1);
    if (!firstp) out += sep;
    firstp = false;
    Value x = b.has(1) && !b[1].is_none() ? attr_path(r, item, b[1]) : item;
    out += as_text(r, x);
    r.check_size(out.size());
  }
  return r.str(std::move(out));
}

Value f_list(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "list", {});
  return r.list(r.iterate(v));
}

Value f_lower(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "lower", {});
  return keep_markup(v, r.str(text::lower(as_text(r, v))));
}
Value f_upper(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "upper", {});
  return keep_markup(v, r.str(text::upper(as_text(r, v))));
}

Value f_title(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "title", {});
  // Jinja: words split on whitespace and -({[< ; each word's first character upper, rest lower.
  std::string s = as_text(r, v), out;
  charge(s.size() / 8);
  bool word_start = true;
  for (size_t p = 0; p < s.size();) {
    uint32_t c = text::decode(s, p);
    bool sep = text::is_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    text::encode(sep ? c : word_start ? text::upper_cp(c) : text::lower_cp(c), out);
    word_start = sep;
  }
  return r.str(std::move(out));
}

Value f_map(Renderer& r, const Value& v, CallArgs& a) {
  std::vector<Value> out;
  if (!truthy(v)) return r.list({});
  const Value* attribute = nullptr;
  const Value* def = nullptr;
  for (auto& [k, val] : a.kw) {
    if (k == "attribute") {
      attribute = &val;
    } else if (k == "default") {
      def = &val;
    }
  }
  if (attribute) {
    for (auto& item : r.iterate(v)) {
      Value x = attr_path(r, item, *attribute);
      if (x.is_undefined() && def) x = *def;
      out.push_back(std::move(x));
    }
    return r.list(std::move(out));
  }
  if (a.pos.empty()) fail("map requires a filter argument");
  if (!a.pos[0].is_string()) fail("map filter name must be a string");
  std::string name = a.pos[0].s();
  CallArgs rest;
  rest.pos.assign(a.pos.begin() + 1, a.pos.end());
  rest.kw = a.kw;
  for (auto& item : r.iterate(v)) {
    CallArgs copy = rest;
    out.push_back(r.filter(name, item, copy));
  }
  return r.list(std::move(out));
}

Value min_max(Renderer& r, const Value& v, CallArgs& a, bool is_max) {
  auto b = r.bind(a, is_max ? "max" : "min", {"case_sensitive", "attribute"});
  bool cs = arg_bool(b, 0, false);
  auto items = r.iterate(v);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  Value best_key = sort_key(r, items[0], b, 1, cs);
  for (size_t i = 1; i < items.size(); ++i) {
    Value k = sort_key(r, items[i], b, 1, cs);
    if (is_max ? less(best_key, k) : less(k, best_key)) {
      best = i;
      best_key = std::move(k);
    }
  }
  return items[best];
}
Value f_min(Renderer& r, const Value& v, CallArgs& a) { return min_max(r, v, a, false); }
Value f_max(Renderer& r, const Value& v, CallArgs& a) { return min_max(r, v, a, true); }

Value f_pprint(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "pprint", {});
  return r.str(repr(v));
}

// select / reject / selectattr / rejectattr
Value select_impl(Renderer& r, const Value& v, CallArgs& a, bool want, bool by_attr) {
  std::vector<Value> out;
  size_t k = 0;
  Value attribute;
  if (by_attr) {
    if (a.pos.empty()) fail("selectattr requires an attribute name");
    attribute = a.pos[0];
    k = 1;
  }
  std::string test_name;
  if (a.pos.size() > k) {
    if (!a.pos[k].is_string()) fail("test name must be a string");
    test_name = a.pos[k].s();
    ++k;
  }
  if (!truthy(v)) return r.list({});
  CallArgs test_args;
  test_args.pos.assign(a.pos.begin() + static_cast<ptrdiff_t>(std::min(k, a.pos.size())), a.pos.end());
  test_args.kw = a.kw;
  for (auto& item : r.iterate(v)) {
    Value x = by_attr ? attr_path(r, item, attribute) : item;
    bool t;
    if (test_name.empty()) {
      t = truthy(x);
    } else {
      CallArgs copy = test_args;
      t = r.test(test_name, x, copy);
    }
    if (t == want) out.push_back(item);
  }
  return r.list(std::move(out));
}
Value f_select(Renderer& r, const Value& v, CallArgs& a) { return select_impl(r, v, a, true, false); }
Value f_reject(Renderer& r, const Value& v, CallArgs& a) { return select_impl(r, v, a, false, false); }
Value f_selectattr(Renderer& r, const Value& v, CallArgs& a) { return select_impl(r, v, a, true, true); }
Value f_rejectattr(Renderer& r, const Value& v, CallArgs& a) { return select_impl(r, v, a, false, true); }

Value f_replace(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "replace", {"old", "new", "count"});
  int64_t count = b.has(2) && !b[2].is_none() ? r.to_int(b[2], "count") : -1;
  return r.str(text::replace(as_text(r, v), as_text(r, b[0]), as_text(r, b[1]), count, r.opts().max_string));
}

Value f_reverse(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "reverse", {});
  if (v.is_string()) return r.str(text::reverse(v.s()));
  auto items = r.iterate(v);
  std::reverse(items.begin(), items.end());
  return r.list(std::move(items));
}

Value f_round(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "round", {"precision", "method"});
  int64_t prec = b.has(0) ? r.to_int(b[0], "precision") : 0;
  std::string method = b.has(1) ? as_text(r, b[1]) : "common";
  if (method != "common" && method != "ceil" && method != "floor")
    fail("method must be common, ceil or floor");
  if (!v.is_number()) fail("type {} doesn't define __round__ method", type_name(v));
  if (method == "common" && v.is_integral() && prec >= 0) return Value::integer(v.i());
  double x = v.f();
  if (method != "common") {
    double p = std::pow(10.0, static_cast<double>(prec));
    return Value::number((method == "ceil" ? std::ceil(x * p) : std::floor(x * p)) / p);
  }
  if (!std::isfinite(x) || prec > 300) return Value::number(x);
  if (prec < -300) return Value::number(0.0 * x);
  if (prec >= 0) {
    // Correctly rounded (half to even on the exact binary value), like Python's round().
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(prec), x);
    return Value::number(std::strtod(buf, nullptr));
  }
  double p = std::pow(10.0, static_cast<double>(-prec));
  return Value::number(std::nearbyint(x / p) * p);
}

Value f_safe(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "safe", {});
  if (v.is_markup()) return v;
  return Value::markup(as_text(r, v));
}


Value f_slice(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "slice", {"slices", "fill_with"});
  int64_t slices = r.to_int(b[0], "slices");
  if (slices <= 0) fail("slices must be positive");
  auto seq = r.iterate(v);
  r.check_items(static_cast<size_t>(std::min<int64_t>(slices, INT32_MAX)));
  auto length = static_cast<int64_t>(seq.size());
  int64_t per = length / slices, extra = length % slices, offset = 0;
  std::vector<Value> out;
  for (int64_t i = 0; i < slices; ++i) {
    int64_t start = offset + i * per;
    if (i < extra) ++offset;
    int64_t end = offset + (i + 1) * per;
    std::vector<Value> part(seq.begin() + start, seq.begin() + end);
    if (b.has(1) && !b[1].is_none() && i >= extra) part.push_back(b[1]);
    out.push_back(r.list(std::move(part)));
  }
  return r.list(std::move(out));
}

Value f_sort(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "sort", {"reverse", "case_sensitive", "attribute"});
  auto items = r.iterate(v);
  bool cs = arg_bool(b, 1, false);
  std::vector<std::pair<Value, size_t>> keyed;
  for (size_t i = 0; i < items.size(); ++i) keyed.emplace_back(sort_key(r, items[i], b, 2, cs), i);
  bool rev = arg_bool(b, 0, false);
  std::stable_sort(keyed.begin(), keyed.end(),
                   [&](auto& x, auto& y) { return rev ? less(y.first, x.first) : less(x.first, y.first); });
  std::vector<Value> out;
  for (auto& [k, i] : keyed) out.push_back(items[i]);
  return r.list(std::move(out));
}

Value f_string(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "string", {});
  if (v.is_string()) return v;
  return r.str(r.out_str(v));
}

Value f_striptags(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "striptags", {});
  std::string s = as_text(r, v), out;
  charge(s.size() / 8);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<') {
      size_t e = s.find('>', i);
      if (e != std::string::npos) {
        i = e;
        out += ' ';
        continue;
      }
    }
    out += s[i];
  }
  auto words = text::split(out, nullptr, -1, r.opts().max_items);
  std::string joined;
  for (size_t i = 0; i < words.size(); ++i) joined += (i ? " " : "") + words[i];
  return r.str(std::move(joined));
}

Value f_sum(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "sum", {"attribute", "start"});
  Value acc = b.has(1) ? b[1] : Value::integer(0);
  for (auto& item : r.iterate(v)) {
    Value x = b.has(0) && !b[0].is_none() ? attr_path(r, item, b[0]) : item;
    acc = r.binop("+", acc, x);
  }
  return acc;
}

Value f_tojson(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "tojson", {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonStyle st;
  st.ensure_ascii = arg_bool(b, 0, false);
  if (b.has(1) && !b[1].is_none()) {
    st.has_indent = true;
    if (b[1].is_string()) {
      st.indent = b[1].s();
    } else {
      int64_t n = r.to_int(b[1], "indent");
      st.indent.assign(static_cast<size_t>(std::clamp<int64_t>(n, 0, 256)), ' ');
    }
    st.item_sep = ",";
  }
  if (b.has(2) && !b[2].is_none()) {
    auto seps = r.iterate(b[2]);
    if (seps.size() != 2 || !seps[0].is_string() || !seps[1].is_string())
      fail("separators must be a pair of strings");
    st.item_sep = seps[0].s();
    st.key_sep = seps[1].s();
  }
  st.sort_keys = arg_bool(b, 3, false);
  return r.str(to_json(r, v, st));
}

Value f_trim(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "trim", {"chars"});
  std::string chars;
  bool has = b.has(0) && !b[0].is_none();
  if (has) chars = as_text(r, b[0]);
  return keep_markup(v, r.str(text::strip(as_text(r, v), has ? &chars : nullptr, text::Side::both)));
}

Value f_truncate(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "truncate", {"length", "killwords", "end", "leeway"});
  int64_t length = b.has(0) ? r.to_int(b[0], "length") : 255;
  bool killwords = arg_bool(b, 1, false);
  std::string end = b.has(2) ? as_text(r, b[2]) : "...";
  int64_t leeway = b.has(3) && !b[3].is_none() ? r.to_int(b[3], "leeway") : 5;
  auto end_len = static_cast<int64_t>(text::length(end));
  if (length < end_len) fail("expected length >= {}, got {}", end_len, length);
  if (leeway < 0) fail("expected leeway >= 0, got {}", leeway);
  std::string s = as_text(r, v);
  auto n = static_cast<int64_t>(text::length(s));
  if (n <= length + leeway) return v.is_string() ? v : r.str(s);
  std::string head = s.substr(0, text::advance(s, 0, length - end_len));
  if (killwords) return r.str(head + end);
  size_t sp = head.rfind(' ');
  if (sp != std::string::npos) head.resize(sp);
  return r.str(head + end);
}

Value f_unique(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "unique", {"case_sensitive", "attribute"});
  bool cs = arg_bool(b, 0, false);
  std::vector<Value> out, seen;
  for (auto& item : r.iterate(v)) {
    Value k = sort_key(r, item, b, 1, cs);
    bool dup = false;
    for (auto& s : seen)
      if (equal(s, k)) {
        dup = true;
        break;
      }
    if (dup) continue;
    seen.push_back(std::move(k));
    out.push_back(item);
  }
  return r.list(std::move(out));
}

Value f_urlencode(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "urlencode", {});
  auto enc = [](const std::string& s, bool for_qs) {
    std::string out;
    for (unsigned char c : s) {
      if (isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~' || (!for_qs && c == '/')) {
        out += static_cast<char>(c);
      } else {
        out += fmt::format("%{:02X}", c);
      }
    }
    return out;
  };
  if (v.is_dict()) {
    auto plus = [&](std::string s) {  // quote_plus: spaces become '+'
      std::string e = enc(s, true), out;
      for (size_t i = 0; i < e.size(); ++i) {
        if (e.compare(i, 3, "%20") == 0) {
          out += '+';
          i += 2;
        } else {
          out += e[i];
        }
      }
      return out;
    };
    std::string out;
    for (auto& [k, val] : v.dict().items) {
      if (!out.empty()) out += '&';
      out += plus(to_str(k)) + "=" + plus(to_str(val));
    }
    return r.str(out);
  }
  return r.str(enc(as_text(r, v), false));
}

Value f_wordcount(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "wordcount", {});
  std::string s = as_text(r, v);
  charge(s.size() / 8);
  int64_t n = 0;
  bool in = false;
  for (size_t p = 0; p < s.size();) {
    uint32_t c = text::decode(s, p);
    bool w = c == '_' || text::is_alnum(c);
    if (w && !in) ++n;
    in = w;
  }
  return Value::integer(n);
}

Value f_format(Renderer& r, const Value& v, CallArgs& a) {
  if (!a.pos.empty() && !a.kw.empty()) fail("can't handle positional and keyword arguments at the same time");
  Value args;
  if (!a.kw.empty()) {
    args = Value::make_dict();
    for (auto& [k, val] : a.kw) args.dict().set(Value::string(k), val);
  } else {
    args = Value::make_list(a.pos, true);
  }
  return r.str(percent_format(r, as_text(r, v), args));
}

Value f_groupby(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "groupby", {"attribute", "default", "case_sensitive"});
  bool cs = arg_bool(b, 2, false);
  auto items = r.iterate(v);
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& item : items) {
    Value k = attr_path(r, item, b[0]);
    if (k.is_undefined() && b.has(1)) k = b[1];
    keyed.emplace_back(lower_if_str(k, cs), item);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](auto& x, auto& y) { return less(x.first, y.first); });
  std::vector<Value> out;
  for (size_t i = 0; i < keyed.size();) {
    size_t j = i;
    std::vector<Value> group;
    while (j < keyed.size() && equal(keyed[j].first, keyed[i].first)) group.push_back(keyed[j++].second);
    Value grouper = keyed[i].first;
    if (!cs) {
      Value orig = attr_path(r, group[0], b[0]);
      if (!orig.is_undefined()) grouper = orig;
    }
    out.push_back(Value::make_list({grouper, r.list(std::move(group))}, true));
    i = j;
  }
  return r.list(std::move(out));
}

const std::unordered_map<std::string_view, FilterFn>& table() {
  static const std::unordered_map<std::string_view, FilterFn> t = {
      {"abs", f_abs},         {"attr", f_attr},
      {"batch", f_batch},     {"capitalize", f_capitalize},
      {"center", f_center},   {"count", f_length},
      {"d", f_default},       {"default", f_default},
      {"dictsort", f_dictsort}, {"e", f_escape},
      {"escape", f_escape},   {"forceescape", f_escape},
      {"first", f_first},     {"float", f_float},
      {"format", f_format},   {"groupby", f_groupby},
      {"indent", f_indent},   {"int", f_int},
      {"items", f_items},     {"join", f_join},
      {"last", f_last},       {"length", f_length},
      {"list", f_list},       {"lower", f_lower},
      {"map", f_map},         {"max", f_max},
      {"min", f_min},         {"pprint", f_pprint},
      {"reject", f_reject},   {"rejectattr", f_rejectattr},
      {"replace", f_replace}, {"reverse", f_reverse},
      {"round", f_round},     {"safe", f_safe},
      {"select", f_select},   {"selectattr", f_selectattr},
      {"slice", f_slice},     {"sort", f_sort},
      {"string", f_string},   {"striptags", f_striptags},
      {"sum", f_sum},         {"title", f_title},
      {"tojson", f_tojson},   {"trim", f_trim},
      {"truncate", f_truncate}, {"unique", f_unique},
      {"upper", f_upper},     {"urlencode", f_urlencode},
      {"wordcount", f_wordcount},
  };
  return t;
}

}  // namespace

FilterFn find_filter(std::string_view name) {
  auto& t = table();
  auto it = t.find(name);
  return it == t.end() ? nullptr : it->second;
}

}  // namespace hearth::jinja
