// tensor: type table, reference quantize / dequantize round trips, known encodings.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "base/error.h"
#include "base/fp16.h"
#include "tensor/blocks.h"
#include "tensor/quants.h"
#include "tensor/types.h"

namespace {

using hearth::tensor::Type;
namespace ht = hearth::tensor;

struct Case {
  Type type;
  double max_rel_rms;  // bound on rms(x - deq(q(x))) / rms(x) for N(0,1) data
};

// Bounds from the bit width (measured on Gaussian rows of 4096: F16 0.02%, BF16 0.17%, Q8_0 0.54%,
// Q8_K 0.70%, Q6_K 1.8%, Q5_1 3.8%, Q5_K 3.6%, Q5_0 4.3%, Q4_K 7.1%, Q4_1 7.8%, IQ4_NL 7.6%,
// IQ4_XS 7.7%, Q4_0 8.6%, Q3_K 15.1%, Q2_K 29.6%; identical to the standard GGUF quantizer).
const Case kCases[] = {
    {Type::F32, 0.0},    {Type::F16, 4e-4},     {Type::BF16, 3e-3},    {Type::Q8_0, 0.007},
    {Type::Q8_1, 0.007}, {Type::Q8_K, 0.009},   {Type::Q6_K, 0.022},   {Type::Q5_0, 0.050},
    {Type::Q5_1, 0.045}, {Type::Q5_K, 0.043},   {Type::Q4_0, 0.100},   {Type::Q4_1, 0.090},
    {Type::Q4_K, 0.085}, {Type::IQ4_NL, 0.090}, {Type::IQ4_XS, 0.090}, {Type::Q3_K, 0.180},
    {Type::Q2_K, 0.330},
};

std::vector<float> gaussian(int64_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

std::vector<float> round_trip(Type t, const std::vector<float>& x, const float* imatrix = nullptr) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(ht::row_size(t, n));
  ht::quantize_row(t, x.data(), q.data(), n, imatrix);
  std::vector<float> y(n, -12345.0f);
  ht::dequantize_row(t, q.data(), y.data(), n);
  return y;
}

double rel_rms(const std::vector<float>& x, const std::vector<float>& y) {
  double e = 0, s = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    e += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
    s += double(x[i]) * x[i];
  }
  return s > 0 ? std::sqrt(e / s) : std::sqrt(e);
}

void expect_finite(const std::vector<float>& y, const char* name) {
  for (size_t i = 0; i < y.size(); ++i) ASSERT_TRUE(std::isfinite(y[i])) << name << " element " << i;
}

class RoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(RoundTrip, ErrorWithinBitWidthBound) {
  const Case c = GetParam();
  const auto x = gaussian(4096, 7);
  const auto y = round_trip(c.type, x);
  expect_finite(y, ht::type_name(c.type));
  const double err = rel_rms(x, y);
  EXPECT_LE(err, c.max_rel_rms) << ht::type_name(c.type);
  if (c.type == Type::F32) {
    EXPECT_EQ(x, y);
  } else {
    EXPECT_GT(err, 0.0) << "a lossy type reproduced random data exactly: suspicious";
  }
}

TEST_P(RoundTrip, ScaleInvariance) {
  // Error relative to the signal does not depend on its magnitude (while the fp16 block scales stay
  // normal numbers: typical weights have sigma ~0.02).
  const Case c = GetParam();
  for (float sigma : {0.02f, 30.0f}) {
    const auto x = gaussian(1024, 11, sigma);
    const auto y = round_trip(c.type, x);
    expect_finite(y, ht::type_name(c.type));
    EXPECT_LE(rel_rms(x, y), c.max_rel_rms * 1.2 + 1e-7) << ht::type_name(c.type) << " sigma " << sigma;
  }
}

TEST_P(RoundTrip, OddButValidRowLengths) {
  const Case c = GetParam();
  const int64_t bs = ht::type_info(c.type).block_size;
  for (int64_t blocks : {1, 3, 5}) {
    const int64_t n = bs == 1 ? 37 * blocks : bs * blocks;
    const auto x = gaussian(n, static_cast<uint32_t>(100 + blocks));
    const auto y = round_trip(c.type, x);
    expect_finite(y, ht::type_name(c.type));
    // Short rows: fewer samples, so allow a looser bound.
    EXPECT_LE(rel_rms(x, y), c.max_rel_rms * 1.5 + 1e-7) << ht::type_name(c.type) << " n=" << n;
  }
}

