#include "chat/jinja/lexer.h"

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "chat/jinja/text.h"

namespace hearth::jinja {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

class Lexer {
 public:
  Lexer(std::string_view src, const LexOptions& opts) : opts_(opts) {
    // Newlines are normalized to \n; one trailing newline is dropped unless kept.
    src_.reserve(src.size());
    for (size_t i = 0; i < src.size(); ++i) {
      if (src[i] == '\r') {
        src_ += '\n';
        if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
      } else {
        src_ += src[i];
      }
    }
    if (!opts.keep_trailing_newline && !src_.empty() && src_.back() == '\n') src_.pop_back();
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    const size_t n = src_.size();
    while (pos < n) {
      size_t p = find_tag(pos);
      if (p == std::string::npos) {
        emit_text(src_.substr(pos), pos);
        break;
      }
      char kind = src_[p + 1];
      char sign = p + 2 < n && (src_[p + 2] == '-' || src_[p + 2] == '+') ? src_[p + 2] : 0;
      size_t raw_end = kind == '%' ? match_raw_begin(p) : 0;
      std::string text = src_.substr(pos, p - pos);
      strip_before(text, sign, kind != '{', line_starting);
      emit_text(text, pos);
      size_t after = p + 2 + (sign ? 1 : 0);
      if (raw_end) {
        pos = lex_raw(raw_end);
      } else if (kind == '#') {
        pos = lex_comment(after, p);
      } else {
        pos = lex_tag(after, kind == '%', p);
      }
      line_starting = pos > 0 && src_[pos - 1] == '\n';
    }
    Token eof;
    eof.kind = Tok::Eof;
    eof.line = line_at(n);
    toks_.push_back(eof);
    return std::move(toks_);
  }

 private:
  [[noreturn]] void error(size_t pos, const std::string& msg) {
    fail("template syntax error, line {}: {}", line_at(pos), msg);
  }

  int line_at(size_t pos) {
    // Lines are counted incrementally: positions are requested in increasing order almost always.
    if (pos < line_pos_) {
      line_pos_ = 0;
      line_ = 1;
    }
    line_ +=
        static_cast<int>(std::count(src_.begin() + static_cast<ptrdiff_t>(line_pos_),
                                    src_.begin() + static_cast<ptrdiff_t>(std::min(pos, src_.size())), '\n'));
    line_pos_ = std::min(pos, src_.size());
    return line_;
  }

  size_t find_tag(size_t from) const {
    for (size_t p = src_.find('{', from); p != std::string::npos && p + 1 < src_.size();
         p = src_.find('{', p + 1)) {
      char c = src_[p + 1];
      if (c == '{' || c == '%' || c == '#') return p;
    }
    return std::string::npos;
  }

  void strip_before(std::string& text, char sign, bool lstrip_kind, bool line_starting) {
    if (sign == '-') {
      size_t e = text.size();
      while (e > 0 && is_ws(text[e - 1])) --e;
      text.resize(e);
    } else if (sign != '+' && opts_.lstrip_blocks && lstrip_kind) {
      size_t l = text.rfind('\n');
      l = l == std::string::npos ? 0 : l + 1;
      if (l > 0 || line_starting) {
        bool all_ws = l < text.size();
        for (size_t i = l; i < text.size(); ++i)
          if (!is_ws(text[i])) all_ws = false;
        if (all_ws) text.resize(l);
      }
    }
  }

  void emit_text(const std::string& text, size_t pos) {
    if (text.empty()) return;
    Token t;
    t.kind = Tok::Text;
    t.text = text;
    t.line = line_at(pos);
    toks_.push_back(std::move(t));
  }

  void push(Tok k, size_t pos, std::string text = {}) {
    Token t;
    t.kind = k;
    t.text = std::move(text);
    t.line = line_at(pos);
    toks_.push_back(std::move(t));
  }

  size_t skip_ws(size_t p) const {
    while (p < src_.size() && is_ws(src_[p])) ++p;
    return p;
  }

  // `{%[-+]?\s*raw\s*(-%}\s*|%})` at p: returns the position after it, or 0.
  size_t match_raw_begin(size_t p) const {
    size_t q = p + 2;
    if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) ++q;
    q = skip_ws(q);
    if (src_.compare(q, 3, "raw") != 0) return 0;
    q = skip_ws(q + 3);
    if (src_.compare(q, 3, "-%}") == 0) return skip_ws(q + 3);
    if (src_.compare(q, 2, "%}") == 0) return q + 2;
    return 0;
  }

