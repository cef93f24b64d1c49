// Unit: the quantization mixes' per-tensor rules, the importance-matrix readers (both formats, with
// malformed input) and the quantize pipeline on small generated models (atomic output, cancel,
// errors, imatrix weighting, requantization, determinism across threads and step sizes).
#include "quantize/quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "base/error.h"
#include "gguf/gguf.h"
#include "quantize/imatrix.h"
#include "quantize/policy.h"

using namespace hearth;
using namespace hearth::quantize;
using tensor::Type;
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------------------
// Policy

TensorContext ctx(const std::string& name, int64_t n_layer, int64_t n_gqa = 1) {
  TensorContext t;
  t.name = name;
  t.n_layer = n_layer;
  t.n_gqa = n_gqa;
  t.arch = "llama";
  return t;
}

std::string blk(int i, const char* what) { return "blk." + std::to_string(i) + "." + what + ".weight"; }

Type type_of(const Policy& p, const TensorContext& t, int64_t ncols = 4096) { return p.type_for(t, ncols); }

TEST(QuantPolicy, MixNamesAndFileTypes) {
  EXPECT_EQ(Policy::for_mix("q4_k_m").name(), "Q4_K_M");
  EXPECT_EQ(Policy::for_mix("Q4_K").name(), "Q4_K_M");
  EXPECT_EQ(Policy::for_mix("Q4_K_M").file_type(), 15u);
  EXPECT_EQ(Policy::for_mix("Q3_K_S").file_type(), 11u);
  EXPECT_EQ(Policy::for_mix("IQ4_XS").file_type(), 30u);
  EXPECT_EQ(Policy::for_mix("BF16").file_type(), 32u);
  EXPECT_EQ(Policy::for_mix("Q8_0").base_type(), Type::Q8_0);
  try {
    Policy::for_mix("Q7_K");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Q4_K_M"), std::string::npos) << e.what();
  }
  for (const auto& n : Policy::mix_names()) EXPECT_EQ(Policy::for_mix(n).name(), n);
}

TEST(QuantPolicy, OutputGetsSixBits) {
  for (const char* m : {"Q2_K", "Q3_K_S", "Q4_0", "Q4_K_M", "Q5_1", "IQ4_NL", "IQ4_XS", "Q6_K"})
    EXPECT_EQ(type_of(Policy::for_mix(m), ctx("output.weight", 32)), Type::Q6_K) << m;
  EXPECT_EQ(type_of(Policy::for_mix("Q8_0"), ctx("output.weight", 32)), Type::Q8_0);
  EXPECT_EQ(type_of(Policy::for_mix("F16"), ctx("output.weight", 32)), Type::F16);
  // Token embeddings keep the base type, unless they are also the output (tied embeddings).
  EXPECT_EQ(type_of(Policy::for_mix("Q4_K_M"), ctx("token_embd.weight", 32)), Type::Q4_K);
  auto tied = ctx("token_embd.weight", 32);
  tied.has_output = false;
  EXPECT_EQ(type_of(Policy::for_mix("Q4_K_M"), tied), Type::Q6_K);
  EXPECT_EQ(type_of(Policy::for_mix("Q4_0"), tied), Type::Q6_K);
  // Output rows that do not fit the base type's blocks: Q8_0.
  EXPECT_EQ(type_of(Policy::for_mix("Q4_K_M"), ctx("output.weight", 24), 896), Type::Q8_0);
  auto falcon = ctx("output.weight", 32);
  falcon.arch = "falcon";
  EXPECT_EQ(type_of(Policy::for_mix("Q4_K_M"), falcon), Type::Q8_0);
}

TEST(QuantPolicy, Q4KMUsesMoreBitsInChosenLayers) {
  const auto p = Policy::for_mix("Q4_K_M");
  // 32 layers: the first and last 4, and every third from layer 6 on.
  std::vector<int> more;
  for (int i = 0; i < 32; ++i) {
    const Type v = type_of(p, ctx(blk(i, "attn_v"), 32, 4));
    const Type d = type_of(p, ctx(blk(i, "ffn_down"), 32, 4));
    EXPECT_EQ(v, d) << i;
    if (v == Type::Q6_K)
      more.push_back(i);
    else
      EXPECT_EQ(v, Type::Q4_K) << i;
    EXPECT_EQ(type_of(p, ctx(blk(i, "attn_q"), 32, 4)), Type::Q4_K);
    EXPECT_EQ(type_of(p, ctx(blk(i, "ffn_up"), 32, 4)), Type::Q4_K);
  }
  EXPECT_EQ(more, (std::vector<int>{0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}));
  // 4 layers (the fixtures' models): layers 2 and 3.
  EXPECT_EQ(type_of(p, ctx(blk(1, "attn_v"), 4)), Type::Q4_K);
  EXPECT_EQ(type_of(p, ctx(blk(2, "attn_v"), 4)), Type::Q6_K);
  EXPECT_EQ(type_of(p, ctx(blk(3, "ffn_down"), 4)), Type::Q6_K);
  // Q5_K_M: the same layers.
  EXPECT_EQ(type_of(Policy::for_mix("Q5_K_M"), ctx(blk(6, "ffn_down"), 32)), Type::Q6_K);
  EXPECT_EQ(type_of(Policy::for_mix("Q5_K_M"), ctx(blk(7, "ffn_down"), 32)), Type::Q5_K);
}

