// Formatting with Python's exact output: json.dumps, printf-style `%`, str.format, strftime.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "chat/jinja/interp.h"
#include "chat/jinja/text.h"

namespace hearth::jinja {

// ---- json.dumps ----

namespace {

void json_string(const std::string& s, bool ensure_ascii, std::string& out) {
  charge(s.size() / 8);
  out += '"';
  for (size_t p = 0; p < s.size();) {
    size_t start = p;
    uint32_t c = text::decode(s, p);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else if (c < 0x80 || !ensure_ascii) {
          out.append(s, start, p - start);
        } else if (c < 0x10000) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          uint32_t v = c - 0x10000;
          out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
        }
    }
  }
  out += '"';
}

std::string json_float(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return float_repr(d);
}

struct JsonWriter {
  Renderer& r;
  const JsonStyle& st;
  std::string out;

  void newline(int level) {
    out += '\n';
    for (int i = 0; i < level; ++i) out += st.indent;
  }

  std::string key_text(const Value& k) {
    switch (k.type()) {
      case Value::Type::String:
        return k.s();
      case Value::Type::Bool:
        return k.b() ? "true" : "false";
      case Value::Type::None:
        return "null";
      case Value::Type::Int:
        return std::to_string(k.i());
      case Value::Type::Float:
        return json_float(k.f());
      default:
        fail("keys must be str, int, float, bool or None, not {}", type_name(k));
    }
  }

  void write(const Value& v, int level) {
    if (level > kMaxNesting) fail("value nested too deeply for tojson");
    charge(1);
    r.check_size(out.size());
    switch (v.type()) {
      case Value::Type::None:
        out += "null";
        return;
      case Value::Type::Bool:
        out += v.b() ? "true" : "false";
        return;
      case Value::Type::Int:
        out += std::to_string(v.i());
        return;
      case Value::Type::Float:
        out += json_float(v.f());
        return;
      case Value::Type::String:
        json_string(v.s(), st.ensure_ascii, out);
        return;
      case Value::Type::List: {
        auto& items = v.list().items;
        if (items.empty()) {
          out += "[]";
          return;
        }
        out += '[';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += st.item_sep;
          if (st.has_indent) newline(level + 1);
          write(items[i], level + 1);
        }
        if (st.has_indent) newline(level);
        out += ']';
        return;
      }
      case Value::Type::Dict: {
        if (v.is_namespace()) break;
        std::vector<std::pair<std::string, const Value*>> items;
        for (auto& [k, val] : v.dict().items) items.emplace_back(key_text(k), &val);
        if (st.sort_keys)
          std::stable_sort(items.begin(), items.end(), [](auto& a, auto& b) { return a.first < b.first; });
        if (items.empty()) {
          out += "{}";
          return;
        }
        out += '{';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += st.item_sep;
          if (st.has_indent) newline(level + 1);
          json_string(items[i].first, st.ensure_ascii, out);
          out += st.key_sep;
          write(*items[i].second, level + 1);
        }
        if (st.has_indent) newline(level);
        out += '}';
        return;
      }
      default:
        break;
    }
    fail("Object of type {} is not JSON serializable", type_name(v));
  }
};

}  // namespace

std::string to_json(Renderer& r, const Value& v, const JsonStyle& style) {
  JsonWriter w{r, style, {}};
  w.write(v, 0);
  return std::move(w.out);
}

// ---- format specs (shared by % and str.format) ----

