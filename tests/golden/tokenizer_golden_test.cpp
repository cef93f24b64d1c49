// Token ids against the reference implementation for every vocabulary fixture, both test sets:
// <vocab>.gguf.inp/.out (hand-picked edge cases) and cases.inp/<vocab>.cases.out (generated cases).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace {

using hearth::tokenizer::DecodeOptions;
using hearth::tokenizer::Tokenizer;
using hearth::tokenizer::VocabType;

const std::string kVocabDir = std::string(HEARTH_FIXTURES) + "/vocab/";

const std::vector<std::string> kVocabs = {"baichuan", "bert-bge", "deepseek-coder", "deepseek-llm", "falcon",
                                          "gpt-2",    "gpt-neox", "llama-bpe",      "llama-spm",    "mpt",
                                          "phi-3",    "qwen2",    "refact",         "starcoder"};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return {};
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Strings separated by lines "__ggml_vocab_test__"; each ends at the newline before its separator.
std::vector<std::string> read_inputs(const std::string& path) {
  const std::string data = read_file(path);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> cases;
  size_t pos = 0;
  while (true) {
    const size_t p = data.find(sep, pos);
    if (p == std::string::npos) break;
    cases.push_back(data.substr(pos, p - pos));
    pos = p + sep.size();
  }
  return cases;
}

std::vector<std::vector<int32_t>> read_outputs(const std::string& path) {
  std::vector<std::vector<int32_t>> out;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<int32_t> ids;
    int32_t id;
    while (ls >> id) ids.push_back(id);
    out.push_back(std::move(ids));
  }
  return out;
}

std::string escape(const std::string& s) {
  std::string r;
  for (unsigned char c : s) {
    if (c == '\n')
      r += "\\n";
    else if (c == '\r')
      r += "\\r";
    else if (c == '\t')
      r += "\\t";
    else if (c < 0x20 || c == 0x7F)
      r += fmt::format("\\x{:02x}", c);
    else
      r.push_back(static_cast<char>(c));
  }
  return r;
}

std::string ids_str(const std::vector<int32_t>& ids) {
  std::string r;
  for (int32_t id : ids) {
    if (!r.empty()) r.push_back(' ');
    r.append(std::to_string(id));
  }
  return r;
}

const Tokenizer& load(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& t = cache[name];
  if (!t) {
    auto f = hearth::gguf::File::open(kVocabDir + "ggml-vocab-" + name + ".gguf", {.header_only = true});
    t = Tokenizer::from_gguf(*f);
  }
  return *t;
}

struct Set {
  std::vector<std::string> inputs;
  std::vector<std::vector<int32_t>> expected;
};

// set: "gguf" (<vocab>.gguf.inp/.out) or "cases" (cases.inp/<vocab>.cases.out). Empty when absent.
Set load_set(const std::string& vocab, const std::string& set) {
  Set s;
  const std::string stem = kVocabDir + "ggml-vocab-" + vocab;
  const std::string inp = set == "gguf" ? stem + ".gguf.inp" : kVocabDir + "cases.inp";
  const std::string out = set == "gguf" ? stem + ".gguf.out" : stem + ".cases.out";
  if (!std::filesystem::exists(out)) return s;
  s.inputs = read_inputs(inp);
  s.expected = read_outputs(out);
  return s;
}

class TokenizerGolden : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(TokenizerGolden, MatchesReference) {
  const auto& [vocab, set] = GetParam();
  const Set s = load_set(vocab, set);
  if (s.expected.empty()) GTEST_SKIP() << "no " << set << " set for " << vocab;
  ASSERT_EQ(s.inputs.size(), s.expected.size())
      << "inputs and outputs of the " << set << " set differ in count";
  const Tokenizer& tok = load(vocab);
  size_t pass = 0;
  std::string first;
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    const auto ids = tok.encode(s.inputs[i], /*add_special=*/false, /*parse_special=*/false);
    if (ids == s.expected[i]) {
      ++pass;
    } else if (first.empty()) {
      first = fmt::format("case {}: \"{}\"\n  expected: {}\n  actual:   {}", i, escape(s.inputs[i]),
                          ids_str(s.expected[i]), ids_str(ids));
    }
  }
  std::printf("[ %s / %s ] %zu/%zu cases match\n", vocab.c_str(), set.c_str(), pass, s.inputs.size());
  EXPECT_EQ(pass, s.inputs.size()) << "first mismatch, " << first;
}

