// Global functions of the template environment: range, dict, namespace, joiner, and Hugging Face's
// raise_exception and strftime_now.
#include <ctime>

#include "chat/jinja/interp.h"

namespace hearth::jinja {
namespace {

constexpr int64_t kMaxRange = 100000;  // Jinja2's sandbox MAX_RANGE

Value g_range(Renderer& r, CallArgs& a) {
  if (!a.kw.empty()) fail("range() takes no keyword arguments");
  if (a.pos.empty() || a.pos.size() > 3) fail("range expected 1 to 3 arguments, got {}", a.pos.size());
  int64_t start = 0, stop, step = 1;
  if (a.pos.size() == 1) {
    stop = r.to_int(a.pos[0], "range() argument");
  } else {
    start = r.to_int(a.pos[0], "range() argument");
    stop = r.to_int(a.pos[1], "range() argument");
    if (a.pos.size() == 3) step = r.to_int(a.pos[2], "range() argument");
  }
  if (step == 0) fail("range() arg 3 must not be zero");
  // Length without overflow: ceil((stop - start) / step) when positive.
  __int128 span = step > 0 ? static_cast<__int128>(stop) - start : static_cast<__int128>(start) - stop;
  __int128 st = step > 0 ? step : -static_cast<__int128>(step);
  __int128 len = span <= 0 ? 0 : (span + st - 1) / st;
  if (len > kMaxRange)
    fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE ({}).", kMaxRange);
  std::vector<Value> out;
  out.reserve(static_cast<size_t>(len));
  for (int64_t i = 0; i < static_cast<int64_t>(len); ++i) out.push_back(Value::integer(start + i * step));
  return r.list(std::move(out));
}

// dict(mapping_or_pairs, **kwargs) into `d`.
void fill_dict(Renderer& r, CallArgs& a, Value& d, const char* fname) {
  if (a.pos.size() > 1) fail("{} expected at most 1 positional argument, got {}", fname, a.pos.size());
  if (!a.pos.empty()) {
    const Value& src = a.pos[0];
    if (src.is_dict()) {
      for (auto& [k, v] : src.dict().items) d.dict().set(k, v);
    } else {
      for (auto& pair : r.iterate(src)) {
        auto kv = r.iterate(pair);
        if (kv.size() != 2)
          fail("dictionary update sequence element has length {}; 2 is required", kv.size());
        if (kv[0].is_list() || kv[0].is_dict()) fail("unhashable type: '{}'", type_name(kv[0]));
        d.dict().set(kv[0], kv[1]);
      }
    }
  }
  for (auto& [k, v] : a.kw) d.dict().set(Value::string(k), v);
  r.check_items(d.dict().items.size());
}

Value g_dict(Renderer& r, CallArgs& a) {
  Value d = Value::make_dict();
  fill_dict(r, a, d, "dict");
  return d;
}

Value g_namespace(Renderer& r, CallArgs& a) {
  Value d = Value::make_dict(true);
  fill_dict(r, a, d, "namespace");
  return d;
}

Value g_raise_exception(Renderer& r, CallArgs& a) {
  auto b = r.bind(a, "raise_exception", {"message"});
  fail("{}", r.out_str(b[0]));
}

Value g_strftime_now(Renderer& r, CallArgs& a) {
  auto b = r.bind(a, "strftime_now", {"format"});
  if (!b[0].is_string()) fail("strftime_now() argument must be str, not {}", type_name(b[0]));
  std::tm tm{};
  if (r.opts().now) {
    tm = *r.opts().now;
  } else {
    std::time_t t = std::time(nullptr);
    localtime_r(&t, &tm);
  }
  return r.str(strftime(b[0].s(), tm));
}

Value g_joiner(Renderer& r, CallArgs& a) {
  auto b = r.bind(a, "joiner", {"sep"});
  Value sep = Value::string(b.has(0) ? r.out_str(b[0]) : ", ");  // a string: holds no references
  auto used = std::make_shared<bool>(false);
  return Value::function("joiner", [sep, used](Renderer&, CallArgs&) -> Value {
    if (!*used) {
      *used = true;
      return Value::string("");
    }
    return sep;
  });
}

}  // namespace

void add_globals(Renderer&, Scope& g) {
  g.set("range", Value::function("range", g_range));
  g.set("dict", Value::function("dict", g_dict));
  g.set("namespace", Value::function("namespace", g_namespace));
  g.set("raise_exception", Value::function("raise_exception", g_raise_exception));
  g.set("strftime_now", Value::function("strftime_now", g_strftime_now));
  g.set("joiner", Value::function("joiner", g_joiner));
}

}  // namespace hearth::jinja
