#include "tokenizer/pretokenize.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include "base/error.h"
#include "base/log.h"
#include "tokenizer/unicode.h"

namespace hearth::tokenizer {

namespace {

// The regexes are the reference implementation's (facts, written for PCRE2). Where it wrote a
// repeated lookahead group, an equivalent character class is used (same matches, no backtracking
// frames): ((?=[\p{L}])([^a-z])) is [^\P{L}a-z].
const char* const kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
const char* const kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Letters of the cased scripts, as code point ranges (written as escapes: some of these code points
// are singletons that Unicode normalization of the source text would silently change).
const char* const kDeepseekLlmLetters =
    "\\s?["
    "A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}"
    "\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}"
    "\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}"
    "\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}"
    "\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}"
    "\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}"
    "\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}"
    "\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}"
    "\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}"
    "\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}"
    "\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}"
    "\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}"
    "\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}"
    "\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}"
    "\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}"
    "\\x{1E900}-\\x{1E943}"
    "]+";
// The reference matches these explicit ranges after replacing non-ASCII white space with a vertical
// tab, so white space never matches them: the ranges here leave it out (U+1680, U+2000-U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000).
const char* const kCjk =
    R"([\x{4E00}-\x{9FA5}\x{800}-\x{167F}\x{1681}-\x{1FFF}\x{200B}-\x{2027}\x{202A}-\x{202E}\x{2030}-\x{205E})"
    R"(\x{2060}-\x{2FFF}\x{3001}-\x{4E00}\x{AC00}-\x{D7FF}]+)";
const char* const kTrailingSpace = R"(\s+$)";  // handled without the regex engine (linear)
const char* const kTekken =
    R"([^\r\n\p{L}\p{N}]?[^\P{L}a-z]*[^\P{L}A-Z]+|[^\r\n\p{L}\p{N}]?[^\P{L}a-z]+[^\P{L}A-Z]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kGpt4o =
    R"([^\r\n\p{L}\p{N}]?[^\P{L}a-z]*[^\P{L}A-Z]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?[^\P{L}a-z]+[^\P{L}A-Z]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kDeepseekV3 =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kBloom = R"( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{964}\x{6D4}\x{60C})]+)";

struct Group {
  std::vector<std::string> names;
  PreTokenizerSpec spec;
};

const std::vector<Group>& groups() {
  static const std::vector<Group> g = {
      {{"default"}, {"default", {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}}},
      {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"},
       {"llama-bpe", {kLlama3}, true, true, true}},
      {{"dbrx", "smaug-bpe"}, {"dbrx", {kLlama3}}},
      {{"chatglm-bpe", "glm4"}, {"chatglm-bpe", {kLlama3}}},
      {{"deepseek-llm"},
       {"deepseek-llm",
        {"[\r\n]", kDeepseekLlmLetters,
         R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3001}-\x{3002}]+)",
         kTrailingSpace, kCjk, R"(\p{N}+)"},
        false,
        false}},
      {{"deepseek-coder"},
       {"deepseek-coder", {"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kCjk, R"(\p{N})"}, false, false}},
      {{"deepseek-v3", "hunyuan-dense"},
       {"deepseek-v3",
        {R"(\p{N}{1,3})", R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)", kDeepseekV3},
        false,
        false}},
      {{"falcon"}, {"falcon", {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"}}},
      {{"starcoder", "refact", "codeshell", "exaone", "minerva-7b"}, {"starcoder", {R"(\p{N})", kGpt2}}},
      {{"command-r", "smollm"}, {"command-r", {R"(\p{N})", kGpt2}, false, false}},
      {{"gpt-2", "gpt2", "mpt", "olmo", "jais", "phi-2", "jina-es", "jina-de", "jina-v1-en", "jina-v2-es",
        "jina-v2-de", "jina-v2-code", "roberta-bpe", "gigachat", "exaone4", "trillion", "granite-docling"},
       {"gpt-2", {kGpt2}}},
      {{"stablelm2"}, {"stablelm2", {kQwen2}}},
      {{"qwen2", "deepseek-r1-qwen", "megrez", "hunyuan"}, {"qwen2", {kQwen2}, false, false}},
      {{"poro-chat", "bloom", "gpt3-finnish"}, {"bloom", {kBloom}, false, false}},
      {{"viking"}, {"viking", {kBloom, R"(\p{N})"}, false, false}},
      {{"tekken"}, {"tekken", {kTekken}, true, false, true}},
      {{"gpt-4o", "llama4"}, {"gpt-4o", {kGpt4o}, false, false}},
  };
  return g;
}

const PreTokenizerSpec* find_spec(const std::string& name) {
  for (const auto& g : groups())
    if (std::find(g.names.begin(), g.names.end(), name) != g.names.end()) return &g.spec;
  return nullptr;
}

}  // namespace

PreTokenizerSpec resolve_pre_tokenizer(const std::string& pre) {
  if (pre.empty()) {
    log::warn("tokenizer: the vocabulary names no pre-tokenizer (tokenizer.ggml.pre); using 'default'");
    return *find_spec("default");
  }
  if (const PreTokenizerSpec* s = find_spec(pre)) {
    PreTokenizerSpec r = *s;
    r.name = pre;
    return r;
  }
  const auto has = [&](const char* s) { return pre.find(s) != std::string::npos; };
  const char* fallback = "default";
  if (has("qwen"))
    fallback = "qwen2";
  else if (has("deepseek") && has("coder"))
    fallback = "deepseek-coder";
  else if (has("deepseek"))
    fallback = "deepseek-llm";
  else if (has("llama4") || has("gpt-4o"))
    fallback = "gpt-4o";
  else if (has("llama"))
    fallback = "llama-bpe";
  else if (has("starcoder") || has("refact") || has("smollm"))
    fallback = "starcoder";
  else if (has("gpt"))
    fallback = "gpt-2";
  log::warn("tokenizer: unknown pre-tokenizer '{}'; using '{}' (token ids may differ from the reference)",
            pre, fallback);
  return *find_spec(fallback);
}

namespace {

// The Unicode White_Space property as a class body: what `\s` means to the reference (its tables, and
// its std::regex after it has turned non-ASCII white space into a vertical tab).
const char* const kSpaceClass =
    R"(\t-\r\x20\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

// Rewrites \s and \S into explicit classes of kSpaceClass, so that PCRE2 (whose \s differs from one
// version to the next) matches exactly the reference's white space.
std::string rewrite_spaces(const std::string& re) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\' && i + 1 < re.size()) {
      const char e = re[i + 1];
      if (e == 's') {
        out += in_class ? std::string(kSpaceClass) : "[" + std::string(kSpaceClass) + "]";
      } else if (e == 'S') {
        if (in_class) fail("tokenizer: \\S inside a character class is not supported ({})", re);
        out += "[^" + std::string(kSpaceClass) + "]";
      } else {
        out += c;
        out += e;
      }
      ++i;
      continue;
    }
    if (c == '[' && !in_class)
      in_class = true;
    else if (c == ']' && in_class)
      in_class = false;
    out += c;
  }
  return out;
}

}  // namespace