namespace {

struct Spec {
  char fill = ' ';
  char align = 0;  // < > ^ =
  char sign = '-';
  bool alt = false;
  bool zero = false;
  int64_t width = -1;
  int64_t precision = -1;
  char grouping = 0;
  char type = 0;
};

constexpr int64_t kMaxWidth = 1 << 20;

std::string pad(const std::string& body, const Spec& sp, char default_align) {
  auto n = static_cast<int64_t>(text::length(body));
  if (sp.width <= n) return body;
  if (sp.width > kMaxWidth) fail("format width too large");
  char align = sp.align ? sp.align : default_align;
  char fill = sp.fill;
  size_t total = static_cast<size_t>(sp.width - n);
  if (align == '=') {  // padding after the sign
    size_t sign = !body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ') ? 1 : 0;
    return body.substr(0, sign) + std::string(total, fill) + body.substr(sign);
  }
  if (align == '<') return body + std::string(total, fill);
  if (align == '^') return std::string(total / 2, fill) + body + std::string(total - total / 2, fill);
  return std::string(total, fill) + body;
}

std::string group_digits(const std::string& digits, char sep) {
  std::string out;
  int n = 0;
  for (size_t i = digits.size(); i > 0; --i) {
    if (n && n % 3 == 0) out += sep;
    out += digits[i - 1];
    ++n;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string format_int(int64_t v, const Spec& sp) {
  uint64_t mag = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  std::string digits;
  char t = sp.type ? sp.type : 'd';
  std::string prefix;
  if (t == 'x' || t == 'X') {
    digits = fmt::format("{:x}", mag);
    if (t == 'X') digits = text::upper(digits);
    if (sp.alt) prefix = t == 'X' ? "0X" : "0x";
  } else if (t == 'o') {
    digits = fmt::format("{:o}", mag);
    if (sp.alt) prefix = "0o";
  } else if (t == 'b') {
    digits = fmt::format("{:b}", mag);
    if (sp.alt) prefix = "0b";
  } else if (t == 'c') {
    std::string s;
    text::encode(static_cast<uint32_t>(v & 0x1FFFFF), s);
    return s;
  } else {
    digits = std::to_string(mag);
    if (sp.grouping) digits = group_digits(digits, sp.grouping);
  }
  std::string sign = v < 0 ? "-" : sp.sign == '+' ? "+" : sp.sign == ' ' ? " " : "";
  return sign + prefix + digits;
}

std::string format_float(double d, const Spec& sp) {
  char t = sp.type;
  if (t == 0 && sp.precision < 0) {
    std::string s = float_repr(d);
    if (sp.sign == '+' && !std::signbit(d)) s = "+" + s;
    if (sp.sign == ' ' && !std::signbit(d)) s = " " + s;
    return s;
  }
  int prec = static_cast<int>(std::min<int64_t>(sp.precision < 0 ? 6 : sp.precision, 100));
  std::string flags = "%";
  if (sp.sign == '+') flags += '+';
  if (sp.sign == ' ') flags += ' ';
  if (sp.alt) flags += '#';
  double x = d;
  std::string suffix;
  char ct = t;
  if (t == '%') {
    x = d * 100;
    ct = 'f';
    suffix = "%";
  } else if (t == 0) {
    ct = 'g';
  } else if (t == 'n') {
    ct = 'g';
  }
  if (std::isinf(x) || std::isnan(x)) {
    std::string s = std::isnan(x) ? "nan" : (x > 0 ? "inf" : "-inf");
    if (t == 'F' || t == 'E' || t == 'G') s = text::upper(s);
    if (!std::signbit(x) && sp.sign == '+') s = "+" + s;
    return s + suffix;
  }
  char buf[512];
  std::snprintf(buf, sizeof buf, (flags + ".*" + ct).c_str(), prec, x);
  std::string s = buf;
  if (sp.grouping && (ct == 'f' || ct == 'F')) {
    size_t start = (s[0] == '-' || s[0] == '+' || s[0] == ' ') ? 1 : 0;
    size_t dot = s.find('.');
    std::string ip = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    s = s.substr(0, start) + group_digits(ip, sp.grouping) + (dot == std::string::npos ? "" : s.substr(dot));
  }
  return s + suffix;
}

// Parses a str.format spec: [[fill]align][sign][#][0][width][,|_][.precision][type]
Spec parse_spec(const std::string& s) {
  Spec sp;
  size_t i = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (s.size() >= 2 && is_align(s[1])) {
    sp.fill = s[0];
    sp.align = s[1];
    i = 2;
  } else if (!s.empty() && is_align(s[0])) {
    sp.align = s[0];
    i = 1;
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) sp.sign = s[i++];
  if (i < s.size() && s[i] == '#') sp.alt = true, ++i;
  if (i < s.size() && s[i] == '0') {
    sp.zero = true;
    if (!sp.align) {
      sp.fill = '0';
      sp.align = '=';
    }
    ++i;
  }
  int64_t w = -1;
  while (i < s.size() && isdigit(static_cast<unsigned char>(s[i]))) {
    w = std::min<int64_t>((w < 0 ? 0 : w) * 10 + (s[i++] - '0'), kMaxWidth + 1);
  }
  sp.width = w;
  if (i < s.size() && (s[i] == ',' || s[i] == '_')) sp.grouping = s[i++];
  if (i < s.size() && s[i] == '.') {
    ++i;
    int64_t p = 0;
    if (i >= s.size() || !isdigit(static_cast<unsigned char>(s[i])))
      fail("Format specifier missing precision");
    while (i < s.size() && isdigit(static_cast<unsigned char>(s[i])))
      p = std::min<int64_t>(p * 10 + (s[i++] - '0'), 1000);
    sp.precision = p;
  }
  if (i < s.size()) sp.type = s[i++];
  if (i != s.size()) fail("Invalid format specifier '{}'", s);
  return sp;
}

std::string apply_spec(Renderer& r, const Value& v, const std::string& spec_text) {
  if (spec_text.empty()) return r.out_str(v);
  Spec sp = parse_spec(spec_text);
  if (v.is_number() && !(v.is_bool() && sp.type == 0)) {
    if (v.is_integral() &&
        (sp.type == 0 || std::string_view("bcdoxXn").find(sp.type) != std::string_view::npos))
      return pad(format_int(v.i(), sp), sp, '>');
    if (std::string_view("eEfFgG%").find(sp.type) == std::string_view::npos && sp.type != 0)
      fail("Unknown format code '{}' for object of type '{}'", sp.type, type_name(v));
    return pad(format_float(v.f(), sp), sp, '>');
  }
  if (sp.type != 0 && sp.type != 's')
    fail("Unknown format code '{}' for object of type '{}'", sp.type, type_name(v));
  std::string s = r.out_str(v);
  if (sp.precision >= 0) s.resize(text::advance(s, 0, sp.precision));
  return pad(s, sp, '<');
}

}  // namespace

// ---- printf-style ----

std::string percent_format(Renderer& r, const std::string& f, const Value& args) {
  charge(f.size() / 8);
  std::vector<Value> pos;
  const Value* mapping = nullptr;
  if (args.is_tuple()) {
    pos = args.list().items;
  } else if (args.is_dict() && !args.is_namespace()) {
    mapping = &args;
    pos = {args};
  } else {
    pos = {args};
  }
  size_t next = 0;
  std::string out;
  auto take = [&]() -> const Value& {
    if (next >= pos.size()) fail("not enough arguments for format string");
    return pos[next++];
  };
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    if (++i >= f.size()) fail("incomplete format");
    const Value* val = nullptr;
    Value keyed;
    if (f[i] == '(') {
      size_t e = f.find(')', i);
      if (e == std::string::npos) fail("incomplete format key");
      if (!mapping) fail("format requires a mapping");
      const Value* v = mapping->dict().find(std::string_view(f).substr(i + 1, e - i - 1));
      if (!v) fail("KeyError: '{}'", f.substr(i + 1, e - i - 1));
      keyed = *v;
      val = &keyed;
      i = e + 1;
    }
    Spec sp;
    for (; i < f.size() && std::string_view("-+ #0").find(f[i]) != std::string_view::npos; ++i) {
      if (f[i] == '-') sp.align = '<';
      if (f[i] == '+') sp.sign = '+';
      if (f[i] == ' ' && sp.sign != '+') sp.sign = ' ';
      if (f[i] == '#') sp.alt = true;
      if (f[i] == '0') sp.zero = true;
    }
    if (i < f.size() && f[i] == '*') {
      sp.width = r.to_int(take(), "* width");
      ++i;
    } else {
      while (i < f.size() && isdigit(static_cast<unsigned char>(f[i])))
        sp.width = std::min<int64_t>((sp.width < 0 ? 0 : sp.width) * 10 + (f[i++] - '0'), kMaxWidth + 1);
    }
    if (i < f.size() && f[i] == '.') {
      ++i;
      sp.precision = 0;
      if (i < f.size() && f[i] == '*') {
        sp.precision = r.to_int(take(), "* precision");
        ++i;
      } else {
        while (i < f.size() && isdigit(static_cast<unsigned char>(f[i])))
          sp.precision = std::min<int64_t>(sp.precision * 10 + (f[i++] - '0'), 1000);
      }
    }
    while (i < f.size() && (f[i] == 'h' || f[i] == 'l' || f[i] == 'L')) ++i;
    if (i >= f.size()) fail("incomplete format");
    char c = f[i];
    if (c == '%') {
      out += '%';
      continue;
    }
    const Value& v = val ? *val : take();
    if (sp.width < 0 && sp.align) sp.align = '<';
    std::string body;
    char def_align = '>';
    if (c == 's' || c == 'r' || c == 'a') {
      body = c == 's' ? r.out_str(v) : repr(v);
      if (sp.precision >= 0) body.resize(text::advance(body, 0, sp.precision));
    } else if (std::string_view("diuoxXc").find(c) != std::string_view::npos) {
      int64_t iv;
      if (v.is_integral()) {
        iv = v.i();
      } else if (v.is_float() && c != 'c' && c != 'o' && c != 'x' && c != 'X') {
        if (!std::isfinite(v.f())) fail("cannot convert float to integer");
        iv = static_cast<int64_t>(v.f());
      } else {
        fail("%{} format: a number is required, not {}", c, type_name(v));
      }
      Spec is = sp;
      is.type = c == 'i' || c == 'u' ? 'd' : c;
      body = format_int(iv, is);
      if (sp.precision >= 0 && c != 'c') {
        size_t sign = !body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ') ? 1 : 0;
        auto digits = static_cast<int64_t>(body.size() - sign);
        if (digits < sp.precision) body.insert(sign, static_cast<size_t>(sp.precision - digits), '0');
      }
    } else if (std::string_view("eEfFgG").find(c) != std::string_view::npos) {
      if (!v.is_number()) fail("must be real number, not {}", type_name(v));
      Spec fs = sp;
      fs.type = c;
      if (fs.precision < 0) fs.precision = 6;
      body = format_float(v.f(), fs);
    } else {
      fail("unsupported format character '{}'", c);
    }
    if (sp.zero && sp.align != '<' && c != 's' && c != 'r' && c != 'a') {
      sp.fill = '0';
      sp.align = '=';
    }
    out += pad(body, sp, def_align);
    r.check_size(out.size());
  }
  if (next < pos.size() && !mapping) fail("not all arguments converted during string formatting");
  return out;
}

// ---- str.format ----

std::string str_format(Renderer& r, const std::string& f, CallArgs& args) {
  charge(f.size() / 8);
  std::string out;
  size_t auto_idx = 0;
  bool used_auto = false, used_manual = false;
  for (size_t i = 0; i < f.size(); ++i) {
    char c = f[i];
    if (c == '}') {
      if (i + 1 < f.size() && f[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      fail("Single '}}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    size_t e = f.find('}', i);
    if (e == std::string::npos) fail("Single '{{' encountered in format string");
    std::string field = f.substr(i + 1, e - i - 1);
    i = e;
    std::string spec, conv;
    if (size_t colon = field.find(':'); colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field.resize(colon);
    }
    if (size_t bang = field.find('!'); bang != std::string::npos) {
      conv = field.substr(bang + 1);
      field.resize(bang);
    }
    // field name: arg_name ("." attr | "[" key "]")*
    size_t p = 0;
    while (p < field.size() && field[p] != '.' && field[p] != '[') ++p;
    std::string head = field.substr(0, p);
    Value v;
    if (head.empty()) {
      if (used_manual) fail("cannot switch from manual field specification to automatic field numbering");
      used_auto = true;
      if (auto_idx >= args.pos.size())
        fail("Replacement index {} out of range for positional args tuple", auto_idx);
      v = args.pos[auto_idx++];
    } else if (std::all_of(head.begin(), head.end(),
                           [](char ch) { return isdigit(static_cast<unsigned char>(ch)); })) {
      if (used_auto) fail("cannot switch from automatic field numbering to manual field specification");
      used_manual = true;
      size_t k = head.size() > 9 ? SIZE_MAX : std::stoul(head);
      if (k >= args.pos.size()) fail("Replacement index {} out of range for positional args tuple", head);
      v = args.pos[k];
    } else {
      auto it = std::find_if(args.kw.begin(), args.kw.end(), [&](auto& kv) { return kv.first == head; });
      if (it == args.kw.end()) fail("KeyError: '{}'", head);
      v = it->second;
    }
    while (p < field.size()) {
      if (field[p] == '.') {
        size_t q = p + 1;
        while (q < field.size() && field[q] != '.' && field[q] != '[') ++q;
        v = r.getattr(v, field.substr(p + 1, q - p - 1));
        p = q;
      } else {
        size_t q = field.find(']', p);
        if (q == std::string::npos) fail("Missing ']' in format string");
        std::string key = field.substr(p + 1, q - p - 1);
        bool digits = !key.empty() && key.size() < 18 && std::all_of(key.begin(), key.end(), [](char ch) {
          return isdigit(static_cast<unsigned char>(ch));
        });
        v = r.getitem(v, digits ? Value::integer(std::stoll(key)) : Value::string(key));
        p = q + 1;
      }
    }
    if (v.unsafe()) r.fail_undefined(v);
    if (conv == "r" || conv == "a") {
      v = Value::string(repr(v));
    } else if (conv == "s") {
      v = Value::string(r.out_str(v));
    } else if (!conv.empty()) {
      fail("Unknown conversion specifier {}", conv);
    }
    out += apply_spec(r, v, spec);
    r.check_size(out.size());
  }
  return out;
}

// ---- strftime ----

std::string strftime(const std::string& f, const std::tm& tm) {
  if (f.empty()) return "";
  if (f.size() > 4096) fail("strftime format too long");
  std::vector<char> buf(f.size() * 16 + 64);
  size_t n = std::strftime(buf.data(), buf.size(), f.c_str(), &tm);
  if (n == 0) return "";
  return std::string(buf.data(), n);
}

}  // namespace hearth::jinja
