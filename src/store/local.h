// store: the local content-addressed store under HEARTH_HOME (default ~/.hearth). Layout (the same as
// Ollama's, so either tool can read the other's models):
//   models/blobs/sha256-<hex>            verified blobs (visible only after their sha256 matched)
//   models/blobs/sha256-<hex>.partial    downloads in progress (resumed with Range requests)
//   models/manifests/<host>/<ns>/<model>/<tag>   manifests (JSON), written atomically
//   models/splits/<hex>/                 file-name links for split GGUFs (the loader wants NAME-0000i-of-N)
//   locks/                               flock files: one per blob, one per manifest, one for garbage
//   collection
// Invariants: a manifest never references a missing or unverified blob; every write is a temporary file,
// fsync and rename, so a crash leaves at most a stale temporary or .partial file behind.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "store/fsutil.h"
#include "store/manifest.h"
#include "store/name.h"

namespace hearth::store {

// HEARTH_HOME, or ~/.hearth.
std::string default_home();

// A models folder in Ollama's layout (blobs/ and manifests/). Read-only: used as is for Ollama's own store.
class ModelsDir {
 public:
  explicit ModelsDir(std::string root);
  const std::string& root() const { return root_; }
  std::string blobs_dir() const { return root_ + "/blobs"; }
  std::string manifests_dir() const { return root_ + "/manifests"; }

  std::string blob_path(const std::string& digest) const;  // digest validated
  bool has_blob(const std::string& digest) const;
  std::string manifest_path(const ModelName& name) const;
  // The manifest of `name`, or nullopt when there is none. A corrupt manifest throws.
  std::optional<Manifest> read_manifest(const ModelName& name, bool allow_links) const;

  struct Entry {
    ModelName name;
    std::string path;
  };
  std::vector<Entry> list_manifests() const;

 protected:
  std::string root_;
};

// hearth's own store: a ModelsDir under HEARTH_HOME/models plus writes, locks and garbage collection.
class LocalStore : public ModelsDir {
 public:
  explicit LocalStore(std::string home = default_home());

  const std::string& home() const { return home_; }
  std::string splits_dir() const { return root_ + "/splits"; }
  std::string locks_dir() const { return home_ + "/locks"; }

  std::string partial_path(const std::string& key) const;  // key: 64 hex digits or "url-<hex>"
  std::optional<Manifest> read_manifest(const ModelName& name) const {
    return ModelsDir::read_manifest(name, true);
  }
  // Writes atomically under the manifest lock; every referenced blob (and linked file) must exist.
  void write_manifest(const ModelName& name, const Manifest& m);
  // Removes the manifest (and empty parent directories); false when there was none.
  bool remove_manifest(const ModelName& name);

  // Makes the fully written file `tmp` the blob `digest` if `actual_hex` (its sha256) matches; otherwise
  // removes `tmp` and throws. Either way `tmp` is gone afterwards.
  void commit_blob(const std::string& tmp, const std::string& digest, const std::string& actual_hex);
  // Copies a local file into the store (hashing as it goes); returns its digest. When `expected` is given
  // the copy must match it.
  std::string import_file(const std::string& src, const std::string& expected = "");

  // Deletes blobs no manifest references (and split-link folders of deleted blobs). The caller must hold
  // lock_gc(true). A manifest that cannot be read stops the collection (nothing is deleted).
  struct GcResult {
    int blobs = 0;
    uint64_t bytes = 0;
  };
  GcResult gc();

  // Locks: pulls hold the gc lock shared for their whole run, rm takes it exclusively.
  FileLock lock_blob(const std::string& key, const std::string& waiting = "") const;
  FileLock lock_gc(bool exclusive, const std::string& waiting = "") const;
  FileLock lock_manifest(const ModelName& name) const;

 private:
  std::string home_;
};

}  // namespace hearth::store
