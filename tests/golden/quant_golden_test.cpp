// Golden: our reference quantizer against the files of the reference GGUF quantizer. For every
// llama-s-<TYPE>.gguf fixture and each of its tensors: (1) dequantizing it reproduces the f32 model's
// tensor with an error plausible for the type; (2) quantizing the f32 tensor ourselves to the same
// type gives an RMS error within 2% of the reference file's, and (on x86-64, where the reference was
// produced) the same bytes for (nearly) every block.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "tensor/types.h"

using namespace hearth;
using tensor::Type;

namespace {

const std::string kModels = std::string(HEARTH_FIXTURES) + "/models/";

// Plausible rel. RMS error of each type on these (Gaussian random) weights.
double plausible_rel_rms(Type t) {
  switch (t) {
    case Type::F32:
      return 0.0;
    case Type::F16:
      return 4e-4;
    case Type::BF16:
      return 3e-3;
    case Type::Q8_0:
      return 0.007;
    case Type::Q6_K:
      return 0.022;
    case Type::Q5_0:
    case Type::Q5_1:
    case Type::Q5_K:
      return 0.05;
    case Type::Q4_0:
    case Type::Q4_1:
    case Type::Q4_K:
    case Type::IQ4_NL:
    case Type::IQ4_XS:
      return 0.10;
    case Type::Q3_K:
      return 0.18;
    case Type::Q2_K:
      return 0.33;
    default:
      return -1;
  }
}

struct Stats {
  double err_ref = 0, err_ours = 0, signal = 0;
  int64_t blocks = 0, identical = 0, tensors = 0;
};

class QuantGolden : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { f32_ = gguf::File::open(kModels + "llama-s-f32.gguf").release(); }
  static void TearDownTestSuite() {
    delete f32_;
    f32_ = nullptr;
  }
  static gguf::File* f32_;
};
gguf::File* QuantGolden::f32_ = nullptr;

TEST_P(QuantGolden, MatchesReferenceQuantizer) {
  const std::string file = "llama-s-" + GetParam() + ".gguf";
  auto q = gguf::File::open(kModels + file);
  std::map<Type, Stats> per_type;
  for (const auto& ti : q->tensors()) {
    SCOPED_TRACE(ti.name);
    const gguf::TensorInfo* src = f32_->find_tensor(ti.name);
    ASSERT_NE(src, nullptr);
    ASSERT_EQ(src->type, Type::F32);
    ASSERT_EQ(src->n_elements(), ti.n_elements());
    const int64_t n = ti.ne[0], rows = ti.n_rows();
    const auto& info = tensor::type_info(ti.type);
    ASSERT_TRUE(info.supported) << tensor::type_name(ti.type);
    const uint64_t rs = tensor::row_size(ti.type, n);
    ASSERT_EQ(rs * static_cast<uint64_t>(rows), ti.nbytes);
    std::vector<float> deq_ref(n), deq_ours(n);
    std::vector<uint8_t> ours(rs);
    Stats t;
    for (int64_t r = 0; r < rows; ++r) {
      const float* x = reinterpret_cast<const float*>(src->data) + r * n;
      const uint8_t* qr = ti.data + r * rs;
      tensor::dequantize_row(ti.type, qr, deq_ref.data(), n);
      tensor::quantize_row(ti.type, x, ours.data(), n);
      tensor::dequantize_row(ti.type, ours.data(), deq_ours.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        t.signal += double(x[i]) * x[i];
        t.err_ref += (double(x[i]) - deq_ref[i]) * (double(x[i]) - deq_ref[i]);
        t.err_ours += (double(x[i]) - deq_ours[i]) * (double(x[i]) - deq_ours[i]);
      }
      for (int64_t b = 0; b < n / info.block_size; ++b) {
        ++t.blocks;
        t.identical +=
            std::memcmp(qr + b * info.type_size, ours.data() + b * info.type_size, info.type_size) == 0;
      }
    }
    const double rel_ref = std::sqrt(t.err_ref / t.signal), rel_ours = std::sqrt(t.err_ours / t.signal);
    EXPECT_LE(rel_ref, plausible_rel_rms(ti.type)) << "reference file's error implausible for " << info.name;
    if (ti.type != Type::F32) {
      EXPECT_GT(rel_ref, 0.0);
    }
    // Ours within 2% of the reference quantizer's RMS error.
    EXPECT_LE(rel_ours, rel_ref * 1.02 + 1e-12) << info.name;
    auto& s = per_type[ti.type];
    s.err_ref += t.err_ref;
    s.err_ours += t.err_ours;
    s.signal += t.signal;
    s.blocks += t.blocks;
    s.identical += t.identical;
    s.tensors += 1;
  }
  for (const auto& [type, s] : per_type) {
    const double rel_ref = std::sqrt(s.err_ref / s.signal), rel_ours = std::sqrt(s.err_ours / s.signal);
    std::printf("%-22s %-7s tensors %3lld  rms ref %.5f ours %.5f (ratio %.4f)  identical blocks %lld/%lld\n",
                file.c_str(), tensor::type_name(type), static_cast<long long>(s.tensors), rel_ref, rel_ours,
                rel_ref > 0 ? rel_ours / rel_ref : 1.0, static_cast<long long>(s.identical),
                static_cast<long long>(s.blocks));
    RecordProperty(std::string(tensor::type_name(type)) + "_identical_blocks",
                   std::to_string(s.identical) + "/" + std::to_string(s.blocks));
#if defined(__x86_64__)
    // Same algorithm, same float operations: bit-identical output (allow a handful of ties).
    EXPECT_GE(s.identical, s.blocks - s.blocks / 1000) << tensor::type_name(type);
#else
    // Other ISAs may fuse multiply-adds, which moves a few rounding decisions.
    EXPECT_GE(s.identical, s.blocks * 8 / 10) << tensor::type_name(type);
#endif
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, QuantGolden,
                         ::testing::Values("F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K",
                                           "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
