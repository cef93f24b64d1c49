// Unit tests of the sample room: the sampler chain (statistical, many draws) and the stop matcher.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "sample/sampler.h"
#include "sample/stop.h"

using hearth::sample::Sampler;
using hearth::sample::SamplerParams;
using hearth::sample::StopMatcher;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Every filter off, temperature 1: plain softmax sampling.
SamplerParams plain(uint64_t seed = 1234) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.typical_p = 1.0f;
  p.seed = seed;
  return p;
}

std::vector<float> logits_of(const std::vector<double>& probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

std::map<int32_t, int> histogram(Sampler& s, const std::vector<float>& logits, int draws) {
  std::map<int32_t, int> h;
  for (int i = 0; i < draws; ++i) ++h[s.sample(logits.data(), static_cast<int32_t>(logits.size()))];
  return h;
}

std::set<int32_t> support(const std::map<int32_t, int>& h) {
  std::set<int32_t> s;
  for (const auto& [tok, n] : h) s.insert(tok);
  return s;
}

double entropy(const std::map<int32_t, int>& h, int draws) {
  double e = 0;
  for (const auto& [tok, n] : h) {
    const double p = static_cast<double>(n) / draws;
    e -= p * std::log(p);
  }
  return e;
}

std::vector<double> softmax(const std::vector<float>& l, double t = 1.0) {
  const double mx = *std::max_element(l.begin(), l.end());
  std::vector<double> p;
  double sum = 0;
  for (float x : l) {
    p.push_back(std::exp((x - mx) / t));
    sum += p.back();
  }
  for (double& x : p) x /= sum;
  return p;
}

// Naive reference of the filters (full sorts, doubles). Returns the allowed set, or nothing when a
// cumulative sum falls too close to a threshold for float and double to agree.
struct Ref {
  std::vector<int32_t> ids;
  bool ambiguous = false;
};

Ref reference_support(const std::vector<float>& logits, const SamplerParams& p) {
  Ref r;
  std::vector<int32_t> c(logits.size());
  std::iota(c.begin(), c.end(), 0);
  auto by_logit = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  auto probs = [&](const std::vector<int32_t>& ids) {  // indexed by token id
    double mx = -1e300, sum = 0;
    for (int32_t i : ids) mx = std::max(mx, static_cast<double>(logits[i]));
    std::vector<double> pr(logits.size(), 0.0);
    for (int32_t i : ids) sum += pr[i] = std::exp(logits[i] - mx);
    for (double& v : pr) v /= sum;
    return pr;
  };
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < c.size()) {
    std::sort(c.begin(), c.end(), by_logit);
    c.resize(static_cast<size_t>(p.top_k));
  }
  if (p.typical_p < 1.0f && c.size() > 1) {
    auto pr = probs(c);
    double h = 0;
    for (int32_t i : c) h -= pr[i] > 0 ? pr[i] * std::log(pr[i]) : 0.0;
    std::vector<double> key(logits.size(), 0.0);
    for (int32_t i : c) key[i] = pr[i] > 0 ? std::abs(-std::log(pr[i]) - h) : 1e300;
    std::sort(c.begin(), c.end(),
              [&](int32_t a, int32_t b) { return key[a] < key[b] || (key[a] == key[b] && a < b); });
    double cum = 0;
    size_t keep = c.size();
    for (size_t i = 0; i < c.size(); ++i) {
      cum += pr[c[i]];
      if (std::abs(cum - p.typical_p) < 1e-6) r.ambiguous = true;
      if (cum > p.typical_p) {
        keep = i + 1;
        break;
      }
    }
    c.resize(keep);
  }
  if (p.top_p < 1.0f && c.size() > 1) {
    auto pr = probs(c);
    std::sort(c.begin(), c.end(), by_logit);
    double cum = 0;
    size_t keep = c.size();
    for (size_t i = 0; i < c.size(); ++i) {
      cum += pr[c[i]];
      if (std::abs(cum - p.top_p) < 1e-6) r.ambiguous = true;
      if (cum >= p.top_p) {
        keep = i + 1;
        break;
      }
    }
    c.resize(keep);
  }
  if (p.min_p > 0.0f && c.size() > 1) {
    auto pr = probs(c);
    double mx = 0;
    for (int32_t i : c) mx = std::max(mx, pr[i]);
    std::vector<int32_t> kept;
    for (int32_t i : c) {
      if (std::abs(pr[i] - p.min_p * mx) < 1e-5) r.ambiguous = true;
      if (pr[i] >= p.min_p * mx) kept.push_back(i);
    }
    c = kept;
  }
  std::sort(c.begin(), c.end());
  r.ids = c;
  return r;
}

