// Detokenization: token pieces, decode() (the reference's detokenizer, including its clean-up of spaces)
// and the streaming decoder.
#include <algorithm>

#include "base/error.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace hearth::tokenizer {

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (s.find(from) == std::string::npos) return;
  std::string r;
  r.reserve(s.size());
  size_t pos = 0;
  while (true) {
    const size_t p = s.find(from, pos);
    if (p == std::string::npos) break;
    r.append(s, pos, p - pos);
    r.append(to);
    pos = p + from.size();
  }
  r.append(s, pos, std::string::npos);
  s.swap(r);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Byte-level BPE: each code point of the token text is one byte of the GPT-2 alphabet.
std::string decode_byte_level(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  size_t off = 0;
  while (off < text.size()) {
    const size_t start = off;
    const uint32_t c = unicode::decode_one(text, off);
    const int b = unicode::unicode_to_byte(c);
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {  // not in the alphabet: the reference prints this marker
      out += "[UNK_BYTE_0x";
      for (size_t i = start; i < off; ++i) out += fmt::format("{:02x}", static_cast<uint8_t>(text[i]));
      out += text + "]";
    }
  }
  return out;
}

// The reference's clean-up of spaces before punctuation and in contractions.
void clean_spaces(std::string& t) {
  std::string s;
  s.reserve(t.size());
  for (size_t i = 0; i < t.size(); ++i) {  // " ?", " !", " .", " ,"
    const char x = t[i];
    if (i > 0 && t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) s.pop_back();
    s.push_back(x);
  }
  t.swap(s);
  s.clear();
  for (size_t i = 0; i < t.size(); ++i) {  // " ' " -> "'"
    const char x = t[i];
    if (x == '\'' && i > 0 && i + 1 < t.size() && t[i - 1] == ' ' && t[i + 1] == ' ') {
      s.pop_back();
      s.push_back(x);
      t[++i] = '\0';  // drop the next space (and, like the reference, it no longer counts as a space)
      continue;
    }
    s.push_back(x);
  }
  t.swap(s);
  s.clear();
  for (size_t i = 0; i < t.size(); ++i) {  // " 's", " 'm", " 're", " 've"
    const char x = t[i];
    if (i > 0 && t[i - 1] == ' ' && x == '\'' && i + 1 < t.size()) {
      const char x1 = t[i + 1];
      if (x1 == 's' || x1 == 'm') {
        s.pop_back();
      } else if (x1 != 't' && x1 != 'd' && i + 2 < t.size()) {
        const char x2 = t[i + 2];
        if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) s.pop_back();
      }
    }
    s.push_back(x);
  }
  t.swap(s);
}

}  // namespace

std::string compute_piece(const Vocab& v, int32_t id) {
  const uint32_t a = v.attr[id];
  const std::string& text = v.text[id];
  if (a & (kAttrUnknown | kAttrControl | kAttrUserDefined)) return text;
  if (a & kAttrNormal) {
    if (v.type == VocabType::kBpe) return decode_byte_level(text);
    std::string r = text;
    replace_all(r, "\xE2\x96\x81", " ");
    return r;
  }
  if (a & kAttrByte) {
    if (v.type == VocabType::kBpe) return decode_byte_level(text);
    if (text.size() == 6 && text.compare(0, 3, "<0x") == 0 && text[5] == '>') {
      const int hi = hex_digit(text[3]), lo = hex_digit(text[4]);
      if (hi >= 0 && lo >= 0) return std::string(1, static_cast<char>(hi * 16 + lo));
    }
    return text;
  }
  return {};  // unused and undefined tokens print nothing
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
  if (!valid(id)) fail("token id {} is out of range (the vocabulary has {} tokens)", id, n_vocab());
  if (!render_special && (v_->attr[id] & (kAttrUnknown | kAttrControl))) return {};
  return v_->piece[id];
}

std::string Tokenizer::decode(std::span<const int32_t> ids, const DecodeOptions& opt) const {
  const Vocab& v = *v_;
  bool remove_space = v.add_space_prefix && opt.strip_leading_space;
  if (opt.remove_special && v.add_bos && !ids.empty() && ids.front() == v.bos) {
    remove_space = false;
    ids = ids.subspan(1);
  }
  if (opt.remove_special && v.add_eos && !ids.empty() && ids.back() == v.eos) ids = ids.first(ids.size() - 1);

  std::string out;
  for (int32_t id : ids) {
    if (!valid(id)) fail("token id {} is out of range (the vocabulary has {} tokens)", id, n_vocab());
    const bool hidden = !opt.render_special && (v.attr[id] & (kAttrUnknown | kAttrControl));
    if (!hidden) {
      const std::string& p = v.piece[id];
      const size_t skip = remove_space && !p.empty() && p[0] == ' ' ? 1 : 0;
      out.append(p, skip, std::string::npos);
    }
    remove_space = false;
  }
  if (v.clean_spaces && opt.clean_spaces) clean_spaces(out);
  return out;
}

size_t utf8_complete_prefix(std::string_view s) {
  // Look at the last (at most 3) bytes for a lead byte whose sequence is not finished yet.
  const size_t n = s.size();
  for (size_t k = 1; k <= std::min<size_t>(3, n); ++k) {
    const uint8_t b = static_cast<uint8_t>(s[n - k]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = 0;
    if ((b & 0xE0) == 0xC0)
      need = 2;
    else if ((b & 0xF0) == 0xE0)
      need = 3;
    else if ((b & 0xF8) == 0xF0)
      need = 4;
    return need > k ? n - k : n;  // hold an unfinished sequence, otherwise all is complete
  }
  return n;  // only continuation bytes (or nothing): nothing to wait for
}

StreamDecoder::StreamDecoder(const Tokenizer& tok, DecodeOptions opt) : tok_(tok), opt_(opt) {}

std::string StreamDecoder::push(int32_t id) {
  const Vocab& v = tok_.vocab();
  if (!tok_.valid(id)) fail("token id {} is out of range (the vocabulary has {} tokens)", id, tok_.n_vocab());
  bool remove_space = false;
  if (first_) {
    first_ = false;
    remove_space = v.add_space_prefix && opt_.strip_leading_space;
    if (opt_.remove_special && v.add_bos && id == v.bos) return {};
  }
  if (opt_.render_special || !(v.attr[id] & (kAttrUnknown | kAttrControl))) {
    const std::string& p = v.piece[id];
    pending_.append(p, remove_space && !p.empty() && p[0] == ' ' ? 1 : 0, std::string::npos);
  }
  const size_t k = utf8_complete_prefix(pending_);
  std::string out = pending_.substr(0, k);
  pending_.erase(0, k);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

void StreamDecoder::reset() {
  first_ = true;
  pending_.clear();
}

}  // namespace hearth::tokenizer
