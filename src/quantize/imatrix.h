// An importance matrix: per weight matrix, the mean squared activation of each input column (from a
// calibration run), used to weight the quantization error. Two file formats are read, both untrusted:
//  - the legacy binary one (.dat): int32 n_entries, then per entry int32 name length, the name,
//    int32 ncall, int32 nval, float values[nval] (sums over ncall calls); optionally int32 last_call,
//    int32 dataset-name length and the name at the end;
//  - the GGUF one: F32 tensors <name>.in_sum2 (ne = [n_cols, n_mat]) and <name>.counts ([1, n_mat]).
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace hearth::quantize {

struct Imatrix {
  // Tensor name -> importance of each column (n_cols values per matrix; MoE tensors hold one run of
  // n_cols values per expert).
  std::unordered_map<std::string, std::vector<float>> data;
  std::string format;   // "legacy" or "gguf"
  int64_t chunks = 0;   // calibration chunks (0 when unknown)
  std::string dataset;  // calibration data set(s), when recorded

  const std::vector<float>* find(const std::string& name) const {
    auto it = data.find(name);
    return it == data.end() ? nullptr : &it->second;
  }
};

// Reads and validates an importance-matrix file (either format); throws hearth::Error naming what is
// wrong and where.
Imatrix load_imatrix(const std::string& path);
// Parses the legacy binary format from memory (`name` for messages).
Imatrix parse_legacy_imatrix(const uint8_t* data, uint64_t size, const std::string& name);

}  // namespace hearth::quantize
