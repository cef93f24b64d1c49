// sample: the incremental JSON validator behind JSON mode (see json_constraint.h).
#include "sample/json_constraint.h"

#include <algorithm>

namespace hearth::sample {

namespace {

constexpr std::string_view kLiterals[3] = {"true", "false", "null"};

inline bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

inline int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

JsonValidator::JsonValidator(JsonLimits lim) : lim_(lim) {
  lim_.max_depth = std::clamp(lim_.max_depth, 1, JsonLimits::kMaxDepth);
  lim_.max_ws_run = std::clamp(lim_.max_ws_run, 0, 4096);
  lim_.max_ws_newlines = std::clamp(lim_.max_ws_newlines, 0, 4096);
  lim_.max_number_len = std::clamp(lim_.max_number_len, 1, 255);
  if ((lim_.root & kJsonAny) == 0) lim_.root = kJsonObject;
}

void JsonValidator::reset() { *this = JsonValidator(lim_); }

bool JsonValidator::feed(std::string_view bytes) {
  for (char ch : bytes) {
    if (!feed_byte(static_cast<uint8_t>(ch))) return false;
  }
  return state_ != State::Dead;
}

bool JsonValidator::complete() const {
  if (state_ == State::Done) return true;
  return state_ == State::Number && depth_ == 0 &&
         (num_ == Num::Zero || num_ == Num::Int || num_ == Num::Frac || num_ == Num::ExpDigits);
}

bool JsonValidator::push(bool object) {
  if (depth_ >= lim_.max_depth) return die();
  const uint64_t bit = uint64_t{1} << (depth_ & 63);
  if (object) {
    stack_[depth_ >> 6] |= bit;
  } else {
    stack_[depth_ >> 6] &= ~bit;
  }
  ++depth_;
  state_ = object ? State::ObjectFirst : State::ArrayFirst;
  return true;
}

bool JsonValidator::close_value() {
  state_ = depth_ == 0 ? State::Done : State::After;
  return true;
}

bool JsonValidator::whitespace(uint8_t c) {
  if (++ws_run_ > lim_.max_ws_run) return die();
  if (c == '\n' && ++ws_newlines_ > lim_.max_ws_newlines) return die();
  return true;
}

int JsonValidator::min_close_bytes() const {
  const int d = depth_;  // one closing bracket per open container
  switch (state_) {
    case State::Done:
      return 0;
    case State::Dead:
      return 1 << 30;
    case State::Value:
      if (depth_ > 0) return d + 1;  // "0"
      if (lim_.root & kJsonNumber) return 1;
      if (lim_.root & (kJsonObject | kJsonArray | kJsonString)) return 2;  // "{}", "[]", "\"\""
      return 4;                                                            // "null"
    case State::ArrayFirst:
    case State::ObjectFirst:
    case State::After:
      return d;
    case State::Key:
      return d + 4;  // "":0
    case State::Colon:
      return d + 2;  // :0
    case State::String: {
      int n = 1;  // the closing quote
      switch (str_) {
        case Str::Plain:
          if (want_low_) n += 6;  // \uDC00
          break;
        case Str::Escape:
          n += want_low_ ? 5 : 1;
          break;
        case Str::Hex: {
          n += hex_left_;
          const int done = 4 - hex_left_;
          if (!want_low_ && done >= 2) {
            const int top = hex_ >> (4 * (done - 2));  // the first two digits
            if (top >= 0xD8 && top <= 0xDB) n += 6;    // a high surrogate needs its low half
          }
          break;
        }
        case Str::Utf8:
          n += utf8_left_;
          break;
      }
      if (key_) n += 2;  // :0
      return d + n;
    }
    case State::Number: {
      const bool ends = num_ == Num::Zero || num_ == Num::Int || num_ == Num::Frac || num_ == Num::ExpDigits;
      return d + (ends ? 0 : 1);
    }
    case State::Literal:
      return d + static_cast<int>(kLiterals[lit_].size()) - lit_pos_;
  }
  return 1 << 30;
}

bool JsonValidator::value_start(uint8_t c) {
  if (depth_ == 0) {
    uint8_t kind = 0;
    if (c == '{')
      kind = kJsonObject;
    else if (c == '[')
      kind = kJsonArray;
    else if (c == '"')
      kind = kJsonString;
    else if (c == '-' || is_digit(c))
      kind = kJsonNumber;
    else if (c == 't' || c == 'f' || c == 'n')
      kind = kJsonLiteral;
    if ((kind & lim_.root) == 0) return die();
  }
  switch (c) {
    case '{':
      return push(true);
    case '[':
      return push(false);
    case '"':
      state_ = State::String;
      str_ = Str::Plain;
      key_ = false;
      return true;
    case '-':
    case '0':
      state_ = State::Number;
      num_ = c == '-' ? Num::Minus : Num::Zero;
      num_len_ = 1;
      return true;
    case 't':
    case 'f':
    case 'n':
      state_ = State::Literal;
      lit_ = c == 't' ? 0 : c == 'f' ? 1 : 2;
      lit_pos_ = 1;
      return true;
    default:
      if (c >= '1' && c <= '9') {
        state_ = State::Number;
        num_ = Num::Int;
        num_len_ = 1;
        return true;
      }
      return die();
  }
}

bool JsonValidator::string_byte(uint8_t c) {
  switch (str_) {
    case Str::Plain:
      if (want_low_) {
        // After an escaped high surrogate only the escaped low surrogate may come.
        if (c != '\\') return die();
        str_ = Str::Escape;
        return true;
      }
      if (c == '"') {
        if (key_) {
          state_ = State::Colon;
          return true;
        }
        return close_value();
      }
      if (c == '\\') {
        str_ = Str::Escape;
        return true;
      }
      if (c < 0x20) return die();  // raw control characters must be escaped
      if (c < 0x80) return true;
      // A UTF-8 lead byte: how many continuation bytes, and the range of the first (no overlong
      // forms, no surrogates, nothing above U+10FFFF).
      utf8_lo_ = 0x80;
      utf8_hi_ = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) {
        utf8_left_ = 1;
      } else if (c >= 0xE0 && c <= 0xEF) {
        utf8_left_ = 2;
        if (c == 0xE0) utf8_lo_ = 0xA0;
        if (c == 0xED) utf8_hi_ = 0x9F;
      } else if (c >= 0xF0 && c <= 0xF4) {
        utf8_left_ = 3;
        if (c == 0xF0) utf8_lo_ = 0x90;
        if (c == 0xF4) utf8_hi_ = 0x8F;
      } else {
        return die();
      }
      str_ = Str::Utf8;
      return true;
    case Str::Escape:
      if (c == 'u') {
        str_ = Str::Hex;
        hex_left_ = 4;
        hex_ = 0;
        return true;
      }
      if (want_low_) return die();
      if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
        str_ = Str::Plain;
        return true;
      }
      return die();
    case Str::Hex: {
      const int d = hex_value(c);
      if (d < 0) return die();
      const int index = 4 - hex_left_;  // 0 for the first digit
      if (index == 1 && hex_ == 0xD) {
        // "\uD8".."\uDB" start a high surrogate, "\uDC".."\uDF" a low one.
        const bool low = d >= 0xC;
        if (low != want_low_) return die();
      } else if (index == 1 && want_low_) {
        return die();
      } else if (index == 0 && want_low_ && d != 0xD) {
        return die();
      }
      hex_ = static_cast<uint16_t>(hex_ * 16 + d);
      if (--hex_left_ == 0) {
        want_low_ = hex_ >= 0xD800 && hex_ <= 0xDBFF;
        str_ = Str::Plain;
      }
      return true;
    }
    case Str::Utf8:
      if (c < utf8_lo_ || c > utf8_hi_) return die();
      utf8_lo_ = 0x80;
      utf8_hi_ = 0xBF;
      if (--utf8_left_ == 0) str_ = Str::Plain;
      return true;
  }
  return die();
}

