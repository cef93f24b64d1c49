#include "chat/jinja/text.h"

#include <utf8proc.h>

#include <algorithm>

#include "base/error.h"
#include "chat/jinja/value.h"

namespace hearth::jinja::text {

uint32_t decode(std::string_view s, size_t& pos) {
  auto b0 = static_cast<unsigned char>(s[pos]);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  int n = b0 >= 0xF0 && b0 < 0xF5 ? 3 : b0 >= 0xE0 ? 2 : b0 >= 0xC2 && b0 < 0xE0 ? 1 : -1;
  if (n > 0 && pos + n < s.size()) {
    uint32_t cp = b0 & (0x3F >> n);
    bool ok = true;
    for (int i = 1; i <= n; ++i) {
      auto b = static_cast<unsigned char>(s[pos + i]);
      if ((b & 0xC0) != 0x80) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    static const uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
    if (ok && cp >= kMin[n] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) {
      pos += n + 1;
      return cp;
    }
  }
  ++pos;
  return 0xDC00 + b0;
}

void encode(uint32_t cp, std::string& out) {
  if (cp >= 0xDC80 && cp <= 0xDCFF) {  // an escaped invalid byte
    out += static_cast<char>(cp - 0xDC00);
  } else if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

size_t length(std::string_view s) {
  if (is_ascii(s)) return s.size();
  charge(s.size() / 16);
  size_t n = 0;
  for (size_t p = 0; p < s.size(); ++n) decode(s, p);
  return n;
}

void charge_lines(size_t bytes) { charge(1 + bytes / 16); }

size_t advance(std::string_view s, size_t pos, int64_t n) {
  charge(static_cast<uint64_t>(std::max<int64_t>(0, n)) / 16);
  while (n > 0 && pos < s.size()) {
    decode(s, pos);
    --n;
  }
  return std::min(pos, s.size());
}

bool char_at(std::string_view s, int64_t i, std::string& out) {
  auto n = static_cast<int64_t>(length(s));
  if (i < 0) i += n;
  if (i < 0 || i >= n) return false;
  size_t b = is_ascii(s) ? static_cast<size_t>(i) : advance(s, 0, i);
  size_t e = b;
  decode(s, e);
  out.assign(s.substr(b, e - b));
  return true;
}

std::string slice(std::string_view s, int64_t start, bool has_start, int64_t stop, bool has_stop,
                  int64_t step) {
  if (step == 0) fail("slice step cannot be zero");
  const bool ascii = is_ascii(s);
  auto n = static_cast<int64_t>(ascii ? s.size() : length(s));
  // Python's slice.indices().
  auto fix = [&](int64_t v) {
    if (v < 0) {
      v += n;
      if (v < 0) v = step < 0 ? -1 : 0;
    } else if (v >= n) {
      v = step < 0 ? n - 1 : n;
    }
    return v;
  };
  int64_t b = has_start ? fix(start) : (step < 0 ? n - 1 : 0);
  int64_t e = has_stop ? fix(stop) : (step < 0 ? -1 : n);
  if (step == 1) {
    if (e <= b) return {};
    if (ascii) return std::string(s.substr(static_cast<size_t>(b), static_cast<size_t>(e - b)));
    size_t bb = advance(s, 0, b);
    size_t eb = advance(s, bb, e - b);
    return std::string(s.substr(bb, eb - bb));
  }
  charge(s.size() / 8);
  std::string out;
  if (ascii) {
    for (int64_t i = b; step > 0 ? i < e : i > e; i += step) out += s[static_cast<size_t>(i)];
    return out;
  }
  std::vector<uint32_t> cps;
  cps.reserve(static_cast<size_t>(n));
  for (size_t p = 0; p < s.size();) cps.push_back(decode(s, p));
  for (int64_t i = b; step > 0 ? i < e : i > e; i += step) encode(cps[static_cast<size_t>(i)], out);
  return out;
}

std::string reverse(std::string_view s) { return slice(s, 0, false, 0, false, -1); }

static utf8proc_category_t category(uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return UTF8PROC_CATEGORY_CS;
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

bool is_space(uint32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 9 && cp <= 13) || (cp >= 0x1C && cp <= 0x1F);
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  auto* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
  return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
         p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

bool is_line_break(uint32_t cp) {
  return cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || cp == 0x1C || cp == 0x1D || cp == 0x1E ||
         cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

bool is_alpha(uint32_t cp) {
  auto c = category(cp);
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT ||
         c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_LO;
}
bool is_digit(uint32_t cp) { return category(cp) == UTF8PROC_CATEGORY_ND; }
bool is_alnum(uint32_t cp) {
  auto c = category(cp);
  return is_alpha(cp) || c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}
bool is_upper_cp(uint32_t cp) { return category(cp) == UTF8PROC_CATEGORY_LU; }
bool is_lower_cp(uint32_t cp) { return category(cp) == UTF8PROC_CATEGORY_LL; }
static bool is_cased(uint32_t cp) {
  auto c = category(cp);
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT;
}

static uint32_t to_upper(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') ? cp - 32 : cp;
  if (category(cp) == UTF8PROC_CATEGORY_CS) return cp;
  return static_cast<uint32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(cp)));
}
static uint32_t to_lower(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  if (category(cp) == UTF8PROC_CATEGORY_CS) return cp;
  return static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
}
static uint32_t to_title(uint32_t cp) {
  if (cp < 0x80) return to_upper(cp);
  if (category(cp) == UTF8PROC_CATEGORY_CS) return cp;
  return static_cast<uint32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(cp)));
}

uint32_t upper_cp(uint32_t cp) { return to_upper(cp); }
uint32_t lower_cp(uint32_t cp) { return to_lower(cp); }

template <typename F>
static std::string map_cps(std::string_view s, F f) {
  charge(s.size() / 8);
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  for (size_t p = 0; p < s.size(); ++i) encode(f(decode(s, p), i), out);
  return out;
}

std::string upper(std::string_view s) {
  std::string out = map_cps(s, [](uint32_t c, size_t) { return to_upper(c); });
  // Full case mapping of the one common expanding character (Python: 'ß'.upper() == 'SS').
  for (size_t p = out.find("\xE1\xBA\x9E"); p != std::string::npos; p = out.find("\xE1\xBA\x9E", p))
    if (s.find("\xC3\x9F") != std::string_view::npos) out.replace(p, 3, "SS");
  return out;
}
std::string lower(std::string_view s) {
  return map_cps(s, [](uint32_t c, size_t) { return to_lower(c); });
}
std::string swapcase(std::string_view s) {
  return map_cps(s, [](uint32_t c, size_t) {
    return is_upper_cp(c) ? to_lower(c) : is_lower_cp(c) ? to_upper(c) : c;
  });
}
std::string capitalize(std::string_view s) {
  return map_cps(s, [](uint32_t c, size_t i) { return i == 0 ? to_title(c) : to_lower(c); });
}
std::string py_title(std::string_view s) {
  bool prev_cased = false;
  return map_cps(s, [&](uint32_t c, size_t) {
    uint32_t r = prev_cased ? to_lower(c) : to_title(c);
    prev_cased = is_cased(c);
    return r;
  });
}

static bool case_test(std::string_view s, bool want_upper) {
  bool any = false;
  for (size_t p = 0; p < s.size();) {
    uint32_t c = decode(s, p);
    auto cat = category(c);
    if (cat == UTF8PROC_CATEGORY_LT) return false;
    if (cat == UTF8PROC_CATEGORY_LU) {
      if (!want_upper) return false;
      any = true;
    } else if (cat == UTF8PROC_CATEGORY_LL) {
      if (want_upper) return false;
      any = true;
    }
  }
  return any;
}
bool is_upper(std::string_view s) { return case_test(s, true); }
bool is_lower(std::string_view s) { return case_test(s, false); }

std::string strip(std::string_view s, const std::string* chars, Side side) {
  charge(1 + (chars ? chars->size() : 0) / 4);
  std::vector<uint32_t> set;
  if (chars) {
    for (size_t p = 0; p < chars->size();) set.push_back(decode(*chars, p));
  }
  auto strippable = [&](uint32_t c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : is_space(c);
  };
  size_t b = 0, e = s.size();
  if (side != Side::right) {
    while (b < e) {
      size_t p = b;
      if (!strippable(decode(s, p))) break;
      b = p;
    }
  }
  if (side != Side::left && b < e) {
    while (e > b) {
      // Start of the last character: back over continuation bytes to a lead byte that decodes to e.
      size_t q = e - 1;
      size_t lim = e >= b + 4 ? e - 4 : b;
      while (q > lim && (static_cast<unsigned char>(s[q]) & 0xC0) == 0x80) --q;
      size_t r = q;
      uint32_t c = decode(s, r);
      if (r != e) {
        q = e - 1;
        c = 0xDC00 + static_cast<unsigned char>(s[q]);
      }
      if (!strippable(c)) break;
      e = q;
    }
  }
  charge((b + (s.size() - e)) / 8);
  return std::string(s.substr(b, e - b));
}

static void add_part(std::vector<std::string>& out, std::string_view part, size_t max_parts) {
  if (out.size() >= max_parts) fail("too many parts from split (limit {})", max_parts);
  charge(1 + part.size() / 32);
  out.emplace_back(part);
}

// Whitespace-separated words as [start, end) byte ranges, passed to f.
template <typename F>
static void for_each_word(std::string_view s, F f) {
  charge(s.size() / 8);
  size_t p = 0;
  while (p < s.size()) {
    size_t q = p;
    if (is_space(decode(s, q))) {
      p = q;
      continue;
    }
    size_t e = p;
    while (e < s.size()) {
      size_t r = e;
      if (is_space(decode(s, r))) break;
      e = r;
    }
    if (!f(p, e)) return;
    p = e;
  }
}

std::vector<std::string> split(std::string_view s, const std::string* sep, int64_t maxsplit,
                               size_t max_parts) {
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) fail("empty separator");
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
      size_t f = s.find(*sep, start);
      if (f == std::string_view::npos) break;
      add_part(out, s.substr(start, f - start), max_parts);
      start = f + sep->size();
    }
    add_part(out, s.substr(start), max_parts);
    return out;
  }
  for_each_word(s, [&](size_t b, size_t e) {
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) {
      add_part(out, s.substr(b), max_parts);
      return false;
    }
    add_part(out, s.substr(b, e - b), max_parts);
    return true;
  });
  return out;
}

