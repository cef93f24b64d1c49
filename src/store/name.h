// store: model references and their validation. Everything that comes from the command line or the network
// (names, tags, digests, file names) is checked here before it can become part of a path: only plain
// characters, no leading dot, no separators, bounded lengths. Nothing here touches the filesystem.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace hearth::store {

inline constexpr const char* kDefaultHost = "registry.ollama.ai";
inline constexpr const char* kDefaultNamespace = "library";
inline constexpr const char* kDefaultTag = "latest";
inline constexpr const char* kHfHost = "hf.co";

// A model name in the store: host/namespace/model:tag. Hugging Face repositories are hf.co/USER/REPO:QUANT.
struct ModelName {
  std::string host = kDefaultHost;
  std::string ns = kDefaultNamespace;
  std::string model;
  std::string tag = kDefaultTag;

  bool is_hf() const { return host == kHfHost; }
  // The short form users type: "llama3.1:8b", "user/model:tag", "hf.co/u/r:Q4_K_M", "host/ns/model:tag".
  std::string display() const;
  std::string full() const;  // always host/ns/model:tag
  bool operator==(const ModelName&) const = default;
};

// Parses and validates a model name ("llama3.1", "llama3.1:8b", "library/llama3.1:8b",
// "host[:port]/ns/model:tag", "hf.co/USER/REPO[:QUANT]", "huggingface.co/..."). Throws hearth::Error.
ModelName parse_model_name(std::string_view s);

enum class RefKind { Name, Url, File };

// What the user asked for: a store name, an http(s) URL of a .gguf file, or a local path.
struct Reference {
  RefKind kind = RefKind::Name;
  ModelName name;    // kind Name; for Url and File the name the model is stored under by default
  std::string url;   // kind Url
  std::string path;  // kind File
};

// Classifies and validates a reference. URLs must be http(s); paths are arguments that start with '/',
// "./", "../" or "~/", or end with ".gguf"; anything else is a store name.
Reference parse_reference(std::string_view s);

// Digests are "sha256:" followed by exactly 64 lowercase hex digits.
bool is_valid_digest(std::string_view d);
void check_digest(std::string_view d, std::string_view what);  // throws with `what` in the message
std::string digest_hex(std::string_view d);                    // the 64 hex digits (validated)
bool is_hex64(std::string_view s);

// Name components: letters, digits, '_', '.', '-', starting with a letter or digit, at most max_len.
bool is_valid_component(std::string_view s, size_t max_len = 96);
bool is_valid_tag(std::string_view s);
bool is_valid_host(std::string_view s);
// A file name (no directory) safe to create: same characters plus '+', no leading dot, at most 200.
bool is_safe_filename(std::string_view s);

// Default model name derived from a file name or URL path ("Llama-3.2-1B-Q4_K_M.gguf" ->
// "llama-3.2-1b-q4_k_m"; split suffixes -00001-of-00003 are dropped).
std::string model_name_from_filename(std::string_view filename);

// Split-file naming: "x-00002-of-00005.gguf" -> {2, 5}; {0, 0} when the name is not a split part.
struct SplitPart {
  int index = 0;
  int count = 0;
};
SplitPart split_part(std::string_view filename);
// "x-00001-of-00003.gguf" with part index i (1-based) -> "x-0000i-of-00003.gguf".
std::string split_part_name(std::string_view first, int index);

// The quantization named in a GGUF file name ("Model-Q4_K_M.gguf" -> "Q4_K_M", "x.f16.gguf" -> "F16"), or "".
std::string quant_from_filename(std::string_view filename);

std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);

}  // namespace hearth::store