struct PreTokenizer::Impl {
  struct Rx {
    pcre2_code* code = nullptr;
    bool trailing_space = false;
  };
  std::vector<Rx> rx;
  pcre2_match_context* mctx = nullptr;
  ~Impl() {
    for (auto& r : rx)
      if (r.code) pcre2_code_free(r.code);
    if (mctx) pcre2_match_context_free(mctx);
  }
};

PreTokenizer::PreTokenizer(const std::vector<std::string>& regexes) : impl_(std::make_unique<Impl>()) {
  impl_->mctx = pcre2_match_context_create(nullptr);
  if (!impl_->mctx) fail("tokenizer: out of memory creating a regex match context");
  // The patterns are linear (no nested repeats); the limits only guard against surprises.
  pcre2_set_match_limit(impl_->mctx, 500000000);
  pcre2_set_heap_limit(impl_->mctx, 1u << 20);  // KiB
  for (const auto& re : regexes) {
    Impl::Rx r;
    if (re == kTrailingSpace) {
      r.trailing_space = true;
      impl_->rx.push_back(r);
      continue;
    }
    const std::string pattern = rewrite_spaces(re);
    int err = 0;
    PCRE2_SIZE erroff = 0;
    r.code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                           PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &erroff, nullptr);
    if (!r.code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      fail("tokenizer: pre-tokenizer regex does not compile at offset {}: {} ({})", erroff,
           reinterpret_cast<const char*>(msg), re);
    }
    pcre2_jit_compile(r.code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when unavailable
    impl_->rx.push_back(r);
  }
}