std::vector<std::string> rsplit(std::string_view s, const std::string* sep, int64_t maxsplit,
                                size_t max_parts) {
  if (maxsplit < 0 || static_cast<uint64_t>(maxsplit) >= max_parts) return split(s, sep, -1, max_parts);
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) fail("empty separator");
    size_t end = s.size();
    while (static_cast<int64_t>(out.size()) < maxsplit && end >= sep->size()) {
      size_t f = s.rfind(*sep, end - sep->size());
      if (f == std::string_view::npos) break;
      add_part(out, s.substr(f + sep->size(), end - f - sep->size()), max_parts);
      end = f;
    }
    add_part(out, s.substr(0, end), max_parts);
    std::reverse(out.begin(), out.end());
    return out;
  }
  // Keep the last maxsplit + 1 words in a ring; when there are more words, the first kept one
  // becomes the remainder: everything up to its end.
  const auto k = static_cast<size_t>(maxsplit);
  std::vector<std::pair<size_t, size_t>> ring(k + 1);
  size_t m = 0;
  for_each_word(s, [&](size_t b, size_t e) {
    ring[m++ % ring.size()] = {b, e};
    return true;
  });
  size_t kept = std::min(m, k + 1);
  for (size_t i = 0; i < kept; ++i) {
    auto [b, e] = ring[(m - kept + i) % ring.size()];
    if (i == 0 && m > k) b = 0;
    add_part(out, s.substr(b, e - b), max_parts);
  }
  return out;
}

