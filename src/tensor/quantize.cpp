// quantize_row: dispatch of the reference quantizers (quant_legacy.cpp, quant_kquants.cpp,
// quant_iq4.cpp) and the float conversions (round to nearest even).
#include <cstring>

#include "base/error.h"
#include "base/fp16.h"
#include "tensor/quant_search.h"
#include "tensor/quants.h"
#include "tensor/types.h"

namespace hearth::tensor {

void quantize_row(Type t, const float* src, void* dst, int64_t n, const float* imatrix) {
  detail::check_row(t, n, "quantize");
  switch (t) {
    case Type::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case Type::F16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_fp16(src[i]);
      return;
    }
    case Type::BF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
      return;
    }
    case Type::Q4_0:
      return quantize_q4_0(src, static_cast<BlockQ4_0*>(dst), n, imatrix);
    case Type::Q4_1:
      return quantize_q4_1(src, static_cast<BlockQ4_1*>(dst), n, imatrix);
    case Type::Q5_0:
      return quantize_q5_0(src, static_cast<BlockQ5_0*>(dst), n, imatrix);
    case Type::Q5_1:
      return quantize_q5_1(src, static_cast<BlockQ5_1*>(dst), n, imatrix);
    case Type::Q8_0:
      return quantize_q8_0(src, static_cast<BlockQ8_0*>(dst), n);
    case Type::Q8_1:
      return quantize_q8_1(src, static_cast<BlockQ8_1*>(dst), n);
    case Type::Q2_K:
      return quantize_q2_k(src, static_cast<BlockQ2_K*>(dst), n, imatrix);
    case Type::Q3_K:
      return quantize_q3_k(src, static_cast<BlockQ3_K*>(dst), n, imatrix);
    case Type::Q4_K:
      return quantize_q4_k(src, static_cast<BlockQ4_K*>(dst), n, imatrix);
    case Type::Q5_K:
      return quantize_q5_k(src, static_cast<BlockQ5_K*>(dst), n, imatrix);
    case Type::Q6_K:
      return quantize_q6_k(src, static_cast<BlockQ6_K*>(dst), n, imatrix);
    case Type::Q8_K:
      return quantize_q8_k(src, static_cast<BlockQ8_K*>(dst), n);
    case Type::IQ4_NL:
      return quantize_iq4_nl(src, static_cast<BlockIQ4_NL*>(dst), n, imatrix);
    case Type::IQ4_XS:
      return quantize_iq4_xs(src, static_cast<BlockIQ4_XS*>(dst), n, imatrix);
    default:
      break;
  }
  fail("quantize: tensor type {} is not supported", type_name(t));
}

}  // namespace hearth::tensor