PreTokenizer::~PreTokenizer() = default;

namespace {

// Start of the run of white space that ends piece [s, e) of `t` (e when there is none).
size_t trailing_space_start(std::string_view t, size_t s, size_t e) {
  size_t p = e;
  while (p > s) {
    size_t q = p - 1;
    while (q > s && (static_cast<uint8_t>(t[q]) & 0xC0) == 0x80) --q;
    size_t off = q;
    const uint32_t c = unicode::decode_one(t, off);
    if (off != p || !unicode::is_whitespace(c)) break;
    p = q;
  }
  return p;
}

}  // namespace

bool PreTokenizer::split(std::string_view text, std::string& storage,
                         std::vector<std::string_view>& words) const {
  words.clear();
  if (text.empty()) return false;

  // The words are cut from `orig`: the text as the reference re-encodes it (invalid bytes become
  // U+FFFD; code points it reads from overlong forms are written canonically). The regexes run on
  // `match`, the same bytes with surrogates (which PCRE2 rejects) replaced by U+E000, a code point of
  // the same class for every pattern and of the same length.
  std::string_view orig = text, match = text;
  std::string match_buf;
  const bool reencoded = !unicode::is_canonical_utf8(text);
  if (reencoded) {
    storage.clear();
    storage.reserve(text.size() + 16);
    bool surrogates = false;
    for (size_t off = 0; off < text.size();) {
      const uint32_t c = unicode::decode_one(text, off);
      surrogates |= c >= 0xD800 && c <= 0xDFFF;
      unicode::append_utf8(storage, c);
    }
    orig = match = storage;
    if (surrogates) {
      match_buf.reserve(storage.size());
      for (size_t off = 0; off < storage.size();) {
        const size_t start = off;
        const uint32_t c = unicode::decode_one(storage, off);
        if (c >= 0xD800 && c <= 0xDFFF)
          match_buf += "\xEE\x80\x80";
        else
          match_buf.append(storage, start, off - start);
      }
      match = match_buf;
    }
  }

  std::vector<size_t> cuts = {0, match.size()}, next;
  pcre2_match_data* md = pcre2_match_data_create(16, nullptr);
  if (!md) fail("tokenizer: out of memory creating regex match data");
  struct Free {
    pcre2_match_data* m;
    ~Free() { pcre2_match_data_free(m); }
  } free_md{md};

  for (const auto& rx : impl_->rx) {
    next.clear();
    next.push_back(0);
    for (size_t k = 0; k + 1 < cuts.size(); ++k) {
      const size_t s = cuts[k], e = cuts[k + 1];
      if (rx.trailing_space) {  // \s+$
        const size_t t = trailing_space_start(match, s, e);
        if (t > s && t < e) next.push_back(t);
        next.push_back(e);
        continue;
      }
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(match.data() + s);
      const size_t len = e - s;
      size_t prev = 0, pos = 0;
      const auto cut = [&](size_t p) {
        if (p > prev) {
          next.push_back(s + p);
          prev = p;
        }
      };
      while (pos < len) {
        int rc = pcre2_match(rx.code, subject, len, pos, PCRE2_NO_UTF_CHECK, md, impl_->mctx);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
          rc = pcre2_match(rx.code, subject, len, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, impl_->mctx);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          PCRE2_UCHAR msg[256];
          pcre2_get_error_message(rc, msg, sizeof msg);
          fail("tokenizer: pre-tokenizer regex failed on the input: {}", reinterpret_cast<const char*>(msg));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const size_t ms = ov[0], me = ov[1];
        if (me <= ms) {  // empty match: try again one character later
          pos = ms + std::max<size_t>(1, unicode::seq_len(subject[ms]));
          continue;
        }
        cut(ms);
        cut(me);
        pos = me;
      }
      cut(len);
    }
    std::swap(cuts, next);
  }

  words.reserve(cuts.size());
  for (size_t k = 0; k + 1 < cuts.size(); ++k) words.push_back(orig.substr(cuts[k], cuts[k + 1] - cuts[k]));
  return reencoded;
}

}  // namespace hearth::tokenizer
