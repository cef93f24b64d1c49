// Golden: hearth's logits against the reference implementation's for every fixture model
// (../shared/fixtures/logits/manifest.json), with the tolerances the fixtures README states.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backend/backend.h"
#include "kernels/kernels.h"
#include "model/context.h"

using namespace hearth;

namespace {

nlohmann::json manifest() {
  std::ifstream in(std::string(HEARTH_FIXTURES) + "/logits/manifest.json");
  return nlohmann::json::parse(in);
}

std::vector<std::string> model_names() {
  std::vector<std::string> v;
  const auto m = manifest();
  for (auto& [k, _] : m.items()) v.push_back(k);
  return v;
}

std::vector<float> read_f32(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const auto n = static_cast<size_t>(in.tellg());
  std::vector<float> v(n / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  return v;
}

class Logits : public ::testing::TestWithParam<std::string> {};

TEST_P(Logits, MatchesReference) {
  const std::string name = GetParam();
  const auto entry = manifest()[name];
  const std::string fx = HEARTH_FIXTURES;
  const auto tokens = entry["tokens"].get<std::vector<int32_t>>();
  const int64_t n_vocab = entry["n_vocab"].get<int64_t>();
  const int rows = entry["logits_positions"].get<int>();
  const auto ref = read_f32(fx + "/logits/" + entry["logits_file"].get<std::string>());
  ASSERT_EQ(ref.size(), static_cast<size_t>(rows * n_vocab));

  auto m = model::Model::load(fx + "/models/" + entry["model"].get<std::string>());
  ASSERT_EQ(m->hparams().n_vocab, n_vocab);
  auto be = backend::make_cpu_backend(2);
  model::ContextParams cp;
  cp.n_ctx = static_cast<int64_t>(tokens.size());
  cp.n_batch = 512;
  model::Context ctx(*m, *be, cp);
  model::Batch b;
  for (size_t i = 0; i < tokens.size(); ++i) b.add(tokens[i], static_cast<int32_t>(i), 0, true);
  const float* out = ctx.forward(b);
  ASSERT_EQ(ctx.n_outputs(), static_cast<int64_t>(tokens.size()));

  // Normalized RMS error over the reference rows.
  double se = 0, sr = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = out[i] - ref[i];
    se += d * d;
    sr += static_cast<double>(ref[i]) * ref[i];
  }
  const double nrmse = std::sqrt(se / sr);
  // Argmax agreement.
  const auto top1 = entry["top1_first64"].get<std::vector<int>>();
  // Random-weight models have rows whose two best logits are nearly tied (gaps under 0.5% of the row's
  // RMS); 8-bit activation rounding that lands one step apart from the reference's flips those. A row
  // counts as agreeing when our argmax is the reference's, or is tied with it in the reference's own
  // logits (within 1% of the row RMS). Strict agreement is printed too.
  int agree = 0, strict = 0;
  for (int r = 0; r < rows; ++r) {
    const float* row = out + r * n_vocab;
    const float* rr = ref.data() + r * n_vocab;
    const int ours = static_cast<int>(std::max_element(row, row + n_vocab) - row);
    double rms = 0;
    for (int64_t j = 0; j < n_vocab; ++j) rms += static_cast<double>(rr[j]) * rr[j];
    rms = std::sqrt(rms / static_cast<double>(n_vocab));
    strict += ours == top1[r];
    agree += ours == top1[r] || rr[ours] >= rr[top1[r]] - 0.01 * rms;
  }
  // Mean NLL of tokens[1..] given their prefixes.
  double nll = 0;
  for (size_t i = 1; i < tokens.size(); ++i) {
    const float* row = out + (i - 1) * n_vocab;
    const float mx = *std::max_element(row, row + n_vocab);
    double s = 0;
    for (int64_t j = 0; j < n_vocab; ++j) s += std::exp(static_cast<double>(row[j]) - mx);
    nll += (std::log(s) + mx) - row[tokens[i]];
  }
  nll /= static_cast<double>(tokens.size() - 1);
  const double ref_nll = entry["mean_nll_255"].get<double>();

  const bool is_float = name.ends_with("f32") || name.ends_with("F16") || name.ends_with("BF16");
  const double tol = is_float ? 0.005 : 0.03;
  std::printf("%-20s nrmse %.5f  argmax %d/%d (strict %d)  nll %.5f (ref %.5f, %.3f%%)\n", name.c_str(), nrmse, agree, rows, strict, nll,
              ref_nll, 100.0 * std::abs(nll - ref_nll) / ref_nll);
  EXPECT_LE(nrmse, tol);
  EXPECT_GE(agree, static_cast<int>(std::ceil(0.98 * rows)));
  // HEARTH_LOGITS_STRICT=1 (ctest golden.logits_strict_avx2, with HEARTH_ISA=avx2: the AVX2 kernels sum in
  // the reference's own order): the 98% argmax agreement without counting near-ties.
  if (const char* s = std::getenv("HEARTH_LOGITS_STRICT"); s && std::string(s) == "1") {
    if (kernels::active().name != "avx2") GTEST_SKIP() << "the AVX2 kernels are not available on this CPU";
    EXPECT_GE(strict, static_cast<int>(std::ceil(0.98 * rows)));
  }
  EXPECT_LE(std::abs(nll - ref_nll) / ref_nll, 0.005);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Logits, ::testing::ValuesIn(model_names()),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (auto& c : s)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return s;
                         });

}  // namespace
