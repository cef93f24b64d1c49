// Name resolution: a reference to the GGUF file(s) and extra layers of a model on this machine.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "store/external.h"
#include "store/local.h"
#include "store/store.h"

namespace hearth::store {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxTextLayer = 1 << 20;

bool exists_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Split GGUFs are opened by name (NAME-0000i-of-0000N.gguf), blobs are named by digest: a folder of
// symbolic links gives the parts their names. Created atomically (temporary folder, rename).
std::vector<std::string> split_links(const LocalStore& store, const std::vector<std::string>& blobs,
                                     const std::string& first_title, const std::string& first_digest) {
  const int n = static_cast<int>(blobs.size());
  std::string first = first_title;
  if (split_part(first).count != n) first = fmt::format("model-00001-of-{:05d}.gguf", n);
  std::vector<std::string> names;
  for (int i = 1; i <= n; ++i) names.push_back(split_part_name(first, i));
  const std::string dir = store.splits_dir() + "/" + digest_hex(first_digest);
  auto complete = [&] {
    for (int i = 0; i < n; ++i) {
      std::error_code ec;
      if (fs::read_symlink(dir + "/" + names[i], ec) != fs::path(blobs[i])) return false;
    }
    return true;
  };
  if (!complete()) {
    make_dirs(store.splits_dir());
    const std::string tmp = temp_sibling(dir);
    make_dirs(tmp);
    for (int i = 0; i < n; ++i)
      if (::symlink(blobs[i].c_str(), (tmp + "/" + names[i]).c_str()) != 0)
        fail("cannot create a link in {}: {}", tmp, std::strerror(errno));
    std::error_code ec;
    if (::rename(tmp.c_str(), dir.c_str()) != 0) {
      // The folder exists: made by another process meanwhile (fine), or stale (replace it).
      if (!complete()) {
        fs::remove_all(dir, ec);
        if (::rename(tmp.c_str(), dir.c_str()) != 0 && !complete())
          fail("cannot create the split-model links in {}: {}", dir, std::strerror(errno));
      }
      fs::remove_all(tmp, ec);
    }
  }
  std::vector<std::string> out;
  for (auto& nm : names) out.push_back(dir + "/" + nm);
  return out;
}

ResolvedModel from_manifest(const ModelsDir& dir, const LocalStore& store, const Manifest& m,
                            const ModelName& name, const std::string& source) {
  ResolvedModel r;
  r.name = name.display();
  r.source = source;
  auto blob = [&](const Layer& l) {
    if (!l.path.empty()) {
      if (!exists_file(l.path)) fail("model {} links to {}, which no longer exists", r.name, l.path);
      return l.path;
    }
    const std::string p = dir.blob_path(l.digest);
    if (!exists_file(p)) fail("model {} is damaged: its blob {} is missing; pull it again", r.name, l.digest);
    return p;
  };
  const auto models = m.model_layers();
  if (models.empty()) fail("model {} has no model layer", r.name);
  for (const Layer* l : models) r.parts.push_back(blob(*l));
  r.digest = models[0]->digest;
  if (r.parts.size() > 1 && models[0]->path.empty())
    r.parts = split_links(store, r.parts, models[0]->title, models[0]->digest);
  r.model_path = r.parts[0];
  for (const auto& l : m.layers) {
    if (l.media_type == media::kTemplate) {
      r.template_text = read_file(blob(l), kMaxTextLayer);
    } else if (l.media_type == media::kSystem) {
      r.system = read_file(blob(l), kMaxTextLayer);
    } else if (l.media_type == media::kLicense) {
      const std::string text = read_file(blob(l), kMaxTextLayer);
      r.license = r.license ? *r.license + "\n\n" + text : text;
    } else if (l.media_type == media::kParams) {
      try {
        r.params = nlohmann::json::parse(read_file(blob(l), kMaxTextLayer));
      } catch (const nlohmann::json::exception& e) {
        fail("model {}: its parameters are not valid JSON ({})", r.name, e.what());
      }
      if (!r.params.is_object()) fail("model {}: its parameters are not a JSON object", r.name);
    } else if (l.media_type == media::kProjector && !r.projector_path) {
      r.projector_path = blob(l);
    }
  }
  return r;
}

}  // namespace

std::optional<ResolvedModel> find_model(const std::string& ref_text) {
  const Reference ref = parse_reference(ref_text);
  if (ref.kind == RefKind::File) {
    if (!exists_file(ref.path)) return std::nullopt;
    ResolvedModel r;
    r.name = ref.path;
    r.model_path = ref.path;
    r.parts = {ref.path};
    r.source = "file";
    return r;
  }
  const ModelName& name = ref.name;
  LocalStore store;
  if (auto m = store.read_manifest(name)) return from_manifest(store, store, *m, name, "hearth");
  if (const std::string od = ollama_models_dir(); !od.empty()) {
    ModelsDir ollama(od);
    if (auto m = ollama.read_manifest(name, false)) return from_manifest(ollama, store, *m, name, "ollama");
  }
  if (auto c = find_in_hf_cache(name)) {
    ResolvedModel r;
    r.name = c->name.display();
    r.parts = c->parts;
    r.model_path = c->parts[0];
    r.source = "hf-cache";
    return r;
  }
  return std::nullopt;
}

ResolvedModel resolve(const std::string& ref_text) {
  if (auto r = find_model(ref_text)) return *r;
  const Reference ref = parse_reference(ref_text);
  if (ref.kind == RefKind::File) fail("{}: no such file", ref.path);
  if (ref.kind == RefKind::Url) fail("{} has not been pulled yet: run `hearth pull {}`", ref.url, ref.url);
  fail("model {} not found: run `hearth pull {}` first", ref.name.display(), ref.name.display());
}

}  // namespace hearth::store