bool JsonValidator::number_byte(uint8_t c) {
  Num next;
  bool ok = true;
  switch (num_) {
    case Num::Minus:
      if (c == '0')
        next = Num::Zero;
      else if (is_digit(c))
        next = Num::Int;
      else
        return die();
      break;
    case Num::Zero:
    case Num::Int:
      if (is_digit(c) && num_ == Num::Int)
        next = Num::Int;
      else if (is_digit(c))
        return die();  // no leading zeros
      else if (c == '.')
        next = Num::Dot;
      else if (c == 'e' || c == 'E')
        next = Num::Exp;
      else
        ok = false;
      break;
    case Num::Dot:
      if (!is_digit(c)) return die();
      next = Num::Frac;
      break;
    case Num::Frac:
      if (is_digit(c))
        next = Num::Frac;
      else if (c == 'e' || c == 'E')
        next = Num::Exp;
      else
        ok = false;
      break;
    case Num::Exp:
      if (c == '+' || c == '-')
        next = Num::ExpSign;
      else if (is_digit(c))
        next = Num::ExpDigits;
      else
        return die();
      break;
    case Num::ExpSign:
      if (!is_digit(c)) return die();
      next = Num::ExpDigits;
      break;
    case Num::ExpDigits:
      if (is_digit(c))
        next = Num::ExpDigits;
      else
        ok = false;
      break;
    default:
      return die();
  }
  if (ok) {
    if (++num_len_ > lim_.max_number_len) return die();
    num_ = next;
    return true;
  }
  // The byte ends the number (which is complete here: the other states returned above); it is then
  // read as whatever follows a value.
  close_value();
  return feed_byte(c);
}

bool JsonValidator::feed_byte(uint8_t c) {
  switch (state_) {
    case State::Dead:
      return false;
    case State::String:
      return string_byte(c);
    case State::Number:
      return number_byte(c);
    case State::Literal: {
      const std::string_view lit = kLiterals[lit_];
      if (c != static_cast<uint8_t>(lit[lit_pos_])) return die();
      if (++lit_pos_ == lit.size()) return close_value();
      return true;
    }
    default:
      break;
  }
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return whitespace(c);
  ws_run_ = 0;
  ws_newlines_ = 0;
  switch (state_) {
    case State::Value:
      return value_start(c);
    case State::ArrayFirst:
      if (c == ']') {
        --depth_;
        return close_value();
      }
      return value_start(c);
    case State::ObjectFirst:
    case State::Key:
      if (c == '}' && state_ == State::ObjectFirst) {
        --depth_;
        return close_value();
      }
      if (c != '"') return die();
      state_ = State::String;
      str_ = Str::Plain;
      key_ = true;
      return true;
    case State::Colon:
      if (c != ':') return die();
      state_ = State::Value;
      return true;
    case State::After: {
      const bool object = top_is_object();
      if (c == ',') {
        state_ = object ? State::Key : State::Value;
        return true;
      }
      if (c == (object ? '}' : ']')) {
        --depth_;
        return close_value();
      }
      return die();
    }
    default:  // Done: only whitespace may follow
      return die();
  }
}

}  // namespace hearth::sample
