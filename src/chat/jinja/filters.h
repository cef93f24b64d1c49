// chat/jinja: helpers shared by the filter files (internal).
#pragma once
#include <string>
#include <string_view>
#include <unordered_map>

#include "chat/jinja/interp.h"

namespace hearth::jinja {

using FilterTable = std::unordered_map<std::string_view, FilterFn>;

inline std::string as_text(Renderer& r, const Value& v) { return v.is_string() ? v.s() : r.out_str(v); }
inline bool arg_bool(const Bound& b, size_t i, bool def) { return b.has(i) ? truthy(b[i]) : def; }
// Jinja's attribute getter: "a.b.0" looks up item by item.
Value attr_path(Renderer& r, const Value& item, const Value& attribute);
// The filters of filters_seq.cpp.
void add_sequence_filters(FilterTable& t);

}  // namespace hearth::jinja
