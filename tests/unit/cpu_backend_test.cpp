// The CPU backend's packed weights (Backend::prepare): what gets packed, the pages handed back, and
// matmul on packed weights against the one-row kernel for every batch width, with a bias and with
// weights that cannot or must not use the packed copy.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "kernels/kernels.h"
#include "tensor/types.h"

namespace {

using hearth::tensor::Type;
namespace hb = hearth::backend;
namespace hk = hearth::kernels;
namespace ht = hearth::tensor;

struct Matrix {
  std::vector<uint8_t> data;
  hb::WeightView view;
};

Matrix make_matrix(Type t, int64_t rows, int64_t cols, uint32_t seed) {
  Matrix m;
  const uint64_t rs = ht::row_size(t, cols);
  m.data.resize(rs * rows);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> f(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : f) v = nd(rng);
    ht::quantize_row(t, f.data(), m.data.data() + r * rs, cols);
  }
  m.view.type = t;
  m.view.rows = rows;
  m.view.cols = cols;
  m.view.data = m.data.data();
  m.view.row_bytes = rs;
  return m;
}

std::vector<float> activations(int64_t n, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(n * cols);
  for (auto& v : x) v = nd(rng);
  return x;
}

// y = x w^T + bias through one-row products: the AVX-512 vec_dot where this CPU has it (the packed
// kernels' exact arithmetic), else the active table's.
std::vector<float> reference(const hb::WeightView& w, const std::vector<float>& x, int64_t n,
                             const std::vector<float>& bias, bool* exact) {
  const hk::KernelTable* t = hk::by_name("avx512");
  *exact = t != nullptr;
  if (!t) t = &hk::active();
  const auto& k = t->types[static_cast<uint32_t>(w.type)];
  const uint64_t as = ht::row_size(k.act_type, w.cols);
  std::vector<uint8_t> act(as);
  std::vector<float> y(n * w.rows);
  for (int64_t c = 0; c < n; ++c) {
    k.from_float(x.data() + c * w.cols, act.data(), w.cols);
    for (int64_t r = 0; r < w.rows; ++r)
      y[c * w.rows + r] = k.vec_dot(w.cols, w.data + r * w.row_bytes, act.data()) + bias[r];
  }
  return y;
}

// `packed`: the weight goes through the packed kernel, whose outputs have the AVX-512 one-row bits for the
// K-quants (the other kernels, and packed Q4_0, are only close).
void expect_matmul(hb::Backend& be, const hb::WeightView& w, bool packed, const std::string& what) {
  std::vector<float> bias(w.rows);
  for (int64_t r = 0; r < w.rows; ++r) bias[r] = 0.01f * static_cast<float>(r);
  for (int64_t n : {1, 3, 4, 9, 70}) {
    const auto x = activations(n, w.cols, 5 + static_cast<uint32_t>(n));
    std::vector<float> y(n * w.rows, -1.0f);
    be.matmul(w, x.data(), n, y.data(), bias.data());
    bool exact = false;
    const auto want = reference(w, x, n, bias, &exact);
    for (int64_t i = 0; i < n * w.rows; ++i) {
      if (exact && packed && w.type != Type::Q4_0)
        ASSERT_EQ(0, std::memcmp(&y[i], &want[i], sizeof(float)))
            << what << " n=" << n << " i=" << i << ": " << y[i] << " vs " << want[i];
      else
        ASSERT_NEAR(y[i], want[i], 1e-3f * (1.0f + std::fabs(want[i]))) << what << " n=" << n << " i=" << i;
    }
  }
}

bool packable(Type t) { return hk::active().types[static_cast<uint32_t>(t)].dot_packed != nullptr; }

TEST(CpuBackendPacked, PacksReleasesAndComputesLikeTheOneRowKernel) {
  for (Type t : {Type::Q4_K, Type::Q6_K, Type::Q5_K, Type::IQ4_XS, Type::Q4_0, Type::Q8_0}) {
    SCOPED_TRACE(ht::type_name(t));
    auto be = hb::make_cpu_backend(2);
    auto m = make_matrix(t, 48, 512, 11);
    uint64_t released = 0;
    int calls = 0;
    const auto release = [&](const uint8_t* p, uint64_t n) {
      EXPECT_GE(p, m.view.data);
      EXPECT_LE(p + n, m.view.data + m.data.size());
      released += n;
      ++calls;
    };
    const bool packed = be->prepare(m.view, release);
    EXPECT_EQ(packed, packable(t));
    EXPECT_EQ(released, packed ? m.data.size() : 0u) << "every copied byte is handed back, once";
    EXPECT_EQ(be->prepared_bytes(), packed ? hk::packed_group_bytes(t, 512) * 3 : 0u);
    EXPECT_EQ(be->prepare(m.view, release), packed) << "preparing again";
    EXPECT_EQ(released, packed ? m.data.size() : 0u) << "nothing released twice";
    expect_matmul(*be, m.view, packed, "prepared");

    // The same data seen with another shape (a view of its first 32 rows) is not the packed copy.
    hb::WeightView part = m.view;
    part.rows = 32;
    expect_matmul(*be, part, false, "other shape");
  }
}

TEST(CpuBackendPacked, RowsNotInWholeGroupsStayAsStored) {
  auto be = hb::make_cpu_backend(2);
  auto m = make_matrix(Type::Q4_K, 40, 256, 3);
  int calls = 0;
  EXPECT_FALSE(be->prepare(m.view, [&](const uint8_t*, uint64_t) { ++calls; }));
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(be->prepared_bytes(), 0u);
  expect_matmul(*be, m.view, false, "40 rows");
}

}  // namespace
