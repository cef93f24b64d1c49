// sample: JSON mode. An incremental validator of JSON text prefixes (a pushdown automaton over bytes,
// UTF-8 aware, with bounded depth, whitespace runs and number lengths), used as a token filter: a token
// may come next when appending its bytes keeps the output a prefix of a valid JSON text. Knows nothing
// of tokenizers: the caller turns token ids into bytes.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace hearth::sample {

// The kinds of value the whole text may be (bit flags).
enum JsonRoot : uint8_t {
  kJsonObject = 1,
  kJsonArray = 2,
  kJsonString = 4,
  kJsonNumber = 8,
  kJsonLiteral = 16,  // true, false, null
  kJsonAny = 31,
};

struct JsonLimits {
  static constexpr int kMaxDepth = 256;  // hard bound of max_depth (the stack is a fixed bit array)
  uint8_t root = kJsonObject;            // allowed kinds of the top-level value
  int max_depth = 32;                    // nesting of objects and arrays, 1..kMaxDepth
  // Whitespace outside strings, so a model cannot loop on spaces or blank lines: at most max_ws_run
  // bytes in a row, of which at most max_ws_newlines line feeds. Enough for pretty printing ("\n" and
  // indentation), like llama.cpp's JSON grammar (a space, or a newline and up to 20 spaces or tabs).
  int max_ws_run = 20;
  int max_ws_newlines = 1;
  int max_number_len = 40;  // bytes of one number literal
};

// Validates a growing JSON text byte by byte (RFC 8259, strict): no trailing commas, no comments, no
// leading zeros, no raw control characters in strings, \u escapes with properly paired surrogates,
// well-formed UTF-8 (no overlong forms, no encoded surrogates, nothing above U+10FFFF). A copy is cheap
// (a few dozen bytes, no heap), so trying a token is: copy, feed, look at the result.
class JsonValidator {
 public:
  explicit JsonValidator(JsonLimits lim = {});

  // Appends bytes. False when they cannot continue a valid prefix: the validator is then dead (every
  // later feed fails) and should be discarded; use accepts() to try bytes without changing anything.
  bool feed(std::string_view bytes);
  bool feed_byte(uint8_t c);
  bool accepts(std::string_view bytes) const {
    JsonValidator v = *this;
    return v.feed(bytes);
  }

  // The text so far is a complete JSON text (ending the output here is valid).
  bool complete() const;
  // The top-level value is closed: only whitespace could follow, so generation can stop.
  bool finished() const { return state_ == State::Done; }
  // The fewest bytes that make the text complete (0 when it is; a large number when dead). Every such
  // byte is a one-byte token in byte-level vocabularies, so a caller with a budget of tokens can keep
  // the output completable: allow a token only if min_close_bytes() after it fits in what is left.
  int min_close_bytes() const;
  bool dead() const { return state_ == State::Dead; }
  int depth() const { return depth_; }
  void reset();

 private:
  enum class State : uint8_t {
    Value,        // a value must come (document start, after ':' or ',' in an array)
    ArrayFirst,   // after '[': a value or ']'
    ObjectFirst,  // after '{': a key or '}'
    Key,          // after ',' in an object: a key
    Colon,        // after a key: ':'
    After,        // after a value inside a container: ',' or the closing bracket
    String,       // inside a string
    Number,
    Literal,  // inside true / false / null
    Done,     // the top-level value is closed
    Dead,
  };
  enum class Num : uint8_t { Minus, Zero, Int, Dot, Frac, Exp, ExpSign, ExpDigits };
  enum class Str : uint8_t { Plain, Escape, Hex, Utf8 };

  bool value_start(uint8_t c);
  bool close_value();  // a value just ended: After inside a container, Done at the top
  bool whitespace(uint8_t c);
  bool string_byte(uint8_t c);
  bool number_byte(uint8_t c);
  bool push(bool object);
  bool top_is_object() const { return (stack_[(depth_ - 1) >> 6] >> ((depth_ - 1) & 63)) & 1; }
  bool die() {
    state_ = State::Dead;
    return false;
  }

  JsonLimits lim_;
  std::array<uint64_t, JsonLimits::kMaxDepth / 64> stack_{};  // bit d: level d+1 is an object
  int16_t depth_ = 0;
  State state_ = State::Value;
  // String sub-state.
  Str str_ = Str::Plain;
  bool key_ = false;                         // the string is an object key
  uint8_t hex_left_ = 0;                     // hex digits still expected in a \u escape
  uint16_t hex_ = 0;                         // value of the \u escape so far
  bool want_low_ = false;                    // a high surrogate was escaped: "\uDC00".."\uDFFF" must follow
  uint8_t utf8_left_ = 0;                    // continuation bytes still expected
  uint8_t utf8_lo_ = 0x80, utf8_hi_ = 0xBF;  // range of the next continuation byte
  // Number and literal sub-state.
  Num num_ = Num::Int;
  uint8_t num_len_ = 0;
  uint8_t lit_ = 0;      // 0 true, 1 false, 2 null
  uint8_t lit_pos_ = 0;  // bytes of the literal matched
  int16_t ws_run_ = 0;
  int16_t ws_newlines_ = 0;
};

}  // namespace hearth::sample