// The logit `token` has after bias and penalties, measured with greedy decoding: a probe token (the
// last id, so the measured token wins ties) is moved by bisection until the choice flips.
double effective_logit(SamplerParams p, const std::vector<int32_t>& history, float logit, int32_t token,
                       int32_t n_vocab = 8) {
  p.temperature = 0;
  double lo = -1000, hi = 1000;  // probe value: token wins at lo, loses at hi
  for (int it = 0; it < 60; ++it) {
    const double mid = (lo + hi) / 2;
    std::vector<float> l(static_cast<size_t>(n_vocab), -5000.0f);
    l[static_cast<size_t>(token)] = logit;
    l.back() = static_cast<float>(mid);
    Sampler s(p);
    for (int32_t t : history) s.accept(t);
    (s.sample(l.data(), n_vocab) == token ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Support of the filters

TEST(Sampler, TopKRestrictsSupportExactly) {
  std::vector<float> logits(100);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>((i * 37) % 100) * 0.02f;
  // The 5 largest: i*37 % 100 in {95..99}.
  std::set<int32_t> expect;
  for (int32_t i = 0; i < 100; ++i) {
    if ((i * 37) % 100 >= 95) expect.insert(i);
  }
  SamplerParams p = plain();
  p.top_k = 5;
  Sampler s(p);
  EXPECT_EQ(support(histogram(s, logits, 4000)), expect);
  // Ties at the boundary go to the lowest ids, on the heap path and the nth_element path.
  const std::vector<float> flat(10, 0.5f);
  p.top_k = 3;
  Sampler t(p);
  EXPECT_EQ(support(histogram(t, flat, 2000)), (std::set<int32_t>{0, 1, 2}));
  const std::vector<float> flat_big(6000, 0.5f);
  p.top_k = 5000;
  Sampler u(p);
  const auto h = histogram(u, flat_big, 300);
  EXPECT_LT(h.rbegin()->first, 5000);
}

TEST(Sampler, TopKLargeUsesSameSupport) {  // k above 4096 takes the nth_element path, not the heap
  std::vector<float> logits(8000);
  std::mt19937 g(7);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& x : logits) x = u(g);
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  for (int32_t k : {3, 4096, 4097, 5000}) {
    SamplerParams p = plain();
    p.top_k = k;
    Sampler s(p);
    const std::set<int32_t> allowed(order.begin(), order.begin() + k);
    const auto h = histogram(s, logits, 1000);
    for (const auto& [tok, n] : h) EXPECT_TRUE(allowed.count(tok)) << "k=" << k << " token " << tok;
    if (k == 3) {
      EXPECT_EQ(support(h), allowed);
    }
  }
}

TEST(Sampler, TopPRestrictsSupportExactly) {
  const auto logits = logits_of({0.04, 0.4, 0.06, 0.3, 0.2});
  SamplerParams p = plain();
  p.top_p = 0.85f;  // 0.4 + 0.3 + 0.2 = 0.9 >= 0.85
  Sampler s(p);
  EXPECT_EQ(support(histogram(s, logits, 4000)), (std::set<int32_t>{1, 3, 4}));
  p.top_p = 0.0f;  // keeps the single most likely token
  Sampler s0(p);
  EXPECT_EQ(support(histogram(s0, logits, 500)), (std::set<int32_t>{1}));
}

TEST(Sampler, MinPRestrictsSupportExactly) {
  const auto logits = logits_of({0.1, 0.5, 0.05, 0.2, 0.12, 0.03});
  SamplerParams p = plain();
  p.min_p = 0.22f;  // keeps p >= 0.11
  Sampler s(p);
  EXPECT_EQ(support(histogram(s, logits, 4000)), (std::set<int32_t>{1, 3, 4}));
}

TEST(Sampler, TypicalCanExcludeTheMostLikelyToken) {
  // H = 1.505; surprise of token 0 (p .4) is .92, of the others (p .15) 1.90: the others are closer
  // to the entropy, so they come first and reach typical_p = 0.5 without token 0.
  const auto logits = logits_of({0.4, 0.15, 0.15, 0.15, 0.15});
  SamplerParams p = plain();
  p.typical_p = 0.5f;
  Sampler s(p);
  EXPECT_EQ(support(histogram(s, logits, 4000)), (std::set<int32_t>{1, 2, 3, 4}));
}

TEST(Sampler, ChainMatchesNaiveReferenceOnRandomCases) {
  std::mt19937 g(42);
  std::uniform_real_distribution<float> logit(-3, 3);
  std::uniform_real_distribution<float> unit(0, 1);
  int checked = 0;
  for (int c = 0; c < 60; ++c) {
    std::vector<float> logits(40);
    for (float& x : logits) x = logit(g);
    SamplerParams p = plain(static_cast<uint64_t>(c));
    p.top_k = c % 3 == 0 ? 0 : 5 + static_cast<int32_t>(unit(g) * 30);
    p.typical_p = c % 4 == 1 ? 0.5f + 0.45f * unit(g) : 1.0f;
    p.top_p = c % 2 == 0 ? 0.5f + 0.45f * unit(g) : 1.0f;
    p.min_p = c % 5 < 3 ? 0.2f * unit(g) : 0.0f;
    const Ref ref = reference_support(logits, p);
    if (ref.ambiguous) continue;
    ++checked;
    Sampler s(p);
    const int draws = 3000;
    const auto h = histogram(s, logits, draws);
    const std::set<int32_t> allowed(ref.ids.begin(), ref.ids.end());
    for (const auto& [tok, n] : h) EXPECT_TRUE(allowed.count(tok)) << "case " << c << " token " << tok;
    // Every allowed token with a sizeable probability shows up.
    std::vector<float> kept;
    for (int32_t i : ref.ids) kept.push_back(logits[static_cast<size_t>(i)]);
    const auto pr = softmax(kept);
    for (size_t i = 0; i < ref.ids.size(); ++i) {
      if (pr[i] > 0.01) {
        EXPECT_GT(h.count(ref.ids[i]), 0u) << "case " << c << " token " << ref.ids[i];
      }
    }
  }
  EXPECT_GT(checked, 45);
}

TEST(Sampler, LargeVocabularyFiltersMatchReference) {
  // Above 4096 candidates top-p and typical bucket by key instead of sorting: same sets.
  std::mt19937 g(11);
  std::normal_distribution<float> nd(0, 2.5f);
  std::vector<float> logits(10000);
  for (float& x : logits) x = nd(g);
  struct Case {
    float top_p, typical_p, min_p;
  };
  int checked = 0;
  for (const Case& k : {Case{0.9f, 1, 0}, Case{0.3f, 1, 0}, Case{1, 0.9f, 0}, Case{1, 0.2f, 0},
                        Case{0.6f, 1, 0.01f}, Case{0.9f, 0.8f, 0}, Case{0.05f, 1, 0}}) {
    SamplerParams p = plain(static_cast<uint64_t>(checked));
    p.top_p = k.top_p;
    p.typical_p = k.typical_p;
    p.min_p = k.min_p;
    const Ref ref = reference_support(logits, p);
    if (ref.ambiguous) continue;
    ++checked;
    Sampler s(p);
    const auto h = histogram(s, logits, 600);
    const std::set<int32_t> allowed(ref.ids.begin(), ref.ids.end());
    for (const auto& [tok, n] : h) {
      EXPECT_TRUE(allowed.count(tok))
          << "top_p " << k.top_p << " typical " << k.typical_p << " token " << tok;
    }
    std::vector<float> kept;
    for (int32_t i : ref.ids) kept.push_back(logits[static_cast<size_t>(i)]);
    const auto pr = softmax(kept);
    for (size_t i = 0; i < ref.ids.size(); ++i) {
      if (pr[i] > 0.02) {
        EXPECT_GT(h.count(ref.ids[i]), 0u) << "top_p " << k.top_p << " typical " << k.typical_p;
      }
    }
  }
  EXPECT_GE(checked, 5);
}

// ---------------------------------------------------------------------------------------------------
// Temperature and the draw

TEST(Sampler, EmpiricalDistributionMatchesSoftmax) {
  std::vector<float> logits(10);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = 0.3f * static_cast<float>(i);
  for (float t : {0.5f, 1.0f, 2.0f}) {
    SamplerParams p = plain(99);
    p.temperature = t;
    Sampler s(p);
    const int draws = 40000;
    const auto h = histogram(s, logits, draws);
    const auto expect = softmax(logits, t);
    for (size_t i = 0; i < logits.size(); ++i) {
      const double got =
          h.count(static_cast<int32_t>(i)) ? h.at(static_cast<int32_t>(i)) / double(draws) : 0.0;
      const double sd = std::sqrt(expect[i] * (1 - expect[i]) / draws);
      EXPECT_NEAR(got, expect[i], 5 * sd + 1e-3) << "t=" << t << " token " << i;
    }
  }
}

TEST(Sampler, HigherTemperatureHigherEntropy) {
  std::vector<float> logits(20);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = 0.25f * static_cast<float>(i);
  double prev = -1;
  for (float t : {0.25f, 0.5f, 1.0f, 2.0f, 4.0f}) {
    SamplerParams p = plain(5);
    p.temperature = t;
    Sampler s(p);
    const int draws = 20000;
    const double e = entropy(histogram(s, logits, draws), draws);
    EXPECT_GT(e, prev) << "t=" << t;
    prev = e;
  }
  EXPECT_LE(prev, std::log(20.0) + 1e-9);
}

TEST(Sampler, GreedyIsArgmaxWithTiesToLowestId) {
  const std::vector<float> logits = {1.0f, 5.0f, 3.0f, 5.0f, -2.0f};
  for (float t : {0.0f, -1.0f}) {
    SamplerParams p;
    p.temperature = t;
    Sampler s(p);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(s.sample(logits.data(), 5), 1);
  }
  // A tiny positive temperature is greedy in effect (and must not produce NaN); an exact tie stays a
  // coin toss.
  const std::vector<float> close = {1.0f, 5.0f, 3.0f, 4.999f, -2.0f};
  for (float t : {1e-30f, 1e-40f}) {
    SamplerParams p = plain();
    p.temperature = t;
    Sampler s(p);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(s.sample(close.data(), 5), 1) << t;
    EXPECT_EQ(support(histogram(s, logits, 200)), (std::set<int32_t>{1, 3})) << t;
  }
  // Greedy ignores top-k/top-p/min-p/typical but not bias or penalties.
  SamplerParams p;
  p.temperature = 0;
  p.logit_bias[1] = -kInf;
  Sampler s(p);
  EXPECT_EQ(s.sample(logits.data(), 5), 3);
}

TEST(Sampler, SameSeedSameSequenceDifferentSeedsDiffer) {
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i)) * 2;
  auto run = [&](uint64_t seed) {
    SamplerParams p = plain(seed);
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 200; ++i) out.push_back(s.sample(logits.data(), 50));
    return out;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
  EXPECT_NE(run(0), run(1));
  // reset() restarts the sequence; a random seed is resolved once and reported.
  SamplerParams p = plain(7);
  Sampler s(p);
  std::vector<int32_t> first, second;
  for (int i = 0; i < 50; ++i) first.push_back(s.sample(logits.data(), 50));
  s.reset();
  for (int i = 0; i < 50; ++i) second.push_back(s.sample(logits.data(), 50));
  EXPECT_EQ(first, second);
  EXPECT_EQ(s.seed(), 7u);
  SamplerParams r = plain(SamplerParams::kRandomSeed);
  Sampler a(r);
  EXPECT_NE(a.seed(), SamplerParams::kRandomSeed);
}