TEST(QuantPolicy, SmallAndLargeKQuantMixes) {
  const auto s3 = Policy::for_mix("Q3_K_S"), m3 = Policy::for_mix("Q3_K_M"), l3 = Policy::for_mix("Q3_K_L");
  for (const char* w : {"attn_v", "ffn_down", "attn_output", "attn_q", "ffn_gate"})
    EXPECT_EQ(type_of(s3, ctx(blk(5, w), 32)), Type::Q3_K) << w;
  EXPECT_EQ(type_of(m3, ctx(blk(0, "attn_v"), 32)), Type::Q5_K);
  EXPECT_EQ(type_of(m3, ctx(blk(1, "attn_v"), 32)), Type::Q5_K);
  EXPECT_EQ(type_of(m3, ctx(blk(2, "attn_v"), 32)), Type::Q4_K);
  EXPECT_EQ(type_of(m3, ctx(blk(1, "ffn_down"), 32)), Type::Q5_K);  // layer < 32/16
  EXPECT_EQ(type_of(m3, ctx(blk(2, "ffn_down"), 32)), Type::Q4_K);
  EXPECT_EQ(type_of(m3, ctx(blk(2, "attn_output"), 32)), Type::Q4_K);
  EXPECT_EQ(type_of(m3, ctx(blk(2, "attn_k"), 32)), Type::Q3_K);
  for (const char* w : {"attn_v", "ffn_down", "attn_output"})
    EXPECT_EQ(type_of(l3, ctx(blk(9, w), 32)), Type::Q5_K);
  EXPECT_EQ(type_of(l3, ctx(blk(9, "ffn_up"), 32)), Type::Q3_K);

  const auto s4 = Policy::for_mix("Q4_K_S");
  EXPECT_EQ(type_of(s4, ctx(blk(3, "attn_v"), 32)), Type::Q5_K);
  EXPECT_EQ(type_of(s4, ctx(blk(4, "attn_v"), 32)), Type::Q4_K);
  EXPECT_EQ(type_of(s4, ctx(blk(3, "ffn_down"), 32)), Type::Q5_K);  // layer < 32/8
  EXPECT_EQ(type_of(s4, ctx(blk(4, "ffn_down"), 32)), Type::Q4_K);
  const auto s5 = Policy::for_mix("Q5_K_S");
  for (const char* w : {"attn_v", "ffn_down", "attn_output"})
    EXPECT_EQ(type_of(s5, ctx(blk(0, w), 32)), Type::Q5_K);
  const auto q6 = Policy::for_mix("Q6_K");
  EXPECT_EQ(type_of(q6, ctx(blk(0, "ffn_down"), 32)), Type::Q6_K);
}

