// SentencePiece-style (`llama`) encoder: start from UTF-8 characters and repeatedly merge the adjacent
// pair whose concatenation is the token with the highest score (ties: leftmost), with a priority queue
// over a linked list of symbols (O(n log n)). What does not form a token falls back to <0xNN> bytes.
#include <queue>

#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace hearth::tokenizer {

namespace {

struct Symbol {
  int32_t prev, next;
  uint32_t off, n;  // bytes of the escaped text
};

struct Bigram {
  int32_t left, right;
  float score;
  uint32_t size;
};

struct BigramLess {
  bool operator()(const Bigram& l, const Bigram& r) const {
    return l.score < r.score || (l.score == r.score && l.left > r.left);
  }
};

// Merges one segment of characters (bounds[a] to bounds[b] of `text`) and appends its ids.
class SpmSegmentEncoder {
 public:
  SpmSegmentEncoder(const Vocab& v, const std::string& text) : v_(v), text_(text) {}

  void encode(const std::vector<uint32_t>& bounds, size_t a, size_t b, std::vector<int32_t>& out) {
    sym_.clear();
    for (size_t u = a; u < b; ++u) {
      const int32_t i = static_cast<int32_t>(sym_.size());
      sym_.push_back({i - 1, u + 1 == b ? -1 : i + 1, bounds[u], bounds[u + 1] - bounds[u]});
    }
    queue_ = {};
    for (int32_t i = 1; i < static_cast<int32_t>(sym_.size()); ++i) try_add(i - 1, i);
    while (!queue_.empty()) {
      const Bigram bg = queue_.top();
      queue_.pop();
      Symbol& l = sym_[bg.left];
      Symbol& r = sym_[bg.right];
      if (l.n == 0 || r.n == 0 || l.n + r.n != bg.size) continue;  // stale
      l.n += r.n;
      r.n = 0;
      l.next = r.next;
      if (r.next >= 0) sym_[r.next].prev = bg.left;
      try_add(l.prev, bg.left);
      try_add(bg.left, l.next);
    }
    for (int32_t i = 0; i != -1; i = sym_[i].next) {
      const std::string_view s(text_.data() + sym_[i].off, sym_[i].n);
      const int32_t id = v_.find(s);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      for (char c : s) {  // byte fallback
        const int32_t t = v_.byte_token[static_cast<uint8_t>(c)];
        if (t >= 0)
          out.push_back(t);
        else if (v_.unk >= 0)
          out.push_back(v_.unk);
      }
    }
  }

 private:
  void try_add(int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const uint32_t size = sym_[l].n + sym_[r].n;
    const int32_t id = v_.find(std::string_view(text_.data() + sym_[l].off, size));
    if (id < 0) return;
    queue_.push({l, r, v_.score[id], size});
  }

  const Vocab& v_;
  const std::string& text_;
  std::vector<Symbol> sym_;
  std::priority_queue<Bigram, std::vector<Bigram>, BigramLess> queue_;
};

}  // namespace

void encode_spm(const Vocab& v, std::string_view raw, std::vector<int32_t>& out) {
  // The SentencePiece convention: spaces are U+2581.
  std::string text;
  text.reserve(raw.size() + raw.size() / 4 + 8);
  for (char c : raw) {
    if (c == ' ')
      text.append("\xE2\x96\x81");
    else
      text.push_back(c);
  }
  if (text.empty()) return;

  // Characters (the reference's units: a lead byte's length, cut at the end of the text).
  std::vector<uint32_t> bounds;
  bounds.reserve(text.size() + 1);
  for (size_t off = 0; off < text.size();) {
    bounds.push_back(static_cast<uint32_t>(off));
    off += std::min(unicode::seq_len(static_cast<uint8_t>(text[off])), text.size() - off);
  }
  bounds.push_back(static_cast<uint32_t>(text.size()));
  const size_t n = bounds.size() - 1;

  // A merge can only join two characters that are adjacent inside some token; elsewhere the text is
  // cut into segments that are merged independently (same result, small priority queues).
  SpmSegmentEncoder enc(v, text);
  size_t seg = 0;
  uint64_t prev = spm_char_key(text, bounds[0], bounds[1] - bounds[0]);
  for (size_t u = 1; u < n; ++u) {
    const uint64_t key = spm_char_key(text, bounds[u], bounds[u + 1] - bounds[u]);
    if (!v.spm_pairs.find((prev << 32) | key)) {
      enc.encode(bounds, seg, u, out);
      seg = u;
    }
    prev = key;
  }
  enc.encode(bounds, seg, n, out);
}

}  // namespace hearth::tokenizer