// ---------------------------------------------------------------------------------------------------
// Bias and penalties

TEST(Sampler, LogitBiasAddsAndMinusInfBans) {
  EXPECT_NEAR(effective_logit(SamplerParams{.logit_bias = {{2, 1.5f}}}, {}, 3.0f, 2), 4.5, 1e-4);
  EXPECT_NEAR(effective_logit(SamplerParams{.logit_bias = {{2, -0.5f}, {3, 9.0f}}}, {}, 3.0f, 2), 2.5, 1e-4);
  EXPECT_NEAR(effective_logit(SamplerParams{.logit_bias = {{100, 9.0f}}}, {}, 3.0f, 2), 3.0, 1e-4);

  const auto logits = logits_of({0.7, 0.1, 0.1, 0.1});
  SamplerParams p = plain();
  p.logit_bias[0] = -kInf;
  Sampler s(p);
  EXPECT_EQ(support(histogram(s, logits, 3000)), (std::set<int32_t>{1, 2, 3}));

  p.logit_bias = {{0, -kInf}, {1, -kInf}, {2, -kInf}, {3, -kInf}};
  Sampler all(p);
  EXPECT_THROW(all.sample(logits.data(), 4), hearth::Error);
  p.temperature = 0;
  Sampler all_greedy(p);
  EXPECT_THROW(all_greedy.sample(logits.data(), 4), hearth::Error);
}

