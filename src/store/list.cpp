// `list`, `rm` and `cp` on the store.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "gguf/gguf.h"
#include "store/external.h"
#include "store/local.h"
#include "store/store.h"

namespace hearth::store {

namespace fs = std::filesystem;

namespace {

// llama.cpp's file types (general.file_type), the usual way a GGUF names its quantization mix.
const char* ftype_name(int64_t t) {
  switch (t) {
    case 0:
      return "F32";
    case 1:
      return "F16";
    case 2:
      return "Q4_0";
    case 3:
      return "Q4_1";
    case 7:
      return "Q8_0";
    case 8:
      return "Q5_0";
    case 9:
      return "Q5_1";
    case 10:
      return "Q2_K";
    case 11:
      return "Q3_K_S";
    case 12:
      return "Q3_K_M";
    case 13:
      return "Q3_K_L";
    case 14:
      return "Q4_K_S";
    case 15:
      return "Q4_K_M";
    case 16:
      return "Q5_K_S";
    case 17:
      return "Q5_K_M";
    case 18:
      return "Q6_K";
    case 19:
      return "IQ2_XXS";
    case 20:
      return "IQ2_XS";
    case 21:
      return "Q2_K_S";
    case 22:
      return "IQ3_XS";
    case 23:
      return "IQ3_XXS";
    case 24:
      return "IQ1_S";
    case 25:
      return "IQ4_NL";
    case 26:
      return "IQ3_S";
    case 27:
      return "IQ3_M";
    case 28:
      return "IQ2_S";
    case 29:
      return "IQ2_M";
    case 30:
      return "IQ4_XS";
    case 31:
      return "IQ1_M";
    case 32:
      return "BF16";
    case 36:
      return "TQ1_0";
    case 37:
      return "TQ2_0";
    case 38:
      return "MXFP4_MOE";
    default:
      return nullptr;
  }
}

struct GgufSummary {
  std::string quant = "?";
  std::string arch;
};

GgufSummary summarize(const std::string& path) {
  GgufSummary s;
  try {
    auto f = gguf::File::open(path, {.header_only = true, .load_splits = false});
    s.arch = f->get_string("general.architecture", "");
    if (const char* n = ftype_name(f->get_int("general.file_type", -1))) {
      s.quant = n;
    } else {
      // No file type: the type holding most of the weights.
      std::map<std::string, uint64_t> bytes;
      for (const auto& t : f->tensors()) bytes[tensor::type_name(t.type)] += t.nbytes;
      uint64_t best = 0;
      for (auto& [name, b] : bytes)
        if (b > best) best = b, s.quant = name;
    }
  } catch (const Error&) {
    const std::string q = quant_from_filename(fs::path(path).filename().string());
    if (!q.empty()) s.quant = q;
  }
  return s;
}

int64_t mtime_of(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_mtime) : 0;
}

void add_manifest_models(const ModelsDir& dir, bool allow_links, const std::string& source,
                         std::vector<ModelEntry>& out) {
  for (const auto& e : dir.list_manifests()) {
    ModelEntry m;
    m.name = e.name.display();
    m.source = source;
    m.modified = mtime_of(e.path);
    try {
      const Manifest man = Manifest::parse(read_file(e.path, 4 << 20), e.path, allow_links);
      m.size = man.total_size();
      const auto layers = man.model_layers();
      if (layers.empty()) continue;  // not a language model (e.g. another tool's image)
      const Layer& l = *layers[0];
      m.path = l.path.empty() ? dir.blob_path(l.digest) : l.path;
      m.id = l.digest.empty() ? "" : l.digest.substr(7, 12);
      const GgufSummary s = summarize(m.path);
      m.quant = s.quant;
      m.arch = s.arch;
    } catch (const Error&) {
      m.quant.assign(1, '?');  // listed anyway so the user can see and remove it
    }
    out.push_back(m);
  }
}

}  // namespace

std::vector<ModelEntry> list_models(bool include_external) {
  std::vector<ModelEntry> out;
  LocalStore store;
  add_manifest_models(store, true, "hearth", out);
  if (!include_external) return out;
  if (const std::string od = ollama_models_dir(); !od.empty())
    add_manifest_models(ModelsDir(od), false, "ollama", out);
  if (const std::string hc = hf_cache_dir(); !hc.empty()) {
    for (const auto& c : scan_hf_cache(hc)) {
      ModelEntry m;
      m.name = c.name.display();
      m.source = "hf-cache";
      m.size = c.size;
      m.modified = c.modified;
      m.path = c.parts[0];
      const GgufSummary s = summarize(m.path);
      m.quant = s.quant;
      m.arch = s.arch;
      out.push_back(m);
    }
  }
  return out;
}

RemoveResult remove_model(const std::string& name_text) {
  const ModelName name = parse_model_name(name_text);
  LocalStore store;
  auto gc_lock = store.lock_gc(true, "waiting for a pull in progress to finish");
  if (!store.remove_manifest(name)) {
    if (const std::string od = ollama_models_dir(); !od.empty() && ModelsDir(od).read_manifest(name, false))
      fail("{} belongs to Ollama's store, which hearth only reads: remove it with `ollama rm {}`",
           name.display(), name.display());
    if (find_in_hf_cache(name))
      fail("{} is in the Hugging Face cache, which hearth only reads: remove it with `hf cache delete`",
           name.display());
    fail("model {} not found", name.display());
  }
  RemoveResult r;
  r.name = name;
  const auto gc = store.gc();
  r.blobs_deleted = gc.blobs;
  r.bytes_freed = gc.bytes;
  return r;
}

ModelName copy_model(const std::string& src_text, const std::string& dst_text) {
  const ModelName src = parse_model_name(src_text);
  const ModelName dst = parse_model_name(dst_text);
  LocalStore store;
  auto gc_lock = store.lock_gc(false, "waiting for a `hearth rm` in progress");
  auto m = store.read_manifest(src);
  if (!m) {
    if (find_model(src.full()))
      fail("{} is not in hearth's store (it is read in place from another tool); pull it first",
           src.display());
    fail("model {} not found", src.display());
  }
  store.write_manifest(dst, *m);
  return dst;
}

}  // namespace hearth::store