TEST(QuantPolicy, GroupedQueryAttentionMoEAndImatrix) {
  const auto q2 = Policy::for_mix("Q2_K");
  EXPECT_EQ(type_of(q2, ctx(blk(3, "attn_v"), 32, 1)), Type::Q3_K);
  EXPECT_EQ(type_of(q2, ctx(blk(3, "attn_v"), 32, 4)), Type::Q4_K);
  EXPECT_EQ(type_of(q2, ctx(blk(3, "ffn_down"), 32)), Type::Q3_K);
  EXPECT_EQ(type_of(q2, ctx(blk(3, "attn_output"), 32)), Type::Q3_K);
  EXPECT_EQ(type_of(q2, ctx(blk(3, "ffn_up"), 32)), Type::Q2_K);

  const auto xs = Policy::for_mix("IQ4_XS");
  EXPECT_EQ(type_of(xs, ctx(blk(3, "attn_v"), 32, 2)), Type::IQ4_XS);
  EXPECT_EQ(type_of(xs, ctx(blk(3, "attn_v"), 32, 4)), Type::Q5_K);
  EXPECT_EQ(type_of(xs, ctx(blk(3, "ffn_down"), 32)), Type::Q5_K);  // first eighth, no imatrix
  auto with_im = ctx(blk(3, "ffn_down"), 32);
  with_im.has_imatrix = true;
  EXPECT_EQ(type_of(xs, with_im), Type::IQ4_XS);
  EXPECT_EQ(type_of(Policy::for_mix("Q4_0"), with_im), Type::Q4_1);
  EXPECT_EQ(type_of(Policy::for_mix("Q5_0"), with_im), Type::Q5_1);
  EXPECT_EQ(type_of(Policy::for_mix("Q4_0"), ctx(blk(3, "ffn_down"), 32)), Type::Q4_0);

  // 8 experts: attention V and K in 8 bits, attention output in 5.
  auto moe = [](const std::string& n) {
    auto t = ctx(n, 32, 4);
    t.n_expert = 8;
    return t;
  };
  const auto m4 = Policy::for_mix("Q4_K_M");
  EXPECT_EQ(type_of(m4, moe(blk(5, "attn_v"))), Type::Q8_0);
  EXPECT_EQ(type_of(m4, moe(blk(5, "attn_k"))), Type::Q8_0);
  EXPECT_EQ(type_of(m4, moe(blk(5, "attn_output"))), Type::Q5_K);
  EXPECT_EQ(type_of(m4, moe(blk(6, "ffn_down_exps"))), Type::Q6_K);
  EXPECT_EQ(type_of(m4, moe(blk(7, "ffn_down_exps"))), Type::Q4_K);
  // 70B-class (80 layers, GQA): attn_v gets 5 bits where it would get 3 or 4.
  EXPECT_EQ(type_of(Policy::for_mix("Q4_K_S"), ctx(blk(40, "attn_v"), 80, 8)), Type::Q5_K);
  EXPECT_EQ(type_of(Policy::for_mix("Q3_K_S"), ctx(blk(40, "attn_v"), 80, 8)), Type::Q5_K);
  EXPECT_EQ(type_of(Policy::for_mix("Q3_K_S"), ctx(blk(40, "attn_v"), 80, 1)), Type::Q3_K);
  // Fused QKV.
  EXPECT_EQ(type_of(m4, ctx(blk(5, "attn_qkv"), 32)), Type::Q5_K);
  // The attn_v position can differ from the layer number (layers without attention).
  auto v = ctx(blk(9, "attn_v"), 32);
  v.i_attention_wv = 0;
  v.n_attention_wv = 8;
  EXPECT_EQ(type_of(m4, v), Type::Q6_K);
  v.i_attention_wv = 2;
  EXPECT_EQ(type_of(m4, v), Type::Q4_K);
}

TEST(QuantPolicy, FallbacksForRowsThatDoNotFitBlocks) {
  // 896 = 3.5 super-blocks of 256, 28 blocks of 32.
  EXPECT_EQ(fallback_type(Type::Q4_K, 896), Type::Q5_0);
  EXPECT_EQ(fallback_type(Type::Q5_K, 896), Type::Q5_1);
  EXPECT_EQ(fallback_type(Type::Q6_K, 896), Type::Q8_0);
  EXPECT_EQ(fallback_type(Type::Q3_K, 896), Type::IQ4_NL);
  EXPECT_EQ(fallback_type(Type::Q2_K, 896), Type::IQ4_NL);
  EXPECT_EQ(fallback_type(Type::IQ4_XS, 896), Type::IQ4_NL);
  EXPECT_EQ(fallback_type(Type::Q4_K, 4096), Type::Q4_K);
  EXPECT_EQ(fallback_type(Type::Q4_K, 100), Type::F16);
  EXPECT_EQ(fallback_type(Type::Q4_0, 100), Type::F16);
  bool fb = false;
  EXPECT_EQ(Policy::for_mix("Q4_K_M").type_for(ctx(blk(2, "ffn_down"), 4), 896, &fb), Type::Q8_0);
  EXPECT_TRUE(fb);
  EXPECT_EQ(Policy::for_mix("Q4_K_M").type_for(ctx(blk(2, "ffn_down"), 4), 512, &fb), Type::Q6_K);
  EXPECT_FALSE(fb);
  // Float mixes never fall back.
  EXPECT_EQ(Policy::for_mix("BF16").type_for(ctx(blk(0, "attn_q"), 4), 100, &fb), Type::BF16);
  EXPECT_FALSE(fb);
}

TEST(QuantPolicy, WhichTensorsAreQuantized) {
  EXPECT_TRUE(is_quantizable("blk.0.attn_q.weight", 2));
  EXPECT_TRUE(is_quantizable("token_embd.weight", 2));
  EXPECT_TRUE(is_quantizable("blk.0.ffn_down_exps.weight", 3));
  EXPECT_FALSE(is_quantizable("blk.0.attn_norm.weight", 1));
  EXPECT_FALSE(is_quantizable("blk.0.attn_q.bias", 1));
  EXPECT_FALSE(is_quantizable("blk.0.attn_q.weight", 1));  // a vector, whatever its name
  EXPECT_FALSE(is_quantizable("blk.0.attn_q_norm.weight", 2));
  EXPECT_FALSE(is_quantizable("blk.0.ffn_gate_inp.weight", 2));
  EXPECT_FALSE(is_quantizable("position_embd.weight", 2));
  EXPECT_FALSE(is_quantizable("blk.0.ssm_conv1d.weight", 2));
  EXPECT_FALSE(is_quantizable("rope_factors", 2));
}