TEST(Sampler, RepeatPenaltyDividesPositiveMultipliesNegative) {
  SamplerParams p;
  p.repeat_penalty = 2.0f;
  p.repeat_last_n = 64;
  EXPECT_NEAR(effective_logit(p, {2}, 3.0f, 2), 1.5, 1e-4);
  EXPECT_NEAR(effective_logit(p, {2}, -3.0f, 2), -6.0, 1e-4);
  EXPECT_NEAR(effective_logit(p, {2, 2, 2}, 3.0f, 2), 1.5, 1e-4);  // once, whatever the count
  EXPECT_NEAR(effective_logit(p, {1, 3}, 3.0f, 2), 3.0, 1e-4);     // unseen: untouched
  p.repeat_penalty = 0.5f;                                         // < 1 encourages
  EXPECT_NEAR(effective_logit(p, {2}, 3.0f, 2), 6.0, 1e-4);
}

TEST(Sampler, RepeatPenaltyOnlyWithinWindow) {
  SamplerParams p;
  p.repeat_penalty = 2.0f;
  p.repeat_last_n = 3;
  EXPECT_NEAR(effective_logit(p, {2, 1, 3}, 3.0f, 2), 1.5, 1e-4);
  EXPECT_NEAR(effective_logit(p, {2, 1, 3, 4}, 3.0f, 2), 3.0, 1e-4);  // pushed out of the window
  EXPECT_NEAR(effective_logit(p, {2, 1, 3, 4, 5, 2}, 3.0f, 2), 1.5, 1e-4);
  p.repeat_last_n = 0;  // off
  EXPECT_NEAR(effective_logit(p, {2}, 3.0f, 2), 3.0, 1e-4);
  p.repeat_last_n = -1;  // whole history
  std::vector<int32_t> long_history = {2};
  for (int i = 0; i < 5000; ++i) long_history.push_back(1 + (i % 2) * 2);
  EXPECT_NEAR(effective_logit(p, long_history, 3.0f, 2), 1.5, 1e-4);
}

