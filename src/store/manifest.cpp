#include "store/manifest.h"

#include <algorithm>

#include "base/error.h"
#include "store/name.h"

namespace hearth::store {

using nlohmann::json;

namespace {

constexpr uint64_t kMaxBlobSize = 1ull << 50;
constexpr size_t kMaxLayers = 1000;

bool printable_ascii(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

Layer parse_layer(const json& j, const std::string& what, bool allow_links) {
  if (!j.is_object()) fail("{}: a layer is not a JSON object", what);
  Layer l;
  auto mt = j.find("mediaType");
  if (mt == j.end() || !mt->is_string()) fail("{}: a layer has no mediaType", what);
  l.media_type = mt->get<std::string>();
  if (l.media_type.empty() || l.media_type.size() > 200 || !printable_ascii(l.media_type))
    fail("{}: a layer has an invalid mediaType", what);
  auto sz = j.find("size");
  if (sz == j.end() || !sz->is_number_integer() ||
      (sz->is_number_unsigned() ? false : sz->get<int64_t>() < 0))
    fail("{}: layer {} has no valid size", what, l.media_type);
  l.size = sz->get<uint64_t>();
  if (l.size > kMaxBlobSize)
    fail("{}: layer {} claims an absurd size ({} bytes)", what, l.media_type, l.size);
  auto dg = j.find("digest");
  if (dg != j.end() && dg->is_string() && !dg->get<std::string>().empty()) {
    l.digest = dg->get<std::string>();
    check_digest(l.digest, what);
  }
  auto path = j.find("path");
  if (path != j.end()) {
    if (!allow_links)
      fail("{}: layer {} refers to a local path, which only local manifests may do", what, l.media_type);
    if (!path->is_string()) fail("{}: layer path is not a string", what);
    l.path = path->get<std::string>();
    if (l.path.empty() || l.path[0] != '/' || l.path.size() > 4096)
      fail("{}: layer path must be absolute", what);
  }
  if (l.digest.empty() && l.path.empty()) fail("{}: layer {} has no digest", what, l.media_type);
  if (!l.digest.empty() && !l.path.empty())
    fail("{}: layer {} has both a digest and a path", what, l.media_type);
  if (auto an = j.find("annotations"); an != j.end() && an->is_object()) {
    if (auto t = an->find(annot::kTitle); t != an->end() && t->is_string()) {
      std::string title = t->get<std::string>();
      if (is_safe_filename(title)) l.title = title;  // an unusable name is dropped, not trusted
    }
  }
  return l;
}

json layer_json(const Layer& l) {
  json j = {{"mediaType", l.media_type}, {"size", l.size}};
  if (!l.digest.empty()) j["digest"] = l.digest;
  if (!l.path.empty()) j["path"] = l.path;
  if (!l.title.empty()) j["annotations"] = {{annot::kTitle, l.title}};
  return j;
}

}  // namespace

Manifest Manifest::parse(std::string_view text, const std::string& what, bool allow_links) {
  json j;
  try {
    j = json::parse(text.data(), text.data() + text.size(), nullptr, true, false);
  } catch (const json::exception& e) {
    fail("{}: the manifest is not valid JSON ({})", what, e.what());
  }
  if (!j.is_object()) fail("{}: the manifest is not a JSON object", what);
  auto sv = j.find("schemaVersion");
  if (sv == j.end() || !sv->is_number_integer() || sv->get<int64_t>() != 2)
    fail("{}: unsupported manifest (schemaVersion must be 2)", what);
  Manifest m;
  if (auto c = j.find("config"); c != j.end() && !c->is_null()) {
    m.config = parse_layer(*c, what, false);
    if (m.config->digest.empty()) fail("{}: the config has no digest", what);
  }
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array()) fail("{}: the manifest has no layers", what);
  if (layers->size() > kMaxLayers) fail("{}: the manifest has too many layers ({})", what, layers->size());
  for (const auto& l : *layers) m.layers.push_back(parse_layer(l, what, allow_links));
  if (auto an = j.find("annotations"); an != j.end() && an->is_object()) {
    for (auto& [k, v] : an->items())
      if (v.is_string() && k.size() <= 200 && v.get_ref<const std::string&>().size() <= 8192)
        m.annotations[k] = v;
  }
  return m;
}

std::string Manifest::serialize() const {
  json j = {{"schemaVersion", 2}, {"mediaType", media::kManifest}};
  if (config) j["config"] = layer_json(*config);
  j["layers"] = json::array();
  for (const auto& l : layers) j["layers"].push_back(layer_json(l));
  if (!annotations.empty()) j["annotations"] = annotations;
  return j.dump(2) + "\n";
}

std::vector<const Layer*> Manifest::model_layers() const {
  std::vector<const Layer*> out;
  for (const auto& l : layers)
    if (l.media_type == media::kModel) out.push_back(&l);
  return out;
}

const Layer* Manifest::find(std::string_view media_type) const {
  for (const auto& l : layers)
    if (l.media_type == media_type) return &l;
  return nullptr;
}

std::vector<std::string> Manifest::digests() const {
  std::vector<std::string> out;
  if (config) out.push_back(config->digest);
  for (const auto& l : layers)
    if (!l.digest.empty()) out.push_back(l.digest);
  return out;
}

uint64_t Manifest::total_size() const {
  uint64_t s = config ? config->size : 0;
  for (const auto& l : layers) s += l.size;
  return s;
}

std::string Manifest::annotation(const std::string& key) const {
  auto it = annotations.find(key);
  return it != annotations.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace hearth::store
