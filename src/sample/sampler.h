// sample: turns logits into the next token (the sampler chain); stop strings are in sample/stop.h,
// JSON mode's validator in sample/json_constraint.h, API log-probabilities in sample/logprobs.h.
// Knows nothing of GGUF, models or tokenizers: it sees float logits, token ids and text.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth::sample {

// The GGUF metadata keys (llama.cpp's `general.sampling.*`) that apply_gguf_defaults reads. The caller
// (who knows GGUF) looks these up and passes the numeric values it finds.
inline constexpr std::string_view kGgufTemp = "general.sampling.temp";
inline constexpr std::string_view kGgufTopK = "general.sampling.top_k";
inline constexpr std::string_view kGgufTopP = "general.sampling.top_p";
inline constexpr std::string_view kGgufMinP = "general.sampling.min_p";
inline constexpr std::string_view kGgufPenaltyLastN = "general.sampling.penalty_last_n";
inline constexpr std::string_view kGgufPenaltyRepeat = "general.sampling.penalty_repeat";
inline constexpr std::string_view kGgufSamplingKeys[] = {kGgufTemp, kGgufTopK,         kGgufTopP,
                                                         kGgufMinP, kGgufPenaltyLastN, kGgufPenaltyRepeat};

struct SamplerParams {
  // seed value meaning "pick a random seed at construction" (llama.cpp's -1 / 0xFFFFFFFF idea).
  static constexpr uint64_t kRandomSeed = ~uint64_t{0};

  float temperature = 0.8f;             // <= 0: greedy argmax (after logit bias and penalties)
  int32_t top_k = 40;                   // <= 0: off
  float top_p = 0.95f;                  // 1: off; [0, 1]
  float min_p = 0.05f;                  // 0: off; [0, 1], relative to the most likely token
  float typical_p = 1.0f;               // 1: off; [0, 1]
  float repeat_penalty = 1.0f;          // 1: off; > 0. Positive logits are divided, negative multiplied
  int32_t repeat_last_n = 64;           // penalty window: -1 = every token accepted since reset, 0 = off
  float frequency_penalty = 0;          // subtracted count times (count within the window)
  float presence_penalty = 0;           // subtracted once if the token is in the window
  std::map<int32_t, float> logit_bias;  // added to the logit; -inf bans the token
  uint64_t seed = kRandomSeed;

  // Overwrites the fields whose `general.sampling.*` key is present in `meta` (see kGgufSamplingKeys);
  // missing keys keep the current values (the usual defaults above). Values out of range are ignored
  // with a warning: a model file's suggestion must not make the model unusable.
  void apply_gguf_defaults(const std::map<std::string, double>& meta);
  static SamplerParams from_gguf_defaults(const std::map<std::string, double>& meta);

  // Throws hearth::Error naming the first invalid field (NaN, out of range, +inf bias, ...).
  void validate() const;
};

// The sampler chain, in llama.cpp's default order: logit bias -> penalties -> top_k -> typical ->
// top_p -> min_p -> temperature -> softmax -> draw. One per sequence; not thread-safe.
// sample() allocates only on the first call (or when n_vocab grows).
class Sampler {
 public:
  explicit Sampler(SamplerParams params);  // validates (throws hearth::Error)

  // Picks the next token. Logits are not modified. Throws hearth::Error if n_vocab <= 0 or if every
  // token is banned. Does not record the token: call accept() with the token actually used.
  int32_t sample(const float* logits, int32_t n_vocab);

  // Constrained sampling (JSON mode, grammars): only tokens `allowed` accepts may be picked. Cheap when
  // the constraint agrees with the model: it draws as sample() does and checks only that token. When
  // it is rejected, the candidates are visited in order of probability (after bias and penalties) and
  // the first allowed ones are kept: top_k of them when top_k is set (exactly the chain run on the
  // masked distribution), else at most kConstrainedCandidates; the rest of the chain then runs on
  // those and draws again. Greedy: the most likely allowed token. Throws hearth::Error when no token
  // is allowed.
  using Filter = std::function<bool(int32_t)>;
  static constexpr size_t kConstrainedCandidates = 512;
  int32_t sample(const float* logits, int32_t n_vocab, const Filter& allowed);
  // Adds a token to the penalty history (callers may also feed the prompt's tokens).
  void accept(int32_t token);
  // Clears the history and restarts the random sequence from the seed.
  void reset();

  const SamplerParams& params() const { return params_; }
  uint64_t seed() const { return seed_; }  // the seed in use (resolved if kRandomSeed was asked)

  struct Candidate {
    float logit;  // after bias and penalties (temperature is applied only when drawing)
    float p;      // softmax over the current candidates
    float key;    // sort key of the filter at work
    int32_t id;
  };

 private:
  void prepare(const float* logits, int32_t n_vocab);
  void apply_penalties(int32_t n_vocab);
  int32_t greedy(int32_t n_vocab) const;
  size_t select_top_k(int32_t n_vocab, size_t k);
  size_t select_all(int32_t n_vocab);
  size_t apply_typical(size_t n);
  size_t apply_top_p(size_t n);
  size_t apply_min_p(size_t n);
  size_t keep_allowed(size_t n, size_t want, const Filter& allowed);
  int32_t filter_and_draw(size_t n);
  int32_t draw(size_t n);
  double uniform();  // [0, 1) from the top 53 bits of the generator (same on every platform)

  SamplerParams params_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<std::pair<int32_t, float>> bias_;  // logit_bias flattened for the hot path
  bool penalties_on_;

  // Penalty history: grows to repeat_last_n, then a ring (head_ is the oldest entry).
  std::vector<int32_t> history_;
  size_t head_ = 0;

  // Buffers reused across calls (sized on the first call).
  std::vector<float> work_;       // logits after bias and penalties
  std::vector<int32_t> counts_;   // per-token counts while applying penalties (kept all zero)
  std::vector<int32_t> touched_;  // tokens whose count is non-zero
  std::vector<Candidate> cand_;   // the surviving candidates
  bool sorted_ = false;           // cand_ is sorted by descending logit (then ascending id)
};

}  // namespace hearth::sample
