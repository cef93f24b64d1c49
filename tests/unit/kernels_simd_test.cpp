// kernels: every fast kernel table this CPU runs (avx2, avx512, neon) against the scalar table:
// vec_dot and dot_tile on quantized random rows and on raw random blocks (every bit pattern of the
// quants and sub-block scales), and the activation quantizers (from_float) bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/cpu.h"
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

const hk::KernelTable& scalar() {
  const hk::KernelTable* t = hk::by_name("scalar");
  EXPECT_NE(t, nullptr);
  return *t;
}

std::vector<const hk::KernelTable*> fast_tables() {
  std::vector<const hk::KernelTable*> v;
  for (const auto* t : hk::available())
    if (t->name != "scalar") v.push_back(t);
  return v;
}

std::vector<float> gaussian(int64_t n, std::mt19937& rng, float sigma = 1.0f) {
  std::normal_distribution<float> nd(0.0f, sigma);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = nd(rng);
  return v;
}

// Row lengths: one block, a few blocks, odd block counts.
std::vector<int64_t> sizes_for(Type t) {
  const int64_t bs = ht::type_info(t).block_size;
  if (bs == 1) return {1, 7, 16, 33, 64, 100, 255, 1000};
  if (bs == 32) return {32, 64, 96, 32 * 7, 32 * 33};
  return {256, 512, 256 * 3, 256 * 7};
}

// Byte offsets of the fp16 scale fields of each block type (raw random blocks get finite scales there).
std::vector<size_t> half_fields(Type t) {
  using namespace hearth::tensor;
  switch (t) {
    case Type::Q4_0:
      return {offsetof(BlockQ4_0, d)};
    case Type::Q4_1:
      return {offsetof(BlockQ4_1, d), offsetof(BlockQ4_1, m)};
    case Type::Q5_0:
      return {offsetof(BlockQ5_0, d)};
    case Type::Q5_1:
      return {offsetof(BlockQ5_1, d), offsetof(BlockQ5_1, m)};
    case Type::Q8_0:
      return {offsetof(BlockQ8_0, d)};
    case Type::Q2_K:
      return {offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)};
    case Type::Q3_K:
      return {offsetof(BlockQ3_K, d)};
    case Type::Q4_K:
      return {offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)};
    case Type::Q5_K:
      return {offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)};
    case Type::Q6_K:
      return {offsetof(BlockQ6_K, d)};
    case Type::IQ4_NL:
      return {offsetof(BlockIQ4_NL, d)};
    case Type::IQ4_XS:
      return {offsetof(BlockIQ4_XS, d)};
    default:
      return {};
  }
}

// nr weight rows of type t: quantized from gaussian floats, or raw random bytes with finite scales.
std::vector<uint8_t> make_weights(Type t, int64_t n, int nr, bool raw, std::mt19937& rng) {
  const uint64_t rs = ht::row_size(t, n);
  std::vector<uint8_t> w(rs * nr);
  if (!raw || !ht::type_info(t).quantized) {
    for (int r = 0; r < nr; ++r) {
      const auto f = gaussian(n, rng);
      ht::quantize_row(t, f.data(), w.data() + r * rs, n);
    }
    return w;
  }
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (auto& b : w) b = static_cast<uint8_t>(byte(rng));
  const uint64_t bsz = ht::type_info(t).type_size;
  for (uint64_t off = 0; off < w.size(); off += bsz)
    for (size_t f : half_fields(t)) {
      const uint16_t h = hearth::f32_to_fp16(scale(rng));
      std::memcpy(w.data() + off + f, &h, 2);
    }
  return w;
}

// Sum of |w_i * x_i| (dequantized weights, float activations): the scale of rounding differences.
double magnitude(const float* w, const float* x, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m += std::fabs(static_cast<double>(w[i]) * x[i]);
  return m;
}

