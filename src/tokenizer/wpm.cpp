// WordPiece (`bert`) encoder, as the reference does it: normalise (lowercase, drop accents and control
// characters), split on white space and around punctuation and CJK characters, then match each word
// greedily longest-first with a "▁" prefix on the word's first piece; a word that cannot be covered
// becomes [UNK].
#include <algorithm>

#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace hearth::tokenizer {

namespace {

bool is_chinese_char(uint32_t c) {
  return (c >= 0x04E00 && c <= 0x09FFF) || (c >= 0x03400 && c <= 0x04DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0x0F900 && c <= 0x0FAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::vector<std::string> split_words(const Vocab& v, std::string_view text) {
  std::vector<std::string> words(1);
  size_t off = 0;
  while (off < text.size()) {
    uint32_t c = unicode::decode_one(text, off);
    if (v.wpm_strip_accents) c = unicode::nfd_first(c);
    if (unicode::is_whitespace(c)) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    const unicode::Category cat = unicode::category(c);
    if (c == 0 || c == unicode::kReplacement || cat == unicode::Category::kControl) continue;
    if (v.wpm_strip_accents && cat == unicode::Category::kMark) continue;
    const uint32_t lc = v.wpm_lowercase ? unicode::to_lower(c) : c;
    if (cat == unicode::Category::kPunctuation || (c < 0x7F && cat == unicode::Category::kSymbol) ||
        is_chinese_char(c)) {
      if (!words.back().empty()) words.emplace_back();
      unicode::append_utf8(words.back(), lc);
      words.emplace_back();
    } else {
      unicode::append_utf8(words.back(), lc);
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

}  // namespace

void encode_wpm(const Vocab& v, std::string_view text, std::vector<int32_t>& out) {
  std::string w;
  for (const std::string& word : split_words(v, text)) {
    if (word.empty()) continue;
    w.assign("\xE2\x96\x81");  // the phantom space of a word's first piece
    w += word;
    const size_t n = w.size(), start = out.size();
    for (size_t i = 0; i < n;) {
      auto [id, len] = v.wpm_trie.longest_prefix(std::string_view(w).substr(i));
      for (int32_t l : v.wpm_long) {  // tokens too long for the trie, longest first
        const std::string& t = v.text[l];
        if (t.size() <= len) break;
        if (w.compare(i, t.size(), t) == 0) {
          id = l, len = t.size();
          break;
        }
      }
      if (id < 0) {  // the whole word is unknown
        out.resize(start);
        break;
      }
      out.push_back(id);
      i += len;
    }
    if (out.size() == start && v.unk >= 0) out.push_back(v.unk);
  }
}

}  // namespace hearth::tokenizer