  size_t lex_raw(size_t from) {
    for (size_t p = src_.find("{%", from); p != std::string::npos; p = src_.find("{%", p + 1)) {
      size_t q = p + 2;
      char sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) sign = src_[q++];
      q = skip_ws(q);
      if (src_.compare(q, 6, "endraw") != 0) continue;
      q = skip_ws(q + 6);
      size_t end;
      if (src_.compare(q, 3, "+%}") == 0) {
        end = q + 3;
      } else if (src_.compare(q, 3, "-%}") == 0) {
        end = skip_ws(q + 3);
      } else if (src_.compare(q, 2, "%}") == 0) {
        end = q + 2;
        if (opts_.trim_blocks && end < src_.size() && src_[end] == '\n') ++end;
      } else {
        continue;
      }
      std::string text = src_.substr(from, p - from);
      bool line_starting = from > 0 && src_[from - 1] == '\n';
      strip_before(text, sign, true, line_starting);
      emit_text(text, from);
      return end;
    }
    error(from, "missing end of raw directive");
  }

  size_t lex_comment(size_t from, size_t start) {
    size_t e = src_.find("#}", from);
    if (e == std::string::npos) error(start, "missing end of comment tag");
    if (e > from && src_[e - 1] == '-') return skip_ws(e + 2);
    if (e > from && src_[e - 1] == '+') return e + 2;
    size_t end = e + 2;
    if (opts_.trim_blocks && end < src_.size() && src_[end] == '\n') ++end;
    return end;
  }

  size_t lex_tag(size_t p, bool block, size_t start) {
    push(block ? Tok::BlockBegin : Tok::VarBegin, start);
    std::vector<char> balance;
    const size_t n = src_.size();
    while (true) {
      if (p >= n) error(start, block ? "missing end of block tag '%}'" : "missing end of variable tag '}}'");
      if (balance.empty()) {
        if (block) {
          if (src_.compare(p, 3, "+%}") == 0) {
            push(Tok::BlockEnd, p);
            return p + 3;
          }
          if (src_.compare(p, 3, "-%}") == 0) {
            push(Tok::BlockEnd, p);
            return skip_ws(p + 3);
          }
          if (src_.compare(p, 2, "%}") == 0) {
            push(Tok::BlockEnd, p);
            p += 2;
            if (opts_.trim_blocks && p < n && src_[p] == '\n') ++p;
            return p;
          }
        } else {
          if (src_.compare(p, 3, "-}}") == 0) {
            push(Tok::VarEnd, p);
            return skip_ws(p + 3);
          }
          if (src_.compare(p, 2, "}}") == 0) {
            push(Tok::VarEnd, p);
            return p + 2;
          }
        }
      }
      char c = src_[p];
      if (is_ws(c)) {
        ++p;
      } else if (size_t q = match_float(p)) {
        Token t;
        t.kind = Tok::Float;
        std::string s = src_.substr(p, q - p);
        s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
        t.fval = std::strtod(s.c_str(), nullptr);
        t.line = line_at(p);
        toks_.push_back(std::move(t));
        p = q;
      } else if (is_digit(c)) {
        p = lex_int(p);
      } else if (is_name_start(c)) {
        size_t q = p;
        while (q < n && is_name_char(src_[q])) ++q;
        push(Tok::Name, p, src_.substr(p, q - p));
        p = q;
      } else if (c == '\'' || c == '"') {
        p = lex_string(p);
      } else {
        static const char* kOps[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[",
                                     "]",  "(",  ")",  "{",  "}",  ">",  "<", "=", ".", ":", "|", ",", ";"};
        const char* op = nullptr;
        for (const char* o : kOps) {
          if (src_.compare(p, std::strlen(o), o) == 0) {
            op = o;
            break;
          }
        }
        if (!op) error(p, fmt::format("unexpected char '{}'", c));
        std::string s(op);
        if (s == "(" || s == "[" || s == "{") {
          if (balance.size() > 256) error(p, "brackets nested too deeply");
          balance.push_back(s == "(" ? ')' : s == "[" ? ']' : '}');
        } else if (s == ")" || s == "]" || s == "}") {
          if (balance.empty()) error(p, fmt::format("unexpected '{}'", s));
          if (balance.back() != s[0])
            error(p, fmt::format("unexpected '{}', expected '{}'", s, balance.back()));
          balance.pop_back();
        }
        push(Tok::Op, p, s);
        p += s.size();
      }
    }
  }

  // Digits with single '_' separators: returns the end, or p when there are none.
  size_t digits(size_t p) const {
    size_t q = p;
    while (q < src_.size() && is_digit(src_[q])) {
      ++q;
      if (q + 1 < src_.size() && src_[q] == '_' && is_digit(src_[q + 1])) ++q;
    }
    return q;
  }

  size_t match_float(size_t p) const {
    if (!is_digit(src_[p]) || (p > 0 && src_[p - 1] == '.')) return 0;
    size_t q = digits(p);
    size_t frac = 0;
    if (q + 1 < src_.size() && src_[q] == '.' && is_digit(src_[q + 1])) frac = digits(q + 1);
    size_t r = frac ? frac : q;
    if (r < src_.size() && (src_[r] == 'e' || src_[r] == 'E')) {
      size_t s = r + 1;
      if (s < src_.size() && (src_[s] == '+' || src_[s] == '-')) ++s;
      if (s < src_.size() && is_digit(src_[s])) return digits(s);
    }
    return frac;
  }

  size_t lex_int(size_t p) {
    const size_t n = src_.size();
    int base = 10;
    size_t q = p;
    if (src_[p] == '0' && p + 1 < n && std::strchr("bBoOxX", src_[p + 1]) && src_[p + 1] != 0) {
      char b = static_cast<char>(src_[p + 1] | 0x20);
      base = b == 'b' ? 2 : b == 'o' ? 8 : 16;
      q = p + 2;
    }
    auto is_base_digit = [&](char c) {
      if (base == 2) return c == '0' || c == '1';
      if (base == 8) return c >= '0' && c <= '7';
      if (base == 16) return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
      return is_digit(c);
    };
    uint64_t v = 0;
    size_t start = q;
    bool overflow = false;
    auto add_digit = [&](char c) {
      int d = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
      if (v > (static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base))
        overflow = true;
      v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    };
    if (base != 10) {
      while (q < n) {
        if (src_[q] == '_' && q + 1 < n && is_base_digit(src_[q + 1])) ++q;
        if (q < n && is_base_digit(src_[q])) {
          add_digit(src_[q++]);
        } else {
          break;
        }
      }
      if (q == start) {  // "0b" without digits: just the integer 0
        q = p + 1;
        v = 0;
      }
    } else if (src_[p] == '0') {
      q = p + 1;
      while (q + 1 < n && (src_[q] == '0' || (src_[q] == '_' && src_[q + 1] == '0')))
        q += src_[q] == '_' ? 2 : 1;
      if (q < n && src_[q] == '0') ++q;
    } else {
      q = digits(p);
      for (size_t i = p; i < q; ++i)
        if (src_[i] != '_') add_digit(src_[i]);
    }
    if (overflow) error(p, "integer literal too large");
    Token t;
    t.kind = Tok::Int;
    t.ival = static_cast<int64_t>(v);
    t.line = line_at(p);
    toks_.push_back(std::move(t));
    return q;
  }

  size_t lex_string(size_t p) {
    const char quote = src_[p];
    std::string out;
    size_t q = p + 1;
    const size_t n = src_.size();
    auto hex = [&](size_t at, int count) -> uint32_t {
      uint32_t v = 0;
      for (int i = 0; i < count; ++i) {
        char c = at + i < n ? src_[at + i] : 0;
        int d = is_digit(c) ? c - '0' : ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') ? (c | 0x20) - 'a' + 10 : -1;
        if (d < 0) error(p, "truncated escape in string literal");
        v = v * 16 + static_cast<uint32_t>(d);
      }
      return v;
    };
    while (true) {
      if (q >= n) error(p, "unterminated string literal");
      char c = src_[q];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        ++q;
        continue;
      }
      if (q + 1 >= n) error(p, "unterminated string literal");
      char e = src_[q + 1];
      q += 2;
      switch (e) {
        case '\n':
          break;
        case '\\':
        case '\'':
        case '"':
          out += e;
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'v':
          out += '\v';
          break;
        case 'x':
          text::encode(hex(q, 2), out);
          q += 2;
          break;
        case 'u':
          text::encode(hex(q, 4), out);
          q += 4;
          break;
        case 'U': {
          uint32_t cp = hex(q, 8);
          if (cp > 0x10FFFF) error(p, "illegal Unicode character in string literal");
          text::encode(cp, out);
          q += 8;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t v = static_cast<uint32_t>(e - '0');
            for (int i = 0; i < 2 && q < n && src_[q] >= '0' && src_[q] <= '7'; ++i)
              v = v * 8 + (src_[q++] - '0');
            text::encode(v, out);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    push(Tok::String, p, std::move(out));
    return q + 1;
  }

  std::string src_;
  LexOptions opts_;
  std::vector<Token> toks_;
  size_t line_pos_ = 0;
  int line_ = 1;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source, const LexOptions& opts) {
  return Lexer(source, opts).run();
}

}  // namespace hearth::jinja
