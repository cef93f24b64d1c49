// tokenizer (internal): BPE pre-tokenizers. A pre-tokenizer is a sequence of regexes (the ones the
// reference implementation uses for each `tokenizer.ggml.pre`); each splits every piece the previous
// one produced into matches and the gaps between them. Matching is PCRE2 (UTF + UCP, JIT when
// available) over the text as the reference sees it: invalid UTF-8 becomes U+FFFD, and `\s` is the
// White_Space property (the reference's std::regex matches non-ASCII white space only as `\s`).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::tokenizer {

struct PreTokenizerSpec {
  std::string name;  // canonical name
  std::vector<std::string> regexes;
  bool ignore_merges = false;  // a word that is a token is emitted whole
  bool clean_spaces = true;    // the detokenizer's clean-up of spaces
  bool add_bos = false;        // default for add_bos_token
};

// The spec for a `tokenizer.ggml.pre` value. Empty (missing) gives "default"; an unknown name logs a
// warning and falls back to the closest known one.
PreTokenizerSpec resolve_pre_tokenizer(const std::string& pre);

class PreTokenizer {
 public:
  // Compiles the regexes; throws hearth::Error when one does not compile.
  explicit PreTokenizer(const std::vector<std::string>& regexes);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Splits `text` into words. The words view `text` itself or, when the text had to be re-encoded
  // (invalid UTF-8), `storage`; returns true in that case.
  bool split(std::string_view text, std::string& storage, std::vector<std::string_view>& words) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hearth::tokenizer