TEST_P(RoundTrip, AllZeroRowStaysZero) {
  const Case c = GetParam();
  const int64_t n = ht::type_info(c.type).block_size == 1 ? 64 : ht::type_info(c.type).block_size * 2;
  const std::vector<float> x(n, 0.0f);
  const auto y = round_trip(c.type, x);
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(y[i], 0.0f) << ht::type_name(c.type) << " element " << i;
}

TEST_P(RoundTrip, SingleHugeValue) {
  const Case c = GetParam();
  const int64_t n = 512;
  auto x = gaussian(n, 3, 0.01f);
  x[77] = 1.0e4f;
  x[300] = -3.0e3f;
  const auto y = round_trip(c.type, x);
  expect_finite(y, ht::type_name(c.type));
  // The outliers themselves survive (they set their block's scale).
  EXPECT_NEAR(y[77], 1.0e4f, 1.0e4f * std::max(0.02, c.max_rel_rms)) << ht::type_name(c.type);
  EXPECT_NEAR(y[300], -3.0e3f, 3.0e3f * std::max(0.2, 2 * c.max_rel_rms)) << ht::type_name(c.type);
}

TEST_P(RoundTrip, NonFiniteInputStaysInItsBlock) {
  // Untrusted f32 data may hold NaN / Inf: quantizing must not crash, and the other blocks of the
  // row are unaffected.
  const Case c = GetParam();
  const int64_t bs = std::max<int64_t>(ht::type_info(c.type).block_size, 32);
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    auto x = gaussian(2 * bs, 8);
    x[3] = bad;
    const auto y = round_trip(c.type, x);
    const std::vector<float> xs(x.begin() + bs, x.end()), ys(y.begin() + bs, y.end());
    expect_finite(ys, ht::type_name(c.type));
    EXPECT_LE(rel_rms(xs, ys), c.max_rel_rms * 1.5 + 1e-7) << ht::type_name(c.type) << " with " << bad;
  }
}

TEST_P(RoundTrip, ImatrixPathIsFiniteAndWeighted) {
  const Case c = GetParam();
  const int64_t n = 2048;
  const auto x = gaussian(n, 21);
  std::vector<float> im(n);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> ud(0.1f, 2.0f);
  for (int64_t i = 0; i < n; ++i) im[i] = (i % 7 == 0) ? 10.0f : ud(rng);
  const auto y_plain = round_trip(c.type, x);
  const auto y_im = round_trip(c.type, x, im.data());
  expect_finite(y_im, ht::type_name(c.type));
  EXPECT_LE(rel_rms(x, y_im), c.max_rel_rms * 1.3 + 1e-7) << ht::type_name(c.type);
  double ew_plain = 0, ew_im = 0;
  for (int64_t i = 0; i < n; ++i) {
    ew_plain += im[i] * (x[i] - y_plain[i]) * (x[i] - y_plain[i]);
    ew_im += im[i] * (x[i] - y_im[i]) * (x[i] - y_im[i]);
  }
  // Types with a weighted search lower the importance-weighted error (measured 0.56..0.82).
  const bool searched = c.type != Type::F32 && c.type != Type::F16 && c.type != Type::BF16 &&
                        c.type != Type::Q8_0 && c.type != Type::Q8_1 && c.type != Type::Q8_K;
  if (searched) {
    EXPECT_LT(ew_im, 0.92 * ew_plain) << ht::type_name(c.type);
  } else {
    EXPECT_EQ(ew_im, ew_plain) << ht::type_name(c.type);
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, RoundTrip, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return std::string(ht::type_name(i.param.type));
                         });

TEST(TypeTable, SizesMatchBlocks) {
  EXPECT_EQ(ht::row_size(Type::Q4_K, 512), 2 * sizeof(ht::BlockQ4_K));
  EXPECT_EQ(ht::row_size(Type::F16, 10), 20u);
  EXPECT_EQ(ht::type_from_name("q4_k"), Type::Q4_K);
  EXPECT_FALSE(ht::type_from_name("Q9_9").has_value());
}

