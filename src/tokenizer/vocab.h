// tokenizer (internal): the loaded vocabulary shared by the encoders and the decoder.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"

namespace hearth::tokenizer {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using StringMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Byte trie over token texts: which special tokens occur in a text, and WordPiece's longest match.
class ByteTrie {
 public:
  ByteTrie() { root_.fill(-1); }
  void insert(std::string_view text, int32_t id);
  // Calls found(id) for every token whose text occurs in `text` (possibly several times per id).
  template <typename F>
  void scan(std::string_view text, F&& found) const {
    if (nodes_.empty()) return;
    for (size_t i = 0; i < text.size(); ++i) {
      int32_t n = root_[static_cast<uint8_t>(text[i])];
      for (size_t j = i + 1; n >= 0; ++j) {
        if (nodes_[n].id >= 0) found(nodes_[n].id);
        if (j >= text.size()) break;
        n = child(n, static_cast<uint8_t>(text[j]));
      }
    }
  }
  // The longest token that is a prefix of `text`: {id, length}, or {-1, 0}.
  std::pair<int32_t, size_t> longest_prefix(std::string_view text) const {
    std::pair<int32_t, size_t> best{-1, 0};
    if (text.empty() || nodes_.empty()) return best;
    int32_t n = root_[static_cast<uint8_t>(text[0])];
    for (size_t j = 1; n >= 0; ++j) {
      if (nodes_[n].id >= 0) best = {nodes_[n].id, j};
      if (j >= text.size()) break;
      n = child(n, static_cast<uint8_t>(text[j]));
    }
    return best;
  }

 private:
  struct Node {
    int32_t id = -1;
    std::vector<std::pair<uint8_t, int32_t>> kids;  // sorted by byte
  };
  int32_t child(int32_t n, uint8_t b) const;
  std::array<int32_t, 256> root_{};
  std::vector<Node> nodes_;
};

// Open-addressing hash table from 64-bit keys (never ~0) to small values: one probe sequence in one
// array, for the lookups in the encoders' inner loops.
template <typename V>
class FlatMap {
 public:
  // Inserts when absent; returns false (and keeps the old value) when the key is present.
  bool insert(uint64_t key, V value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    size_t i = index(key);
    while (slots_[i].key != kEmpty) {
      if (slots_[i].key == key) return false;
      i = (i + 1) & mask_;
    }
    slots_[i] = {key, value};
    ++size_;
    return true;
  }
  const V* find(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    for (size_t i = index(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return &slots_[i].value;
      if (slots_[i].key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }
  void reserve(size_t n) {
    while (slots_.size() < 2 * n) grow();
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    V value{};
  };
  size_t index(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_); }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    const size_t n = old.empty() ? 16 : old.size() * 2;
    slots_.assign(n, Slot{});
    mask_ = n - 1;
    shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(n));
    for (const Slot& s : old) {
      if (s.key == kEmpty) continue;
      size_t i = index(s.key);
      while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0, size_ = 0;
  unsigned shift_ = 64;
};

inline uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

// BPE merge table over interned strings: every token text, every merge side and every merge result
// gets a symbol id, so merging compares integers.
struct BpeTable {
  StringMap symbols;                  // string -> symbol id
  std::vector<int32_t> symbol_token;  // symbol id -> token id (-1 if the string is not a token)
  struct Merge {
    int32_t rank;
    int32_t result;  // symbol id of the merged string
  };
  FlatMap<Merge> merges;                         // pair_key(left symbol, right symbol) -> merge
  std::array<int32_t, 256> byte_symbol{};        // symbol of each byte's GPT-2 character (-1 if none)
  std::array<int32_t, 256> single_byte_token{};  // token whose text is exactly that one raw byte
  int32_t intern(std::string_view s);
  const Merge* find(int32_t left, int32_t right) const { return merges.find(pair_key(left, right)); }
};

struct Vocab {
  VocabType type = VocabType::kSpm;
  std::string model;  // tokenizer.ggml.model
  std::string pre;    // resolved pre-tokenizer name
  std::string general_name;

  std::vector<std::string> text;  // token id -> text
  std::vector<float> score;
  std::vector<uint32_t> attr;
  std::vector<std::string> piece;  // token id -> decoded bytes (special tokens rendered)
  StringMap token_to_id;

  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, sep = -1, pad = -1, mask = -1, nl = -1;
  int32_t fim_pre = -1, fim_suf = -1, fim_mid = -1, fim_pad = -1, fim_rep = -1, fim_sep = -1;
  bool add_bos = false, add_eos = false, add_sep = false;
  bool add_space_prefix = false;
  bool ignore_merges = false;
  bool clean_spaces = false;
  bool wpm_lowercase = true;
  bool wpm_strip_accents = true;
  std::vector<int32_t> eog;  // sorted

  // Special tokens (control, user-defined, unknown) by decreasing text length: the order in which
  // their text is searched for.
  std::vector<int32_t> special_order;
  ByteTrie special_all;   // all of them (parse_special)
  ByteTrie special_user;  // those matched even in plain text (user-defined, not control/unknown)
  // Tokens longer than kMaxTrieToken stay out of the tries (their memory is bounded) and are searched
  // for directly: special ones, and WordPiece ones (longest first).
  static constexpr size_t kMaxTrieToken = 1024;
  std::vector<int32_t> special_long;
  std::vector<int32_t> wpm_long;

  std::array<int32_t, 256> byte_token{};  // SPM byte fallback: <0xNN> (or the raw byte) -> id, -1
  // SPM: pairs of adjacent characters that occur inside some token (spm_char_key of each). Where the
  // text has a pair that is not here, no merge can cross, so the text is merged in separate segments.
  FlatMap<char> spm_pairs;

  ByteTrie wpm_trie;                     // WPM: all tokens
  std::unique_ptr<PreTokenizer> pretok;  // BPE
  BpeTable bpe;                          // BPE

  int32_t find(std::string_view s) const {
    auto it = token_to_id.find(s);
    return it == token_to_id.end() ? -1 : it->second;
  }
  int32_t n() const { return static_cast<int32_t>(text.size()); }
};

// The key of one SentencePiece character (the bytes of one UTF-8 sequence, at most 4).
inline uint64_t spm_char_key(std::string_view s, size_t off, size_t n) {
  uint32_t k = 0;
  for (size_t i = 0; i < n; ++i) k |= static_cast<uint32_t>(static_cast<uint8_t>(s[off + i])) << (8 * i);
  return k;
}

// Encoders: append the ids of one raw-text fragment (no special tokens inside) to `out`.
void encode_spm(const Vocab& v, std::string_view text, std::vector<int32_t>& out);
void encode_wpm(const Vocab& v, std::string_view text, std::vector<int32_t>& out);
// BPE keeps state (buffers, a cache of words) across the fragments of one encode() call.
class BpeSession {
 public:
  explicit BpeSession(const Vocab& v);
  ~BpeSession();
  void encode(std::string_view text, std::vector<int32_t>& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The decoded bytes of a token with special tokens rendered (the piece cache is built with this).
std::string compute_piece(const Vocab& v, int32_t id);

}  // namespace hearth::tokenizer
