// Jinja2's filters over sequences and mappings (sort, map, select, join, groupby, ...).
#include <algorithm>

#include "chat/jinja/filters.h"
#include "chat/jinja/interp.h"
#include "chat/jinja/text.h"

namespace hearth::jinja {

// Jinja's make_attrgetter: "a.b.0" looks up item by item.
Value attr_path(Renderer& r, const Value& item, const Value& attribute) {
  if (attribute.is_integral()) return r.getitem(item, attribute);
  Value cur = item;
  const std::string& path = attribute.s();
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits =
        !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
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

namespace {

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

Value f_reverse(Renderer& r, const Value& v, CallArgs& a) {
  r.bind(a, "reverse", {});
  if (v.is_string()) return r.str(text::reverse(v.s()));
  auto items = r.iterate(v);
  std::reverse(items.begin(), items.end());
  return r.list(std::move(items));
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

Value f_sum(Renderer& r, const Value& v, CallArgs& a) {
  auto b = r.bind(a, "sum", {"attribute", "start"});
  Value acc = b.has(1) ? b[1] : Value::integer(0);
  for (auto& item : r.iterate(v)) {
    Value x = b.has(0) && !b[0].is_none() ? attr_path(r, item, b[0]) : item;
    acc = r.binop("+", acc, x);
  }
  return acc;
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

}  // namespace

void add_sequence_filters(FilterTable& t) {
  t.emplace("batch", f_batch);
  t.emplace("count", f_length);
  t.emplace("dictsort", f_dictsort);
  t.emplace("first", f_first);
  t.emplace("groupby", f_groupby);
  t.emplace("items", f_items);
  t.emplace("join", f_join);
  t.emplace("last", f_last);
  t.emplace("length", f_length);
  t.emplace("list", f_list);
  t.emplace("map", f_map);
  t.emplace("max", f_max);
  t.emplace("min", f_min);
  t.emplace("reject", f_reject);
  t.emplace("rejectattr", f_rejectattr);
  t.emplace("reverse", f_reverse);
  t.emplace("select", f_select);
  t.emplace("selectattr", f_selectattr);
  t.emplace("slice", f_slice);
  t.emplace("sort", f_sort);
  t.emplace("sum", f_sum);
  t.emplace("unique", f_unique);
}

}  // namespace hearth::jinja
