#include "store/local.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <vector>

#include "base/log.h"
#include "store/sha256.h"

namespace hearth::store {

namespace fs = std::filesystem;

std::string default_home() {
  if (const char* h = std::getenv("HEARTH_HOME"); h && *h) return h;
  const char* home = std::getenv("HOME");
  if (!home || !*home) fail("cannot find the model store: set HEARTH_HOME or HOME");
  return std::string(home) + "/.hearth";
}

ModelsDir::ModelsDir(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

LocalStore::LocalStore(std::string home) : ModelsDir(home + "/models"), home_(std::move(home)) {
  while (home_.size() > 1 && home_.back() == '/') home_.pop_back();
  make_dirs(blobs_dir());
  make_dirs(manifests_dir());
  make_dirs(locks_dir());
}

std::string ModelsDir::blob_path(const std::string& digest) const {
  return blobs_dir() + "/sha256-" + digest_hex(digest);
}

std::string LocalStore::partial_path(const std::string& key) const {
  if (!is_hex64(key) && !(key.size() == 68 && key.substr(0, 4) == "url-" && is_hex64(key.substr(4))))
    fail("invalid partial download key '{}'", key);
  return blobs_dir() + "/" + (is_hex64(key) ? "sha256-" + key : key) + ".partial";
}

bool ModelsDir::has_blob(const std::string& digest) const {
  struct stat st {};
  return ::stat(blob_path(digest).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string ModelsDir::manifest_path(const ModelName& n) const {
  // Components were validated by parse_model_name; check again since a ModelName can be built by hand.
  if (!is_valid_host(n.host) || !is_valid_component(n.ns) || !is_valid_component(n.model) ||
      !is_valid_tag(n.tag))
    fail("invalid model name '{}'", n.full());
  return manifests_dir() + "/" + n.host + "/" + n.ns + "/" + n.model + "/" + n.tag;
}

std::optional<Manifest> ModelsDir::read_manifest(const ModelName& name, bool allow_links) const {
  const std::string path = manifest_path(name);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return Manifest::parse(read_file(path, 4 << 20), path, allow_links);
}

void LocalStore::write_manifest(const ModelName& name, const Manifest& m) {
  for (const auto& d : m.digests())
    if (!has_blob(d))
      fail("cannot write the manifest of {}: blob {} is missing from the store", name.display(), d);
  for (const auto& l : m.layers)
    if (!l.path.empty() && !fs::is_regular_file(l.path))
      fail("cannot write the manifest of {}: linked file {} does not exist", name.display(), l.path);
  const std::string path = manifest_path(name);
  auto lock = lock_manifest(name);
  make_dirs(fs::path(path).parent_path().string());
  atomic_write(path, m.serialize());
}

bool LocalStore::remove_manifest(const ModelName& name) {
  const std::string path = manifest_path(name);
  auto lock = lock_manifest(name);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return false;
    fail("cannot remove {}: {}", path, std::strerror(errno));
  }
  fs::path dir = fs::path(path).parent_path();
  fsync_dir(dir.string());
  // Remove now-empty model / namespace / host folders (rmdir fails harmlessly when not empty).
  for (int i = 0; i < 3 && dir.string().size() > manifests_dir().size(); ++i) {
    if (::rmdir(dir.c_str()) != 0) break;
    dir = dir.parent_path();
  }
  return true;
}

std::vector<ModelsDir::Entry> ModelsDir::list_manifests() const {
  std::vector<Entry> out;
  std::error_code ec;
  auto subdirs = [](const fs::path& p) {
    std::vector<fs::directory_entry> v;
    std::error_code e;
    for (fs::directory_iterator it(p, e), end; !e && it != end; it.increment(e)) v.push_back(*it);
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.path() < b.path(); });
    return v;
  };
  for (auto& h : subdirs(manifests_dir())) {
    const std::string host = h.path().filename().string();
    if (!h.is_directory(ec) || !is_valid_host(host)) continue;
    for (auto& n : subdirs(h.path())) {
      const std::string ns = n.path().filename().string();
      if (!n.is_directory(ec) || !is_valid_component(ns)) continue;
      for (auto& m : subdirs(n.path())) {
        const std::string model = m.path().filename().string();
        if (!m.is_directory(ec) || !is_valid_component(model)) continue;
        for (auto& t : subdirs(m.path())) {
          const std::string tag = t.path().filename().string();
          if (!t.is_regular_file(ec) || !is_valid_tag(tag)) continue;
          ModelName name;
          name.host = host;
          name.ns = ns;
          name.model = model;
          name.tag = tag;
          out.push_back({name, t.path().string()});
        }
      }
    }
  }
  return out;
}

void LocalStore::commit_blob(const std::string& tmp, const std::string& digest,
                             const std::string& actual_hex) {
  const std::string want = digest_hex(digest);
  if (actual_hex != want) {
    ::unlink(tmp.c_str());
    fail(
        "sha256 mismatch: expected {}, got sha256:{}; the data was discarded (a corrupted download or a "
        "misbehaving server)",
        digest, actual_hex);
  }
  const std::string dst = blob_path(digest);
  if (has_blob(digest)) {
    ::unlink(tmp.c_str());
    return;
  }
  if (::rename(tmp.c_str(), dst.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    fail("cannot move {} into the store: {}", dst, std::strerror(e));
  }
  fsync_dir(blobs_dir());
}

std::string LocalStore::import_file(const std::string& src, const std::string& expected) {
  if (!expected.empty()) {
    check_digest(expected, src);
    if (has_blob(expected)) return expected;
  }
  Fd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) fail("cannot open {}: {}", src, std::strerror(errno));
  const std::string tmp = temp_sibling(blobs_dir() + "/import");
  Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!out) fail("cannot create {}: {}", tmp, std::strerror(errno));
  Sha256 h;
  try {
    std::vector<char> buf(4 << 20);
    while (true) {
      ssize_t n = ::read(in.get(), buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("cannot read {}: {}", src, std::strerror(errno));
      }
      if (n == 0) break;
      h.update(buf.data(), static_cast<size_t>(n));
      write_all(out.get(), buf.data(), static_cast<size_t>(n), tmp);
    }
    fsync_or_fail(out.get(), tmp);
  } catch (...) {
    out.reset();
    ::unlink(tmp.c_str());
    throw;
  }
  out.reset();
  const std::string hex = h.hex();
  const std::string digest = expected.empty() ? "sha256:" + hex : expected;
  auto lock = lock_blob(digest_hex(digest));
  commit_blob(tmp, digest, hex);
  return digest;
}

