// Tokenizer unit tests: special-token parsing, BOS/EOS and end-of-generation tokens, the streaming
// decoder, invalid UTF-8, long inputs, and validation of untrusted vocabulary metadata.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "gguf/gguf.h"

namespace {

using hearth::Error;
using hearth::gguf::Value;
using hearth::tokenizer::DecodeOptions;
using hearth::tokenizer::StreamDecoder;
using hearth::tokenizer::Tokenizer;
using hearth::tokenizer::utf8_complete_prefix;
using hearth::tokenizer::VocabType;
using Ids = std::vector<int32_t>;

const Tokenizer& vocab(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& t = cache[name];
  if (!t) {
    const std::string path = std::string(HEARTH_FIXTURES) + "/vocab/ggml-vocab-" + name + ".gguf";
    t = Tokenizer::from_gguf(*hearth::gguf::File::open(path, {.header_only = true}));
  }
  return *t;
}

Ids concat(std::initializer_list<Ids> parts) {
  Ids r;
  for (const auto& p : parts) r.insert(r.end(), p.begin(), p.end());
  return r;
}

bool contains(const Ids& ids, int32_t id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

// ---- special tokens ----

TEST(TokenizerSpecial, ChatTemplateTextBecomesControlTokensOnlyWhenAsked) {
  const Tokenizer& t = vocab("qwen2");
  const int32_t im_start = t.find_token("<|im_start|>"), im_end = t.find_token("<|im_end|>");
  ASSERT_GE(im_start, 0);
  ASSERT_GE(im_end, 0);
  const std::string prompt = "<|im_start|>user\nhi<|im_end|>\n";
  const Ids parsed = t.encode(prompt, false, true);
  EXPECT_EQ(parsed,
            concat({{im_start}, t.encode("user\nhi", false, false), {im_end}, t.encode("\n", false, false)}));
  const Ids plain = t.encode(prompt, false, false);
  EXPECT_FALSE(contains(plain, im_start));
  EXPECT_FALSE(contains(plain, im_end));
  EXPECT_EQ(t.decode(plain), prompt);  // user text stays text
}

TEST(TokenizerSpecial, UserDefinedTokensAreAlwaysMatched) {
  // Like the reference: user-defined tokens are split out of plain text too.
  const Tokenizer& q = vocab("qwen2");
  const int32_t tool_call = q.find_token("<tool_call>");
  ASSERT_GE(tool_call, 0);
  EXPECT_TRUE(contains(q.encode("a<tool_call>b", false, false), tool_call));
  const Tokenizer& d = vocab("deepseek-llm");
  EXPECT_EQ(d.encode("ø", false, false), Ids{d.find_token("ø")});
}

TEST(TokenizerSpecial, LongestSpecialTokenWins) {
  const Tokenizer& t = vocab("llama-bpe");
  const int32_t start = t.find_token("<|start_header_id|>"), end = t.find_token("<|end_header_id|>");
  const Ids ids = t.encode("<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>", false, true);
  EXPECT_EQ(ids, concat({{start},
                         t.encode("user", false, false),
                         {end},
                         t.encode("\n\nhi", false, false),
                         {t.find_token("<|eot_id|>")}}));
}

TEST(TokenizerSpecial, SentencePieceSpacePrefixAndRightStrip) {
  // Text after a special token gets the SentencePiece space prefix; phi-3's special tokens also
  // swallow the white space after them (the reference sets RSTRIP for that model).
  const Tokenizer& t = vocab("phi-3");
  const Ids ids = t.encode("<|user|>\nHello<|end|>\n<|assistant|>", true, true);
  EXPECT_EQ(ids, (Ids{t.bos(), t.find_token("<|user|>"), t.find_token("▁Hello"), t.find_token("<|end|>"),
                      t.find_token("<|assistant|>")}));
  const Tokenizer& s = vocab("llama-spm");
  EXPECT_EQ(s.encode("<s>Hello", false, true), (Ids{s.bos(), s.find_token("▁Hello")}));
  EXPECT_NE(s.encode("<s>Hello", false, false).front(), s.bos());
}

TEST(TokenizerSpecial, AddSpecial) {
  const Tokenizer& spm = vocab("llama-spm");
  EXPECT_TRUE(spm.add_bos());
  EXPECT_EQ(spm.encode("hi", true, false).front(), spm.bos());
  EXPECT_EQ(spm.encode("", true, false), Ids{spm.bos()});
  EXPECT_TRUE(spm.encode("", false, false).empty());
  const Tokenizer& l3 = vocab("llama-bpe");
  EXPECT_EQ(l3.encode("hi", true, false).front(), 128000);
  const Tokenizer& q = vocab("qwen2");
  EXPECT_FALSE(q.add_bos());
  EXPECT_EQ(q.encode("hi", true, false), q.encode("hi", false, false));
  const Tokenizer& bert = vocab("bert-bge");
  const Ids b = bert.encode("hello world", true, false);
  ASSERT_GE(b.size(), 3u);
  EXPECT_EQ(b.front(), 101);  // [CLS]
  EXPECT_EQ(b.back(), 102);   // [SEP]
}

TEST(TokenizerSpecial, EndOfGeneration) {
  const Tokenizer& q = vocab("qwen2");
  EXPECT_EQ(q.eot(), q.find_token("<|im_end|>"));
  EXPECT_TRUE(q.is_eog(q.find_token("<|im_end|>")));
  EXPECT_TRUE(q.is_eog(q.find_token("<|endoftext|>")));
  EXPECT_FALSE(q.is_eog(q.find_token("<|im_start|>")));
  EXPECT_FALSE(q.is_eog(-1));
  const Tokenizer& l3 = vocab("llama-bpe");
  EXPECT_EQ(l3.eos(), 128001);
  EXPECT_EQ(l3.eot(), 128009);
  EXPECT_TRUE(l3.is_eog(128001));
  EXPECT_TRUE(l3.is_eog(128009));
  const Tokenizer& spm = vocab("llama-spm");
  EXPECT_EQ(spm.eos(), 2);
  EXPECT_EQ(spm.eot(), -1);
  EXPECT_TRUE(spm.is_eog(2));
  EXPECT_FALSE(spm.is_eog(1));
  EXPECT_EQ(spm.pad(), -1);
  EXPECT_EQ(spm.nl(), spm.find_token("<0x0A>"));
}

// ---- decoding ----

TEST(TokenizerDecode, Pieces) {
  const Tokenizer& spm = vocab("llama-spm");
  EXPECT_EQ(spm.token_to_piece(spm.find_token("<0x0A>")), "\n");
  EXPECT_EQ(spm.token_to_piece(spm.find_token("▁Hello")), " Hello");
  EXPECT_EQ(spm.token_to_piece(spm.bos()), "<s>");
  EXPECT_EQ(spm.token_to_piece(spm.bos(), false), "");
  const Tokenizer& g = vocab("gpt-2");
  EXPECT_EQ(g.token_to_piece(g.find_token("Ġthe")), " the");
  EXPECT_EQ(g.token_to_piece(g.find_token("Ċ")), "\n");
  EXPECT_THROW(g.token_to_piece(g.n_vocab()), Error);
  EXPECT_THROW(g.decode(Ids{-1}), Error);
}

TEST(TokenizerDecode, ControlTokensHiddenUnlessRendered) {
  const Tokenizer& q = vocab("qwen2");
  const Ids ids = q.encode("<|im_start|>hi<|im_end|>", false, true);
  EXPECT_EQ(q.decode(ids), "hi");
  DecodeOptions r;
  r.render_special = true;
  EXPECT_EQ(q.decode(ids, r), "<|im_start|>hi<|im_end|>");
}

TEST(TokenizerDecode, CleanUpOfSpacesLikeTheReference) {
  const Tokenizer& g = vocab("gpt-2");
  const Ids ids = g.encode("Hello , world ! it 's", false, false);
  EXPECT_EQ(g.decode(ids), "Hello, world! it's");
  DecodeOptions raw;
  raw.clean_spaces = false;
  EXPECT_EQ(g.decode(ids, raw), "Hello , world ! it 's");
  // qwen2 does not ask for the clean-up.
  const Tokenizer& q = vocab("qwen2");
  EXPECT_EQ(q.decode(q.encode("a , b", false, false)), "a , b");
}

TEST(TokenizerDecode, RemoveSpecial) {
  const Tokenizer& spm = vocab("llama-spm");
  Ids ids = spm.encode("Hi", true, false);
  ids.push_back(spm.eos());
  DecodeOptions o;
  o.remove_special = true;
  o.render_special = true;
  EXPECT_EQ(spm.decode(ids, o), " Hi</s>");  // EOS is only removed when the vocabulary adds it
  o.strip_leading_space = false;
  EXPECT_EQ(spm.decode(spm.encode("Hi", false, false), o), " Hi");
}

// ---- streaming ----

std::vector<std::string> stream(const Tokenizer& t, const Ids& ids, DecodeOptions o = {}) {
  StreamDecoder d(t, o);
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(d.push(id));
  out.push_back(d.flush());
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string r;
  for (const auto& s : v) r += s;
  return r;
}

bool complete_utf8(const std::string& s) { return utf8_complete_prefix(s) == s.size(); }

TEST(TokenizerStream, HoldsSplitCharacterUntilComplete) {
  const Tokenizer& t = vocab("llama-spm");
  const Ids ids = {t.find_token("<0xF0>"), t.find_token("<0x9F>"), t.find_token("<0x98>"),
                   t.find_token("<0x80>"), t.find_token("▁ok")};
  const auto parts = stream(t, ids);
  EXPECT_EQ(parts, (std::vector<std::string>{"", "", "", "\xF0\x9F\x98\x80", " ok", ""}));
}

TEST(TokenizerStream, MatchesDecodeOnRealText) {
  const std::string text = "Zürich 日本語 🦙 naïve — “quoted” テキスト 👩‍💻 done";
  for (const char* name : {"llama-spm", "gpt-2", "qwen2", "deepseek-coder"}) {
    const Tokenizer& t = vocab(name);
    for (bool bos : {false, true}) {
      const Ids ids = t.encode(text, bos, false);
      DecodeOptions o;
      o.clean_spaces = false;
      const auto parts = stream(t, ids, o);
      EXPECT_EQ(join(parts), t.decode(ids, o)) << name;
      for (const auto& p : parts) EXPECT_TRUE(complete_utf8(p)) << name << ": partial sequence emitted";
    }
  }
}

TEST(TokenizerStream, LeadingSpaceConvention) {
  const Tokenizer& t = vocab("llama-spm");
  EXPECT_EQ(join(stream(t, t.encode("Once upon", true, false))), " Once upon");  // after BOS: kept
  EXPECT_EQ(join(stream(t, t.encode("Once upon", false, false))), "Once upon");  // first token: dropped
}

TEST(TokenizerStream, InvalidBytesAreNotHeldForever) {
  const Tokenizer& t = vocab("llama-spm");
  StreamDecoder d(t);
  EXPECT_EQ(d.push(t.find_token("<0xE2>")), "");
  EXPECT_EQ(d.push(t.find_token("<0x41>")),
            "\xE2"
            "A");
  EXPECT_EQ(d.push(t.find_token("<0xFF>")), "\xFF");
  EXPECT_EQ(d.push(t.find_token("<0xF0>")), "");
  EXPECT_EQ(d.flush(), "\xF0");
  d.reset();
  EXPECT_EQ(d.push(t.find_token("▁ok")), "ok");
  EXPECT_THROW(d.push(t.n_vocab()), Error);
}

TEST(TokenizerStream, CompletePrefix) {
  EXPECT_EQ(utf8_complete_prefix(""), 0u);
  EXPECT_EQ(utf8_complete_prefix("abc"), 3u);
  EXPECT_EQ(utf8_complete_prefix("a\xC3"), 1u);
  EXPECT_EQ(utf8_complete_prefix("a\xC3\xA9"), 3u);
  EXPECT_EQ(utf8_complete_prefix("a\xE2\x82"), 1u);
  EXPECT_EQ(utf8_complete_prefix("a\xF0\x9F\x98"), 1u);
  EXPECT_EQ(utf8_complete_prefix("\xF0\x9F\x98\x80"), 4u);
  EXPECT_EQ(utf8_complete_prefix("\x80\x80\x80\x80"), 4u);  // stray continuation bytes: nothing to wait for
  EXPECT_EQ(utf8_complete_prefix("a\xFF"), 2u);
}

// ---- invalid input and long input ----

TEST(TokenizerInput, InvalidUtf8EncodedLikeTheReference) {
  const Tokenizer& spm = vocab("llama-spm");  // byte fallback: bytes survive
  const std::string junk = "ok\xFF\xFE\xFD\xFC!\xC3(\xE2\x82";
  EXPECT_EQ(spm.decode(spm.encode(junk, false, false)), junk);
  // Like the reference, a lead byte claims the bytes its length announces, even those of the "▁"
  // that stands for the next space: they come back as raw bytes.
  EXPECT_EQ(spm.decode(spm.encode("\xFF a", false, false)),
            "\xFF\xE2\x96\x81"
            "a");
  const Tokenizer& g = vocab("gpt-2");  // BPE: each invalid byte is U+FFFD
  EXPECT_EQ(g.encode("\xFF", false, false), g.encode("\xEF\xBF\xBD", false, false));
  EXPECT_EQ(g.decode(g.encode("a\xFF"
                              "b",
                              false, false)),
            "a\xEF\xBF\xBD"
            "b");
  const Tokenizer& b = vocab("bert-bge");  // WordPiece drops U+FFFD
  EXPECT_TRUE(b.encode("\xFF\xFF", false, false).empty());
}

TEST(TokenizerInput, RandomBytesNeverCrash) {
  std::mt19937 rng(1234);
  for (const char* name :
       {"llama-spm", "phi-3", "gpt-2", "qwen2", "deepseek-llm", "deepseek-coder", "bert-bge"}) {
    const Tokenizer& t = vocab(name);
    for (int iter = 0; iter < 150; ++iter) {
      std::string s(rng() % 48, '\0');
      for (char& c : s) c = static_cast<char>(iter % 3 == 0 ? rng() % 256 : " \n\t<|>aé\xF0\x9F"[rng() % 11]);
      for (bool ps : {false, true}) {
        const Ids ids = t.encode(s, ps, ps);
        for (int32_t id : ids) ASSERT_TRUE(t.valid(id)) << name;
        DecodeOptions o;
        o.render_special = true;
        EXPECT_NO_THROW(t.decode(ids, o));
      }
    }
  }
}

TEST(TokenizerInput, LongInputsStayFast) {
  // A quadratic merge would not finish these within the test timeout.
  const std::string repeated(100000, 'a');
  std::string no_spaces;
  std::mt19937 rng(5);
  while (no_spaces.size() < (512u << 10)) no_spaces.push_back(static_cast<char>('a' + rng() % 26));
  const std::string spaces(100000, ' ');
  for (const char* name : {"llama-spm", "gpt-2", "llama-bpe", "deepseek-llm", "bert-bge"}) {
    const Tokenizer& t = vocab(name);
    DecodeOptions o;
    o.clean_spaces = false;
    for (const std::string* s : std::vector<const std::string*>{&repeated, &no_spaces, &spaces}) {
      const Ids ids = t.encode(*s, false, false);
      if (t.type() == VocabType::kWpm) continue;  // WordPiece does not round-trip
      ASSERT_FALSE(ids.empty()) << name;
      EXPECT_EQ(t.decode(ids, o), *s) << name;
    }
  }
}

TEST(TokenizerInput, ConcurrentEncodeIsConsistent) {
  const Tokenizer& t = vocab("qwen2");
  std::string text;
  for (int i = 0; i < 200; ++i) text += "The quick brown fox 日本語 " + std::to_string(i) + " <|im_end|>\n";
  const Ids want = t.encode(text, true, true);
  std::vector<Ids> got(4);
  std::vector<std::thread> th;
  for (int i = 0; i < 4; ++i) th.emplace_back([&, i] { got[i] = t.encode(text, true, true); });
  for (auto& x : th) x.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
}

// ---- validation of vocabulary metadata ----

class TokenizerValidation : public ::testing::Test {
 protected:
  std::unique_ptr<Tokenizer> build(const std::function<void(hearth::gguf::Writer&)>& fill) {
    const std::string path = ::testing::TempDir() + "/tok_" + std::to_string(counter_++) + ".gguf";
    hearth::gguf::Writer w;
    fill(w);
    w.begin(path);
    w.finish();
    auto f = hearth::gguf::File::open(path, {.header_only = true});
    std::filesystem::remove(path);
    return Tokenizer::from_gguf(*f);
  }
  static std::vector<std::string> spm_tokens() {
    std::vector<std::string> t = {"<unk>", "<s>", "</s>", "▁", "a", "b", "▁a", "ab", "▁ab"};
    return t;
  }
  static void spm(hearth::gguf::Writer& w) {
    w.set("tokenizer.ggml.model", Value::str("llama"));
    w.set("tokenizer.ggml.tokens", Value::str_array(spm_tokens()));
    w.set("tokenizer.ggml.scores", Value::f32_array({0, 0, 0, -1, -2, -2, -3, -4, -1}));
    w.set("tokenizer.ggml.token_type", Value::i32_array({2, 3, 3, 1, 1, 1, 1, 1, 1}));
  }
  static void bpe(hearth::gguf::Writer& w) {
    w.set("tokenizer.ggml.model", Value::str("gpt2"));
    w.set("tokenizer.ggml.tokens", Value::str_array({"a", "b", "ab", "Ġ", "Ġab", "<|endoftext|>"}));
    w.set("tokenizer.ggml.token_type", Value::i32_array({1, 1, 1, 1, 1, 3}));
    w.set("tokenizer.ggml.merges", Value::str_array({"a b", "Ġ ab"}));
    w.set("tokenizer.ggml.eos_token_id", Value::u32(5));
    w.set("tokenizer.ggml.pre", Value::str("gpt-2"));
  }
  int counter_ = 0;
};

TEST_F(TokenizerValidation, SmallVocabulariesWork) {
  auto s = build(spm);
  EXPECT_EQ(s->type(), VocabType::kSpm);
  EXPECT_EQ(s->encode("ab ab", false, false), (Ids{8, 8}));  // "▁ab▁ab"
  auto b = build(bpe);
  EXPECT_EQ(b->encode("ab ab", false, false), (Ids{2, 4}));
  EXPECT_TRUE(b->is_eog(5));
  EXPECT_EQ(b->decode(Ids{2, 4}), "ab ab");
}

TEST_F(TokenizerValidation, MissingOrMalformedArraysAreClearErrors) {
  const auto expect_error = [&](const std::function<void(hearth::gguf::Writer&)>& fill,
                                const std::string& what) {
    try {
      build(fill);
      ADD_FAILURE() << "no error; expected one mentioning " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  expect_error([](auto& w) { w.set("general.name", Value::str("x")); }, "tokenizer.ggml.model");
  expect_error([](auto& w) { w.set("tokenizer.ggml.model", Value::str("llama")); }, "tokenizer.ggml.tokens");
  expect_error(
      [](auto& w) {
        spm(w);
        w.set("tokenizer.ggml.scores", Value::f32_array({0, 0}));
      },
      "scores");
  expect_error(
      [](auto& w) {
        spm(w);
        w.set("tokenizer.ggml.token_type", Value::i32_array({1}));
      },
      "token_type");
  expect_error(
      [](auto& w) {
        spm(w);
        w.set("tokenizer.ggml.tokens", Value::str_array({"a", "b", "a"}));
        w.set("tokenizer.ggml.scores", Value::f32_array({0, 0, 0}));
        w.set("tokenizer.ggml.token_type", Value::i32_array({1, 1, 1}));
      },
      "duplicate");
  expect_error(
      [](auto& w) {
        bpe(w);
        w.set("tokenizer.ggml.merges", Value::str_array({"a b", "ab"}));
      },
      "merges[1]");
  expect_error(
      [](auto& w) {
        w.set("tokenizer.ggml.model", Value::str("gpt2"));
        w.set("tokenizer.ggml.tokens", Value::str_array({"a"}));
      },
      "tokenizer.ggml.merges");
  expect_error(
      [](auto& w) {
        spm(w);
        w.set("tokenizer.ggml.model", Value::str("t5"));
      },
      "unsupported tokenizer");
  expect_error(
      [](auto& w) {
        bpe(w);
        w.set("tokenizer.ggml.add_bos_token", Value::boolean(true));
      },
      "BOS");
}

TEST_F(TokenizerValidation, OutOfRangeSpecialIdsAreIgnored) {
  auto t = build([](auto& w) {
    spm(w);
    w.set("tokenizer.ggml.bos_token_id", Value::u32(1000));
    w.set("tokenizer.ggml.eos_token_id", Value::u32(4294967295u));
    w.set("tokenizer.ggml.padding_token_id", Value::u32(99));
  });
  EXPECT_EQ(t->bos(), 1);  // the default stays
  EXPECT_EQ(t->eos(), 2);
  EXPECT_EQ(t->pad(), -1);
}

TEST_F(TokenizerValidation, VeryLongSpecialTokensStillMatch) {
  const std::string big = "<" + std::string(3000, 'x') + ">";
  auto t = build([&](auto& w) {
    spm(w);
    auto toks = spm_tokens();
    toks.push_back(big);
    w.set("tokenizer.ggml.tokens", Value::str_array(toks));
    w.set("tokenizer.ggml.scores", Value::f32_array({0, 0, 0, -1, -2, -2, -3, -4, -1, 0}));
    w.set("tokenizer.ggml.token_type", Value::i32_array({2, 3, 3, 1, 1, 1, 1, 1, 1, 4}));
  });
  const Ids ids = t->encode("ab" + big + "ab", false, false);
  EXPECT_TRUE(contains(ids, 9));
  EXPECT_EQ(t->decode(ids), "ab" + big + " ab");  // SentencePiece puts a space after a special token
}

TEST_F(TokenizerValidation, UnknownPreTokenizerFallsBack) {
  auto t = build([](auto& w) {
    bpe(w);
    w.set("tokenizer.ggml.pre", Value::str("qwen2-custom"));
  });
  EXPECT_EQ(t->pre(), "qwen2");
  auto d = build([](auto& w) {
    bpe(w);
    w.set("tokenizer.ggml.pre", Value::str("something-new"));
  });
  EXPECT_EQ(d->pre(), "default");
  EXPECT_EQ(d->encode("ab ab", false, false), (Ids{2, 4}));
}

}  // namespace
