// tokenizer: text <-> token ids for the vocabularies GGUF files carry (`tokenizer.ggml.*`):
// SentencePiece-style (`llama`), byte-level BPE with pre-tokenizers (`gpt2`) and WordPiece (`bert`).
// The ids are exactly those of the reference implementation (llama.cpp). Also the detokenizer and a
// streaming decoder that never emits a partial UTF-8 sequence.
// Knows gguf metadata and nothing of models, sampling or HTTP. Thread-safe: every method is const.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::gguf {
class File;
}

namespace hearth::tokenizer {

enum class VocabType { kSpm, kBpe, kWpm };

// Token attributes (bit flags, as the reference defines them).
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrNormalized = 1u << 6,
  kAttrLstrip = 1u << 7,
  kAttrRstrip = 1u << 8,
  kAttrSingleWord = 1u << 9,
};

struct DecodeOptions {
  // SentencePiece vocabularies with add_space_prefix: drop the space the encoder put before the first
  // word. Not done when the ids start with BOS (the reference's convention, so BOS + "▁Once" prints
  // " Once").
  bool strip_leading_space = true;
  // Print the text of control and unknown tokens (e.g. "<|im_start|>"); hidden otherwise.
  bool render_special = false;
  // Drop a leading BOS and a trailing EOS when the vocabulary adds them.
  bool remove_special = false;
  // Apply the vocabulary's clean-up of spaces before punctuation (the reference's detokenizer does,
  // for BPE vocabularies whose tokenizer asks for it).
  bool clean_spaces = true;
};

struct Vocab;  // internal

class Tokenizer {
 public:
  // Reads and validates `tokenizer.ggml.*`; throws hearth::Error with a clear message.
  static std::unique_ptr<Tokenizer> from_gguf(const gguf::File& file);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // add_special: BOS/EOS (CLS/SEP for WordPiece) as the vocabulary asks. parse_special: text of control
  // tokens ("<|im_start|>") becomes those tokens (chat prompts); never do this for user text.
  // User-defined tokens are always matched, like the reference. Invalid UTF-8 is encoded the way the
  // reference does (byte fallback for SentencePiece, U+FFFD for BPE and WordPiece).
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  // The bytes of one token as the detokenizer produces them (may be a partial UTF-8 sequence).
  // Control/unknown tokens give their text when render_special, nothing otherwise.
  std::string token_to_piece(int32_t id, bool render_special = true) const;
  std::string decode(std::span<const int32_t> ids, const DecodeOptions& opt = {}) const;

  int32_t n_vocab() const;
  VocabType type() const;
  const std::string& model() const;  // tokenizer.ggml.model
  const std::string& pre() const;    // tokenizer.ggml.pre as resolved ("default" when absent)

  int32_t bos() const;  // -1 if none
  int32_t eos() const;
  int32_t eot() const;
  int32_t eom() const;
  int32_t pad() const;
  int32_t unk() const;
  int32_t sep() const;
  int32_t nl() const;
  bool add_bos() const;
  bool add_eos() const;
  bool add_space_prefix() const;
  // End of generation: EOS, EOT and the end tokens the reference recognises by text (<|im_end|>,
  // <|eot_id|>, <|endoftext|>, ...).
  bool is_eog(int32_t id) const;
  const std::vector<int32_t>& eog_ids() const;  // sorted

  bool valid(int32_t id) const { return id >= 0 && id < n_vocab(); }
  const std::string& token_text(int32_t id) const;  // throws hearth::Error for an invalid id
  uint32_t token_attr(int32_t id) const;            // TokenAttr bits
  float token_score(int32_t id) const;
  bool is_control(int32_t id) const { return token_attr(id) & kAttrControl; }
  int32_t find_token(std::string_view text) const;  // exact token text -> id, -1 if absent

  const Vocab& vocab() const { return *v_; }

 private:
  explicit Tokenizer(std::unique_ptr<Vocab> v);
  std::unique_ptr<Vocab> v_;
};

// Incremental detokenizer for generation: push() returns the bytes that are complete; a multi-byte
// character split across tokens is held until its last byte arrives. The concatenation of all push()
// results and flush() equals decode(ids, opt) without the clean-up of spaces.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, DecodeOptions opt = {});
  std::string push(int32_t id);
  std::string flush();  // whatever is held (an incomplete sequence at the end of the stream)
  void reset();         // start a new stream

 private:
  const Tokenizer& tok_;
  DecodeOptions opt_;
  bool first_ = true;
  std::string pending_;
};

// Length of the longest prefix of `s` that does not end inside an incomplete (but so far valid)
// UTF-8 sequence.
size_t utf8_complete_prefix(std::string_view s);

}  // namespace hearth::tokenizer
