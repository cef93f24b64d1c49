#include "store/external.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "store/fsutil.h"
#include "store/local.h"
#include "store/sources.h"

namespace hearth::store {

namespace fs = std::filesystem;

namespace {

std::string env(const char* n) {
  const char* v = std::getenv(n);
  return v && *v ? v : "";
}

bool is_dir(const std::string& p) {
  std::error_code ec;
  return !p.empty() && fs::is_directory(p, ec);
}

int64_t mtime_of(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_mtime) : 0;
}

// The snapshot folder of a cached repository: refs/main, else the most recently modified snapshot.
std::string snapshot_of(const fs::path& repo_dir) {
  std::error_code ec;
  const fs::path snaps = repo_dir / "snapshots";
  try {
    std::string rev = read_file((repo_dir / "refs" / "main").string(), 256);
    while (!rev.empty() && (rev.back() == '\n' || rev.back() == '\r' || rev.back() == ' ')) rev.pop_back();
    if (is_valid_component(rev, 128) && is_dir((snaps / rev).string())) return (snaps / rev).string();
  } catch (const Error&) {
  }
  std::string best;
  int64_t best_t = -1;
  for (fs::directory_iterator it(snaps, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    const int64_t t = mtime_of(it->path());
    if (t > best_t) best_t = t, best = it->path().string();
  }
  return best;
}

// The GGUF files of a snapshot, as repository files (paths relative to the snapshot).
std::vector<hf::RepoFile> snapshot_files(const std::string& snap) {
  std::vector<hf::RepoFile> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(snap, fs::directory_options::none, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it.depth() > 4) {
      it.disable_recursion_pending();
      continue;
    }
    const std::string name = it->path().filename().string();
    if (name.size() < 6 || to_lower(name.substr(name.size() - 5)) != ".gguf") continue;
    std::error_code e2;
    if (!fs::is_regular_file(it->path(), e2)) continue;  // follows the cache's symlinks into blobs/
    hf::RepoFile f;
    f.path = fs::relative(it->path(), snap, e2).string();
    f.size = fs::file_size(it->path(), e2);
    out.push_back(f);
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.path < b.path; });
  return out;
}

bool repo_from_dir(const std::string& dir_name, std::string* user, std::string* repo) {
  if (dir_name.rfind("models--", 0) != 0) return false;
  const std::string rest = dir_name.substr(8);
  const auto sep = rest.find("--");
  if (sep == std::string::npos) return false;
  *user = rest.substr(0, sep);
  *repo = rest.substr(sep + 2);
  return is_valid_component(*user) && is_valid_component(*repo);
}

HfCacheModel make_model(const std::string& user, const std::string& repo, const std::string& tag,
                        const std::string& snap, const std::vector<hf::RepoFile>& files) {
  HfCacheModel m;
  m.name.host = kHfHost;
  m.name.ns = user;
  m.name.model = repo;
  m.name.tag = tag;
  for (const auto& f : files) {
    m.parts.push_back((fs::path(snap) / f.path).string());
    m.size += f.size;
    m.modified = std::max(m.modified, mtime_of(m.parts.back()));
  }
  return m;
}

}  // namespace

std::string ollama_models_dir() {
  std::string dir = env("OLLAMA_MODELS");
  if (dir.empty()) {
    const std::string home = env("HOME");
    if (home.empty()) return "";
    dir = home + "/.ollama/models";
  }
  if (!is_dir(dir + "/manifests")) return "";
  std::error_code ec;
  // hearth's own store has the same layout: never list it twice.
  try {
    if (fs::equivalent(dir, default_home() + "/models", ec)) return "";
  } catch (const Error&) {
  }
  return dir;
}

std::string hf_cache_dir() {
  std::string dir = env("HF_HUB_CACHE");
  if (dir.empty() && !env("HF_HOME").empty()) dir = env("HF_HOME") + "/hub";
  if (dir.empty() && !env("XDG_CACHE_HOME").empty()) dir = env("XDG_CACHE_HOME") + "/huggingface/hub";
  if (dir.empty() && !env("HOME").empty()) dir = env("HOME") + "/.cache/huggingface/hub";
  return is_dir(dir) ? dir : "";
}

std::vector<HfCacheModel> scan_hf_cache(const std::string& cache_dir) {
  std::vector<HfCacheModel> out;
  std::error_code ec;
  std::vector<fs::path> repos;
  for (fs::directory_iterator it(cache_dir, ec), end; !ec && it != end; it.increment(ec))
    repos.push_back(it->path());
  std::sort(repos.begin(), repos.end());
  for (const auto& dir : repos) {
    std::string user, repo;
    if (!repo_from_dir(dir.filename().string(), &user, &repo)) continue;
    const std::string snap = snapshot_of(dir);
    if (snap.empty()) continue;
    const auto files = snapshot_files(snap);
    // One entry per model: single files and first parts of split files, named by their quantization.
    std::vector<std::string> tags;
    for (const auto& f : files) {
      const std::string base = fs::path(f.path).filename().string();
      if (to_lower(base).find("mmproj") != std::string::npos) continue;
      const SplitPart sp = split_part(base);
      if (sp.count > 0 && sp.index != 1) continue;
      std::string tag = quant_from_filename(base);
      if (tag.empty() || !is_valid_tag(tag)) tag = kDefaultTag;
      if (std::find(tags.begin(), tags.end(), tag) != tags.end()) continue;
      tags.push_back(tag);
      try {
        out.push_back(make_model(user, repo, tag, snap, hf::choose_files(files, tag, user + "/" + repo)));
      } catch (const Error&) {
        // an incomplete split model or an ambiguous name: not usable in place
      }
    }
  }
  return out;
}

std::optional<HfCacheModel> find_in_hf_cache(const ModelName& name) {
  if (!name.is_hf()) return std::nullopt;
  const std::string cache = hf_cache_dir();
  if (cache.empty()) return std::nullopt;
  const fs::path dir = fs::path(cache) / ("models--" + name.ns + "--" + name.model);
  if (!is_dir(dir.string())) return std::nullopt;
  const std::string snap = snapshot_of(dir);
  if (snap.empty()) return std::nullopt;
  try {
    const auto files = snapshot_files(snap);
    return make_model(name.ns, name.model, name.tag, snap,
                      hf::choose_files(files, name.tag, name.ns + "/" + name.model));
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace hearth::store