// Float summation order may differ from the scalar reference; the integer math may not.
void expect_close(float got, float want, double mag, const std::string& what) {
  const double tol = 1e-4 * std::fabs(want) + 2e-6 * mag + 1e-30;
  EXPECT_LE(std::fabs(static_cast<double>(got) - want), tol) << what << ": got " << got << " want " << want;
}

void check_type(const hk::KernelTable& fast, Type t, bool raw, uint32_t seed) {
  const hk::TypeKernels& ref = scalar().types[static_cast<uint32_t>(t)];
  const hk::TypeKernels& k = fast.types[static_cast<uint32_t>(t)];
  ASSERT_NE(ref.vec_dot, nullptr);
  ASSERT_NE(k.vec_dot, nullptr) << fast.name << " lacks " << ht::type_name(t);
  ASSERT_EQ(k.act_type, ref.act_type);
  std::mt19937 rng(seed);
  // Odd counts: full tiles plus edges for every tile shape (up to 16 x 16).
  const int nr = 37, nc = 19;
  for (int64_t n : sizes_for(t)) {
    const std::string where =
        fast.name + " " + ht::type_name(t) + (raw ? " raw" : "") + " n=" + std::to_string(n);
    SCOPED_TRACE(where);
    const uint64_t ws = ht::row_size(t, n), xs = ht::row_size(ref.act_type, n);
    const auto w = make_weights(t, n, nr, raw, rng);
    const auto xf = gaussian(n * nc, rng);
    std::vector<uint8_t> x(xs * nc);
    for (int c = 0; c < nc; ++c) ref.from_float(xf.data() + c * n, x.data() + c * xs, n);

    std::vector<float> deq(n * nr);
    for (int r = 0; r < nr; ++r) ht::dequantize_row(t, w.data() + r * ws, deq.data() + r * n, n);
    std::vector<float> want(nr * nc);
    std::vector<double> mag(nr * nc);
    for (int r = 0; r < nr; ++r)
      for (int c = 0; c < nc; ++c) {
        want[c * nr + r] = ref.vec_dot(n, w.data() + r * ws, x.data() + c * xs);
        mag[c * nr + r] = magnitude(deq.data() + r * n, xf.data() + c * n, n);
        ASSERT_TRUE(std::isfinite(want[c * nr + r]));
      }
    for (int r = 0; r < nr; ++r)
      for (int c = 0; c < nc; ++c)
        expect_close(k.vec_dot(n, w.data() + r * ws, x.data() + c * xs), want[c * nr + r], mag[c * nr + r],
                     "vec_dot r=" + std::to_string(r) + " c=" + std::to_string(c));
    if (!k.dot_tile) continue;
    ASSERT_GE(k.tile_rows, 1);
    ASSERT_GE(k.tile_cols, 1);
    // Whole output at once (tiles plus edges), with an output stride larger than nr.
    const int64_t os = nr + 3;
    std::vector<float> out(os * nc, -1.0f);
    k.dot_tile(n, nr, nc, w.data(), ws, x.data(), xs, out.data(), os);
    for (int r = 0; r < nr; ++r)
      for (int c = 0; c < nc; ++c)
        expect_close(out[c * os + r], want[c * nr + r], mag[c * nr + r],
                     "dot_tile r=" + std::to_string(r) + " c=" + std::to_string(c));
    for (int c = 0; c < nc; ++c)
      for (int64_t r = nr; r < os; ++r) EXPECT_EQ(out[c * os + r], -1.0f) << "wrote past nr";
    // Batch invariance: an output of dot_tile has the same bits whatever other columns share the call,
    // and dot_rows gives exactly vec_dot's bits.
    for (int c = 0; c < nc; ++c) {
      std::vector<float> col(nr);
      k.dot_tile(n, nr, 1, w.data(), ws, x.data() + c * xs, xs, col.data(), 1);
      for (int r = 0; r < nr; ++r)
        EXPECT_EQ(0, std::memcmp(&col[r], &out[c * os + r], sizeof(float)))
            << "dot_tile column " << c << " row " << r;
    }
    if (k.dot_rows) {
      std::vector<float> rows(os * nc, -1.0f);
      k.dot_rows(n, nr, nc, w.data(), ws, x.data(), xs, rows.data(), os);
      for (int r = 0; r < nr; ++r)
        for (int c = 0; c < nc; ++c) {
          const float v = k.vec_dot(n, w.data() + r * ws, x.data() + c * xs);
          EXPECT_EQ(0, std::memcmp(&v, &rows[c * os + r], sizeof(float))) << "dot_rows r=" << r << " c=" << c;
        }
      for (int c = 0; c < nc; ++c)
        for (int64_t r = nr; r < os; ++r) EXPECT_EQ(rows[c * os + r], -1.0f) << "dot_rows wrote past nr";
    }
    // The AVX-512 K-quant kernels go further: the 16-row prompt tiles give vec_dot's bits too (the same
    // exact integer sums and per-super-block float steps), so a token's logits would not change if it
    // were evaluated as a prompt token instead of a generated one.
    const bool k_quant = t == Type::Q2_K || t == Type::Q3_K || t == Type::Q4_K || t == Type::Q5_K ||
                         t == Type::Q6_K || t == Type::IQ4_XS;
    if (fast.name == "avx512" && k_quant) {
      for (int r = 0; r < nr; ++r)
        for (int c = 0; c < nc; ++c) {
          const float v = k.vec_dot(n, w.data() + r * ws, x.data() + c * xs);
          EXPECT_EQ(0, std::memcmp(&v, &out[c * os + r], sizeof(float))) << "dot_tile r=" << r << " c=" << c;
        }
    }
    // Packed weights (whole 16-row groups): the same bits for any number of columns, close to the
    // reference, and for the K-quants exactly the AVX-512 one-row arithmetic (its vec_dot) in every table.
    if (k.dot_packed && hk::packed_group_bytes(t, n) > 0) {  // Q4_0: whole 64-element units only
      const int groups = nr / hk::kPackRows, pr = groups * hk::kPackRows;
      const uint64_t gs = hk::packed_group_bytes(t, n);
      std::vector<uint8_t> packed(gs * groups, 0xAB);
      for (int g = 0; g < groups; ++g)
        hk::pack_group(t, n, w.data() + g * hk::kPackRows * ws, ws, packed.data() + g * gs);
      // The K-quant packed kernels mirror the AVX-512 vec_dot exactly; Q4_0's sums in another order.
      const hk::KernelTable* exact = k_quant ? hk::by_name("avx512") : nullptr;
      for (int cols : {1, 2, 3, 4, 8, nc}) {
        std::vector<float> got(os * cols, -1.0f);
        k.dot_packed(n, pr, cols, packed.data(), gs, x.data(), xs, got.data(), os);
        for (int r = 0; r < pr; ++r)
          for (int c = 0; c < cols; ++c) {
            const float g = got[c * os + r];
            expect_close(g, want[c * nr + r], mag[c * nr + r], "dot_packed r=" + std::to_string(r));
            if (exact) {
              const float v =
                  exact->types[static_cast<uint32_t>(t)].vec_dot(n, w.data() + r * ws, x.data() + c * xs);
              EXPECT_EQ(0, std::memcmp(&v, &g, sizeof(float)))
                  << "dot_packed cols=" << cols << " r=" << r << " c=" << c << ": " << g << " vs " << v;
            }
          }
        if (cols == nc) {  // each column alone gives the same bits
          for (int c = 0; c < nc; ++c) {
            std::vector<float> col(pr, -1.0f);
            k.dot_packed(n, pr, 1, packed.data(), gs, x.data() + c * xs, xs, col.data(), pr);
            for (int r = 0; r < pr; ++r)
              EXPECT_EQ(0, std::memcmp(&col[r], &got[c * os + r], sizeof(float)))
                  << "dot_packed column " << c;
          }
        }
        for (int c = 0; c < cols; ++c)
          for (int64_t r = pr; r < os; ++r) EXPECT_EQ(got[c * os + r], -1.0f) << "dot_packed wrote past nr";
      }
    }
    // Exactly one preferred tile, and a 1 x 1 one.
    const int tr = std::min(k.tile_rows, nr), tc = std::min(k.tile_cols, nc);
    std::vector<float> tile(tr * tc);
    k.dot_tile(n, tr, tc, w.data(), ws, x.data(), xs, tile.data(), tr);
    for (int r = 0; r < tr; ++r)
      for (int c = 0; c < tc; ++c) expect_close(tile[c * tr + r], want[c * nr + r], mag[c * nr + r], "tile");
    float one = 0;
    k.dot_tile(n, 1, 1, w.data() + (nr - 1) * ws, ws, x.data() + (nc - 1) * xs, xs, &one, 1);
    expect_close(one, want[(nc - 1) * nr + nr - 1], mag[(nc - 1) * nr + nr - 1], "1x1 tile");
  }
}