// detokenize(tokenize(s)) == s wherever the reference round-trips: every vocabulary except WordPiece
// (which lowercases and drops white space); the clean-up of spaces before punctuation is the
// reference detokenizer's and is checked on the cases it does not touch.
TEST_P(TokenizerGolden, RoundTrip) {
  const auto& [vocab, set] = GetParam();
  const Set s = load_set(vocab, set);
  if (s.expected.empty()) GTEST_SKIP() << "no " << set << " set for " << vocab;
  const Tokenizer& tok = load(vocab);
  if (tok.type() == VocabType::kWpm) GTEST_SKIP() << "WordPiece does not round-trip (lowercase, no spaces)";
  size_t checked = 0, checked_clean = 0;
  for (const std::string& text : s.inputs) {
    const auto ids = tok.encode(text, false, false);
    DecodeOptions raw;
    raw.render_special = true;
    raw.clean_spaces = false;
    ASSERT_EQ(tok.decode(ids, raw), text) << "ids " << ids_str(ids);
    ++checked;
    bool touched = false;
    for (const char* p : {" ?", " !", " .", " ,", " '"}) touched |= text.find(p) != std::string::npos;
    if (touched) continue;
    DecodeOptions def;
    def.render_special = true;
    EXPECT_EQ(tok.decode(ids, def), text) << "ids " << ids_str(ids);
    ++checked_clean;
  }
  std::printf("[ %s / %s ] round trip: %zu cases, %zu also with the clean-up\n", vocab.c_str(), set.c_str(),
              checked, checked_clean);
}

// With BOS added, decoding keeps the space SentencePiece puts before the first word; without, it is
// dropped (the reference's detokenizer convention).
TEST(TokenizerGoldenSpm, LeadingSpaceConvention) {
  const Tokenizer& tok = load("llama-spm");
  const auto with_bos = tok.encode("Once upon a time", true, false);
  ASSERT_EQ(with_bos.front(), tok.bos());
  EXPECT_EQ(tok.decode(with_bos), " Once upon a time");
  const auto without = tok.encode("Once upon a time", false, false);
  EXPECT_EQ(tok.decode(without), "Once upon a time");
  DecodeOptions keep;
  keep.strip_leading_space = false;
  EXPECT_EQ(tok.decode(without, keep), " Once upon a time");
}

// stories260K (a real model): its greedy text fixture is the prompt and the continuation as the
// reference prints them, BOS first; decoding the same ids (streaming or not) reproduces it exactly.
TEST(TokenizerGoldenModels, StoriesGreedyTextConvention) {
  const std::string models = std::string(HEARTH_FIXTURES) + "/models/";
  auto f = hearth::gguf::File::open(models + "stories260K-f32.gguf", {.header_only = true});
  const auto tok = Tokenizer::from_gguf(*f);
  const std::string greedy = read_file(models + "stories260K.greedy.txt");
  ASSERT_FALSE(greedy.empty());
  const auto prompt = tok->encode("Once upon a time", true, false);
  ASSERT_EQ(prompt.front(), tok->bos());
  const std::string shown = tok->decode(prompt);
  EXPECT_EQ(greedy.substr(0, shown.size()), shown);
  EXPECT_EQ(shown, " Once upon a time");

  ASSERT_EQ(greedy[0], ' ');
  const auto ids = tok->encode(greedy.substr(1), true, false);
  hearth::tokenizer::StreamDecoder stream(*tok);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  EXPECT_EQ(streamed, greedy);
  EXPECT_EQ(tok->decode(ids), greedy);
}

// The logits manifest holds the reference's token ids for a passage with each model's vocabulary
// (2048-token prefixes of real vocabularies for the small models): decoding them and encoding the
// text again gives the same ids.
TEST(TokenizerGoldenModels, ManifestTokensRoundTrip) {
  const std::string dir = std::string(HEARTH_FIXTURES);
  const auto manifest = nlohmann::json::parse(read_file(dir + "/logits/manifest.json"));
  for (const char* name : {"stories260K-f32", "llama-s-f32", "qwen2-s-F16", "qwen3-s-BF16"}) {
    ASSERT_TRUE(manifest.contains(name)) << name;
    const std::vector<int32_t> want = manifest[name]["tokens"].get<std::vector<int32_t>>();
    auto f = hearth::gguf::File::open(dir + "/models/" + name + ".gguf", {.header_only = true});
    const auto tok = Tokenizer::from_gguf(*f);
    EXPECT_EQ(tok->n_vocab(), manifest[name]["n_vocab"].get<int32_t>());
    std::vector<int32_t> body = want;
    if (tok->add_bos() && !body.empty() && body.front() == tok->bos()) body.erase(body.begin());
    DecodeOptions o;
    o.clean_spaces = false;
    o.render_special = true;
    const std::string text = tok->decode(body, o);
    EXPECT_EQ(tok->encode(text, true, false), want) << name << ": " << escape(text);
  }
}

TEST(TokenizerGoldenFixtures, EveryVocabularyIsCovered) {
  for (const auto& e : std::filesystem::directory_iterator(kVocabDir)) {
    const std::string f = e.path().filename().string();
    const std::string prefix = "ggml-vocab-", suffix = ".gguf";
    if (f.rfind(prefix, 0) != 0 || f.size() <= prefix.size() + suffix.size() ||
        f.compare(f.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string name = f.substr(prefix.size(), f.size() - prefix.size() - suffix.size());
    EXPECT_NE(std::find(kVocabs.begin(), kVocabs.end(), name), kVocabs.end()) << name << " is not tested";
  }
}

std::string param_name(const ::testing::TestParamInfo<TokenizerGolden::ParamType>& info) {
  std::string n = std::get<0>(info.param) + "_" + std::get<1>(info.param);
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Vocabs, TokenizerGolden,
                         ::testing::Combine(::testing::ValuesIn(kVocabs), ::testing::Values("gguf", "cases")),
                         param_name);

}  // namespace
