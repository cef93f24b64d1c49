// store: where models come from. Each source turns a reference into a plan: the blobs to download (with
// their expected digests and sizes) and the layers of the manifest to write once they are all in the store.
#pragma once
#include <string>
#include <vector>

#include "store/download.h"
#include "store/manifest.h"
#include "store/name.h"

namespace hearth::store {

struct PullPlan {
  std::vector<BlobSource> blobs;
  std::vector<std::string> media_types;  // parallel to blobs
  int config_index = -1;                 // which blob is the manifest's config (-1: none)
  std::vector<std::string> titles;       // parallel to blobs; original file names (may be empty)
  nlohmann::json annotations = nlohmann::json::object();
  // The manifest for the downloaded blobs (digests in blob order).
  Manifest manifest(const LocalStore& store, const std::vector<std::string>& digests) const;
};

namespace ollama {
// Base URL of the registry serving `n`: HEARTH_REGISTRY (or https://registry.ollama.ai) for the default
// host, otherwise https://HOST (http:// when insecure).
std::string base_url(const ModelName& n, bool insecure);
// GET /v2/<ns>/<model>/manifests/<tag>; every layer and the config become blobs to fetch.
PullPlan plan(const ModelName& n, bool insecure);
}  // namespace ollama

namespace hf {
std::string endpoint();                   // HEARTH_HF_ENDPOINT, HF_ENDPOINT or https://huggingface.co
std::vector<std::string> auth_headers();  // "Authorization: Bearer $HF_TOKEN" when set

struct RepoFile {
  std::string path;  // inside the repository ("sub/model-Q4_K_M.gguf")
  uint64_t size = 0;
  std::string sha256;  // hex (from the LFS pointer); "" when the hub gives none
};
// GET /api/models/<user>/<repo>/tree/main?recursive=true (following Link: rel="next" pages).
std::vector<RepoFile> list_files(const ModelName& n);
// The GGUF file(s) for a quantization tag ("latest": Q4_K_M when present, else the only model); split
// models give every part in order. Projector (mmproj) files are never picked. Throws listing the choices.
std::vector<RepoFile> choose_files(const std::vector<RepoFile>& files, const std::string& tag,
                                   const std::string& repo);
PullPlan plan(const ModelName& n);
}  // namespace hf

// A plain URL (split models: the first part's URL, every part is fetched). sha256: expected hex or "".
PullPlan plan_url(const std::string& url, const std::string& sha256);

}  // namespace hearth::store