TEST(KernelsSimd, TablesThisCpuSupportsAreAvailable) {
  const auto& f = hearth::cpu_features();
  std::vector<std::string> names;
  for (const auto* t : hk::available()) names.push_back(t->name);
  auto has = [&](const char* n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  EXPECT_TRUE(has("scalar"));
#if defined(HEARTH_HAVE_AVX2)
  if (f.avx2 && f.fma && f.f16c && f.bmi2) {
    EXPECT_TRUE(has("avx2"));
  }
#endif
#if defined(HEARTH_HAVE_AVX512)
  if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni && f.avx2 && f.fma && f.f16c &&
      f.bmi2) {
    EXPECT_TRUE(has("avx512"));
  }
#endif
#if defined(HEARTH_HAVE_NEON)
  if (f.neon && f.dotprod) {
    EXPECT_TRUE(has("neon"));
  }
#endif
  (void)f;
  std::string all;
  for (auto& n : names) all += n + " ";
  std::printf("kernel tables on this CPU: %s\n", all.c_str());
}

TEST(KernelsSimd, VecDotAndTileMatchScalarOnQuantizedRows) {
  for (const auto* fast : fast_tables())
    for (Type t : kWeightTypes) check_type(*fast, t, false, 1234u + static_cast<uint32_t>(t));
}

