// Unit tests of JSON mode in the sample room: the incremental JSON validator (checked against
// nlohmann::json's strict parser on generated and mutated documents), its completion distance, the
// constrained sampler (cost and correctness) and the logprobs helper.
#include "sample/json_constraint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "sample/logprobs.h"
#include "sample/sampler.h"

using hearth::sample::JsonLimits;
using hearth::sample::JsonValidator;
using hearth::sample::Sampler;
using hearth::sample::SamplerParams;

namespace {

JsonLimits any_root() {
  JsonLimits l;
  l.root = hearth::sample::kJsonAny;
  return l;
}

// Loose limits, so only the grammar decides (for comparisons with a strict parser).
JsonLimits loose() {
  JsonLimits l = any_root();
  l.max_depth = 64;
  l.max_ws_run = 4096;
  l.max_ws_newlines = 4096;
  l.max_number_len = 255;
  return l;
}

bool prefix_ok(const std::string& s, JsonLimits lim = {}) {
  JsonValidator v(lim);
  return v.feed(s);
}

bool complete(const std::string& s, JsonLimits lim = {}) {
  JsonValidator v(lim);
  return v.feed(s) && v.complete();
}

bool parses(const std::string& s) { return nlohmann::json::accept(s); }

}  // namespace

TEST(JsonValidator, AcceptsDocumentsAndEveryPrefix) {
  const std::vector<std::string> docs = {
      "{}",
      "{\"a\":1}",
      " {\n  \"a\": [1, 2.5, -3e+2, {\"b\": null}],\n  \"c\": true, \"d\": false, \"e\": \"x\"\n}",
      "{\"\":{\"\":{\"\":[]}}}",
      "{\"esc\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\ud83d\\ude00\"}",
      "{\"utf8\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"}",
      "{\"n\":[0,-0,0.0,1E5,1e-5,-12.75E+03,123456789]}",
  };
  for (const auto& d : docs) {
    ASSERT_TRUE(parses(d)) << d;
    JsonValidator v;
    for (size_t i = 0; i < d.size(); ++i) {
      EXPECT_FALSE(v.complete()) << d << " at " << i;
      ASSERT_TRUE(v.feed_byte(static_cast<uint8_t>(d[i]))) << d << " rejected at byte " << i;
    }
    EXPECT_TRUE(v.complete()) << d;
    EXPECT_TRUE(v.finished()) << d;
    EXPECT_EQ(v.depth(), 0);
  }
}

TEST(JsonValidator, RejectsInvalidText) {
  const std::vector<std::string> bad = {
      "{\"a\":1,}",
      "{,",
      "{\"a\" 1}",
      "{'a':1}",
      "{a:1}",
      "{\"a\":01}",
      "{\"a\":-}",
      "{\"a\":1.}",
      "{\"a\":.5}",
      "{\"a\":1e}",
      "{\"a\":1e+}",
      "{\"a\":--1}",
      "{\"a\":0x1}",
      "{\"a\":+1}",
      "{\"a\":trux}",
      "{\"a\":nul}",
      "{\"a\":NaN}",
      "{\"a\":[1,]}",
      "{\"a\":[,1]}",
      "{\"a\":1]",
      "{\"a\":[1}",
      "{}}",
      "{} x",
      "{}{}",
      "{\"a\":\"\\x\"}",
      "{\"a\":\"\x01\"}",
      "{\"a\":\"\n\"}",
      "{/*c*/}",
      "{\"a\":1 /",
      "{\"a\"::1}",
      "{\"a\":\"b\"\"c\"}",
      "{\"a\":\xc3\xa9}",
      "{\xef\xbb\xbf}",
  };
  for (const auto& s : bad) {
    EXPECT_FALSE(complete(s)) << s;
    EXPECT_FALSE(parses(s)) << s;
  }
  // Each of these goes wrong at its last byte, not before.
  for (const std::string s : {"{\"a\":1,}", "{\"a\":01", "[1,]", "{\"a\" 1", "{}x", "[tx"}) {
    EXPECT_TRUE(prefix_ok(s.substr(0, s.size() - 1), any_root())) << s;
    EXPECT_FALSE(prefix_ok(s, any_root())) << s;
  }
}

