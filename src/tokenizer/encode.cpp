// Tokenizer::encode: split the text at special tokens (longest token text first, as the reference
// does), then encode each raw fragment with the vocabulary's algorithm. Also the simple accessors.
#include <algorithm>
#include <vector>

#include "base/error.h"
#include "tokenizer/vocab.h"

namespace hearth::tokenizer {

namespace {

struct Fragment {
  int32_t token;  // -1: raw text
  size_t off, len;
};

bool is_c_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Splits `text` at the special tokens that occur in it. Tokens are searched in the order of
// v.special_order (longest first); each splits only the raw fragments left by the previous ones.
std::vector<Fragment> partition(const Vocab& v, std::string_view text, bool parse_special) {
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  frags.push_back({-1, 0, text.size()});

  // Which special tokens occur at all (the others cannot split anything).
  std::vector<char> occurs(v.text.size(), 0);
  bool any = false;
  (parse_special ? v.special_all : v.special_user).scan(text, [&](int32_t id) {
    occurs[id] = 1;
    any = true;
  });
  for (int32_t id : v.special_long) {
    if (!parse_special && (v.attr[id] & (kAttrControl | kAttrUnknown))) continue;
    if (text.find(v.text[id]) != std::string_view::npos) occurs[id] = 1, any = true;
  }
  if (!any) return frags;

  std::vector<Fragment> next;
  for (int32_t id : v.special_order) {
    if (!occurs[id]) continue;
    const uint32_t attr = v.attr[id];
    if (!parse_special && (attr & (kAttrControl | kAttrUnknown))) continue;
    const std::string_view tok = v.text[id];
    next.clear();
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      size_t off = f.off, len = f.len;
      while (true) {
        const size_t p = text.substr(off, len).find(tok);
        if (p == std::string_view::npos) {
          if (len > 0) next.push_back({-1, off, len});
          break;
        }
        const size_t match = off + p;
        if (match > off) {
          size_t left_len = match - off;
          if (attr & kAttrLstrip)
            while (left_len > 0 && is_c_space(text[off + left_len - 1])) --left_len;
          if (left_len > 0) next.push_back({-1, off, left_len});
        }
        next.push_back({id, 0, 0});
        const size_t end = off + len;
        if (match + tok.size() >= end) break;
        size_t roff = match + tok.size();
        if (attr & kAttrRstrip)
          while (roff < end && is_c_space(text[roff])) ++roff;
        off = roff;
        len = end - roff;
      }
    }
    std::swap(frags, next);
  }
  return frags;
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Vocab> v) : v_(std::move(v)) {}
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  const Vocab& v = *v_;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  const std::vector<Fragment> frags = partition(v, text, parse_special);

  switch (v.type) {
    case VocabType::kSpm: {
      if (add_special && v.add_bos) out.push_back(v.bos);
      bool prev_special = true;  // a space is put before the first fragment and after special tokens
      std::string buf;
      for (const Fragment& f : frags) {
        if (f.token >= 0) {
          out.push_back(f.token);
          prev_special = true;
          continue;
        }
        buf.clear();
        if (v.add_space_prefix && prev_special) buf.push_back(' ');
        buf.append(text.substr(f.off, f.len));
        encode_spm(v, buf, out);
        prev_special = false;
      }
      if (add_special && v.add_eos) out.push_back(v.eos);
      break;
    }
    case VocabType::kBpe: {
      if (add_special && v.add_bos) out.push_back(v.bos);
      BpeSession session(v);
      for (const Fragment& f : frags) {
        if (f.token >= 0)
          out.push_back(f.token);
        else
          session.encode(text.substr(f.off, f.len), out);
      }
      if (add_special && v.add_eos) out.push_back(v.eos);
      break;
    }
    case VocabType::kWpm: {
      if (add_special && v.bos >= 0) out.push_back(v.bos);
      for (const Fragment& f : frags) {
        if (f.token >= 0)
          out.push_back(f.token);
        else
          encode_wpm(v, text.substr(f.off, f.len), out);
      }
      if (add_special && v.sep >= 0) out.push_back(v.sep);
      break;
    }
  }
  return out;
}

int32_t Tokenizer::n_vocab() const { return v_->n(); }
VocabType Tokenizer::type() const { return v_->type; }
const std::string& Tokenizer::model() const { return v_->model; }
const std::string& Tokenizer::pre() const { return v_->pre; }
int32_t Tokenizer::bos() const { return v_->bos; }
int32_t Tokenizer::eos() const { return v_->eos; }
int32_t Tokenizer::eot() const { return v_->eot; }
int32_t Tokenizer::eom() const { return v_->eom; }
int32_t Tokenizer::pad() const { return v_->pad; }
int32_t Tokenizer::unk() const { return v_->unk; }
int32_t Tokenizer::sep() const { return v_->sep; }
int32_t Tokenizer::nl() const { return v_->nl; }
bool Tokenizer::add_bos() const { return v_->add_bos; }
bool Tokenizer::add_eos() const { return v_->add_eos; }
bool Tokenizer::add_space_prefix() const { return v_->add_space_prefix; }
const std::vector<int32_t>& Tokenizer::eog_ids() const { return v_->eog; }

bool Tokenizer::is_eog(int32_t id) const {
  return id >= 0 && std::binary_search(v_->eog.begin(), v_->eog.end(), id);
}

const std::string& Tokenizer::token_text(int32_t id) const {
  if (!valid(id)) fail("token id {} is out of range (the vocabulary has {} tokens)", id, n_vocab());
  return v_->text[id];
}

uint32_t Tokenizer::token_attr(int32_t id) const { return valid(id) ? v_->attr[id] : kAttrUndefined; }
float Tokenizer::token_score(int32_t id) const { return valid(id) ? v_->score[id] : 0.0f; }
int32_t Tokenizer::find_token(std::string_view text) const { return v_->find(text); }

}  // namespace hearth::tokenizer
