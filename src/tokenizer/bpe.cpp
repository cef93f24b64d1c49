// Byte-level BPE (`gpt2`) encoder: the pre-tokenizer splits the text into words; each word's bytes are
// symbols of the GPT-2 byte alphabet, and the adjacent pair with the lowest merge rank (ties: leftmost)
// is merged until no merge applies (priority queue over a linked list: O(n log n) per word).
#include <queue>
#include <unordered_map>

#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace hearth::tokenizer {

namespace {

struct Symbol {
  int32_t prev, next;
  uint32_t off, n;  // bytes of the word
  int32_t sym;      // interned string id, -1 if the string is unknown to the vocabulary
};

struct Bigram {
  int32_t rank;
  int32_t left, right;
  uint32_t left_n, right_n;
  int32_t result;
};

struct BigramGreater {
  bool operator()(const Bigram& l, const Bigram& r) const {
    return l.rank > r.rank || (l.rank == r.rank && l.left > r.left);
  }
};

class BpeWordEncoder {
 public:
  explicit BpeWordEncoder(const Vocab& v) : v_(v), t_(v.bpe) {}

  void encode(std::string_view word, std::vector<int32_t>& out) {
    if (word.empty()) return;
    if (v_.ignore_merges) {
      enc_.clear();
      for (char c : word) enc_ += unicode::byte_to_unicode(static_cast<uint8_t>(c));
      const int32_t id = v_.find(enc_);
      if (id >= 0) {
        out.push_back(id);
        return;
      }
    }
    sym_.clear();
    for (size_t i = 0; i < word.size(); ++i) {
      const int32_t k = static_cast<int32_t>(i);
      sym_.push_back({k - 1, i + 1 == word.size() ? -1 : k + 1, static_cast<uint32_t>(i), 1,
                      t_.byte_symbol[static_cast<uint8_t>(word[i])]});
    }
    queue_ = {};
    for (int32_t i = 1; i < static_cast<int32_t>(sym_.size()); ++i) add(i - 1, i);
    while (!queue_.empty()) {
      const Bigram b = queue_.top();
      queue_.pop();
      Symbol& l = sym_[b.left];
      Symbol& r = sym_[b.right];
      if (l.n == 0 || r.n == 0 || l.n != b.left_n || r.n != b.right_n) continue;  // stale
      l.n += r.n;
      l.sym = b.result;
      r.n = 0;
      l.next = r.next;
      if (r.next >= 0) sym_[r.next].prev = b.left;
      add(l.prev, b.left);
      add(b.left, l.next);
    }
    for (int32_t i = 0; i != -1; i = sym_[i].next) {
      const Symbol& s = sym_[i];
      const int32_t id = s.sym >= 0 ? t_.symbol_token[s.sym] : -1;
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      // Not a token: the reference looks up each byte of the symbol's (byte-encoded) text alone.
      for (uint32_t j = 0; j < s.n; ++j)
        for (char c : unicode::byte_to_unicode(static_cast<uint8_t>(word[s.off + j]))) {
          const int32_t t = t_.single_byte_token[static_cast<uint8_t>(c)];
          if (t >= 0) out.push_back(t);
        }
    }
  }

 private:
  void add(int32_t l, int32_t r) {
    if (l < 0 || r < 0 || sym_[l].sym < 0 || sym_[r].sym < 0) return;
    const BpeTable::Merge* m = t_.find(sym_[l].sym, sym_[r].sym);
    if (!m) return;
    queue_.push({m->rank, l, r, sym_[l].n, sym_[r].n, m->result});
  }

  const Vocab& v_;
  const BpeTable& t_;
  std::string enc_;
  std::vector<Symbol> sym_;
  std::priority_queue<Bigram, std::vector<Bigram>, BigramGreater> queue_;
};

}  // namespace

struct BpeSession::Impl {
  explicit Impl(const Vocab& v) : v(v), enc(v) {}
  const Vocab& v;
  BpeWordEncoder enc;
  std::string storage;
  std::vector<std::string_view> words;
  // Natural text repeats its words: the ids of short words are remembered for the rest of the call.
  // Keys view the text being encoded, so the cache lives no longer than one encode() call; words cut
  // from `storage` (re-encoded invalid UTF-8) are not cached.
  std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;  // word -> range in `ids`
  std::vector<int32_t> ids;
};

BpeSession::BpeSession(const Vocab& v) : impl_(std::make_unique<Impl>(v)) {}
BpeSession::~BpeSession() = default;

void BpeSession::encode(std::string_view text, std::vector<int32_t>& out) {
  constexpr size_t kMaxCachedWord = 48, kMaxCacheEntries = 1 << 16;
  Impl& s = *impl_;
  const bool cacheable = !s.v.pretok->split(text, s.storage, s.words);
  for (std::string_view w : s.words) {
    if (!cacheable || w.size() > kMaxCachedWord) {
      s.enc.encode(w, out);
      continue;
    }
    auto it = s.cache.find(w);
    if (it != s.cache.end()) {
      const auto [off, len] = it->second;
      out.insert(out.end(), s.ids.begin() + off, s.ids.begin() + off + len);
      continue;
    }
    const size_t before = out.size();
    s.enc.encode(w, out);
    if (s.cache.size() < kMaxCacheEntries) {
      s.cache.emplace(
          w, std::make_pair(static_cast<uint32_t>(s.ids.size()), static_cast<uint32_t>(out.size() - before)));
      s.ids.insert(s.ids.end(), out.begin() + before, out.end());
    }
  }
}

}  // namespace hearth::tokenizer
