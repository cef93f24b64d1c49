// Methods of str, list and dict that templates call (`s.strip()`, `d.items()`, ...), Python semantics.
#include <algorithm>
#include <unordered_set>

#include "chat/jinja/interp.h"
#include "chat/jinja/text.h"

namespace hearth::jinja {
namespace {

const std::unordered_set<std::string_view> kStrMethods = {
    "capitalize", "casefold",   "center",       "count",        "endswith",  "find",       "format",
    "index",      "isalnum",    "isalpha",      "isascii",      "isdecimal", "isdigit",    "islower",
    "isnumeric",  "isspace",    "istitle",      "isupper",      "join",      "ljust",      "lower",
    "lstrip",     "partition",  "removeprefix", "removesuffix", "replace",   "rfind",      "rindex",
    "rjust",      "rpartition", "rsplit",       "rstrip",       "split",     "splitlines", "startswith",
    "strip",      "swapcase",   "title",        "upper",        "zfill",     "format_map"};
const std::unordered_set<std::string_view> kListMethods = {"count", "index", "copy"};
const std::unordered_set<std::string_view> kListMutating = {"append", "extend",  "insert", "pop",
                                                            "remove", "reverse", "sort",   "clear"};
const std::unordered_set<std::string_view> kDictMethods = {"get", "items", "keys", "values", "copy"};
const std::unordered_set<std::string_view> kDictMutating = {"pop", "popitem", "setdefault", "update",
                                                            "clear"};

const std::string& need_str(const Value& v, std::string_view what) {
  if (!v.is_string()) fail("{} must be str, not {}", what, type_name(v));
  return v.s();
}

int64_t opt_index(Renderer& r, const Bound& b, size_t i, int64_t def) {
  return b.has(i) && !b[i].is_none() ? r.to_int(b[i], "slice index") : def;
}

// startswith/endswith with a str or tuple of str.
bool affix_match(Renderer& r, const std::string& s, const Value& arg, bool start, const Bound& b) {
  std::string_view sub = s;
  if (b.has(1) || b.has(2)) {
    auto n = static_cast<int64_t>(text::length(s));
    int64_t lo = opt_index(r, b, 1, 0), hi = opt_index(r, b, 2, n);
    if (lo < 0) lo = std::max<int64_t>(0, lo + n);
    if (hi < 0) hi = std::max<int64_t>(0, hi + n);
    lo = std::min(lo, n);
    hi = std::min(hi, n);
    if (lo > hi) return false;
    size_t bb = text::advance(s, 0, lo);
    sub = sub.substr(bb, text::advance(s, bb, hi - lo) - bb);
  }
  auto one = [&](const Value& p) {
    const std::string& x = need_str(p, start ? "startswith first arg" : "endswith first arg");
    if (x.size() > sub.size()) return false;
    return start ? sub.substr(0, x.size()) == x : sub.substr(sub.size() - x.size()) == x;
  };
  if (arg.is_list() && arg.is_tuple()) {
    for (auto& p : arg.list().items)
      if (one(p)) return true;
    return false;
  }
  return one(arg);
}

Value str_list(Renderer& r, std::vector<std::string> parts) {
  std::vector<Value> out;
  out.reserve(parts.size());
  for (auto& p : parts) out.push_back(Value::string(std::move(p)));
  return r.list(std::move(out));
}

template <typename Pred>
bool all_cps(const std::string& s, Pred pred) {
  if (s.empty()) return false;
  for (size_t p = 0; p < s.size();)
    if (!pred(text::decode(s, p))) return false;
  return true;
}

Value str_method(Renderer& r, const Value& obj, std::string_view name, CallArgs& a) {
  const std::string& s = obj.s();
  auto strip_like = [&](text::Side side) {
    auto b = r.bind(a, name, {"chars"});
    if (b.has(0) && !b[0].is_none()) {
      std::string chars = need_str(b[0], "strip arg");
      return r.str(text::strip(s, &chars, side));
    }
    return r.str(text::strip(s, nullptr, side));
  };
  if (name == "strip") return strip_like(text::Side::both);
  if (name == "lstrip") return strip_like(text::Side::left);
  if (name == "rstrip") return strip_like(text::Side::right);
  if (name == "split" || name == "rsplit") {
    auto b = r.bind(a, name, {"sep", "maxsplit"});
    int64_t maxsplit = b.has(1) ? r.to_int(b[1], "maxsplit") : -1;
    if (b.has(0) && !b[0].is_none()) {
      std::string sep = need_str(b[0], "separator");
      return str_list(r, name == "split" ? text::split(s, &sep, maxsplit, r.opts().max_items)
                                         : text::rsplit(s, &sep, maxsplit, r.opts().max_items));
    }
    return str_list(r, name == "split" ? text::split(s, nullptr, maxsplit, r.opts().max_items)
                                       : text::rsplit(s, nullptr, maxsplit, r.opts().max_items));
  }
  if (name == "splitlines") {
    auto b = r.bind(a, name, {"keepends"});
    return str_list(r, text::splitlines(s, b.has(0) && truthy(b[0]), r.opts().max_items));
  }
  if (name == "startswith" || name == "endswith") {
    auto b = r.bind(a, name, {"prefix", "start", "end"});
    if (!b.has(0)) fail("{}() takes at least 1 argument", name);
    return Value::boolean(affix_match(r, s, b[0], name == "startswith", b));
  }
  if (name == "upper") {
    r.bind(a, name, {});
    return r.str(text::upper(s));
  }
  if (name == "lower" || name == "casefold") {
    r.bind(a, name, {});
    return r.str(text::lower(s));
  }
  if (name == "title") {
    r.bind(a, name, {});
    return r.str(text::py_title(s));
  }
  if (name == "capitalize") {
    r.bind(a, name, {});
    return r.str(text::capitalize(s));
  }
  if (name == "swapcase") {
    r.bind(a, name, {});
    return r.str(text::swapcase(s));
  }
  if (name == "replace") {
    auto b = r.bind(a, name, {"old", "new", "count"});
    if (!b.has(1)) fail("replace() takes at least 2 arguments");
    int64_t count = b.has(2) ? r.to_int(b[2], "count") : -1;
    return r.str(text::replace(s, need_str(b[0], "replace arg"), need_str(b[1], "replace arg"), count,
                               r.opts().max_string));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    auto b = r.bind(a, name, {"sub", "start", "end"});
    if (!b.has(0)) fail("{}() takes at least 1 argument", name);
    const std::string& sub = need_str(b[0], "substring");
    int64_t lo = opt_index(r, b, 1, 0), hi = opt_index(r, b, 2, INT64_MAX / 2);
    if (name == "count") return Value::integer(text::count(s, sub, lo, hi));
    int64_t i = text::find(s, sub, lo, hi, name[0] == 'r');
    if (i < 0 && (name == "index" || name == "rindex")) fail("substring not found");
    return Value::integer(i);
  }
  if (name == "join") {
    auto b = r.bind(a, name, {"iterable"});
    std::string out;
    bool first = true;
    for (auto& item : r.iterate(b[0])) {
      if (!item.is_string()) fail("sequence item: expected str instance, {} found", type_name(item));
      if (!first) out += s;
      first = false;
      out += item.s();
      r.check_size(out.size());
    }
    return r.str(std::move(out));
  }
  if (name == "format") return r.str(str_format(r, s, a));
  if (name == "format_map") {
    auto b = r.bind(a, name, {"mapping"});
    CallArgs kw;
    if (b[0].is_dict())
      for (auto& [k, v] : b[0].dict().items) kw.kw.emplace_back(to_str(k), v);
    return r.str(str_format(r, s, kw));
  }
  if (name == "center" || name == "ljust" || name == "rjust") {
    auto b = r.bind(a, name, {"width", "fillchar"});
    int64_t w = r.to_int(b[0], "width");
    r.check_size(static_cast<size_t>(std::clamp<int64_t>(w, 0, INT32_MAX)));
    std::string fill = b.has(1) ? need_str(b[1], "fillchar") : " ";
    if (text::length(fill) != 1) fail("The fill character must be exactly one character long");
    if (name == "center") return r.str(text::center(s, w, fill));
    return r.str(text::ljust(s, w, fill, name == "rjust"));
  }
  if (name == "zfill") {
    auto b = r.bind(a, name, {"width"});
    int64_t w = r.to_int(b[0], "width");
    auto n = static_cast<int64_t>(text::length(s));
    if (w <= n) return obj;
    r.check_size(static_cast<size_t>(std::min<int64_t>(w, INT32_MAX)));
    size_t sign = !s.empty() && (s[0] == '+' || s[0] == '-') ? 1 : 0;
    return r.str(s.substr(0, sign) + std::string(static_cast<size_t>(w - n), '0') + s.substr(sign));
  }
  if (name == "partition" || name == "rpartition") {
    auto b = r.bind(a, name, {"sep"});
    const std::string& sep = need_str(b[0], "separator");
    if (sep.empty()) fail("empty separator");
    size_t f = name == "partition" ? s.find(sep) : s.rfind(sep);
    std::vector<Value> parts;
    if (f == std::string::npos) {
      if (name == "partition") {
        parts = {obj, Value::string(""), Value::string("")};
      } else {
        parts = {Value::string(""), Value::string(""), obj};
      }
    } else {
      parts = {Value::string(s.substr(0, f)), Value::string(sep), Value::string(s.substr(f + sep.size()))};
    }
    return r.list(std::move(parts), true);
  }
  if (name == "removeprefix" || name == "removesuffix") {
    auto b = r.bind(a, name, {"affix"});
    const std::string& x = need_str(b[0], "affix");
    if (name == "removeprefix" && s.compare(0, x.size(), x) == 0) return r.str(s.substr(x.size()));
    if (name == "removesuffix" && !x.empty() && s.size() >= x.size() &&
        s.compare(s.size() - x.size(), x.size(), x) == 0)
      return r.str(s.substr(0, s.size() - x.size()));
    return obj;
  }
  r.bind(a, name, {});
  if (name == "isalnum") return Value::boolean(all_cps(s, text::is_alnum));
  if (name == "isalpha") return Value::boolean(all_cps(s, text::is_alpha));
  if (name == "isdigit" || name == "isdecimal" || name == "isnumeric")
    return Value::boolean(all_cps(s, text::is_digit));
  if (name == "isspace") return Value::boolean(all_cps(s, text::is_space));
  if (name == "isascii") return Value::boolean(text::is_ascii(s));
  if (name == "islower") return Value::boolean(text::is_lower(s));
  if (name == "isupper") return Value::boolean(text::is_upper(s));
  if (name == "istitle")
    return Value::boolean(!s.empty() && text::py_title(s) == s && text::upper(s) != text::lower(s));
  fail("'str' object has no attribute '{}'", name);
}

Value list_method(Renderer& r, const Value& obj, std::string_view name, CallArgs& a) {
  auto& items = obj.list().items;
  if (name == "count") {
    auto b = r.bind(a, name, {"value"});
    int64_t n = 0;
    for (auto& i : items) n += equal(i, b[0]) ? 1 : 0;
    return Value::integer(n);
  }
  if (name == "index") {
    auto b = r.bind(a, name, {"value", "start", "stop"});
    for (size_t i = 0; i < items.size(); ++i)
      if (equal(items[i], b[0])) return Value::integer(static_cast<int64_t>(i));
    fail("{} is not in list", repr(b[0]));
  }
  if (name == "copy") {
    r.bind(a, name, {});
    return r.list(items, obj.is_tuple());
  }
  if (obj.is_tuple()) fail("'tuple' object has no attribute '{}'", name);
  // Mutating methods (only with Options::allow_mutation).
  auto no_cycle = [&](const Value& v) {
    if (reaches(v, obj.object())) fail("cannot insert a list into itself");
  };
  if (name == "append") {
    auto b = r.bind(a, name, {"object"});
    no_cycle(b[0]);
    r.check_items(items.size() + 1);
    items.push_back(b[0]);
    return Value::none();
  }
  if (name == "extend") {
    auto b = r.bind(a, name, {"iterable"});
    auto more = r.iterate(b[0]);
    for (auto& m : more) no_cycle(m);
    r.check_items(items.size() + more.size());
    items.insert(items.end(), more.begin(), more.end());
    return Value::none();
  }
  if (name == "insert") {
    auto b = r.bind(a, name, {"index", "object"});
    int64_t i = r.to_int(b[0], "index");
    auto n = static_cast<int64_t>(items.size());
    if (i < 0) i = std::max<int64_t>(0, i + n);
    i = std::min(i, n);
    no_cycle(b[1]);
    r.check_items(items.size() + 1);
    items.insert(items.begin() + i, b[1]);
    return Value::none();
  }
  if (name == "pop") {
    auto b = r.bind(a, name, {"index"});
    if (items.empty()) fail("pop from empty list");
    auto n = static_cast<int64_t>(items.size());
    int64_t i = b.has(0) ? r.to_int(b[0], "index") : n - 1;
    if (i < 0) i += n;
    if (i < 0 || i >= n) fail("pop index out of range");
    Value v = items[static_cast<size_t>(i)];
    items.erase(items.begin() + i);
    return v;
  }
  if (name == "remove") {
    auto b = r.bind(a, name, {"value"});
    for (size_t i = 0; i < items.size(); ++i) {
      if (equal(items[i], b[0])) {
        items.erase(items.begin() + static_cast<ptrdiff_t>(i));
        return Value::none();
      }
    }
    fail("list.remove(x): x not in list");
  }
  if (name == "reverse") {
    r.bind(a, name, {});
    std::reverse(items.begin(), items.end());
    return Value::none();
  }
  if (name == "sort") {
    auto b = r.bind(a, name, {"key", "reverse"});
    if (b.has(0) && !b[0].is_none()) fail("list.sort(key=...) is not supported");
    bool rev = b.has(1) && truthy(b[1]);
    std::vector<Value> sorted = items;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [&](const Value& x, const Value& y) { return rev ? less(y, x) : less(x, y); });
    items = std::move(sorted);
    return Value::none();
  }
  if (name == "clear") {
    r.bind(a, name, {});
    items.clear();
    return Value::none();
  }
  fail("'list' object has no attribute '{}'", name);
}

Value dict_method(Renderer& r, const Value& obj, std::string_view name, CallArgs& a) {
  DictObj& d = obj.dict();
  if (name == "get") {
    auto b = r.bind(a, name, {"key", "default"});
    if (!b.has(0)) fail("get expected at least 1 argument, got 0");
    const Value* v = d.find(b[0]);
    if (v) return *v;
    return b.has(1) ? b[1] : Value::none();
  }
  if (name == "items" || name == "keys" || name == "values") {
    r.bind(a, name, {});
    std::vector<Value> out;
    out.reserve(d.items.size());
    for (auto& [k, v] : d.items) {
      if (name == "items") {
        out.push_back(Value::make_list({k, v}, true));
      } else {
        out.push_back(name == "keys" ? k : v);
      }
    }
    return r.list(std::move(out));
  }
  if (name == "copy") {
    r.bind(a, name, {});
    Value c = Value::make_dict();
    c.dict().items = d.items;
    c.dict().index = d.index;
    c.dict().has_ns = d.has_ns;
    return c;
  }
  // Mutating methods (only with Options::allow_mutation).
  if (name == "pop") {
    auto b = r.bind(a, name, {"key", "default"});
    const Value* v = d.find(b[0]);
    if (!v) {
      if (b.has(1)) return b[1];
      fail("KeyError: {}", repr(b[0]));
    }
    Value out = *v;
    d.erase(b[0]);
    return out;
  }
  if (name == "popitem") {
    r.bind(a, name, {});
    if (d.items.empty()) fail("popitem(): dictionary is empty");
    auto kv = d.items.back();
    d.erase(kv.first);
    return r.list({kv.first, kv.second}, true);
  }
  if (name == "setdefault") {
    auto b = r.bind(a, name, {"key", "default"});
    if (const Value* v = d.find(b[0])) return *v;
    Value def = b.has(1) ? b[1] : Value::none();
    if (reaches(def, obj.object())) fail("cannot insert a dict into itself");
    r.check_items(d.items.size() + 1);
    d.set(b[0], def);
    return def;
  }
  if (name == "update") {
    std::vector<std::pair<Value, Value>> add;
    if (a.pos.size() > 1) fail("update expected at most 1 argument");
    if (!a.pos.empty()) {
      if (a.pos[0].is_dict()) {
        add = a.pos[0].dict().items;
      } else {
        for (auto& pair : r.iterate(a.pos[0])) {
          auto kv = r.iterate(pair);
          if (kv.size() != 2) fail("dictionary update sequence element has wrong length");
          add.emplace_back(kv[0], kv[1]);
        }
      }
    }
    for (auto& [k, v] : a.kw) add.emplace_back(Value::string(k), v);
    for (auto& [k, v] : add) {
      if (reaches(v, obj.object())) fail("cannot insert a dict into itself");
      d.set(k, v);
    }
    r.check_items(d.items.size());
    return Value::none();
  }
  if (name == "clear") {
    r.bind(a, name, {});
    d.items.clear();
    d.index.clear();
    return Value::none();
  }
  fail("'dict' object has no attribute '{}'", name);
}

}  // namespace

bool has_method(const Value& obj, std::string_view name, bool* mutating) {
  *mutating = false;
  if (obj.is_string()) return kStrMethods.count(name) > 0;
  if (obj.is_list()) {
    if (kListMethods.count(name)) return true;
    if (kListMutating.count(name) && !obj.is_tuple()) return *mutating = true;
    return false;
  }
  if (obj.is_dict() && !obj.is_namespace()) {
    if (kDictMethods.count(name)) return true;
    if (kDictMutating.count(name)) return *mutating = true;
  }
  return false;
}

Value call_method(Renderer& r, const Value& obj, std::string_view name, CallArgs& args) {
  charge(1);
  if (obj.is_string()) return str_method(r, obj, name, args);
  if (obj.is_list()) return list_method(r, obj, name, args);
  if (obj.is_dict()) return dict_method(r, obj, name, args);
  fail("'{}' object has no attribute '{}'", type_name(obj), name);
}

}  // namespace hearth::jinja
