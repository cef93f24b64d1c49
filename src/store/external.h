// store: models the user already has from other tools, used in place and read-only: Ollama's store
// (OLLAMA_MODELS or ~/.ollama/models) and the Hugging Face hub cache (HF_HUB_CACHE, HF_HOME/hub or
// ~/.cache/huggingface/hub).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/name.h"

namespace hearth::store {

// The folder holding Ollama's blobs/ and manifests/, or "" when there is none (or it is hearth's own).
std::string ollama_models_dir();
// The hub cache folder (holding models--USER--REPO folders), or "" when there is none.
std::string hf_cache_dir();

struct HfCacheModel {
  ModelName name;                  // hf.co/USER/REPO:QUANT
  std::vector<std::string> parts;  // GGUF paths in the snapshot (split models: every part)
  uint64_t size = 0;
  int64_t modified = 0;  // unix seconds
};
// Every GGUF model in the cache (the snapshot refs/main points at, else the newest one).
std::vector<HfCacheModel> scan_hf_cache(const std::string& cache_dir);
// The cached files for hf.co/USER/REPO:QUANT ("latest": Q4_K_M or the only model), if present.
std::optional<HfCacheModel> find_in_hf_cache(const ModelName& name);

}  // namespace hearth::store
