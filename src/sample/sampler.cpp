// sample: the sampler chain. Hot path: sample() allocates nothing after its first call; top-k selects
// with a bounded heap (or nth_element) and top-p / typical sort only the prefix they keep.
#include "sample/sampler.h"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <limits>

#include "base/error.h"

namespace hearth::sample {

namespace {

using Candidate = Sampler::Candidate;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Up to this k, top-k keeps a heap of k candidates in one pass over the logits; above, nth_element.
constexpr size_t kHeapTopK = 4096;
// Up to this k, the kept candidates are sorted at once (cheap, and top-p / min-p then just scan).
constexpr size_t kSortTopK = 256;

// a ranks before b: higher logit, then lower id.
inline bool better(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

inline bool key_before(const Candidate& a, const Candidate& b) {
  return a.key < b.key || (a.key == b.key && a.id < b.id);
}

// Softmax of the logits (temperature 1) into p.
void softmax(Candidate* c, size_t n, bool sorted) {
  float max = c[0].logit;
  if (!sorted) {
    for (size_t i = 1; i < n; ++i) max = std::max(max, c[i].logit);
  }
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    c[i].p = std::exp(c[i].logit - max);
    sum += c[i].p;
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (size_t i = 0; i < n; ++i) c[i].p *= inv;
}

struct Kept {
  size_t n;     // keep c[0, n)
  bool sorted;  // c[0, n) is sorted by (key, id)
};

inline bool reached(double cum, double target, bool strict) { return strict ? cum > target : cum >= target; }

// The smallest prefix in (key, id) order of c[0, n) whose probabilities reach `target` (or exceed it
// if `strict`), moved to the front. Small sets are sorted in growing chunks; large ones (a whole
// vocabulary) are bucketed by key, so only the bucket where the mass crosses the target is sorted.
Kept keep_by_mass(Candidate* c, size_t n, double target, bool strict, bool presorted) {
  constexpr size_t kBuckets = 1024;
  double cum = 0;
  if (presorted || n <= 4 * kBuckets) {
    size_t done = 0;
    size_t chunk = 64;
    while (done < n) {
      const size_t end = std::min(n, done + chunk);
      if (!presorted) {
        if (end < n) std::nth_element(c + done, c + end, c + n, key_before);
        std::sort(c + done, c + end, key_before);
      }
      for (size_t i = done; i < end; ++i) {
        cum += c[i].p;
        if (reached(cum, target, strict)) return {i + 1, true};
      }
      done = end;
      chunk *= 4;
    }
    return {n, true};
  }
  // Keys of tokens with p > 0 lie in a bounded range (float exp underflows ~100 nats below the max);
  // tokens with p == 0 go to an extra last bucket.
  float kmin = std::numeric_limits<float>::infinity();
  float kmax = -kmin;
  for (size_t i = 0; i < n; ++i) {
    if (c[i].p > 0) {
      kmin = std::min(kmin, c[i].key);
      kmax = std::max(kmax, c[i].key);
    }
  }
  const float scale = kmax > kmin ? static_cast<float>(kBuckets - 1) / (kmax - kmin) : 0.0f;
  auto bucket = [&](const Candidate& x) -> size_t {
    if (!(x.p > 0)) return kBuckets;
    return std::min(static_cast<size_t>((x.key - kmin) * scale), kBuckets - 1);
  };
  std::array<double, kBuckets + 1> mass{};
  for (size_t i = 0; i < n; ++i) mass[bucket(c[i])] += c[i].p;
  size_t b = 0;
  for (; b < kBuckets; ++b) {
    if (reached(cum + mass[b], target, strict)) break;
    cum += mass[b];
  }
  if (b == kBuckets) return {n, false};
  Candidate* mid = std::partition(c, c + n, [&](const Candidate& x) { return bucket(x) < b; });
  Candidate* end = std::partition(mid, c + n, [&](const Candidate& x) { return bucket(x) == b; });
  std::sort(mid, end, key_before);
  for (Candidate* x = mid; x < end; ++x) {
    cum += x->p;
    if (reached(cum, target, strict)) return {static_cast<size_t>(x - c) + 1, mid == c};
  }
  return {static_cast<size_t>(end - c), mid == c};  // rounding: the whole crossing bucket
}

}  // namespace

Sampler::Sampler(SamplerParams params) : params_(std::move(params)) {
  params_.validate();
  seed_ = params_.seed;
  if (seed_ == SamplerParams::kRandomSeed) {
    std::random_device rd;
    seed_ = (uint64_t{rd()} << 32) ^ rd();
    if (seed_ == SamplerParams::kRandomSeed) seed_ = 0;
  }
  rng_.seed(seed_);
  bias_.assign(params_.logit_bias.begin(), params_.logit_bias.end());
  penalties_on_ =
      params_.repeat_last_n != 0 && (params_.repeat_penalty != 1.0f || params_.frequency_penalty != 0.0f ||
                                     params_.presence_penalty != 0.0f);
  if (penalties_on_) {
    history_.reserve(params_.repeat_last_n > 0 ? std::min<size_t>(params_.repeat_last_n, 4096) : 4096);
  }
}

void Sampler::accept(int32_t token) {
  if (token < 0) fail("sampler: cannot accept negative token id {}", token);
  if (!penalties_on_) return;
  const int32_t window = params_.repeat_last_n;
  if (window < 0 || history_.size() < static_cast<size_t>(window)) {
    history_.push_back(token);
  } else {
    history_[head_] = token;
    head_ = (head_ + 1) % static_cast<size_t>(window);
  }
}

void Sampler::reset() {
  history_.clear();
  head_ = 0;
  rng_.seed(seed_);
}

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

void Sampler::prepare(const float* logits, int32_t n_vocab) {
  const size_t n = static_cast<size_t>(n_vocab);
  if (work_.size() < n) {
    work_.resize(n);
    cand_.resize(n);
    if (penalties_on_) {
      counts_.resize(n, 0);
      touched_.resize(n);
    }
  }
  float* w = work_.data();
  // NaN is treated as banned and +inf as the largest float, so the softmax stays finite.
  for (size_t i = 0; i < n; ++i) {
    float x = logits[i];
    x = x > FLT_MAX ? FLT_MAX : x;
    w[i] = x == x ? x : kNegInf;
  }
  for (const auto& [id, bias] : bias_) {
    if (id < n_vocab) w[id] = std::min(w[id] + bias, FLT_MAX);
  }
  if (penalties_on_) apply_penalties(n_vocab);
}

void Sampler::apply_penalties(int32_t n_vocab) {
  int32_t* counts = counts_.data();
  size_t n_touched = 0;
  for (int32_t t : history_) {
    if (t >= n_vocab) continue;
    if (counts[t]++ == 0) touched_[n_touched++] = t;
  }
  const float rp = params_.repeat_penalty;
  for (size_t j = 0; j < n_touched; ++j) {
    const int32_t t = touched_[j];
    const int32_t count = counts[t];
    counts[t] = 0;
    float l = work_[t];
    if (rp != 1.0f) l = l <= 0 ? l * rp : l / rp;
    l -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
    work_[t] = std::min(l, FLT_MAX);
  }
}

int32_t Sampler::greedy(int32_t n_vocab) const {
  const float* w = work_.data();
  int32_t best = 0;
  for (int32_t i = 1; i < n_vocab; ++i) {
    if (w[i] > w[best]) best = i;  // strict: ties go to the lowest id
  }
  if (w[best] == kNegInf) fail("sampler: every token is banned (logit bias or invalid logits)");
  return best;
}

size_t Sampler::select_all(int32_t n_vocab) {
  const float* w = work_.data();
  Candidate* c = cand_.data();
  size_t m = 0;
  for (int32_t i = 0; i < n_vocab; ++i) {
    if (w[i] != kNegInf) c[m++] = {w[i], 0.0f, 0.0f, i};
  }
  sorted_ = false;
  return m;
}

size_t Sampler::select_top_k(int32_t n_vocab, size_t k) {
  Candidate* c = cand_.data();
  if (k > kHeapTopK) {
    const size_t m = select_all(n_vocab);
    if (m > k) std::nth_element(c, c + k, c + m, better);
    sorted_ = false;  // left to the filters that need an order (most don't)
    return std::min(m, k);
  }
  // A heap whose front is the worst of the best k so far: one pass, rarely touching the heap.
  const float* w = work_.data();
  size_t m = 0;
  int32_t i = 0;
  for (; i < n_vocab && m < k; ++i) {
    if (w[i] != kNegInf) c[m++] = {w[i], 0.0f, 0.0f, i};
  }
  std::make_heap(c, c + m, better);
  if (m == k) {
    float worst = c[0].logit;
    for (; i < n_vocab; ++i) {
      if (w[i] > worst) {  // a later id with an equal logit ranks lower: strict
        std::pop_heap(c, c + k, better);
        c[k - 1] = {w[i], 0.0f, 0.0f, i};
        std::push_heap(c, c + k, better);
        worst = c[0].logit;
      }
    }
  }
  sorted_ = m <= kSortTopK;
  if (sorted_) std::sort(c, c + m, better);
  return m;
}

// Locally typical sampling: keep the tokens whose surprise is closest to the entropy until their mass
// exceeds typical_p.
size_t Sampler::apply_typical(size_t n) {
  Candidate* c = cand_.data();
  softmax(c, n, sorted_);
  double entropy = 0;
  for (size_t i = 0; i < n; ++i) {
    if (c[i].p > 0) entropy -= c[i].p * std::log(static_cast<double>(c[i].p));
  }
  for (size_t i = 0; i < n; ++i) {
    c[i].key = c[i].p > 0 ? static_cast<float>(std::abs(-std::log(static_cast<double>(c[i].p)) - entropy))
                          : std::numeric_limits<float>::infinity();
  }
  const Kept kept = keep_by_mass(c, n, params_.typical_p, /*strict=*/true, /*presorted=*/false);
  sorted_ = kept.n <= 1;
  return kept.n;
}

// Nucleus sampling: the smallest set of most likely tokens whose mass reaches top_p.
size_t Sampler::apply_top_p(size_t n) {
  Candidate* c = cand_.data();
  softmax(c, n, sorted_);
  if (!sorted_) {
    for (size_t i = 0; i < n; ++i) c[i].key = -c[i].logit;
  }
  const Kept kept = keep_by_mass(c, n, params_.top_p, /*strict=*/false, /*presorted=*/sorted_);
  sorted_ = kept.sorted;
  return kept.n;
}

// Keep the tokens at least min_p times as likely as the most likely one.
size_t Sampler::apply_min_p(size_t n) {
  Candidate* c = cand_.data();
  float max = c[0].logit;
  if (!sorted_) {
    for (size_t i = 1; i < n; ++i) max = std::max(max, c[i].logit);
  }
  const float threshold = max + std::log(params_.min_p);
  size_t m = 0;
  if (sorted_) {
    while (m < n && c[m].logit >= threshold) ++m;
  } else {
    for (size_t i = 0; i < n; ++i) {
      if (c[i].logit >= threshold) c[m++] = c[i];
    }
  }
  return std::max<size_t>(m, 1);
}

int32_t Sampler::draw(size_t n) {
  Candidate* c = cand_.data();
  float max = c[0].logit;
  for (size_t i = 1; i < n; ++i) max = std::max(max, c[i].logit);
  const float t = params_.temperature;  // divided, not multiplied by 1/t: 1/t overflows for tiny t
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    c[i].p = std::exp((c[i].logit - max) / t);
    sum += c[i].p;
  }
  const double target = uniform() * sum;
  double cum = 0;
  size_t last = 0;
  for (size_t i = 0; i < n; ++i) {
    if (c[i].p <= 0) continue;
    cum += c[i].p;
    last = i;
    if (target < cum) return c[i].id;
  }
  return c[last].id;  // rounding: the last token with a non-zero probability
}

int32_t Sampler::filter_and_draw(size_t n) {
  if (n == 0) fail("sampler: every token is banned (logit bias or invalid logits)");
  if (params_.typical_p < 1.0f && n > 1) n = apply_typical(n);
  if (params_.top_p < 1.0f && n > 1) n = apply_top_p(n);
  if (params_.min_p > 0.0f && n > 1) n = apply_min_p(n);
  return draw(n);
}

int32_t Sampler::sample(const float* logits, int32_t n_vocab) {
  if (n_vocab <= 0) fail("sampler: vocabulary size must be positive, got {}", n_vocab);
  prepare(logits, n_vocab);
  if (params_.temperature <= 0) return greedy(n_vocab);

  const int32_t top_k = params_.top_k;
  const size_t n =
      top_k > 0 && top_k < n_vocab ? select_top_k(n_vocab, static_cast<size_t>(top_k)) : select_all(n_vocab);
  return filter_and_draw(n);
}

// Visits c[0, n) best first (sorting growing chunks, so a constraint that accepts one of the first
// tokens costs little) and moves the first `want` allowed candidates, in order, to the front. When the
// constraint rejects nearly everything, the rest is filtered in one pass and only the survivors are
// ranked (checking every token once costs less than sorting a whole vocabulary).
size_t Sampler::keep_allowed(size_t n, size_t want, const Filter& allowed) {
  constexpr size_t kRankedChunks = 4096;  // best candidates visited in sorted chunks before the pass
  Candidate* c = cand_.data();
  size_t done = 0, kept = 0, chunk = 64;
  while (done < n && kept < want && done < kRankedChunks) {
    const size_t end = std::min(n, done + chunk);
    if (end < n) std::nth_element(c + done, c + end, c + n, better);
    std::sort(c + done, c + end, better);
    for (size_t i = done; i < end && kept < want; ++i) {
      if (allowed(c[i].id)) c[kept++] = c[i];  // kept <= i: a stable compaction
    }
    done = end;
    chunk *= 4;
  }
  if (kept < want && done < n) {
    size_t m = kept;
    for (size_t i = done; i < n; ++i) {
      if (allowed(c[i].id)) c[m++] = c[i];
    }
    const size_t take = std::min(m - kept, want - kept);
    if (take < m - kept) std::nth_element(c + kept, c + kept + take, c + m, better);
    std::sort(c + kept, c + kept + take, better);
    kept += take;
  }
  return kept;
}

int32_t Sampler::sample(const float* logits, int32_t n_vocab, const Filter& allowed) {
  if (!allowed) return sample(logits, n_vocab);
  const int32_t first = sample(logits, n_vocab);  // prepares work_ (bias, penalties)
  if (allowed(first)) return first;
  const size_t all = select_all(n_vocab);
  if (params_.temperature <= 0) {
    if (keep_allowed(all, 1, allowed) == 0) fail("sampler: no token satisfies the output constraint");
    return cand_[0].id;
  }
  const int32_t top_k = params_.top_k;
  const size_t want = top_k > 0 ? static_cast<size_t>(top_k) : kConstrainedCandidates;
  const size_t n = keep_allowed(all, want, allowed);
  if (n == 0) fail("sampler: no token satisfies the output constraint");
  sorted_ = true;
  return filter_and_draw(n);
}

}  // namespace hearth::sample