TEST(Sampler, FrequencyAndPresencePenaltiesSubtract) {
  SamplerParams p;
  p.frequency_penalty = 0.25f;
  EXPECT_NEAR(effective_logit(p, {2, 2, 2, 1}, 3.0f, 2), 3.0 - 3 * 0.25, 1e-4);
  p.presence_penalty = 0.5f;
  EXPECT_NEAR(effective_logit(p, {2, 2, 2, 1}, 3.0f, 2), 3.0 - 0.75 - 0.5, 1e-4);
  EXPECT_NEAR(effective_logit(p, {1, 3}, 3.0f, 2), 3.0, 1e-4);
  p.frequency_penalty = 0;
  EXPECT_NEAR(effective_logit(p, {2, 2, 2, 2, 2}, 3.0f, 2), 2.5, 1e-4);
  // Counted within the window only; combined with the repetition penalty (applied first).
  p = SamplerParams{};
  p.repeat_last_n = 4;
  p.frequency_penalty = 0.25f;
  p.presence_penalty = 0.5f;
  p.repeat_penalty = 2.0f;
  EXPECT_NEAR(effective_logit(p, {2, 2, 2, 1, 2, 2}, 3.0f, 2), 1.5 - 3 * 0.25 - 0.5, 1e-4);
  EXPECT_NEAR(effective_logit(p, {2, 2, 1, 1, 1, 1}, -1.0f, 2), -1.0, 1e-4);
}