std::vector<std::string> splitlines(std::string_view s, bool keepends, size_t max_parts) {
  std::vector<std::string> out;
  size_t start = 0, p = 0;
  charge(s.size() / 8);
  while (p < s.size()) {
    size_t q = p;
    uint32_t c = decode(s, q);
    if (is_line_break(c)) {
      size_t eol = q;
      if (c == '\r' && eol < s.size() && s[eol] == '\n') ++eol;
      add_part(out, s.substr(start, (keepends ? eol : p) - start), max_parts);
      start = p = eol;
    } else {
      p = q;
    }
  }
  if (start < s.size()) add_part(out, s.substr(start), max_parts);
  return out;
}

std::string replace(std::string_view s, std::string_view from, std::string_view to, int64_t count,
                    size_t max_len) {
  std::string out;
  auto check = [&] {
    if (out.size() > max_len) fail("string too long (limit {} bytes)", max_len);
  };
  if (from.empty()) {
    charge(s.size() / 4);
    int64_t n = 0;
    size_t p = 0;
    while (true) {
      if (count < 0 || n < count) {
        out.append(to);
        ++n;
      }
      if (p >= s.size()) break;
      size_t q = p;
      decode(s, q);
      out.append(s.substr(p, q - p));
      p = q;
      check();
    }
    check();
    return out;
  }
  size_t start = 0;
  int64_t n = 0;
  while (count < 0 || n < count) {
    size_t f = s.find(from, start);
    if (f == std::string_view::npos) break;
    out.append(s.substr(start, f - start));
    out.append(to);
    start = f + from.size();
    ++n;
    charge(1);
    check();
  }
  out.append(s.substr(start));
  check();
  return out;
}