TEST(JsonValidator, DeadValidatorStaysDead) {
  JsonValidator v;
  EXPECT_FALSE(v.feed("{]"));
  EXPECT_TRUE(v.dead());
  EXPECT_FALSE(v.feed("}"));
  EXPECT_FALSE(v.complete());
  v.reset();
  EXPECT_TRUE(v.feed("{}"));
  EXPECT_TRUE(v.finished());
}

TEST(JsonValidator, RootKinds) {
  // Default: an object only (json_object / format "json").
  EXPECT_TRUE(prefix_ok(" {"));
  for (const std::string s : {"[", "\"", "1", "-", "t", "n", "f"}) EXPECT_FALSE(prefix_ok(s)) << s;
  // Any value.
  for (const std::string s : {"[]", "\"s\"", "true", "false", "null", "[[]]"}) {
    EXPECT_TRUE(complete(s, any_root())) << s;
    JsonValidator v(any_root());
    ASSERT_TRUE(v.feed(s));
    EXPECT_TRUE(v.finished()) << s;
  }
  // A number at the top is complete but not closed: a space (or the end) closes it.
  JsonValidator v(any_root());
  ASSERT_TRUE(v.feed("-12.5"));
  EXPECT_TRUE(v.complete());
  EXPECT_FALSE(v.finished());
  ASSERT_TRUE(v.feed("e3"));
  EXPECT_TRUE(v.complete());
  ASSERT_TRUE(v.feed(" "));
  EXPECT_TRUE(v.finished());
  EXPECT_FALSE(v.feed("1"));
  JsonValidator minus(any_root());
  ASSERT_TRUE(minus.feed("-"));
  EXPECT_FALSE(minus.complete());
  // Arrays only.
  JsonLimits arr;
  arr.root = hearth::sample::kJsonArray;
  EXPECT_TRUE(complete("[{}]", arr));
  EXPECT_FALSE(prefix_ok("{", arr));
}

TEST(JsonValidator, StringEscapesAndSurrogates) {
  JsonLimits s = any_root();
  EXPECT_TRUE(complete("\"\\u0041\\u00E9\\uFFFF\\u20ac\"", s));
  EXPECT_TRUE(complete("\"\\ud83d\\ude00\"", s));  // a surrogate pair
  EXPECT_TRUE(complete("\"\\uD7FF\\uE000\"", s));  // just outside the surrogates
  EXPECT_FALSE(prefix_ok("\"\\ud83d\"", s));       // a lone high surrogate
  EXPECT_FALSE(prefix_ok("\"\\ud83dx", s));
  EXPECT_FALSE(prefix_ok("\"\\ud83d\\n", s));      // another escape instead of the low half
  EXPECT_FALSE(prefix_ok("\"\\ud83d\\u0041", s));  // not a low surrogate
  EXPECT_FALSE(prefix_ok("\"\\ude00", s));         // a lone low surrogate
  EXPECT_FALSE(prefix_ok("\"\\u12G", s));
  EXPECT_FALSE(prefix_ok("\"\\U0041", s));
  EXPECT_TRUE(prefix_ok("\"\\u12", s));  // an unfinished escape is a valid prefix
  EXPECT_FALSE(complete("\"\\u12", s));
  for (const std::string e : {"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"})
    EXPECT_TRUE(complete("\"" + e + "\"", s)) << e;
  for (int c = 0; c < 0x20; ++c) EXPECT_FALSE(prefix_ok(std::string("\"") + static_cast<char>(c), s)) << c;
}