TEST(Sampler, PenaltiesShiftTheDistribution) {
  // Statistical view: after accepting token 0 with a strong penalty, its share drops accordingly.
  const std::vector<float> logits = {1.0f, 1.0f};
  SamplerParams p = plain(3);
  p.presence_penalty = std::log(3.0f);  // token 0 becomes 3x less likely: p0 = 1/4
  Sampler s(p);
  s.accept(0);
  const int draws = 20000;
  const auto h = histogram(s, logits, draws);
  EXPECT_NEAR(h.at(0) / double(draws), 0.25, 0.02);
}

TEST(Sampler, BadLogitsAndArguments) {
  SamplerParams p = plain();
  Sampler s(p);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> logits = {nan, 0.0f, kInf, nan};
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.sample(logits.data(), 4), 2);
  const std::vector<float> all_nan = {nan, nan};
  EXPECT_THROW(s.sample(all_nan.data(), 2), hearth::Error);
  EXPECT_THROW(s.sample(logits.data(), 0), hearth::Error);
  EXPECT_THROW(s.accept(-1), hearth::Error);
  // A vocabulary smaller than the history's ids (ids out of range are ignored).
  SamplerParams q = plain();
  q.repeat_penalty = 1.5f;
  Sampler t(q);
  t.accept(1000);
  EXPECT_NO_THROW(t.sample(logits.data(), 4));
}

TEST(SamplerParams, ValidateRejectsNonsense) {
  auto bad = [](auto mutate) {
    SamplerParams p;
    mutate(p);
    EXPECT_THROW(p.validate(), hearth::Error);
    EXPECT_THROW(Sampler{p}, hearth::Error);
  };
  bad([](SamplerParams& p) { p.temperature = std::numeric_limits<float>::quiet_NaN(); });
  bad([](SamplerParams& p) { p.top_p = 1.5f; });
  bad([](SamplerParams& p) { p.min_p = -0.1f; });
  bad([](SamplerParams& p) { p.typical_p = std::numeric_limits<float>::quiet_NaN(); });
  bad([](SamplerParams& p) { p.repeat_penalty = 0.0f; });
  bad([](SamplerParams& p) { p.repeat_last_n = -2; });
  bad([](SamplerParams& p) { p.frequency_penalty = kInf; });
  bad([](SamplerParams& p) { p.logit_bias[-3] = 1.0f; });
  bad([](SamplerParams& p) { p.logit_bias[3] = kInf; });
  SamplerParams ok;
  ok.logit_bias[3] = -kInf;
  EXPECT_NO_THROW(ok.validate());
}

TEST(SamplerParams, DefaultsAndGgufKeys) {
  const SamplerParams d;
  EXPECT_FLOAT_EQ(d.temperature, 0.8f);
  EXPECT_EQ(d.top_k, 40);
  EXPECT_FLOAT_EQ(d.top_p, 0.95f);
  EXPECT_FLOAT_EQ(d.min_p, 0.05f);
  EXPECT_FLOAT_EQ(d.typical_p, 1.0f);
  EXPECT_FLOAT_EQ(d.repeat_penalty, 1.0f);
  EXPECT_EQ(d.repeat_last_n, 64);
  EXPECT_EQ(d.frequency_penalty, 0.0f);
  EXPECT_EQ(d.presence_penalty, 0.0f);

  const auto g = SamplerParams::from_gguf_defaults({{"general.sampling.temp", 0.7},
                                                    {"general.sampling.top_k", 20},
                                                    {"general.sampling.top_p", 0.8},
                                                    {"general.sampling.min_p", 0.0},
                                                    {"general.sampling.penalty_last_n", 128},
                                                    {"general.sampling.penalty_repeat", 1.05},
                                                    {"general.sampling.mirostat", 2}});
  EXPECT_FLOAT_EQ(g.temperature, 0.7f);
  EXPECT_EQ(g.top_k, 20);
  EXPECT_FLOAT_EQ(g.top_p, 0.8f);
  EXPECT_FLOAT_EQ(g.min_p, 0.0f);
  EXPECT_EQ(g.repeat_last_n, 128);
  EXPECT_FLOAT_EQ(g.repeat_penalty, 1.05f);
  EXPECT_FLOAT_EQ(g.typical_p, 1.0f);  // no key: default kept

  // Nonsense from a model file is ignored, not fatal.
  const auto n = SamplerParams::from_gguf_defaults({{"general.sampling.temp", std::nan("")},
                                                    {"general.sampling.top_k", 1.5},
                                                    {"general.sampling.top_p", 7},
                                                    {"general.sampling.penalty_last_n", -9},
                                                    {"general.sampling.penalty_repeat", -1}});
  EXPECT_FLOAT_EQ(n.temperature, 0.8f);
  EXPECT_EQ(n.top_k, 40);
  EXPECT_FLOAT_EQ(n.top_p, 0.95f);
  EXPECT_EQ(n.repeat_last_n, 64);
  EXPECT_FLOAT_EQ(n.repeat_penalty, 1.0f);
  EXPECT_NO_THROW(n.validate());
}