// Python-style [start, end) code point bounds -> byte offsets.
static void byte_bounds(std::string_view s, int64_t start, int64_t end, size_t& b, size_t& e) {
  auto n = static_cast<int64_t>(length(s));
  if (start < 0) start = std::max<int64_t>(0, start + n);
  if (end < 0) end = std::max<int64_t>(0, end + n);
  start = std::min(start, n);
  end = std::min(end, n);
  if (end < start) end = start;
  if (is_ascii(s)) {
    b = static_cast<size_t>(start);
    e = static_cast<size_t>(end);
    return;
  }
  b = advance(s, 0, start);
  e = advance(s, b, end - start);
}

int64_t find(std::string_view s, std::string_view sub, int64_t start, int64_t end, bool reverse) {
  auto n = static_cast<int64_t>(length(s));
  int64_t lo = start < 0 ? std::max<int64_t>(0, start + n) : std::min(start, n);
  int64_t hi = end < 0 ? std::max<int64_t>(0, end + n) : std::min(end, n);
  if (hi < lo) return -1;
  size_t b, e;
  byte_bounds(s, start, end, b, e);
  std::string_view hay = s.substr(b, e - b);
  charge(hay.size() / 64);
  if (sub.size() > hay.size()) return -1;
  size_t f = reverse ? hay.rfind(sub) : hay.find(sub);
  if (f == std::string_view::npos) return -1;
  return static_cast<int64_t>(length(s.substr(0, b + f)));
}

int64_t count(std::string_view s, std::string_view sub, int64_t start, int64_t end) {
  auto n = static_cast<int64_t>(length(s));
  int64_t lo = start < 0 ? std::max<int64_t>(0, start + n) : std::min(start, n);
  int64_t hi = end < 0 ? std::max<int64_t>(0, end + n) : std::min(end, n);
  if (hi < lo) return 0;
  size_t b, e;
  byte_bounds(s, start, end, b, e);
  std::string_view hay = s.substr(b, e - b);
  charge(hay.size() / 64);
  if (sub.empty()) return static_cast<int64_t>(length(hay)) + 1;
  int64_t c = 0;
  for (size_t p = hay.find(sub); p != std::string_view::npos; p = hay.find(sub, p + sub.size())) {
    ++c;
    charge(1);
  }
  return c;
}

static bool printable(uint32_t cp) {
  if (cp < 0x20 || cp == 0x7F) return false;
  if (cp < 0x7F) return true;
  auto c = category(cp);
  if (c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CS ||
      c == UTF8PROC_CATEGORY_CO || c == UTF8PROC_CATEGORY_CN || c == UTF8PROC_CATEGORY_ZL ||
      c == UTF8PROC_CATEGORY_ZP)
    return false;
  if (c == UTF8PROC_CATEGORY_ZS) return cp == ' ';
  return true;
}

std::string repr(std::string_view s) {
  charge(s.size() / 8);
  bool has_single = s.find('\'') != std::string_view::npos;
  bool has_double = s.find('"') != std::string_view::npos;
  char q = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, q);
  for (size_t p = 0; p < s.size();) {
    uint32_t c = decode(s, p);
    if (c == static_cast<uint32_t>(q) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (printable(c)) {
      encode(c, out);
    } else if (c < 0x100) {
      out += fmt::format("\\x{:02x}", c);
    } else if (c < 0x10000) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += fmt::format("\\U{:08x}", c);
    }
  }
  out += q;
  return out;
}

std::string html_escape(std::string_view s) {
  charge(s.size() / 8);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string center(std::string_view s, int64_t width, std::string_view fill) {
  charge(static_cast<uint64_t>(std::max<int64_t>(0, width)) / 8);
  auto n = static_cast<int64_t>(length(s));
  if (width <= n) return std::string(s);
  int64_t marg = width - n;
  int64_t left = marg / 2 + (marg & width & 1);
  std::string out;
  for (int64_t i = 0; i < left; ++i) out += fill;
  out += s;
  for (int64_t i = 0; i < marg - left; ++i) out += fill;
  return out;
}

std::string ljust(std::string_view s, int64_t width, std::string_view fill, bool right) {
  charge(static_cast<uint64_t>(std::max<int64_t>(0, width)) / 8);
  auto n = static_cast<int64_t>(length(s));
  if (width <= n) return std::string(s);
  std::string pad;
  for (int64_t i = 0; i < width - n; ++i) pad += fill;
  return right ? pad + std::string(s) : std::string(s) + pad;
}

}  // namespace hearth::jinja::text