// ---------------------------------------------------------------------------------------------------
// Importance matrix files

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("hearth-quantize-test-" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& n) const { return (dir_ / n).string(); }
  // Files in the directory other than the ones named.
  std::vector<std::string> entries() const {
    std::vector<std::string> v;
    for (auto& e : fs::directory_iterator(dir_)) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }
  fs::path dir_;
};

struct LegacyEntry {
  std::string name;
  int32_t ncall;
  std::vector<float> values;
};

std::string legacy_bytes(const std::vector<LegacyEntry>& entries, bool with_dataset = false) {
  std::string s;
  auto i32 = [&](int32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); };
  i32(static_cast<int32_t>(entries.size()));
  for (const auto& e : entries) {
    i32(static_cast<int32_t>(e.name.size()));
    s += e.name;
    i32(e.ncall);
    i32(static_cast<int32_t>(e.values.size()));
    s.append(reinterpret_cast<const char*>(e.values.data()), e.values.size() * 4);
  }
  if (with_dataset) {
    i32(42);
    i32(9);
    s += "wiki.test";
  }
  return s;
}

Imatrix parse(const std::string& s) {
  return parse_legacy_imatrix(reinterpret_cast<const uint8_t*>(s.data()), s.size(), "test.dat");
}

std::string parse_error(const std::string& s) {
  try {
    parse(s);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(QuantImatrix, LegacyFormat) {
  const auto bytes =
      legacy_bytes({{"blk.0.attn_q.weight", 4, {4, 8, 0, 2}}, {"output.weight", 0, {1, 2}}}, true);
  const Imatrix im = parse(bytes);
  EXPECT_EQ(im.format, "legacy");
  ASSERT_EQ(im.data.size(), 2u);
  ASSERT_NE(im.find("blk.0.attn_q.weight"), nullptr);
  EXPECT_EQ(*im.find("blk.0.attn_q.weight"), (std::vector<float>{1, 2, 0, 0.5f}));  // sums / calls
  EXPECT_EQ(*im.find("output.weight"), (std::vector<float>{1, 2}));                 // no calls: as stored
  EXPECT_EQ(im.chunks, 42);
  EXPECT_EQ(im.dataset, "wiki.test");
  EXPECT_EQ(im.find("nope"), nullptr);
  EXPECT_EQ(parse(legacy_bytes({{"a", 1, {1}}})).chunks, 0);
}

TEST(QuantImatrix, LegacyFormatMalformed) {
  const auto good =
      legacy_bytes({{"blk.0.attn_q.weight", 2, {1, 2, 3}}, {"blk.0.attn_k.weight", 2, {1, 2}}}, true);
  // Every truncation is a clear error (never a crash or a huge allocation).
  for (size_t n = 0; n < good.size(); ++n) {
    if (n == legacy_bytes({{"blk.0.attn_q.weight", 2, {1, 2, 3}}, {"blk.0.attn_k.weight", 2, {1, 2}}}).size())
      continue;  // the optional data-set trailer is absent: a valid file
    EXPECT_NE(parse_error(good.substr(0, n)), "") << n;
  }
  EXPECT_NE(parse_error(good + "x").find("unexpected"), std::string::npos);
  EXPECT_NE(parse_error(legacy_bytes({})).find("entry count"), std::string::npos);
  EXPECT_NE(parse_error(legacy_bytes({{"a", -1, {1}}})).find("negative call count"), std::string::npos);
  EXPECT_NE(parse_error(legacy_bytes({{"a", 1, {1}}, {"a", 1, {2}}})).find("duplicate"), std::string::npos);
  EXPECT_NE(parse_error(legacy_bytes({{"a", 1, {1, NAN}}})).find("non-finite"), std::string::npos);
  EXPECT_NE(parse_error(legacy_bytes({{"a", 1, {1, INFINITY}}})).find("non-finite"), std::string::npos);
  EXPECT_NE(parse_error(legacy_bytes({{"a", 1, {-1}}})).find("negative value"), std::string::npos);
  // Absurd counts and lengths.
  auto patch = [](std::string s, size_t off, int32_t v) {
    std::memcpy(s.data() + off, &v, 4);
    return s;
  };
  const auto one = legacy_bytes({{"abc", 1, {1, 2}}});
  EXPECT_NE(parse_error(patch(one, 0, 1 << 30)).find("entry count"), std::string::npos);
  EXPECT_NE(parse_error(patch(one, 4, 1 << 30)).find("name length"), std::string::npos);
  EXPECT_NE(parse_error(patch(one, 4, -5)).find("name length"), std::string::npos);
  EXPECT_NE(parse_error(patch(one, 15, 0x7fffffff)).find("truncated"), std::string::npos);
  EXPECT_NE(parse_error(patch(one, 15, 0)).find("value count"), std::string::npos);
}

class QuantFiles : public TempDir {};

TEST_F(QuantFiles, ImatrixFromFiles) {
  {
    std::ofstream out(path("im.dat"), std::ios::binary);
    out << legacy_bytes({{"blk.0.attn_q.weight", 2, {2, 4}}});
  }
  const Imatrix a = load_imatrix(path("im.dat"));
  EXPECT_EQ(*a.find("blk.0.attn_q.weight"), (std::vector<float>{1, 2}));
  EXPECT_THROW(load_imatrix(path("missing.dat")), Error);
  { std::ofstream(path("short.dat"), std::ios::binary) << "ab"; }
  EXPECT_THROW(load_imatrix(path("short.dat")), Error);

  // GGUF: <name>.in_sum2 [n, n_mat] / <name>.counts [1, n_mat]; a matrix with no count: importance 1.
  gguf::Writer w;
  w.set("general.type", gguf::Value::str("imatrix"));
  w.set("imatrix.chunk_count", gguf::Value::u32(7));
  w.set("imatrix.datasets", gguf::Value::str_array({"calib.txt"}));
  w.add_tensor("blk.0.ffn_down_exps.weight.in_sum2", Type::F32, {4, 2});
  w.add_tensor("blk.0.ffn_down_exps.weight.counts", Type::F32, {1, 2});
  w.add_tensor("blk.0.attn_q.weight.in_sum", Type::F32, {2, 1});  // ignored
  w.begin(path("im.gguf"));
  const float sums[] = {2, 4, 6, 8, 1, 1, 1, 1}, counts[] = {2, 0}, other[] = {0, 0};
  w.write_data(sums, sizeof(sums));
  w.write_data(counts, sizeof(counts));
  w.write_data(other, sizeof(other));
  w.finish();
  const Imatrix g = load_imatrix(path("im.gguf"));
  EXPECT_EQ(g.format, "gguf");
  EXPECT_EQ(g.chunks, 7);
  EXPECT_EQ(g.dataset, "calib.txt");
  ASSERT_EQ(g.data.size(), 1u);
  EXPECT_EQ(*g.find("blk.0.ffn_down_exps.weight"), (std::vector<float>{1, 2, 3, 4, 1, 1, 1, 1}));

  // Missing counts, wrong general.type, bad counts.
  auto write_bad = [&](const std::string& name, const char* type, std::vector<int64_t> counts_ne,
                       float count) {
    gguf::Writer b;
    b.set("general.type", gguf::Value::str(type));
    b.add_tensor("x.in_sum2", Type::F32, {2, 1});
    if (!counts_ne.empty()) b.add_tensor("x.counts", Type::F32, counts_ne);
    b.begin(path(name));
    const float s[] = {1, 2}, c[] = {count, count, count};
    b.write_data(s, sizeof(s));
    if (!counts_ne.empty()) b.write_data(c, static_cast<uint64_t>(counts_ne[0] * counts_ne[1]) * 4);
    b.finish();
    try {
      load_imatrix(path(name));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(write_bad("b1.gguf", "imatrix", {}, 1).find("no x.counts"), std::string::npos);
  EXPECT_NE(write_bad("b2.gguf", "model", {1, 1}, 1).find("not an importance matrix"), std::string::npos);
  EXPECT_NE(write_bad("b3.gguf", "imatrix", {1, 1}, -3).find("invalid count"), std::string::npos);
  EXPECT_NE(write_bad("b4.gguf", "imatrix", {1, 3}, 1).find("counts for"), std::string::npos);
  EXPECT_NE(write_bad("b5.gguf", "imatrix", {1, 1}, NAN).find("invalid count"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------
// The pipeline on small generated models

struct Tiny {
  int64_t n_embd = 256, n_layer = 2, n_ff = 288, n_vocab = 256;  // 288: ffn_down rows need a fallback
  Type wtype = Type::F32;
  std::string nan_in;  // tensor that gets a NaN
};

// Writes a small Llama-shaped model with random weights (N(0, 0.02), a few outliers).
void write_model(const std::string& path, const Tiny& m) {
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::str("llama"));
  w.set("general.name", gguf::Value::str("tiny test model"));
  w.set("general.file_type", gguf::Value::u32(0));
  w.set("llama.block_count", gguf::Value::u32(static_cast<uint32_t>(m.n_layer)));
  w.set("llama.embedding_length", gguf::Value::u32(static_cast<uint32_t>(m.n_embd)));
  w.set("llama.feed_forward_length", gguf::Value::u32(static_cast<uint32_t>(m.n_ff)));
  w.set("llama.attention.head_count", gguf::Value::u32(4));
  w.set("llama.attention.head_count_kv", gguf::Value::u32(2));
  w.set("llama.attention.layer_norm_rms_epsilon", gguf::Value::f32(1e-5f));
  w.set("tokenizer.ggml.tokens", gguf::Value::str_array({"<unk>", "<s>", "a", "b"}));
  w.set("tokenizer.ggml.scores", gguf::Value::f32_array({0, 0, -1.5f, -2.5f}));
  w.set("split.count", gguf::Value::u16(1));  // split metadata is dropped from the output
  struct T {
    std::string name;
    std::vector<int64_t> ne;
  };
  std::vector<T> ts = {{"token_embd.weight", {m.n_embd, m.n_vocab}},
                       {"output_norm.weight", {m.n_embd}},
                       {"output.weight", {m.n_embd, m.n_vocab}}};
  for (int i = 0; i < m.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    for (auto& t : std::vector<T>{{b + "attn_norm.weight", {m.n_embd}},
                                  {b + "attn_q.weight", {m.n_embd, m.n_embd}},
                                  {b + "attn_k.weight", {m.n_embd, m.n_embd / 2}},
                                  {b + "attn_v.weight", {m.n_embd, m.n_embd / 2}},
                                  {b + "attn_output.weight", {m.n_embd, m.n_embd}},
                                  {b + "ffn_norm.weight", {m.n_embd}},
                                  {b + "ffn_gate.weight", {m.n_embd, m.n_ff}},
                                  {b + "ffn_up.weight", {m.n_embd, m.n_ff}},
                                  {b + "ffn_down.weight", {m.n_ff, m.n_embd}}})
      ts.push_back(t);
  }
  for (auto& t : ts) w.add_tensor(t.name, t.ne.size() == 1 ? Type::F32 : m.wtype, t.ne);
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  w.begin(path);
  for (auto& t : ts) {
    const int64_t cols = t.ne[0], rows = t.ne.size() > 1 ? t.ne[1] : 1;
    const Type type = t.ne.size() == 1 ? Type::F32 : m.wtype;
    std::vector<float> row(static_cast<size_t>(cols));
    std::vector<uint8_t> q(tensor::row_size(type, cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& x : row) x = t.ne.size() == 1 ? 1.0f + nd(rng) : nd(rng);
      if (rng() % 97 == 0) row[rng() % cols] = 0.3f;  // outliers, as real weights have
      if (t.name == m.nan_in && r == rows / 2) row[3] = NAN;
      tensor::quantize_row(type, row.data(), q.data(), cols);
      w.write_data(q.data(), q.size());
    }
  }
  w.finish();
}

std::vector<float> dequant(const gguf::TensorInfo& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements()));
  const uint64_t rs = tensor::row_size(t.type, t.ne[0]);
  for (int64_t r = 0; r < t.n_rows(); ++r)
    tensor::dequantize_row(t.type, t.data + r * rs, v.data() + r * t.ne[0], t.ne[0]);
  return v;
}

std::string read_all(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(QuantFiles, QuantizesAndKeepsMetadata) {
  write_model(path("in.gguf"), {});
  Options opt;
  opt.threads = 2;
  std::vector<std::string> seen;
  opt.on_tensor = [&](const TensorReport& r) {
    EXPECT_EQ(r.index, static_cast<int>(seen.size()) + 1);
    seen.push_back(r.tensor->name);
  };
  const Result res = quantize_file(path("in.gguf"), path("out.gguf"), "Q4_K_M", opt);
  EXPECT_EQ(entries(), (std::vector<std::string>{"in.gguf", "out.gguf"}));  // no temporary file left
  auto in = gguf::File::open(path("in.gguf"));
  auto out = gguf::File::open(path("out.gguf"));
  EXPECT_EQ(seen.size(), in->tensors().size());
  EXPECT_EQ(out->get_int("general.file_type"), 15);
  EXPECT_EQ(out->get_int("general.quantization_version"), 2);
  EXPECT_FALSE(out->has("split.count"));
  for (const auto& [k, v] : in->metadata()) {
    if (k == "general.file_type" || k == "split.count") continue;
    ASSERT_TRUE(out->has(k)) << k;
    EXPECT_EQ(out->get(k).to_display(100), v.to_display(100)) << k;
    EXPECT_EQ(out->get(k).type, v.type) << k;
  }
  EXPECT_EQ(res.file_out, fs::file_size(path("out.gguf")));
  EXPECT_EQ(res.file_in, fs::file_size(path("in.gguf")));
  ASSERT_EQ(out->tensors().size(), in->tensors().size());
  for (size_t i = 0; i < in->tensors().size(); ++i) {
    const auto &a = in->tensors()[i], &b = out->tensors()[i];
    SCOPED_TRACE(a.name);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.n_dims, b.n_dims);
    for (int d = 0; d < 4; ++d) EXPECT_EQ(a.ne[d], b.ne[d]);
    EXPECT_EQ(b.type, res.plan.tensors[i].to);
    if (a.n_dims == 1) {
      EXPECT_EQ(b.type, Type::F32);
      EXPECT_EQ(std::memcmp(a.data, b.data, a.nbytes), 0);
      continue;
    }
    const auto x = dequant(a), y = dequant(b);
    double e2 = 0, s2 = 0;
    for (size_t j = 0; j < x.size(); ++j) e2 += (x[j] - y[j]) * (x[j] - y[j]), s2 += x[j] * x[j];
    EXPECT_LT(std::sqrt(e2 / s2), 0.1);
    EXPECT_GT(std::sqrt(e2 / s2), 0.001);
  }
  // The mix on this model: output 6 bits; layer 1 (of 2) is a "more bits" layer; ffn_down rows of 544
  // need 32-element blocks.
  EXPECT_EQ(out->find_tensor("output.weight")->type, Type::Q6_K);
  EXPECT_EQ(out->find_tensor("token_embd.weight")->type, Type::Q4_K);
  EXPECT_EQ(out->find_tensor("blk.0.attn_v.weight")->type, Type::Q4_K);
  EXPECT_EQ(out->find_tensor("blk.1.attn_v.weight")->type, Type::Q6_K);
  EXPECT_EQ(out->find_tensor("blk.0.ffn_down.weight")->type, Type::Q5_0);
  EXPECT_EQ(out->find_tensor("blk.1.ffn_down.weight")->type, Type::Q8_0);
  EXPECT_EQ(res.plan.n_fallback, 2);
  EXPECT_EQ(res.plan.n_quantizable, 2 + 2 * 7);
  EXPECT_FALSE(res.plan.requantize);
  EXPECT_EQ(res.by_type.at(Type::Q4_K).tensors, 2 + 2 * 5);
  EXPECT_GT(res.by_type.at(Type::Q4_K).rel_rms(), res.by_type.at(Type::Q6_K).rel_rms());
  EXPECT_EQ(res.total.tensors, 16);
}

TEST_F(QuantFiles, SameBytesWhateverTheThreadsAndSteps) {
  write_model(path("in.gguf"), {});
  Options a;
  a.threads = 1;
  quantize_file(path("in.gguf"), path("a.gguf"), "Q3_K_M", a);
  Options b;
  b.threads = 3;
  b.step_elements = 3000;  // a few rows per step
  quantize_file(path("in.gguf"), path("b.gguf"), "Q3_K_M", b);
  EXPECT_EQ(read_all(path("a.gguf")), read_all(path("b.gguf")));
}

TEST_F(QuantFiles, CancelLeavesNoFileAndKeepsAnExistingOutput) {
  write_model(path("in.gguf"), {});
  { std::ofstream(path("out.gguf")) << "previous contents"; }
  Options opt;
  opt.threads = 2;
  opt.step_elements = 4096;
  int polls = 0;
  opt.cancelled = [&] { return ++polls > 20; };
  try {
    quantize_file(path("in.gguf"), path("out.gguf"), "Q4_K_M", opt);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cancelled"), std::string::npos);
  }
  EXPECT_GT(polls, 20);
  EXPECT_EQ(entries(), (std::vector<std::string>{"in.gguf", "out.gguf"}));
  EXPECT_EQ(read_all(path("out.gguf")), "previous contents");
  opt.cancelled = nullptr;
  quantize_file(path("in.gguf"), path("out.gguf"), "Q4_K_M", opt);
  EXPECT_EQ(gguf::File::open(path("out.gguf"))->get_int("general.file_type"), 15);
}

TEST_F(QuantFiles, ErrorsLeaveNothingBehind) {
  Tiny bad;
  bad.nan_in = "blk.1.ffn_up.weight";
  write_model(path("nan.gguf"), bad);
  try {
    quantize_file(path("nan.gguf"), path("out.gguf"), "Q4_0", {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.1.ffn_up.weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
  }
  EXPECT_EQ(entries(), (std::vector<std::string>{"nan.gguf"}));
  write_model(path("in.gguf"), {});
  EXPECT_THROW(quantize_file(path("in.gguf"), path("no/such/dir/out.gguf"), "Q4_0", {}), Error);
  EXPECT_THROW(quantize_file(path("in.gguf"), path("out.gguf"), "Q9_9", {}), Error);
  EXPECT_THROW(quantize_file(path("missing.gguf"), path("out.gguf"), "Q4_0", {}), Error);
  { std::ofstream(path("junk.gguf")) << "GGUF but not really"; }
  EXPECT_THROW(quantize_file(path("junk.gguf"), path("out.gguf"), "Q4_0", {}), Error);
  EXPECT_EQ(entries(), (std::vector<std::string>{"in.gguf", "junk.gguf", "nan.gguf"}));
}

TEST_F(QuantFiles, ImportanceMatrixWeightsTheError) {
  write_model(path("in.gguf"), {});
  auto in = gguf::File::open(path("in.gguf"));
  // Columns 0..15 of every row matter 1e4 times more than the others.
  Imatrix im;
  for (const auto& t : in->tensors()) {
    if (t.n_dims < 2) continue;
    std::vector<float> w(static_cast<size_t>(t.ne[0]), 0.01f);
    for (int j = 0; j < 16; ++j) w[static_cast<size_t>(j)] = 100.0f;
    im.data[t.name] = w;
  }
  Options opt;
  opt.imatrix = &im;
  const Result r = quantize_file(path("in.gguf"), path("im.gguf"), "Q4_K_S", opt);
  EXPECT_EQ(r.imatrix_tensors, 2 + 2 * 7);
  quantize_file(path("in.gguf"), path("plain.gguf"), "Q4_K_S", {});
  auto with = gguf::File::open(path("im.gguf")), without = gguf::File::open(path("plain.gguf"));
  const auto* src = in->find_tensor("blk.0.attn_q.weight");
  const auto x = dequant(*src), a = dequant(*with->find_tensor(src->name)),
             b = dequant(*without->find_tensor(src->name));
  double wa = 0, wb = 0;
  for (size_t j = 0; j < x.size(); ++j) {
    const double w = (j % src->ne[0]) < 16 ? 100.0 : 0.01;
    wa += w * (x[j] - a[j]) * (x[j] - a[j]);
    wb += w * (x[j] - b[j]) * (x[j] - b[j]);
  }
  EXPECT_LT(wa, 0.8 * wb) << "weighted error with the imatrix " << wa << " without " << wb;

  // All-zero importance still gives finite weights.
  for (auto& [k, v] : im.data) std::fill(v.begin(), v.end(), 0.0f);
  quantize_file(path("in.gguf"), path("zero.gguf"), "IQ4_NL", opt);
  auto zero = gguf::File::open(path("zero.gguf"));
  for (const auto& t : zero->tensors())
    for (float v : dequant(t)) ASSERT_TRUE(std::isfinite(v)) << t.name;

  // Wrong sizes: an error naming the tensor, except for the token embeddings (ignored).
  im.data["token_embd.weight"] = std::vector<float>(7, 1.0f);
  quantize_file(path("in.gguf"), path("ok.gguf"), "Q4_K_M", opt);
  im.data["blk.1.attn_k.weight"] = std::vector<float>(128, 1.0f);
  try {
    quantize_file(path("in.gguf"), path("bad.gguf"), "Q4_K_M", opt);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.1.attn_k.weight"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(path("bad.gguf")));
}

TEST_F(QuantFiles, RequantizesAndConvertsFloats) {
  Tiny f16;
  f16.wtype = Type::F16;
  write_model(path("f16.gguf"), f16);
  quantize_file(path("f16.gguf"), path("q8.gguf"), "Q8_0", {});
  const Result r = quantize_file(path("q8.gguf"), path("q4.gguf"), "Q4_K_M", {});
  EXPECT_TRUE(r.plan.requantize);
  auto a = gguf::File::open(path("f16.gguf")), b = gguf::File::open(path("q4.gguf"));
  EXPECT_EQ(b->find_tensor("blk.0.attn_q.weight")->type, Type::Q4_K);
  EXPECT_EQ(b->find_tensor("output.weight")->type, Type::Q6_K);
  const auto x = dequant(*a->find_tensor("blk.0.attn_q.weight")),
             y = dequant(*b->find_tensor("blk.0.attn_q.weight"));
  double e2 = 0, s2 = 0;
  for (size_t j = 0; j < x.size(); ++j) e2 += (x[j] - y[j]) * (x[j] - y[j]), s2 += x[j] * x[j];
  EXPECT_LT(std::sqrt(e2 / s2), 0.1);

  // Same type in and out: bytes copied unchanged.
  const Result same = quantize_file(path("q8.gguf"), path("q8b.gguf"), "Q8_0", {});
  EXPECT_TRUE(same.by_type.empty());
  EXPECT_EQ(read_all(path("q8.gguf")), read_all(path("q8b.gguf")));

  // BF16 from F16: every matrix converted, vectors stay F32.
  quantize_file(path("f16.gguf"), path("bf16.gguf"), "BF16", {});
  auto c = gguf::File::open(path("bf16.gguf"));
  EXPECT_EQ(c->get_int("general.file_type"), 32);
  for (const auto& t : c->tensors()) EXPECT_EQ(t.type, t.n_dims == 1 ? Type::F32 : Type::BF16) << t.name;

  // The plan works on a header-only read.
  auto h = gguf::File::open(path("f16.gguf"), gguf::ReadOptions{.header_only = true, .load_splits = false});
  const Plan p = make_plan(*h, "Q2_K");
  EXPECT_EQ(p.policy.name(), "Q2_K");
  EXPECT_LT(p.bytes_out, p.bytes_in / 4);
}

}  // namespace