TEST(JsonValidator, Utf8) {
  JsonLimits s = any_root();
  EXPECT_TRUE(complete("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"", s));
  // Prefixes that end inside a character are fine; the character may arrive byte by byte.
  JsonValidator v(s);
  ASSERT_TRUE(v.feed("\"\xf0"));
  ASSERT_TRUE(v.feed("\x9f\x98"));
  EXPECT_FALSE(v.complete());
  ASSERT_TRUE(v.feed("\x80\""));
  EXPECT_TRUE(v.finished());
  const std::vector<std::string> bad = {
      "\"\x80",              // a continuation byte without a lead
      "\"\xc0\x80",          // overlong
      "\"\xc1\xbf",          // overlong
      "\"\xe0\x80\x80",      // overlong 3-byte
      "\"\xed\xa0\x80",      // an encoded surrogate
      "\"\xf0\x80\x80\x80",  // overlong 4-byte
      "\"\xf4\x90\x80\x80",  // above U+10FFFF
      "\"\xf5",              // never a lead byte
      "\"\xff",
      "\"\xc3\"",  // a character cut by the quote
      "\"\xe2\x82x",
  };
  for (const auto& b : bad) EXPECT_FALSE(prefix_ok(b, s)) << testing::PrintToString(b);
  EXPECT_FALSE(prefix_ok("[\xc3\xa9]", s));  // non-ASCII outside strings
}

TEST(JsonValidator, DepthBound) {
  JsonLimits l;
  l.max_depth = 3;
  EXPECT_TRUE(complete("{\"a\":{\"b\":[1]}}", l));
  EXPECT_FALSE(prefix_ok("{\"a\":{\"b\":[[", l));
  EXPECT_FALSE(prefix_ok("{\"a\":{\"b\":{\"c\":{", l));
  // The stack is exact at the hard bound, across the 64-bit words of the bit array.
  JsonLimits deep = any_root();
  deep.max_depth = JsonLimits::kMaxDepth;
  std::string open, close;
  for (int i = 0; i < JsonLimits::kMaxDepth; ++i) {
    const bool obj = (i * 7) % 3 == 0;
    open += obj ? "{\"k\":" : "[";
    close.insert(close.begin(), obj ? '}' : ']');
  }
  EXPECT_TRUE(complete(open + "0" + close, deep));
  EXPECT_FALSE(prefix_ok(open + "[", deep));
  std::string swapped = open + "0" + close;
  std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
  EXPECT_EQ(complete(swapped, deep), parses(swapped));
}

TEST(JsonValidator, WhitespaceIsBounded) {
  EXPECT_TRUE(prefix_ok(std::string(20, ' ') + "{"));
  EXPECT_FALSE(prefix_ok(std::string(21, ' ')));
  EXPECT_TRUE(prefix_ok("\n\t\t  {\n  \"a\" :\n 1 ,\n \"b\":2\n}  \n"));
  EXPECT_FALSE(prefix_ok("{\n\n"));    // one line feed per run
  EXPECT_FALSE(prefix_ok("{}\n \n"));  // also after the value
  EXPECT_TRUE(prefix_ok("\r\n{"));
  // The run restarts after any other byte.
  std::string s = "{";
  for (int i = 0; i < 50; ++i) s += std::string(19, ' ') + (i ? ",\"k\":1" : "\"k\":1");
  EXPECT_TRUE(prefix_ok(s));
  // Inside strings anything goes.
  EXPECT_TRUE(complete("{\"a\":\"" + std::string(500, ' ') + "\"}"));
  JsonLimits tight;
  tight.max_ws_run = 0;
  EXPECT_FALSE(prefix_ok(" {", tight));
  EXPECT_TRUE(complete("{\"a\":[1,2]}", tight));
}

TEST(JsonValidator, NumberLengthIsBounded) {
  JsonLimits l;
  l.max_number_len = 10;
  EXPECT_TRUE(complete("{\"a\":-123456789}", l));
  EXPECT_FALSE(prefix_ok("{\"a\":-1234567890", l));
}

TEST(JsonValidator, AgreesWithStrictParser) {
  // Random documents and single-byte mutations of them: the validator says "complete" exactly when
  // nlohmann::json accepts the text, and it accepts every prefix of an accepted text.
  std::mt19937 rng(42);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> atoms = {"0",
                                          "-1",
                                          "2.5e-3",
                                          "true",
                                          "false",
                                          "null",
                                          "\"\"",
                                          "\"a\\u00e9\"",
                                          "\"\\ud83d\\ude00\"",
                                          "\"\xc3\xa9\"",
                                          "\"\\n\"",
                                          "1E9"};
  std::function<std::string(int)> gen = [&](int depth) -> std::string {
    const int kind = depth > 3 ? 0 : pick(3);
    const std::string ws = pick(4) == 0 ? " " : "";
    if (kind == 0) return atoms[static_cast<size_t>(pick(static_cast<int>(atoms.size())))];
    std::string s = kind == 1 ? "[" : "{";
    const int n = pick(4);
    for (int i = 0; i < n; ++i) {
      if (i) s += "," + ws;
      if (kind == 2) s += "\"k" + std::to_string(i) + "\"" + ws + ":";
      s += ws + gen(depth + 1);
    }
    return s + ws + (kind == 1 ? "]" : "}");
  };
  const std::string alphabet = "{}[]\":,0-1.eE+ tfnlrua\\\x80\xc3\xa9x";
  int agreed_valid = 0, agreed_invalid = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s = gen(0);
    if (iter % 2) {
      const size_t at = static_cast<size_t>(pick(static_cast<int>(s.size()) + 1));
      const int op = pick(3);
      const char c = alphabet[static_cast<size_t>(pick(static_cast<int>(alphabet.size())))];
      if (op == 0 && at < s.size())
        s.erase(at, 1);
      else if (op == 1)
        s.insert(s.begin() + static_cast<long>(at), c);
      else if (at < s.size())
        s[at] = c;
    }
    const bool ok = parses(s);
    ASSERT_EQ(complete(s, loose()), ok) << testing::PrintToString(s);
    if (ok) {
      ++agreed_valid;
      for (size_t i = 0; i <= s.size(); ++i)
        ASSERT_TRUE(prefix_ok(s.substr(0, i), loose())) << s << " @" << i;
    } else {
      ++agreed_invalid;
    }
  }
  EXPECT_GT(agreed_valid, 1000);
  EXPECT_GT(agreed_invalid, 300);
}

TEST(JsonValidator, MinCloseBytesIsExact) {
  // For every prefix of some documents, min_close_bytes() is the length of the shortest completion:
  // greedily taking a byte that lowers it by one completes the text in exactly that many bytes.
  const std::string alphabet = "{[\"}]:0123456789abcdefABCDEFtrueflsn\\u\x80\x90\xa0";
  const std::vector<std::string> docs = {
      "{\"a\":[1,{\"b\":\"x\\ud83d\\ude00\xf0\x9f\x98\x80\"},-2.5e+3],\"c\":true,\"d\":null}",
      "{\"key\": [ [ [] ], {\"\": false} ], \"\\u00e9\\n\": \"\xe2\x82\xac\"}",
  };
  for (const JsonLimits& lim : {JsonLimits{}, any_root()}) {
    for (const auto& d : docs) {
      for (size_t i = 0; i <= d.size(); ++i) {
        JsonValidator v(lim);
        ASSERT_TRUE(v.feed(d.substr(0, i)));
        int need = v.min_close_bytes();
        const int expected = need;
        int used = 0;
        while (!v.complete()) {
          bool stepped = false;
          for (char c : alphabet) {
            JsonValidator next = v;
            if (next.feed_byte(static_cast<uint8_t>(c)) && next.min_close_bytes() == need - 1) {
              v = next;
              --need;
              ++used;
              stepped = true;
              break;
            }
          }
          ASSERT_TRUE(stepped) << "no byte gets closer after " << testing::PrintToString(d.substr(0, i));
        }
        EXPECT_EQ(used, expected) << testing::PrintToString(d.substr(0, i));
        EXPECT_EQ(v.min_close_bytes(), 0);
      }
    }
  }
  EXPECT_EQ(JsonValidator().min_close_bytes(), 2);  // "{}"
  JsonValidator dead;
  dead.feed("x");
  EXPECT_GT(dead.min_close_bytes(), 1000000);
}

// ---- The constrained sampler ----

namespace {

// A toy vocabulary: token id -> text; the last token is end-of-generation.
struct ToyVocab {
  std::vector<std::string> pieces;
  int32_t eog() const { return static_cast<int32_t>(pieces.size()) - 1; }
  int32_t size() const { return static_cast<int32_t>(pieces.size()); }
};

// Tokens 0..7 are "{", "}", "[", "]", "\"", ":", ",", " ", then words and the other printable ASCII
// characters (every byte a JSON text may need has its own token, as in byte-level vocabularies).
ToyVocab toy() {
  ToyVocab v{{"{",     "}",      "[",    "]",        "\"",    ":",   ",",     " ",     "\n",
              "hello", " world", "true", "null",     "false", "\":", "\",",   "},",    "],",
              "{\"",   "\xc3",   "\xa9", "\xc3\xa9", "}}",    "  ",  "\\u00", "-1.5e", "<<"}};
  for (char c = '!'; c <= '~'; ++c) {
    if (std::string("{}[]\":, ").find(c) == std::string::npos) v.pieces.push_back(std::string(1, c));
  }
  v.pieces.push_back("<eog>");
  return v;
}

// Generates with random logits under the constraint and a token budget (like the engine does).
std::string generate(const ToyVocab& vocab, Sampler& sampler, std::mt19937& rng, int max_tokens,
                     bool* closed) {
  JsonValidator v;
  std::string out;
  std::normal_distribution<float> noise(0.0f, 3.0f);
  std::vector<float> logits(static_cast<size_t>(vocab.size()));
  for (int t = 0; t < max_tokens && !v.finished(); ++t) {
    for (auto& l : logits) l = noise(rng);
    logits[7] += 4;  // the model loves spaces ...
    logits[9] += 4;  // ... and words
    const int left = max_tokens - t - 1;
    const bool budget = v.min_close_bytes() <= left + 1;
    auto allowed = [&](int32_t id) {
      if (id == vocab.eog()) return v.complete();
      JsonValidator next = v;
      return next.feed(vocab.pieces[static_cast<size_t>(id)]) && (!budget || next.min_close_bytes() <= left);
    };
    int32_t id = -1;
    try {
      id = sampler.sample(logits.data(), vocab.size(), allowed);
    } catch (const hearth::Error& e) {
      ADD_FAILURE() << e.what() << " after " << testing::PrintToString(out) << " left " << left;
      break;
    }
    if (id == vocab.eog()) break;
    EXPECT_TRUE(allowed(id));
    out += vocab.pieces[static_cast<size_t>(id)];
    EXPECT_TRUE(v.feed(vocab.pieces[static_cast<size_t>(id)]));
  }
  *closed = v.complete();
  return out;
}

}  // namespace

TEST(ConstrainedSampler, OutputIsAlwaysValidJson) {
  const ToyVocab vocab = toy();
  int with_words = 0;
  for (const float temp : {0.0f, 0.8f, 1.5f}) {
    for (uint64_t seed = 0; seed < 40; ++seed) {
      SamplerParams p;
      p.temperature = temp;
      p.seed = seed;
      p.repeat_penalty = 1.1f;
      Sampler sampler(p);
      std::mt19937 rng(static_cast<unsigned>(seed));
      bool closed = false;
      const int budget = 5 + static_cast<int>(seed % 7) * 10;
      const std::string out = generate(vocab, sampler, rng, budget, &closed);
      EXPECT_TRUE(closed) << out;
      EXPECT_TRUE(parses(out)) << testing::PrintToString(out);
      EXPECT_TRUE(nlohmann::json::parse(out).is_object()) << out;
      with_words += out.find("hello") != std::string::npos;
    }
  }
  EXPECT_GT(with_words, 30);  // the constraint steers the model, it does not replace it
}

TEST(ConstrainedSampler, ChecksOnlyTheDrawnTokenWhenItIsAllowed) {
  SamplerParams p;
  p.seed = 7;
  Sampler s(p);
  const int32_t n = 150000;
  std::vector<float> logits(static_cast<size_t>(n));
  std::mt19937 rng(1);
  std::normal_distribution<float> noise(0.0f, 2.0f);
  for (auto& l : logits) l = noise(rng);
  int calls = 0;
  const int32_t id = s.sample(logits.data(), n, [&](int32_t) {
    ++calls;
    return true;
  });
  EXPECT_EQ(calls, 1);
  EXPECT_GE(id, 0);
  // Greedy with the best tokens rejected: visits tokens best first and stops at the first allowed.
  SamplerParams g;
  g.temperature = 0;
  Sampler greedy(g);
  std::vector<int32_t> order(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  calls = 0;
  const int32_t want = order[9];
  const int32_t got = greedy.sample(logits.data(), n, [&](int32_t t) {
    ++calls;
    return t == want || t == order[500];
  });
  EXPECT_EQ(got, want);
  EXPECT_LE(calls, 1 + 64);  // the argmax, then one sorted chunk at most
}

TEST(ConstrainedSampler, FallbackKeepsTopKOfTheAllowedTokens) {
  // Tokens 0..9 have the highest logits but are banned; with top_k = 3 the draw must come from the
  // three best allowed tokens (10, 11, 12), in proportion to their probabilities.
  const int32_t n = 1000;
  std::vector<float> logits(static_cast<size_t>(n), -5.0f);
  for (int i = 0; i < 10; ++i) logits[static_cast<size_t>(i)] = 10.0f;
  logits[10] = 3.0f;
  logits[11] = 2.0f;
  logits[12] = 1.0f;
  logits[13] = 0.9f;
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 3;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 3;
  Sampler s(p);
  std::map<int32_t, int> hist;
  const int draws = 6000;
  for (int i = 0; i < draws; ++i) ++hist[s.sample(logits.data(), n, [](int32_t t) { return t >= 10; })];
  EXPECT_EQ(hist.size(), 3u);
  const double z = std::exp(3.0) + std::exp(2.0) + std::exp(1.0);
  EXPECT_NEAR(hist[10] / double(draws), std::exp(3.0) / z, 0.03);
  EXPECT_NEAR(hist[12] / double(draws), std::exp(1.0) / z, 0.03);
}

TEST(ConstrainedSampler, NothingAllowedThrows) {
  std::vector<float> logits = {1, 2, 3};
  for (float temp : {0.0f, 1.0f}) {
    SamplerParams p;
    p.temperature = temp;
    Sampler s(p);
    EXPECT_THROW(s.sample(logits.data(), 3, [](int32_t) { return false; }), hearth::Error);
  }
}

TEST(ConstrainedSampler, LargeVocabularyFallbackIsFast) {
  // 150k "tokens", of which only 100 scattered low-probability ones are allowed: the worst case of
  // a JSON state with few continuations. The rejected draw falls back to a ranked scan.
  const int32_t n = 150000;
  std::vector<float> logits(static_cast<size_t>(n));
  std::mt19937 rng(5);
  std::normal_distribution<float> noise(0.0f, 2.0f);
  for (auto& l : logits) l = noise(rng);
  SamplerParams p;
  p.seed = 11;
  Sampler s(p);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    const int32_t id = s.sample(logits.data(), n, [](int32_t t) { return t % 1500 == 7; });
    EXPECT_EQ(id % 1500, 7);
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / 10;
  RecordProperty("fallback_ms", std::to_string(ms));
  EXPECT_LT(ms, 500.0);  // loose: sanitizer builds; Release takes a few ms
}

// ---- logprobs ----

TEST(Logprobs, LogSoftmaxAndTop) {
  const std::vector<float> logits = {1.0f,
                                     3.0f,
                                     2.0f,
                                     3.0f,
                                     -std::numeric_limits<float>::infinity(),
                                     std::numeric_limits<float>::quiet_NaN()};
  const auto lp = hearth::sample::logprobs_of(logits.data(), 6, 2, 3);
  const double z = std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0);
  EXPECT_NEAR(lp.chosen, 2.0 - std::log(z), 1e-5);
  ASSERT_EQ(lp.top.size(), 3u);
  EXPECT_EQ(lp.top[0].first, 1);  // ties: lower id first
  EXPECT_EQ(lp.top[1].first, 3);
  EXPECT_EQ(lp.top[2].first, 2);
  EXPECT_NEAR(lp.top[0].second, 3.0 - std::log(z), 1e-5);
  EXPECT_EQ(lp.top[2].second, lp.chosen);
  double sum = 0;
  for (int i = 0; i < 6; ++i) sum += std::exp(hearth::sample::logprobs_of(logits.data(), 6, i, 0).chosen);
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_TRUE(std::isinf(hearth::sample::logprobs_of(logits.data(), 6, 5, 0).chosen));  // NaN: impossible
  EXPECT_EQ(hearth::sample::logprobs_of(logits.data(), 6, 0, 100).top.size(), 6u);      // clamped
  EXPECT_THROW(hearth::sample::logprobs_of(logits.data(), 6, 6, 1), hearth::Error);
}
