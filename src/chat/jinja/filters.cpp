// Jinja2's built-in filters (plus Hugging Face's tojson), with Python semantics.
#include "chat/jinja/filters.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "chat/jinja/interp.h"
#include "chat/jinja/text.h"

namespace hearth::jinja {
namespace {

// Filters that transform a Markup string keep it Markup.
Value keep_markup(const Value& in, Value out) {
  if (in.is_markup() && out.is_string()) return Value::markup(out.s());
  return out;
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

Value f_default(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "default", {"default_value", "boolean"});
  if (v.is_undefined() || (arg_bool(b, 1, false) && !truthy(v))) return b.has(0) ? b[0] : Value::string("");
  return v;
}

Value f_escape(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "escape", {});
  if (v.is_markup()) return v;
  if (v.is_undefined()) return Value::markup("");
  std::string e = text::html_escape(as_text(r, v));
  r.check_size(e.size());
  return Value::markup(std::move(e));
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
  if (t.empty() || body.find_first_not_of("0123456789.e+-") != std::string::npos || body.find("0x") == 0)
    return false;
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
    int d = (c >= '0' && c <= '9')                     ? c - '0'
            : ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? (c | 0x20) - 'a' + 10
                                                       : 99;
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

Value f_pprint(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "pprint", {});
  return r.str(repr(v));
}

Value f_replace(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "replace", {"old", "new", "count"});
  int64_t count = b.has(2) && !b[2].is_none() ? r.to_int(b[2], "count") : -1;
  return r.str(text::replace(as_text(r, v), as_text(r, b[0]), as_text(r, b[1]), count, r.opts().max_string));
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
    st.item_sep.assign(1, ',');  // (not = ",": GCC 12 -Wrestrict false positive)
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

const FilterTable& table() {
  static const FilterTable t = [] {
    FilterTable m = {
        {"abs", f_abs},         {"attr", f_attr},           {"capitalize", f_capitalize},
        {"center", f_center},   {"d", f_default},           {"default", f_default},
        {"e", f_escape},        {"escape", f_escape},       {"forceescape", f_escape},
        {"float", f_float},     {"format", f_format},       {"indent", f_indent},
        {"int", f_int},         {"lower", f_lower},         {"pprint", f_pprint},
        {"replace", f_replace}, {"round", f_round},         {"safe", f_safe},
        {"string", f_string},   {"striptags", f_striptags}, {"title", f_title},
        {"tojson", f_tojson},   {"trim", f_trim},           {"truncate", f_truncate},
        {"upper", f_upper},     {"urlencode", f_urlencode}, {"wordcount", f_wordcount},
    };
    add_sequence_filters(m);
    return m;
  }();
  return t;
}

}  // namespace

FilterFn find_filter(std::string_view name) {
  auto& t = table();
  auto it = t.find(name);
  return it == t.end() ? nullptr : it->second;
}

}  // namespace hearth::jinja
