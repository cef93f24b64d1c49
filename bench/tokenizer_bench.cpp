// Tokenizer throughput (MB/s) on 1 MB of mixed text (multilingual prose, code, emoji, digits, built
// from the fixture cases) for SentencePiece, BPE and WordPiece vocabularies, and on long inputs that
// must stay near-linear: 1 MB without spaces and 100k repetitions of one character.
// Fixtures: $HEARTH_FIXTURES, else ../shared/fixtures relative to the working directory or the binary.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using hearth::tokenizer::Tokenizer;

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

const Tokenizer* tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& t = cache[name];
  if (!t) {
    const std::string dir = fixtures_dir();
    if (dir.empty()) return nullptr;
    auto f = hearth::gguf::File::open(dir + "/vocab/ggml-vocab-" + name + ".gguf", {.header_only = true});
    t = Tokenizer::from_gguf(*f);
  }
  return t.get();
}

// About 1 MB of text: the fixture cases in a fixed pseudo-random order.
const std::string& mixed_text() {
  static const std::string text = [] {
    std::ifstream f(fixtures_dir() + "/vocab/cases.inp", std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    const std::string data = ss.str();
    std::vector<std::string> cases;
    const std::string sep = "\n__ggml_vocab_test__\n";
    for (size_t pos = 0, p; (p = data.find(sep, pos)) != std::string::npos; pos = p + sep.size())
      cases.push_back(data.substr(pos, p - pos));
    std::string out;
    if (cases.empty()) return out;
    std::mt19937 rng(42);
    while (out.size() < (1u << 20)) {
      out += cases[rng() % cases.size()];
      out += rng() % 4 ? " " : "\n";
    }
    return out;
  }();
  return text;
}

// Random letters without spaces (one pre-tokenizer word for BPE).
const std::string& no_spaces_text(size_t size = 1u << 20) {
  static std::map<size_t, std::string> cache;
  std::string& text = cache[size];
  if (text.empty()) {
    std::mt19937 rng(7);
    const std::string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    while (text.size() < size) text.push_back(alphabet[rng() % alphabet.size()]);
  }
  return text;
}

const std::string& repeated_text() {
  static const std::string text(100000, 'a');
  return text;
}

void run(benchmark::State& state, const std::string& vocab, const std::string& text) {
  const Tokenizer* tok = tokenizer(vocab);
  if (!tok || text.empty()) {
    state.SkipWithError("fixtures not found (set HEARTH_FIXTURES)");
    return;
  }
  size_t n_tokens = 0;
  for (auto _ : state) {
    auto ids = tok->encode(text, false, false);
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(n_tokens);
}

void BM_EncodeMixed(benchmark::State& state, const char* vocab) { run(state, vocab, mixed_text()); }
void BM_EncodeNoSpaces(benchmark::State& state, const char* vocab) { run(state, vocab, no_spaces_text()); }
void BM_EncodeRepeated(benchmark::State& state, const char* vocab) { run(state, vocab, repeated_text()); }
// Time per byte must stay flat as the input grows (near-linear, never quadratic).
void BM_Scaling(benchmark::State& state, const char* vocab) {
  run(state, vocab, no_spaces_text(static_cast<size_t>(state.range(0))));
}

void BM_Decode(benchmark::State& state, const char* vocab) {
  const Tokenizer* tok = tokenizer(vocab);
  if (!tok || mixed_text().empty()) {
    state.SkipWithError("fixtures not found (set HEARTH_FIXTURES)");
    return;
  }
  const auto ids = tok->encode(mixed_text(), false, false);
  for (auto _ : state) {
    auto s = tok->decode(ids);
    benchmark::DoNotOptimize(s.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * mixed_text().size()));
}

BENCHMARK_CAPTURE(BM_EncodeMixed, spm_llama, "llama-spm")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed, bpe_llama3, "llama-bpe")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed, bpe_qwen2, "qwen2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed, bpe_gpt2, "gpt-2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed, bpe_deepseek_llm, "deepseek-llm")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed, wpm_bert, "bert-bge")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeNoSpaces, spm_llama, "llama-spm")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeNoSpaces, bpe_llama3, "llama-bpe")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeNoSpaces, bpe_gpt2, "gpt-2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeNoSpaces, wpm_bert, "bert-bge")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeRepeated, spm_llama, "llama-spm")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeRepeated, bpe_llama3, "llama-bpe")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeRepeated, bpe_gpt2, "gpt-2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Scaling, spm_llama, "llama-spm")
    ->RangeMultiplier(4)
    ->Range(64 << 10, 1 << 20)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Scaling, bpe_gpt2, "gpt-2")
    ->RangeMultiplier(4)
    ->Range(64 << 10, 1 << 20)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Decode, spm_llama, "llama-spm")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Decode, bpe_llama3, "llama-bpe")->Unit(benchmark::kMillisecond);

}  // namespace