TEST(Errors, UnsupportedTypesAndBadLengthsThrow) {
  std::vector<float> x(256, 1.0f);
  std::vector<uint8_t> buf(4096);
  EXPECT_THROW(ht::quantize_row(Type::IQ2_XXS, x.data(), buf.data(), 256), hearth::Error);
  EXPECT_THROW(ht::dequantize_row(Type::IQ2_XXS, buf.data(), x.data(), 256), hearth::Error);
  EXPECT_THROW(ht::dequantize_row(Type::I32, buf.data(), x.data(), 16), hearth::Error);
  EXPECT_THROW(ht::quantize_row(Type::Q4_K, x.data(), buf.data(), 100), hearth::Error);
  EXPECT_THROW(ht::dequantize_row(Type::Q4_0, buf.data(), x.data(), 33), hearth::Error);
  EXPECT_THROW(ht::dequantize_row(static_cast<Type>(4), buf.data(), x.data(), 32), hearth::Error);
  EXPECT_THROW(ht::quantize_row(Type::Q8_0, x.data(), buf.data(), -32), hearth::Error);
}

TEST(FloatConversions, F16KnownValues) {
  struct {
    float f;
    uint16_t h;
  } cases[] = {
      {0.0f, 0x0000},           {-0.0f, 0x8000},         {1.0f, 0x3C00},
      {-2.0f, 0xC000},          {0.5f, 0x3800},          {65504.0f, 0x7BFF},
      {1e6f, 0x7C00},           {0.1f, 0x2E66},          {5.9604645e-8f, 0x0001},
      {1e-8f, 0x0000},          {6.1035156e-5f, 0x0400}, {1.00048828125f, 0x3C00},  // tie -> even
      {1.00146484375f, 0x3C02},                                                     // tie -> even (up)
  };
  for (const auto& c : cases) {
    uint16_t h;
    ht::quantize_row(Type::F16, &c.f, &h, 1);
    EXPECT_EQ(h, c.h) << c.f;
  }
  const uint16_t hs[] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x3555, 0x7C00};
  const float fs[] = {1.0f, -2.0f, 65504.0f, 5.9604644775390625e-8f, 0.333251953125f, INFINITY};
  float out[6];
  ht::dequantize_row(Type::F16, hs, out, 6);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i], fs[i]) << i;
}

TEST(FloatConversions, BF16KnownValues) {
  struct {
    float f;
    uint16_t h;
  } cases[] = {
      {1.0f, 0x3F80},        {-2.0f, 0xC000},
      {3.14159265f, 0x4049}, {1.00390625f, 0x3F80},  // 0x3F808000: tie, stays even
      {1.01171875f, 0x3F82},                         // 0x3F818000: tie, rounds up to even
      {1.0078125f, 0x3F81},                          // exact
  };
  for (const auto& c : cases) {
    uint16_t h;
    ht::quantize_row(Type::BF16, &c.f, &h, 1);
    EXPECT_EQ(h, c.h) << c.f;
  }
  const uint16_t hs[] = {0x3F80, 0x4049, 0xC2F7};
  float out[3];
  ht::dequantize_row(Type::BF16, hs, out, 3);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 3.140625f);
  EXPECT_EQ(out[2], -123.5f);
}

TEST(KnownBlocks, Q4_0DecodesToHandComputedValues) {
  ht::BlockQ4_0 b{};
  b.d = 0x3800;  // 0.5
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  ht::dequantize_row(Type::Q4_0, &b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], (j - 8) * 0.5f) << j;
    EXPECT_EQ(y[j + 16], (7 - j) * 0.5f) << j;
  }
  // And quantizing those values gives back the same block (max magnitude -4 -> d = 0.5).
  ht::BlockQ4_0 q{};
  ht::quantize_row(Type::Q4_0, y, &q, 32);
  EXPECT_EQ(q.d, b.d);
  EXPECT_EQ(0, std::memcmp(q.qs, b.qs, sizeof(b.qs)));
}

