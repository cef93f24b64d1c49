// store: manifests. A manifest names the blobs of one model (OCI/Ollama style JSON: schemaVersion 2, a config
// descriptor and layers with mediaType, digest and size). Manifests from a registry are untrusted: parse()
// validates every digest, size and count before anything uses them.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::store {

namespace media {
inline constexpr const char* kManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kModel = "application/vnd.ollama.image.model";
inline constexpr const char* kTemplate = "application/vnd.ollama.image.template";
inline constexpr const char* kParams = "application/vnd.ollama.image.params";
inline constexpr const char* kSystem = "application/vnd.ollama.image.system";
inline constexpr const char* kLicense = "application/vnd.ollama.image.license";
inline constexpr const char* kProjector = "application/vnd.ollama.image.projector";
inline constexpr const char* kAdapter = "application/vnd.ollama.image.adapter";
}  // namespace media

// Annotation keys hearth writes (OCI allows free-form annotations).
namespace annot {
inline constexpr const char* kTitle = "org.opencontainers.image.title";  // a layer's original file name
inline constexpr const char* kSource = "org.hearth.source";  // "ollama", "hf", "url", "file", "link"
inline constexpr const char* kOrigin = "org.hearth.origin";  // what was pulled (name, URL or path)
inline constexpr const char* kFile = "org.hearth.file";      // file picked from a repository
}  // namespace annot

struct Layer {
  std::string media_type;
  std::string digest;  // "sha256:<hex>"; empty only for a linked file
  uint64_t size = 0;
  std::string path;   // linked file (absolute), only in manifests hearth wrote itself (`pull --link`)
  std::string title;  // original file name (split parts keep their names), validated, may be empty
};

struct Manifest {
  std::optional<Layer> config;
  std::vector<Layer> layers;
  nlohmann::json annotations = nlohmann::json::object();  // string -> string

  // Validates (throws hearth::Error naming `what`): schema version 2, at most 1000 layers, digests well
  // formed, sizes below 2^50, media types short printable strings. Linked layers only when allow_links.
  static Manifest parse(std::string_view json, const std::string& what, bool allow_links = false);
  std::string serialize() const;

  std::vector<const Layer*> model_layers() const;        // the GGUF (split models: every part, in order)
  const Layer* find(std::string_view media_type) const;  // first layer of that type
  // Every blob digest the manifest references (config included, linked layers excluded).
  std::vector<std::string> digests() const;
  uint64_t total_size() const;
  std::string annotation(const std::string& key) const;  // "" when absent
};

}  // namespace hearth::store