TEST(KernelsSimd, VecDotAndTileMatchScalarOnRawBlocks) {
  for (const auto* fast : fast_tables())
    for (Type t : kWeightTypes)
      if (ht::type_info(t).quantized) check_type(*fast, t, true, 99u + static_cast<uint32_t>(t));
}

// Inputs with exact rounding ties, repeated maxima of both signs, zero blocks and tiny values.
std::vector<float> tricky_row(int64_t n, std::mt19937& rng) {
  auto v = gaussian(n, rng, 3.0f);
  for (int64_t i = 0; i < n; i += 32) {
    const int64_t b = i / 32;
    float* p = v.data() + i;
    switch (b % 6) {
      case 0:  // amax 127: id == 1, so k + 0.5 are exact ties
        p[0] = 127.0f;
        for (int j = 1; j < 32; ++j) p[j] = static_cast<float>(j - 16) + 0.5f;
        break;
      case 1:
        std::memset(p, 0, 32 * sizeof(float));
        break;
      case 2:  // equal magnitudes with both signs: the first one sets the sign of the Q8_K scale
        p[3] = -5.0f;
        p[9] = 5.0f;
        for (int j = 0; j < 32; ++j)
          if (j != 3 && j != 9) p[j] = std::fmod(p[j], 4.0f);
        break;
      case 3:
        for (int j = 0; j < 32; ++j) p[j] *= 1e-6f;
        break;
      default:
        break;
    }
  }
  return v;
}