TEST(KnownBlocks, Q4_KDecodesToHandComputedValues) {
  // Sub-block scales / mins chosen to exercise the 6-bit packing (values >= 16 use the high bits).
  const int sc[8] = {1, 2, 3, 4, 17, 33, 5, 63};
  const int mn[8] = {0, 1, 2, 3, 16, 40, 7, 50};
  ht::BlockQ4_K b{};
  b.d = 0x3C00;     // 1.0
  b.dmin = 0x3800;  // 0.5
  // Packed by hand: bytes 0-3 = sc[j] | (sc[j+4] >> 4) << 6; 4-7 = mn[j] | (mn[j+4] >> 4) << 6;
  // 8-11 = (sc[j+4] & 15) | (mn[j+4] & 15) << 4.
  const uint8_t packed[12] = {65, 130, 3, 196, 64, 129, 2, 195, 1, 129, 117, 47};
  std::memcpy(b.scales, packed, 12);
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) b.qs[32 * c + l] = static_cast<uint8_t>((l % 16) | ((15 - l % 16) << 4));
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    ht::get_scale_min_k4(j, b.scales, &s, &m);
    EXPECT_EQ(s, sc[j]) << j;
    EXPECT_EQ(m, mn[j]) << j;
  }
  float y[256];
  ht::dequantize_row(Type::Q4_K, &b, y, 256);
  for (int j = 0; j < 8; ++j) {
    for (int l = 0; l < 32; ++l) {
      const int v = (j % 2 == 0) ? (l % 16) : (15 - l % 16);
      EXPECT_EQ(y[32 * j + l], 1.0f * sc[j] * v - 0.5f * mn[j]) << j << "," << l;
    }
  }
}

TEST(KnownBlocks, Q8_0RoundsHalfAwayFromZero) {
  float x[32] = {127.0f, 2.5f, -2.5f, 0.49999997f, -0.5f, 126.5f, -126.5f, 1.5f};
  ht::BlockQ8_0 b;
  ht::quantize_row(Type::Q8_0, x, &b, 32);
  EXPECT_EQ(b.d, 0x3C00);  // amax 127 -> d = 1
  const int expect[8] = {127, 3, -3, 0, -1, 127, -127, 2};
  for (int j = 0; j < 8; ++j) EXPECT_EQ(b.qs[j], expect[j]) << j;
  for (int j = 8; j < 32; ++j) EXPECT_EQ(b.qs[j], 0) << j;
}

TEST(KnownBlocks, TinyValuesStayFinite) {
  // Maxima so small that 1/d overflows must not produce out-of-range levels.
  for (Type t : {Type::Q8_0, Type::Q8_1, Type::Q8_K, Type::Q4_0, Type::Q4_K, Type::Q6_K, Type::IQ4_XS}) {
    auto x = gaussian(256, 2, 1e-37f);
    x[5] = 0.0f;
    const auto y = round_trip(t, x);
    expect_finite(y, ht::type_name(t));
    for (float v : y) EXPECT_LE(std::fabs(v), 1e-30f) << ht::type_name(t);
  }
}

TEST(KnownBlocks, Q8_1SumAndQ8_KBsums) {
  const auto x = gaussian(256, 9);
  ht::BlockQ8_1 q1[8];
  ht::quantize_q8_1(x.data(), q1, 256);
  for (const auto& b : q1) {
    int sum = 0;
    for (int8_t v : b.qs) sum += v;
    EXPECT_NEAR(hearth::fp16_to_f32(b.s), hearth::fp16_to_f32(b.d) * sum,
                std::fabs(hearth::fp16_to_f32(b.s)) * 2e-3 + 1e-6);
  }
  ht::BlockQ8_K qk;
  ht::quantize_q8_k(x.data(), &qk, 256);
  int amax = 0;
  for (int g = 0; g < 16; ++g) {
    int sum = 0;
    for (int j = 0; j < 16; ++j) sum += qk.qs[16 * g + j];
    EXPECT_EQ(qk.bsums[g], sum) << g;
  }
  for (int8_t v : qk.qs) amax = std::max(amax, std::abs(int(v)));
  EXPECT_EQ(amax, 127);
}

TEST(KnownBlocks, Q3_KAndIQ4_XSScaleUnpacking) {
  // Round-trip the 6-bit packings through the quantizer's own packing: quantize a row whose
  // 16-element groups have very different magnitudes and check each group keeps its scale.
  std::vector<float> x(256);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  for (int g = 0; g < 16; ++g)
    for (int j = 0; j < 16; ++j)
      x[16 * g + j] = nd(rng) * (0.5f + 0.1f * g);  // 4:1 fits even Q2_K's 4-bit scales
  for (Type t : {Type::Q3_K, Type::IQ4_XS, Type::Q6_K, Type::Q2_K}) {
    const auto y = round_trip(t, x);
    for (int g = 0; g < 16; ++g) {
      std::vector<float> xs(x.begin() + 16 * g, x.begin() + 16 * g + 16),
          ys(y.begin() + 16 * g, y.begin() + 16 * g + 16);
      EXPECT_LT(rel_rms(xs, ys), t == Type::Q2_K ? 0.5 : 0.3) << ht::type_name(t) << " group " << g;
    }
  }
}

}  // namespace
