// Shared helpers of the command files.
#pragma once
#include <cstdint>
#include <string>

namespace hearth::cli {

// A model reference given on the command line (a GGUF path, or a store name once the store exists)
// to the path of its GGUF file.
std::string resolve_model(const std::string& ref);

// Human-readable byte size ("3.9 GiB").
std::string human_bytes(uint64_t n);

}  // namespace hearth::cli

namespace hearth::cli {
// Name of the active kernel table ("avx512", "avx2", "scalar", ...).
std::string kernels_name();
}  // namespace hearth::cli
