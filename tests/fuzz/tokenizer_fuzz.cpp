// libFuzzer target: tokenize and detokenize arbitrary bytes with fixture vocabularies (SentencePiece,
// byte-level BPE with two pre-tokenizers, WordPiece), loaded once. The first input byte picks the
// vocabulary and the flags; the rest is the text. Checks: ids are in range, the streaming decoder
// agrees with decode(), and SentencePiece / GPT-2 round-trip valid UTF-8 exactly.
// Fixtures: $HEARTH_FIXTURES, else ../shared/fixtures relative to the working directory or the binary.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using hearth::tokenizer::DecodeOptions;
using hearth::tokenizer::StreamDecoder;
using hearth::tokenizer::Tokenizer;

struct Loaded {
  std::string name;
  std::unique_ptr<Tokenizer> tok;
};

std::string fixtures_dir() {
  if (const char* e = std::getenv("HEARTH_FIXTURES")) return e;
  std::vector<fs::path> bases = {fs::current_path()};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) bases.push_back(exe.parent_path());
  for (const auto& b : bases)
    for (const char* rel : {"../shared/fixtures", "../../shared/fixtures", "../../../shared/fixtures"})
      if (fs::exists(b / rel / "vocab")) return (b / rel).string();
  return {};
}

const std::vector<Loaded>& vocabs() {
  static const std::vector<Loaded> v = [] {
    const std::string dir = fixtures_dir();
    if (dir.empty()) {
      std::fprintf(stderr, "tokenizer_fuzz: fixtures not found (set HEARTH_FIXTURES)\n");
      std::abort();
    }
    std::vector<Loaded> r;
    for (const char* name : {"llama-spm", "gpt-2", "qwen2", "deepseek-llm", "bert-bge"}) {
      auto f = hearth::gguf::File::open(dir + "/vocab/ggml-vocab-" + name + ".gguf", {.header_only = true});
      r.push_back({name, Tokenizer::from_gguf(*f)});
    }
    return r;
  }();
  return v;
}

[[noreturn]] void die(const char* what, const std::string& vocab) {
  std::fprintf(stderr, "tokenizer_fuzz: %s (%s)\n", what, vocab.c_str());
  std::abort();
}

bool canonical_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t b = static_cast<uint8_t>(s[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t c = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (size_t k = 1; k < n; ++k) {
      const uint8_t x = static_cast<uint8_t>(s[i + k]);
      if ((x & 0xC0) != 0x80) return false;
      c = (c << 6) | (x & 0x3F);
    }
    const uint32_t min = n == 1 ? 0 : n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

// starts[i]: a character starts at byte i, where a character is a lead byte with all the continuation
// bytes it announces, and any other byte stands alone.
std::vector<char> unit_starts(const std::string& s) {
  std::vector<char> starts(s.size() + 1, 0);
  size_t i = 0;
  while (i < s.size()) {
    starts[i] = 1;
    const uint8_t b = static_cast<uint8_t>(s[i]);
    const size_t n = (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;
    size_t k = 1;
    while (k < n && i + k < s.size() && (static_cast<uint8_t>(s[i + k]) & 0xC0) == 0x80) ++k;
    i += k == n ? n : 1;
  }
  starts[s.size()] = 1;
  return starts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& all = vocabs();
  const uint8_t mode = data[0];
  const Loaded& v = all[mode % all.size()];
  const Tokenizer& tok = *v.tok;
  const bool add_special = mode & 0x08, parse_special = mode & 0x10;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);

  std::vector<int32_t> ids;
  try {
    ids = tok.encode(text, add_special, parse_special);
  } catch (const hearth::Error&) {
    return 0;  // a clear error is an acceptable answer to hostile input
  }
  for (int32_t id : ids)
    if (!tok.valid(id)) die("token id out of range", v.name);

  DecodeOptions o;
  o.render_special = mode & 0x20;
  o.strip_leading_space = !(mode & 0x40);
  o.clean_spaces = false;
  const std::string decoded = tok.decode(ids, o);
  StreamDecoder stream(tok, o);
  std::string streamed;
  std::vector<size_t> cuts;  // where one push() ended and the next began
  for (int32_t id : ids) {
    streamed += stream.push(id);
    cuts.push_back(streamed.size());
  }
  streamed += stream.flush();
  if (streamed != decoded) die("stream and decode disagree", v.name);
  // No cut may fall inside a well-formed sequence (lead byte + its continuation bytes) of the text.
  const std::vector<char> starts = unit_starts(streamed);
  for (size_t c : cuts)
    if (c < streamed.size() && !starts[c]) die("stream split a character", v.name);

  DecodeOptions def;
  (void)tok.decode(ids, def);  // with the clean-up of spaces

  // Exact round trip of valid UTF-8 where the vocabulary allows it: SentencePiece (byte fallback;
  // U+2581 stands for a space, so texts containing it are skipped) and GPT-2 (every byte is a token).
  if (!parse_special && canonical_utf8(text) && (v.name == "llama-spm" || v.name == "gpt-2") &&
      text.find("\xE2\x96\x81") == std::string::npos) {
    DecodeOptions exact;
    exact.render_special = true;
    exact.clean_spaces = false;
    exact.remove_special = true;
    // (With BOS added the reference's decoder keeps the space SentencePiece put before the text.)
    if ((!add_special || !tok.add_bos()) && tok.decode(ids, exact) != text) die("round trip failed", v.name);
  }
  return 0;
}
