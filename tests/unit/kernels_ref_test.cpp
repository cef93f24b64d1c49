// kernels: the scalar reference table (the oracle), and every kernel table this CPU runs checked
// against dequantize + float dot products.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/fp16.h"
#include "kernels/kernels.h"
#include "tensor/blocks.h"
#include "tensor/types.h"

namespace {

using hearth::tensor::Type;
namespace ht = hearth::tensor;
namespace hk = hearth::kernels;

const Type kWeightTypes[] = {Type::F32,  Type::F16,  Type::BF16, Type::Q4_0,   Type::Q4_1,
                             Type::Q5_0, Type::Q5_1, Type::Q8_0, Type::Q2_K,   Type::Q3_K,
                             Type::Q4_K, Type::Q5_K, Type::Q6_K, Type::IQ4_NL, Type::IQ4_XS};

Type expected_act(Type w) {
  switch (w) {
    case Type::F32:
    case Type::F16:
    case Type::BF16:
      return Type::F32;
    case Type::Q4_0:
    case Type::Q5_0:
    case Type::Q8_0:
    case Type::IQ4_NL:
      return Type::Q8_0;
    case Type::Q4_1:
    case Type::Q5_1:
      return Type::Q8_1;
    default:
      return Type::Q8_K;
  }
}

std::vector<float> gaussian(int64_t n, uint32_t seed, float sigma = 1.0f, float mean = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(mean, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

// A weight row quantized to `t` and its exact dequantized values.
struct Row {
  std::vector<uint8_t> q;
  std::vector<float> deq;
};

Row make_row(Type t, const std::vector<float>& x) {
  const int64_t n = static_cast<int64_t>(x.size());
  Row r;
  r.q.resize(ht::row_size(t, n));
  ht::quantize_row(t, x.data(), r.q.data(), n);
  r.deq.resize(n);
  ht::dequantize_row(t, r.q.data(), r.deq.data(), n);
  return r;
}

std::vector<uint8_t> activations(const hk::TypeKernels& k, const std::vector<float>& x) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> a(ht::row_size(k.act_type, n));
  k.from_float(x.data(), a.data(), n);
  return a;
}

// sum(a*b) in double, and sum(|a*b|): the scale a dot product's rounding is relative to.
void dot_double(const std::vector<float>& a, const std::vector<float>& b, double* dot, double* mag) {
  *dot = 0;
  *mag = 0;
  double sq = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double p = double(a[i]) * b[i];
    *dot += p;
    sq += p * p;
  }
  *mag = std::sqrt(sq);  // rms-like scale of the terms (independent errors add in quadrature)
}

// Q8_1 stores s = fp16(d * sum(q)), not fp16(d) * sum(q): the min term m * s of Q4_1 / Q5_1 dots
// uses it, so the exact reference adds m * (s - d * sum(q)) per block.
double q8_1_sum_correction(Type w, const uint8_t* wq, const uint8_t* aq, int64_t n) {
  const size_t wbytes = ht::type_info(w).type_size;
  const auto* a = reinterpret_cast<const ht::BlockQ8_1*>(aq);
  double corr = 0;
  for (int64_t b = 0; b < n / 32; ++b) {
    uint16_t m;
    std::memcpy(&m, wq + b * wbytes + 2, 2);  // Q4_1 / Q5_1: d, then m
    int sum = 0;
    for (int8_t v : a[b].qs) sum += v;
    const double s = hearth::fp16_to_f32(a[b].s), ds = double(hearth::fp16_to_f32(a[b].d)) * sum;
    corr += hearth::fp16_to_f32(m) * (s - ds);
  }
  return corr;
}

TEST(ScalarTable, HasEverySupportedWeightType) {
  const hk::KernelTable* t = hk::by_name("scalar");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->name, "scalar");
  ASSERT_NE(t->dot_f32, nullptr);
  ASSERT_NE(t->axpy_f32, nullptr);
  for (Type w : kWeightTypes) {
    const auto& k = t->types[static_cast<uint32_t>(w)];
    EXPECT_NE(k.vec_dot, nullptr) << ht::type_name(w);
    EXPECT_NE(k.from_float, nullptr) << ht::type_name(w);
    EXPECT_EQ(k.act_type, expected_act(w)) << ht::type_name(w);
    EXPECT_EQ(k.dot_tile, nullptr) << ht::type_name(w);
  }
  EXPECT_EQ(t->types[static_cast<uint32_t>(Type::IQ2_XXS)].vec_dot, nullptr);
}

TEST(ScalarTable, IntegerDotMatchesDequantizedActivationsExactly) {
  // vec_dot(w, q8(x)) must equal dot(deq(w), deq(q8(x))) up to float rounding: this pins the integer
  // formulas (scales, mins via bsums / s, level offsets) to the dequantization definitions.
  const hk::KernelTable& t = *hk::by_name("scalar");
  for (Type w : kWeightTypes) {
    for (int64_t n : {256, 1024, 768}) {
      const auto xw = gaussian(n, 1 + static_cast<uint32_t>(n), 1.0f, 0.1f);
      const auto xa =
          gaussian(n, 99 + static_cast<uint32_t>(n), 1.0f, 0.3f);  // nonzero mean: min terms matter
      const Row row = make_row(w, xw);
      const auto& k = t.types[static_cast<uint32_t>(w)];
      const auto act = activations(k, xa);
      std::vector<float> act_deq(n);
      ht::dequantize_row(k.act_type, act.data(), act_deq.data(), n);
      double ref, mag;
      dot_double(row.deq, act_deq, &ref, &mag);
      if (k.act_type == Type::Q8_1) ref += q8_1_sum_correction(w, row.q.data(), act.data(), n);
      const float got = k.vec_dot(n, row.q.data(), act.data());
      EXPECT_NEAR(got, ref, 2e-5 * mag * std::sqrt(double(n)) + 1e-6) << ht::type_name(w) << " n=" << n;
    }
  }
}