TEST(Sampler, FastOnLargeVocabulary) {
  const int32_t n_vocab = 152064;
  std::vector<float> logits(static_cast<size_t>(n_vocab));
  std::mt19937 g(1);
  std::normal_distribution<float> nd(0, 3);
  for (float& x : logits) x = nd(g);
  SamplerParams p;  // defaults: top_k 40, top_p .95, min_p .05, temperature .8
  p.seed = 1;
  p.repeat_penalty = 1.1f;
  Sampler s(p);
  for (int i = 0; i < 64; ++i) s.accept(i * 7);
  s.sample(logits.data(), n_vocab);  // first call sizes the buffers
  double best = 1e9;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) s.sample(logits.data(), n_vocab);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / 20;
    best = std::min(best, ms);
  }
  // Without top-k, top-p sorts only the prefix it keeps.
  SamplerParams q = p;
  q.top_k = 0;
  Sampler s2(q);
  s2.sample(logits.data(), n_vocab);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) s2.sample(logits.data(), n_vocab);
  const double ms2 =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / 10;
  std::printf("sample, 152k vocab: defaults %.3f ms, top_k off %.3f ms\n", best, ms2);
#if defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
  EXPECT_LT(best, 25.0);
#else
  EXPECT_LT(best, 1.5);
#endif
}

// ---------------------------------------------------------------------------------------------------
// Stop strings

namespace {

// Feeds the pieces, returning what was emitted per piece and (at the end) the flush.
struct Streamed {
  std::vector<std::string> outs;
  std::string all;
  bool stopped = false;
  int index = -1;
};

Streamed stream(StopMatcher& m, const std::vector<std::string>& pieces) {
  Streamed r;
  for (const auto& piece : pieces) {
    auto o = m.feed(piece);
    r.outs.push_back(o.text);
    r.all += o.text;
    r.stopped = o.stopped;
    r.index = o.stop_index;
  }
  r.all += m.flush();
  return r;
}

bool valid_utf8_boundary_end(const std::string& s) {
  if (s.empty()) return true;
  size_t i = s.size();
  size_t back = 0;
  while (i > 0 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) --i, ++back;
  if (i == 0) return false;
  const auto lead = static_cast<unsigned char>(s[i - 1]);
  const size_t len = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : 4;
  return back + 1 == len;
}

}  // namespace

TEST(StopMatcher, StopInsideOnePiece) {
  StopMatcher m({"###"});
  const auto r = stream(m, {"Hello###world"});
  EXPECT_EQ(r.all, "Hello");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.index, 0);
  EXPECT_EQ(m.stop_string(), "###");
  EXPECT_EQ(m.feed("more").text, "");  // nothing after a stop
  EXPECT_TRUE(m.feed("more").stopped);
}

TEST(StopMatcher, StopSplitAcrossPieces) {
  StopMatcher m({"</answer>"});
  const auto r = stream(m, {"The", " result<", "/ans", "wer", ">tail"});
  EXPECT_EQ(r.outs, (std::vector<std::string>{"The", " result", "", "", ""}));
  EXPECT_EQ(r.all, "The result");
  EXPECT_TRUE(r.stopped);
}

