// chat/jinja: Python str semantics over UTF-8 strings (code-point indexing, case mapping, whitespace,
// strip/split/replace, repr). Invalid UTF-8 bytes count as one character each and are kept unchanged.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::jinja::text {

// Decodes the code point at `pos` and advances `pos`; an invalid byte yields 0xDC00 + byte (like
// Python's surrogateescape) and advances by one.
uint32_t decode(std::string_view s, size_t& pos);
void encode(uint32_t cp, std::string& out);
// Number of code points.
size_t length(std::string_view s);
// Byte offset `n` code points after byte offset `pos` (clamped to s.size()).
size_t advance(std::string_view s, size_t pos, int64_t n);
bool is_ascii(std::string_view s);
// Python s[i] for a code point index (negative counts from the end); false when out of range.
bool char_at(std::string_view s, int64_t i, std::string& out);
// Python s[start:stop:step] over code points; a missing bound is given as `has_* = false`.
std::string slice(std::string_view s, int64_t start, bool has_start, int64_t stop, bool has_stop,
                  int64_t step);
std::string reverse(std::string_view s);
uint32_t upper_cp(uint32_t cp);
uint32_t lower_cp(uint32_t cp);

bool is_space(uint32_t cp);
bool is_line_break(uint32_t cp);
bool is_alpha(uint32_t cp);
bool is_digit(uint32_t cp);
bool is_alnum(uint32_t cp);
bool is_upper_cp(uint32_t cp);
bool is_lower_cp(uint32_t cp);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);  // Python str.capitalize
std::string py_title(std::string_view s);    // Python str.title
std::string swapcase(std::string_view s);
bool is_upper(std::string_view s);  // Python str.isupper
bool is_lower(std::string_view s);

enum class Side { both, left, right };
// strip(chars): chars == nullptr strips whitespace.
std::string strip(std::string_view s, const std::string* chars, Side side);
// split(sep, maxsplit): sep == nullptr splits on whitespace runs. Throws on an empty separator or
// when there would be more than `max_parts` parts.
std::vector<std::string> split(std::string_view s, const std::string* sep, int64_t maxsplit,
                               size_t max_parts);
std::vector<std::string> rsplit(std::string_view s, const std::string* sep, int64_t maxsplit,
                                size_t max_parts);
std::vector<std::string> splitlines(std::string_view s, bool keepends, size_t max_parts);
// Calls f(line) for each line of s.splitlines() (no allocation per line).
template <typename F>
void for_each_line(std::string_view s, F f);
// count < 0: all. Python semantics for an empty `from` (insert between characters).
std::string replace(std::string_view s, std::string_view from, std::string_view to, int64_t count,
                    size_t max_len);
// Code-point index of the first/last occurrence within [start, end) code points, or -1.
int64_t find(std::string_view s, std::string_view sub, int64_t start, int64_t end, bool reverse);
int64_t count(std::string_view s, std::string_view sub, int64_t start, int64_t end);
// Python repr() of a str (quotes chosen like CPython).
std::string repr(std::string_view s);
// HTML-escapes & < > " ' (Jinja's escape filter and Markup).
std::string html_escape(std::string_view s);
// Centers in a field of `width` code points (Python str.center).
std::string center(std::string_view s, int64_t width, std::string_view fill);
std::string ljust(std::string_view s, int64_t width, std::string_view fill, bool right);

void charge_lines(size_t bytes);  // work accounting for for_each_line

template <typename F>
void for_each_line(std::string_view s, F f) {
  charge_lines(s.size());
  size_t start = 0, p = 0;
  while (p < s.size()) {
    size_t q = p;
    uint32_t c = decode(s, q);
    if (is_line_break(c)) {
      charge_lines(0);
      f(s.substr(start, p - start));
      if (c == '\r' && q < s.size() && s[q] == '\n') ++q;
      start = p = q;
    } else {
      p = q;
    }
  }
  if (start < s.size()) f(s.substr(start));
}

}  // namespace hearth::jinja::text
