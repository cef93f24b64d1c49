// tokenizer: Unicode helpers shared by the encoders. Decoding follows the reference implementation
// (llama.cpp) byte for byte: an invalid byte becomes one U+FFFD and decoding resumes at the next byte.
// Categories come from utf8proc; White_Space is the Unicode property.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::tokenizer::unicode {

inline constexpr uint32_t kReplacement = 0xFFFD;

// Length of the UTF-8 sequence a lead byte announces (1 for continuation and invalid bytes).
inline size_t seq_len(uint8_t lead) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[lead >> 4];
}

// Decodes one code point at `off` (advancing it) the way the reference does: structure only (lead
// byte + continuation bytes), overlong forms and surrogates accepted; an invalid byte gives U+FFFD
// and advances by one. Values up to 0x1FFFFF are possible.
uint32_t decode_one(std::string_view s, size_t& off);
std::vector<uint32_t> decode(std::string_view s);

// Appends the UTF-8 encoding of `cpt` (surrogates encoded as-is; above U+10FFFF gives U+FFFD).
void append_utf8(std::string& out, uint32_t cpt);
std::string to_utf8(uint32_t cpt);

// True when `s` is UTF-8 that decode()+append_utf8() reproduce unchanged (no invalid bytes, no
// overlong forms, no surrogates, nothing above U+10FFFF).
bool is_canonical_utf8(std::string_view s);

// The Unicode White_Space property (what the reference's tables call whitespace).
bool is_whitespace(uint32_t cpt);

enum class Category : uint8_t {
  kUndefined,
  kNumber,
  kLetter,
  kSeparator,
  kMark,
  kPunctuation,
  kSymbol,
  kControl
};
// General category group of a code point (Cn, Co, Cs, Cf, Cc are all kControl, like the reference).
Category category(uint32_t cpt);

// Simple lowercase mapping.
uint32_t to_lower(uint32_t cpt);
// First code point of the canonical decomposition (NFD) of `cpt` (the reference's "nfd" table).
uint32_t nfd_first(uint32_t cpt);

// GPT-2 byte-level alphabet: each byte maps to one printable code point (as UTF-8).
const std::string& byte_to_unicode(uint8_t b);
// Inverse of byte_to_unicode for one code point; -1 when the code point is not in the alphabet.
int unicode_to_byte(uint32_t cpt);

}  // namespace hearth::tokenizer::unicode