TEST(StopMatcher, PartialPrefixThenMismatchIsReleased) {
  StopMatcher m({"</s>"});
  auto a = m.feed("a</");
  EXPECT_EQ(a.text, "a");
  EXPECT_FALSE(a.stopped);
  auto b = m.feed("b");
  EXPECT_EQ(b.text, "</b");
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.feed("x<").text, "x");
  EXPECT_EQ(m.flush(), "<");  // held text comes out at the end
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, OverlappingPrefixes) {
  StopMatcher m({"aab"});
  const auto r = stream(m, {"a", "a", "a", "b", "c"});
  EXPECT_EQ(r.all, "a");
  EXPECT_TRUE(r.stopped);
  StopMatcher m2({"abab"});
  const auto r2 = stream(m2, {"xab", "ab", "ab"});  // stops at the first complete "abab"
  EXPECT_EQ(r2.outs, (std::vector<std::string>{"x", "", ""}));
  EXPECT_EQ(r2.all, "x");
  EXPECT_TRUE(r2.stopped);
}

TEST(StopMatcher, MultipleStopStrings) {
  StopMatcher m({"STOP", "", "END"});
  const auto r = stream(m, {"xxEN", "D yy"});
  EXPECT_EQ(r.all, "xx");
  EXPECT_EQ(r.index, 2);
  EXPECT_EQ(m.stop_string(), "END");
  // Held back as long as any stop string could still match.
  StopMatcher m2({"<|im_end|>", "<|endoftext|>"});
  EXPECT_EQ(m2.feed("hi <|").text, "hi ");
  EXPECT_EQ(m2.feed("im").text, "");
  EXPECT_EQ(m2.feed("_start").text, "<|im_start");
  const auto o = m2.feed("!<|endoftext|>");
  EXPECT_EQ(o.text, "!");
  EXPECT_EQ(o.stop_index, 1);
  // Two completing at the same byte: the longer (earlier-starting) wins.
  StopMatcher m3({"b", "ab"});
  const auto r3 = stream(m3, {"xa", "b"});
  EXPECT_EQ(r3.all, "x");
  EXPECT_EQ(r3.index, 1);
}

TEST(StopMatcher, NoStopsPassesThrough) {
  StopMatcher m({});
  const auto r = stream(m, {"a", "bc", "", "d"});
  EXPECT_EQ(r.outs, (std::vector<std::string>{"a", "bc", "", "d"}));
  EXPECT_FALSE(r.stopped);
}

TEST(StopMatcher, Utf8MultiByte) {
  // Stop string of multi-byte characters, split in the middle of a character.
  const std::string text = "今日は日本語";
  StopMatcher m({"日本"});
  const auto r = stream(m, {text.substr(0, 10), text.substr(10, 1), text.substr(11)});
  EXPECT_EQ(r.all, "今日は");
  EXPECT_TRUE(r.stopped);
  for (const auto& o : r.outs) EXPECT_TRUE(valid_utf8_boundary_end(o)) << o;

  // Fed byte by byte: no emitted chunk ends inside a character; nothing is lost.
  const std::string t2 = "héllo wörld — ✓ 😀 done";
  StopMatcher m2({"STOP"});
  std::vector<std::string> bytes;
  for (char c : t2) bytes.emplace_back(1, c);
  const auto r2 = stream(m2, bytes);
  EXPECT_EQ(r2.all, t2);
  for (const auto& o : r2.outs) EXPECT_TRUE(valid_utf8_boundary_end(o)) << o;

  // A stop string whose first byte is shared with another character does not eat it.
  StopMatcher m3({"日本"});
  const auto r3 = stream(m3, {"日", "曜", "日本"});
  EXPECT_EQ(r3.all, "日曜");
  EXPECT_TRUE(r3.stopped);
}

TEST(StopMatcher, ResetStartsOver) {
  StopMatcher m({"xy"});
  EXPECT_TRUE(m.feed("axyb").stopped);
  m.reset();
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.feed("ab").text, "ab");
  EXPECT_EQ(m.stop_string(), "");
}