TEST(KernelsSimd, FromFloatMatchesScalarBitForBit) {
  const Type acts[] = {Type::Q8_0, Type::Q8_1, Type::Q8_K};
  const Type users[] = {Type::Q4_0, Type::Q4_1, Type::Q4_K};  // a weight type using each act type
  for (const auto* fast : fast_tables()) {
    for (int a = 0; a < 3; ++a) {
      const hk::TypeKernels& ref = scalar().types[static_cast<uint32_t>(users[a])];
      const hk::TypeKernels& k = fast->types[static_cast<uint32_t>(users[a])];
      ASSERT_EQ(ref.act_type, acts[a]);
      ASSERT_EQ(k.act_type, acts[a]);
      ASSERT_NE(k.from_float, nullptr);
      std::mt19937 rng(7u + a);
      for (int64_t n : {256, 512, 256 * 5}) {
        SCOPED_TRACE(fast->name + " " + ht::type_name(acts[a]) + " n=" + std::to_string(n));
        for (int variant = 0; variant < 2; ++variant) {
          const auto x = variant == 0 ? gaussian(n, rng) : tricky_row(n, rng);
          const uint64_t sz = ht::row_size(acts[a], n);
          std::vector<uint8_t> want(sz, 0xAB), got(sz, 0xCD);
          ref.from_float(x.data(), want.data(), n);
          k.from_float(x.data(), got.data(), n);
          EXPECT_EQ(0, std::memcmp(want.data(), got.data(), sz)) << "variant " << variant;
        }
      }
    }
  }
}

TEST(KernelsSimd, FloatHelpersMatchScalar) {
  std::mt19937 rng(5);
  for (const auto* fast : fast_tables()) {
    for (int64_t n : {1, 15, 16, 17, 100, 1024, 1031}) {
      SCOPED_TRACE(fast->name + " n=" + std::to_string(n));
      const auto a = gaussian(n, rng), b = gaussian(n, rng);
      double mag = 0;
      for (int64_t i = 0; i < n; ++i) mag += std::fabs(static_cast<double>(a[i]) * b[i]);
      ASSERT_NE(fast->dot_f32, nullptr);
      expect_close(fast->dot_f32(n, a.data(), b.data()), scalar().dot_f32(n, a.data(), b.data()), mag,
                   "dot_f32");
      ASSERT_NE(fast->axpy_f32, nullptr);
      auto y1 = b, y2 = b;
      scalar().axpy_f32(n, 0.75f, a.data(), y1.data());
      fast->axpy_f32(n, 0.75f, a.data(), y2.data());
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(y1[i], y2[i], 1e-6f * (std::fabs(y1[i]) + 1.0f)) << i;
    }
  }
}

