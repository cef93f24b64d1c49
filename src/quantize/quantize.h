// The quantize pipeline: a GGUF model (F32/F16/BF16, or already quantized) to a mix (Q4_K_M, ...).
// Works tensor by tensor and in bounded steps of rows (never the whole model in memory), multi-threaded
// over rows, and writes atomically: the output appears only when complete, and an error or a cancel
// leaves no partial file (an existing output is replaced only at the end).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "quantize/imatrix.h"
#include "quantize/policy.h"

namespace hearth::quantize {

// What happens to one tensor of the input.
struct PlannedTensor {
  std::string name;
  std::vector<int64_t> ne;  // shape (ne[0] = row length)
  tensor::Type from = tensor::Type::F32;
  tensor::Type to = tensor::Type::F32;
  bool quantizable = false;  // a weight matrix the mix applies to
  bool convert = false;      // false: the bytes are copied unchanged
  bool fallback = false;     // the mix's type did not fit the row length
  uint64_t bytes_in = 0, bytes_out = 0;
};

struct Plan {
  Policy policy;
  std::vector<PlannedTensor> tensors;    // in input order
  uint64_t bytes_in = 0, bytes_out = 0;  // tensor data
  int64_t n_params = 0;                  // elements of all tensors
  int n_fallback = 0, n_quantizable = 0;
  bool requantize = false;  // some weight is converted from an already quantized type
  int n_unconvertible = 0;  // weights of a type hearth cannot convert (copied unchanged)
};

// The per-tensor types the mix gives this model (works on header-only files).
Plan make_plan(const gguf::File& in, const std::string& mix, bool has_imatrix = false);

// Quantization error of a set of tensors: sums of squared error and of squared source values.
struct ErrorStats {
  int64_t tensors = 0;
  int64_t elements = 0;
  double err2 = 0, src2 = 0;
  double rel_rms() const;  // sqrt(err2 / src2): RMS error relative to the source's RMS
  void add(const ErrorStats& o);
};

struct TensorReport {
  int index = 0, count = 0;  // 1-based position, number of tensors
  const PlannedTensor* tensor = nullptr;
  ErrorStats error;           // of a converted tensor
  bool imatrix_used = false;  // the importance matrix weighted this tensor's quantization
};

struct Options {
  int threads = 0;                                     // 0: physical cores
  const Imatrix* imatrix = nullptr;                    // optional
  std::function<void(const TensorReport&)> on_tensor;  // after each tensor is written
  std::function<bool()> cancelled;                     // polled between steps; true stops (Error)
  uint64_t step_elements = uint64_t{1} << 20;          // elements converted per step (bounds memory)
};

struct Result {
  Plan plan;
  uint64_t file_in = 0, file_out = 0;          // bytes on disk
  std::map<tensor::Type, ErrorStats> by_type;  // converted tensors, by output type
  ErrorStats total;
  int imatrix_tensors = 0;  // tensors quantized with importance data
};

// Quantize `in` to `out` with `mix` ("Q4_K_M", ...). Throws hearth::Error (the output is not created
// or left unchanged) on bad input, write errors or when cancelled.
Result quantize_file(const std::string& in, const std::string& out, const std::string& mix,
                     const Options& opt);

}  // namespace hearth::quantize