LocalStore::GcResult LocalStore::gc() {
  std::set<std::string> used;
  for (const auto& e : list_manifests()) {
    try {
      auto m = Manifest::parse(read_file(e.path, 4 << 20), e.path, true);
      for (auto& d : m.digests()) used.insert(digest_hex(d));
    } catch (const Error& err) {
      log::warn("not removing any blob: {}", err.what());
      return {};
    }
  }
  GcResult r;
  std::error_code ec;
  std::vector<fs::path> unused;
  for (fs::directory_iterator it(blobs_dir(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string fname = it->path().filename().string();
    if (fname.size() != 71 || fname.substr(0, 7) != "sha256-" || !is_hex64(fname.substr(7))) continue;
    if (!used.count(fname.substr(7))) unused.push_back(it->path());
  }
  for (const auto& p : unused) {
    std::error_code e2;
    const uint64_t size = fs::file_size(p, e2);
    if (::unlink(p.c_str()) == 0) {
      ++r.blobs;
      if (!e2) r.bytes += size;
    }
  }
  fsync_dir(blobs_dir());
  std::vector<fs::path> stale;
  for (fs::directory_iterator it(splits_dir(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string hex = it->path().filename().string();
    if (is_hex64(hex) && !used.count(hex)) stale.push_back(it->path());
  }
  for (const auto& p : stale) fs::remove_all(p, ec);
  return r;
}

FileLock LocalStore::lock_blob(const std::string& key, const std::string& waiting) const {
  if (!is_hex64(key) && !(key.size() == 68 && key.substr(0, 4) == "url-" && is_hex64(key.substr(4))))
    fail("invalid blob lock key '{}'", key);
  return FileLock(locks_dir() + "/blob-" + key + ".lock", true, waiting);
}

FileLock LocalStore::lock_gc(bool exclusive, const std::string& waiting) const {
  return FileLock(locks_dir() + "/gc.lock", exclusive, waiting);
}

FileLock LocalStore::lock_manifest(const ModelName& name) const {
  return FileLock(locks_dir() + "/manifest-" + sha256_hex(name.full()).substr(0, 32) + ".lock", true);
}

}  // namespace hearth::store
