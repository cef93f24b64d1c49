// store: content-addressed model store, manifests, registry clients (Ollama, Hugging Face, URL), the
// downloader. This header is the room's door: `pull`, `list`, `rm`, `cp` and the name resolution that lets
// `run`, `serve` and `show` accept store names. Knows nothing of models beyond reading a GGUF header.
//
// A reference is one of:
//   - a store name: "llama3.1:8b", "library/llama3.1:8b", "host[:port]/ns/model:tag" (Ollama registry
//     protocol; default host registry.ollama.ai, base URL overridable with HEARTH_REGISTRY),
//     "hf.co/USER/REPO[:QUANT]" (Hugging Face GGUF repository; HEARTH_HF_ENDPOINT, HF_TOKEN);
//   - an http(s) URL of a .gguf file;
//   - a local path to a .gguf file.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/name.h"

namespace hearth::store {

// A model reference resolved to files on this machine.
struct ResolvedModel {
  std::string name;        // display name ("llama3.1:8b", "hf.co/u/r:Q4_K_M") or, for a plain file, its path
  std::string model_path;  // the GGUF to open (the first part of a split model; its siblings sit next to it)
  std::vector<std::string> parts;  // every GGUF part, in order (one entry unless split)
  std::string digest;              // sha256 of the (first) model blob; "" for plain or linked files
  std::string source;              // "hearth", "ollama", "hf-cache" or "file"
  // Extra layers of Ollama-style models. The template is an Ollama (Go text/template) template; most GGUF
  // files also carry their own Jinja template in tokenizer.chat_template.
  std::optional<std::string> template_text;
  nlohmann::json params = nlohmann::json::object();  // default options: {"temperature": 0.6, "stop": [...]}
  std::optional<std::string> system;                 // default system prompt
  std::optional<std::string> license;
  std::optional<std::string> projector_path;  // multimodal projector (mmproj) GGUF, when the model has one
};

// Finds a model without any network access: hearth's store, then Ollama's store (OLLAMA_MODELS or
// ~/.ollama/models), then the Hugging Face cache (HF_HUB_CACHE / HF_HOME / ~/.cache/huggingface/hub); a
// path is used as is, a URL maps to the name `pull` stores it under. nullopt when absent.
std::optional<ResolvedModel> find_model(const std::string& ref);
// Like find_model, but a missing model is an error telling the user to pull it.
ResolvedModel resolve(const std::string& ref);

// Progress of a pull, for callers that show it themselves (e.g. the server's streaming /api/pull).
struct PullEvent {
  std::string status;      // "pulling <short digest>", "verified", "writing manifest", "success", ...
  std::string digest;      // the blob being downloaded ("" for other steps)
  uint64_t total = 0;      // its size (0: unknown)
  uint64_t completed = 0;  // bytes present so far
};

struct PullOptions {
  std::string name;   // store under this name (URLs and files default to a name made from the file name)
  bool link = false;  // local files: reference the file in place instead of copying it into the store
  bool insecure =
      false;           // plain http for registry hosts named explicitly (HEARTH_REGISTRY has its own scheme)
  std::string sha256;  // URLs: the expected sha256 of the file (hex or sha256:hex)
  bool quiet = false;  // no progress output
  // When set, progress goes here instead of stderr (about ten events a second while downloading). It may
  // throw to cancel the pull; what was downloaded stays as a partial file for the next pull to resume.
  std::function<void(const PullEvent&)> on_event;
};

struct PullResult {
  ModelName name;      // where it was stored
  std::string digest;  // of the (first) model blob, "" for linked files
  uint64_t size = 0;   // total bytes of the model's blobs
};

// Downloads (or imports) a model into hearth's store. Throws hearth::Error with a message for the user
// ("no such model ...", "access denied ...", "sha256 mismatch ...", "not enough disk space ...").
PullResult pull(const std::string& ref, const PullOptions& opt = {});
// find_model, pulling the model first when it is missing (the way `ollama run` does on first use).
ResolvedModel ensure(const std::string& ref, const PullOptions& opt = {});

struct ModelEntry {
  std::string name;      // display name
  std::string id;        // first 12 hex digits of the model blob's digest ("" when unknown)
  uint64_t size = 0;     // bytes of all its blobs
  std::string quant;     // "Q4_K_M", "F16", ... ("?" when the GGUF header cannot be read)
  std::string arch;      // general.architecture
  int64_t modified = 0;  // unix seconds
  std::string source;    // "hearth", "ollama" or "hf-cache"
  std::string path;      // the (first) GGUF file
};
// Models in hearth's store, then (when include_external) those found in Ollama's store and the HF cache.
std::vector<ModelEntry> list_models(bool include_external = true);

struct RemoveResult {
  ModelName name;
  int blobs_deleted = 0;
  uint64_t bytes_freed = 0;
};
// Removes a model from hearth's store; blobs other models still use are kept.
RemoveResult remove_model(const std::string& name);
// Gives the model `src` a second name `dst` (no data is copied; blobs are shared).
ModelName copy_model(const std::string& src, const std::string& dst);

}  // namespace hearth::store