// Grouped-query attention helpers: a group of query heads gives each head the bits it gets alone (so
// grouping never changes results), and every table agrees with the scalar one.
TEST(KernelsSimd, AttentionGroupHelpersMatchPerHeadAndScalar) {
  std::mt19937 rng(11);
  std::vector<const hk::KernelTable*> tables = fast_tables();
  tables.push_back(&scalar());
  for (const auto* t : tables) {
    ASSERT_NE(t->attn_scores_f16, nullptr);
    ASSERT_NE(t->attn_mix_f16, nullptr);
    for (int64_t hd : {64, 72, 80, 100, 128}) {
      for (int nq : {1, 2, 3, 4, 5, 8}) {
        for (int64_t n : {1, 7, 33}) {
          SCOPED_TRACE(t->name + " hd=" + std::to_string(hd) + " nq=" + std::to_string(nq) +
                       " n=" + std::to_string(n));
          const int64_t kv_stride = hd * 3 + 8;  // cells of a wider cache row
          std::vector<uint16_t> k(n * kv_stride), v(n * kv_stride);
          for (auto* cache : {&k, &v}) {
            const auto g = gaussian(static_cast<int64_t>(cache->size()), rng);
            for (size_t i = 0; i < g.size(); ++i) (*cache)[i] = hearth::f32_to_fp16(g[i]);
          }
          const auto q = gaussian(nq * hd, rng), w = gaussian(nq * n, rng);
          std::vector<float> s(nq * n), s1(nq * n), s0(nq * n);
          t->attn_scores_f16(hd, n, k.data(), kv_stride, q.data(), nq, hd, s.data(), n);
          scalar().attn_scores_f16(hd, n, k.data(), kv_stride, q.data(), nq, hd, s0.data(), n);
          for (int j = 0; j < nq; ++j)
            t->attn_scores_f16(hd, n, k.data(), kv_stride, q.data() + j * hd, 1, hd, s1.data() + j * n, n);
          for (int64_t i = 0; i < nq * n; ++i) {
            ASSERT_EQ(s[i], s1[i]) << "score " << i;
            EXPECT_NEAR(s[i], s0[i], 1e-4f * (std::fabs(s0[i]) + std::sqrt(static_cast<float>(hd)))) << i;
          }
          const auto o_init = gaussian(nq * hd, rng);
          auto o = o_init, o1 = o_init, o0 = o_init;
          t->attn_mix_f16(hd, n, v.data(), kv_stride, w.data(), nq, n, o.data(), hd);
          scalar().attn_mix_f16(hd, n, v.data(), kv_stride, w.data(), nq, n, o0.data(), hd);
          for (int j = 0; j < nq; ++j)
            t->attn_mix_f16(hd, n, v.data(), kv_stride, w.data() + j * n, 1, n, o1.data() + j * hd, hd);
          for (int64_t i = 0; i < nq * hd; ++i) {
            ASSERT_EQ(o[i], o1[i]) << "mix " << i;
            EXPECT_NEAR(o[i], o0[i], 1e-4f * (std::fabs(o0[i]) + std::sqrt(static_cast<float>(n)))) << i;
          }
        }
      }
    }
  }
}

// Softmax numerators: every table within a few float ulps of the scalar std::exp reference, including
// tails shorter than a vector, a single element, and arguments far below the largest.
TEST(KernelsSimd, ExpShiftedMatchesScalar) {
  std::mt19937 rng(13);
  for (const auto* t : fast_tables()) {
    ASSERT_NE(t->exp_shifted, nullptr);
    for (int64_t n : {1, 3, 8, 15, 64, 1000, 4099}) {
      SCOPED_TRACE(t->name + " n=" + std::to_string(n));
      auto x = gaussian(n, rng, 6.0f);
      if (n > 2) x[1] = -1e4f;  // exp underflows to 0
      auto y = x;
      const float s0 = scalar().exp_shifted(n, x.data(), 0.125f);
      const float s1 = t->exp_shifted(n, y.data(), 0.125f);
      EXPECT_NEAR(s1, s0, 1e-5f * s0);
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(y[i], x[i], 4e-7f * x[i] + 1e-37f) << i;
      EXPECT_EQ(*std::max_element(y.begin(), y.end()), 1.0f);  // the largest argument gives e^0
    }
    // A masked score (-inf) gets weight 0; a NaN score (a broken model) is not hidden: the sum is NaN.
    for (int64_t n : {5, 19}) {
      std::vector<float> x(n, 1.0f), y(n, 1.0f);
      x[2] = -INFINITY;
      EXPECT_EQ(t->exp_shifted(n, x.data(), 1.0f), static_cast<float>(n - 1));
      EXPECT_EQ(x[2], 0.0f);
      y[n - 1] = NAN;
      auto y0 = y;
      EXPECT_TRUE(std::isnan(t->exp_shifted(n, y.data(), 1.0f)));
      EXPECT_TRUE(std::isnan(scalar().exp_shifted(n, y0.data(), 1.0f)));
    }
  }
}

}  // namespace