TEST(ScalarTable, ActivationQuantizersRoundTrip) {
  const int64_t n = 512;
  const auto x = gaussian(n, 4);
  for (Type a : {Type::Q8_0, Type::Q8_1, Type::Q8_K}) {
    std::vector<uint8_t> q(ht::row_size(a, n));
    const hk::KernelTable& t = *hk::by_name("scalar");
    const Type w = a == Type::Q8_0 ? Type::Q4_0 : a == Type::Q8_1 ? Type::Q4_1 : Type::Q4_K;
    t.types[static_cast<uint32_t>(w)].from_float(x.data(), q.data(), n);
    std::vector<uint8_t> q2(q.size());
    ht::quantize_row(a, x.data(), q2.data(), n);
    EXPECT_EQ(q, q2) << "from_float must be the reference quantizer for " << ht::type_name(a);
  }
}

TEST(ScalarTable, FloatHelpers) {
  const hk::KernelTable& t = *hk::by_name("scalar");
  const auto a = gaussian(1000, 1), b = gaussian(1000, 2);
  double ref, mag;
  dot_double(a, b, &ref, &mag);
  EXPECT_NEAR(t.dot_f32(1000, a.data(), b.data()), ref, 1e-5 * mag * 32);
  std::vector<float> y = b;
  t.axpy_f32(1000, 0.5f, a.data(), y.data());
  for (int i = 0; i < 1000; ++i) EXPECT_FLOAT_EQ(y[i], b[i] + 0.5f * a[i]);
  EXPECT_EQ(t.dot_f32(0, a.data(), b.data()), 0.0f);
}

// Every table this CPU runs (scalar first) against dequantize(w) . x with the activation precision
// as tolerance: ~1e-2 relative for 8-bit activations, ~1e-5 for float ones.
class AllTables : public ::testing::TestWithParam<const hk::KernelTable*> {};

TEST_P(AllTables, VecDotAgreesWithFloatDot) {
  const hk::KernelTable& t = *GetParam();
  for (Type w : kWeightTypes) {
    const auto& k = t.types[static_cast<uint32_t>(w)];
    ASSERT_NE(k.vec_dot, nullptr) << t.name << " " << ht::type_name(w);
    for (int rep = 0; rep < 4; ++rep) {
      const int64_t n = 512 * (rep + 1);
      const auto xw = gaussian(n, 10 + rep, 0.05f, 0.01f);
      const auto xa = gaussian(n, 20 + rep, 2.0f, rep % 2 ? 0.5f : 0.0f);
      const Row row = make_row(w, xw);
      const auto act = activations(k, xa);
      double ref, mag;
      dot_double(row.deq, xa, &ref, &mag);
      const float got = k.vec_dot(n, row.q.data(), act.data());
      const bool float_act = k.act_type == Type::F32;
      const double tol = float_act ? 1e-5 * mag * std::sqrt(double(n)) : 2.5e-2 * mag;
      EXPECT_NEAR(got, ref, tol) << t.name << " " << ht::type_name(w) << " n=" << n;
    }
  }
}

TEST_P(AllTables, DotTileAgreesWithVecDot) {
  const hk::KernelTable& t = *GetParam();
  for (Type w : kWeightTypes) {
    const auto& k = t.types[static_cast<uint32_t>(w)];
    if (!k.dot_tile) continue;
    const int64_t n = 512;
    const int nr = k.tile_rows, nc = k.tile_cols;
    const uint64_t w_stride = ht::row_size(w, n), x_stride = ht::row_size(k.act_type, n);
    std::vector<uint8_t> W(w_stride * nr), X(x_stride * nc);
    for (int r = 0; r < nr; ++r) {
      const auto xw = gaussian(n, 300 + r, 0.05f);
      ht::quantize_row(w, xw.data(), W.data() + r * w_stride, n);
    }
    for (int c = 0; c < nc; ++c) {
      const auto xa = gaussian(n, 400 + c);
      k.from_float(xa.data(), X.data() + c * x_stride, n);
    }
    std::vector<float> out(static_cast<size_t>(nc) * (nr + 3), NAN);
    k.dot_tile(n, nr, nc, W.data(), w_stride, X.data(), x_stride, out.data(), nr + 3);
    for (int r = 0; r < nr; ++r) {
      for (int c = 0; c < nc; ++c) {
        const float v = k.vec_dot(n, W.data() + r * w_stride, X.data() + c * x_stride);
        EXPECT_NEAR(out[c * (nr + 3) + r], v, 1e-4f * (std::fabs(v) + 1.0f))
            << t.name << " " << ht::type_name(w) << " r=" << r << " c=" << c;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Available, AllTables, ::testing::ValuesIn(hk::available()),
                         [](const ::testing::TestParamInfo<const hk::KernelTable*>& i) {
                           return i.param->name;
                         });

}  // namespace
