// quantize: per-tensor type policy of each mix and the quantize pipeline; synthetic models for
// benchmarks. Knows GGUF, tensor types and the architectures' tensor lists; nothing of HTTP or sampling.
#pragma once
#include <string>

namespace hearth::quantize {

// Writes a GGUF file with random weights in the shape of a known model ("llama-1b", "llama-3b",
// "llama-8b", "qwen2-0.5b", "tiny") quantized as `mix` ("Q4_K_M", "Q8_0", "Q4_0", "F16", ...), with the
// project's writer and quantizer. Rows are quantized from a pool of random rows and reused, so a
// 1B model takes seconds. Returns the path (cached under dir; reused when already there).
std::string synthetic_model(const std::string& spec, const std::string& dir);

}  // namespace hearth::quantize
